ALTER TABLE "commerce_settings" ADD COLUMN "reservation_ttl_seconds" integer DEFAULT 900 NOT NULL;--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "target_segments" text[];