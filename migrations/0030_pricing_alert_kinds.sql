ALTER TABLE "pricing_price_alerts" ADD COLUMN "drop_percent" integer;--> statement-breakpoint
ALTER TABLE "pricing_price_alerts" ADD COLUMN "window_days" integer;