CREATE TABLE "analytics_page_hour_totals" (
	"tenant_id" uuid NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"page" text NOT NULL,
	"page_type" text,
	"views" integer NOT NULL,
	"time_sum" double precision NOT NULL,
	"time_count" integer NOT NULL,
	"scroll_sum" double precision NOT NULL,
	"scroll_count" integer NOT NULL,
	"page_sessions_single" integer NOT NULL,
	"page_sessions_multi" bigint[] NOT NULL,
	"sessions_single" integer NOT NULL,
	"sessions_multi" bigint[] NOT NULL,
	CONSTRAINT "analytics_page_hour_totals_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
DROP TABLE "analytics_cart_hours" CASCADE;--> statement-breakpoint
DROP TABLE "analytics_page_hours" CASCADE;--> statement-breakpoint
DROP TABLE "analytics_session_hours" CASCADE;--> statement-breakpoint
CREATE INDEX "analytics_page_hour_totals_hour_idx" ON "analytics_page_hour_totals" USING btree ("tenant_id","hour");