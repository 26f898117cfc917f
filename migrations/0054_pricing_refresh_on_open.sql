CREATE TABLE "pricing_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"freshness_minutes" integer DEFAULT 1440 NOT NULL,
	"refreshes_per_hour" integer DEFAULT 60 NOT NULL,
	"refresh_window_start" timestamp with time zone,
	"refresh_count" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pricing_network_sources" ADD COLUMN "last_success_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pricing_network_sources" ADD COLUMN "feed_etag" text;--> statement-breakpoint
ALTER TABLE "pricing_network_sources" ADD COLUMN "feed_last_modified" text;--> statement-breakpoint
ALTER TABLE "pricing_network_sources" ADD COLUMN "last_refresh_at" timestamp with time zone;--> statement-breakpoint
-- A source's last run that succeeded confirmed its store's prices (product-page freshness).
UPDATE "pricing_network_sources" SET "last_success_at" = "last_run_at" WHERE "last_status" = 'succeeded';