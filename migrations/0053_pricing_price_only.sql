ALTER TABLE "pricing_feed_runs" ADD COLUMN "mode" text DEFAULT 'full' NOT NULL;--> statement-breakpoint
ALTER TABLE "pricing_feed_runs" ADD COLUMN "offers_unknown" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "pricing_network_sources" ADD COLUMN "price_schedule" text DEFAULT 'off' NOT NULL;--> statement-breakpoint
ALTER TABLE "pricing_network_sources" ADD COLUMN "next_price_run_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "pricing_network_sources_price_due_idx" ON "pricing_network_sources" USING btree ("next_price_run_at") WHERE price_schedule <> 'off';