CREATE TABLE "analytics_funnel_days" (
	"tenant_id" uuid NOT NULL,
	"funnel_key" text NOT NULL,
	"first_day" date NOT NULL,
	"last_day" date NOT NULL,
	"dimension" text NOT NULL,
	"value" text NOT NULL,
	"sessions" integer NOT NULL,
	"cells" integer[] NOT NULL,
	"counts" integer[] NOT NULL,
	CONSTRAINT "analytics_funnel_days_tenant_id_funnel_key_dimension_first_day_last_day_value_pk" PRIMARY KEY("tenant_id","funnel_key","dimension","first_day","last_day","value")
);
--> statement-breakpoint
ALTER TABLE "analytics_funnel_rollups" ADD COLUMN "max_span_seconds" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "device" text;--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "browser" text;--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "os" text;--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "utm_source" text;--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "utm_medium" text;--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "utm_campaign" text;--> statement-breakpoint
ALTER TABLE "tracking_sessions" ADD COLUMN "attrs_xid" "xid8" DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "tracking_sessions_attrs_xid_idx" ON "tracking_sessions" USING btree ("tenant_id","attrs_xid");--> statement-breakpoint
-- Rollups built before the per-day pre-aggregate have no day rows nor session attributes: the next refresh rebuilds them.
UPDATE "analytics_funnel_rollups" SET "watermark" = NULL;
