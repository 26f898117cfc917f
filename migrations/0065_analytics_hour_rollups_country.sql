CREATE TABLE "analytics_cart_hours" (
	"tenant_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"session_key" bigint NOT NULL,
	"device" text,
	"browser" text,
	"os" text,
	"country" text,
	"utm_source" text,
	"utm_medium" text,
	"utm_campaign" text,
	"added" boolean NOT NULL,
	"converted" boolean NOT NULL,
	"items_added" double precision NOT NULL,
	"items_removed" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_page_hours" (
	"tenant_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"page" text NOT NULL,
	"page_type" text,
	"device" text,
	"browser" text,
	"os" text,
	"country" text,
	"utm_source" text,
	"utm_medium" text,
	"utm_campaign" text,
	"views" integer NOT NULL,
	"time_sum" double precision NOT NULL,
	"time_count" integer NOT NULL,
	"scroll_sum" double precision NOT NULL,
	"scroll_count" integer NOT NULL,
	"sessions" bigint[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_report_rollups" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"watermark" "pg_snapshot",
	"refreshed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "analytics_session_hours" (
	"tenant_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"device" text,
	"browser" text,
	"os" text,
	"country" text,
	"utm_source" text,
	"utm_medium" text,
	"utm_campaign" text,
	"sessions" integer NOT NULL,
	"bounces" integer NOT NULL,
	"duration_sum" double precision NOT NULL,
	"duration_count" integer NOT NULL,
	"page_views" double precision NOT NULL,
	"cart_adds" double precision NOT NULL,
	"purchases" double precision NOT NULL,
	"converted_sessions" integer NOT NULL,
	"persons" bigint[] NOT NULL
);
--> statement-breakpoint
CREATE TABLE "analytics_session_marks" (
	"tenant_id" uuid NOT NULL,
	"session_id" text NOT NULL,
	"hour" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "analytics_funnel_sessions" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "cart_events" ADD COLUMN "ingest_xid" "xid8" DEFAULT pg_current_xact_id();--> statement-breakpoint
ALTER TABLE "page_views" ADD COLUMN "write_xid" "xid8" DEFAULT pg_current_xact_id();--> statement-breakpoint
ALTER TABLE "tracking_sessions" ADD COLUMN "country" text;--> statement-breakpoint
ALTER TABLE "tracking_sessions" ADD COLUMN "report_xid" "xid8" DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "analytics_cart_hours_hour_idx" ON "analytics_cart_hours" USING btree ("tenant_id","hour");--> statement-breakpoint
CREATE INDEX "analytics_page_hours_hour_idx" ON "analytics_page_hours" USING btree ("tenant_id","hour");--> statement-breakpoint
CREATE INDEX "analytics_session_hours_hour_idx" ON "analytics_session_hours" USING btree ("tenant_id","hour");--> statement-breakpoint
CREATE INDEX "analytics_session_marks_session_idx" ON "analytics_session_marks" USING btree ("tenant_id","session_id");--> statement-breakpoint
CREATE INDEX "analytics_session_marks_hour_idx" ON "analytics_session_marks" USING btree ("tenant_id","hour");--> statement-breakpoint
CREATE INDEX "cart_events_ingest_idx" ON "cart_events" USING btree ("tenant_id","ingest_xid");--> statement-breakpoint
CREATE INDEX "page_views_write_xid_idx" ON "page_views" USING btree ("tenant_id","write_xid");--> statement-breakpoint
CREATE INDEX "tracking_sessions_report_xid_idx" ON "tracking_sessions" USING btree ("tenant_id","report_xid");