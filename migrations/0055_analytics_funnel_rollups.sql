CREATE TABLE "analytics_funnel_rollups" (
	"tenant_id" uuid NOT NULL,
	"funnel_key" text NOT NULL,
	"steps" text[] NOT NULL,
	"watermark" "pg_snapshot",
	"refreshed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "analytics_funnel_rollups_tenant_id_funnel_key_pk" PRIMARY KEY("tenant_id","funnel_key")
);
--> statement-breakpoint
CREATE TABLE "analytics_funnel_sessions" (
	"tenant_id" uuid NOT NULL,
	"funnel_key" text NOT NULL,
	"session_id" text NOT NULL,
	"anchor_id" uuid NOT NULL,
	"first_at" timestamp with time zone NOT NULL,
	"last_at" timestamp with time zone NOT NULL,
	"step_at" timestamptz[] NOT NULL,
	CONSTRAINT "analytics_funnel_sessions_tenant_id_funnel_key_session_id_pk" PRIMARY KEY("tenant_id","funnel_key","session_id")
);
--> statement-breakpoint
ALTER TABLE "funnel_events" ADD COLUMN "ingest_xid" "xid8" DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "analytics_funnel_sessions_span_idx" ON "analytics_funnel_sessions" USING btree ("tenant_id","funnel_key","first_at");--> statement-breakpoint
CREATE INDEX "analytics_funnel_sessions_anchor_idx" ON "analytics_funnel_sessions" USING btree ("tenant_id","anchor_id");--> statement-breakpoint
CREATE INDEX "funnel_events_ingest_idx" ON "funnel_events" USING btree ("tenant_id","ingest_xid");