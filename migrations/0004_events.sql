CREATE TABLE "cart_events" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"dedupe_key" text NOT NULL,
	"session_id" text NOT NULL,
	"user_id" text,
	"event_type" text NOT NULL,
	"product_id" text,
	"cart_item_id" text,
	"quantity" integer,
	"value_minor" bigint,
	"currency" text,
	"interaction_id" uuid,
	"metadata" jsonb,
	"occurred_at" timestamp with time zone NOT NULL,
	CONSTRAINT "cart_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "funnel_events" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"dedupe_key" text NOT NULL,
	"session_id" text NOT NULL,
	"user_id" text,
	"stage" text NOT NULL,
	"product_id" text,
	"metadata" jsonb,
	"reached_at" timestamp with time zone NOT NULL,
	CONSTRAINT "funnel_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "integration_connections" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"shop_domain" text,
	"signing_secret" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_delivery_at" timestamp with time zone,
	CONSTRAINT "integration_connections_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "page_views" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"page_view_id" text NOT NULL,
	"session_id" text NOT NULL,
	"user_id" text,
	"page_url" text NOT NULL,
	"page_path" text,
	"page_type" text,
	"page_title" text,
	"product_id" text,
	"referrer" text,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"time_on_page_seconds" integer,
	"scroll_depth_percent" smallint,
	CONSTRAINT "page_views_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "tracking_sessions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"session_id" text NOT NULL,
	"user_id" text,
	"anonymous_id" text,
	"device_type" text,
	"browser" text,
	"os" text,
	"user_agent" text,
	"locale" text,
	"utm_source" text,
	"utm_medium" text,
	"utm_campaign" text,
	"utm_term" text,
	"utm_content" text,
	"referrer" text,
	"landing_url" text,
	"exit_page_url" text,
	"pages_viewed" integer DEFAULT 0 NOT NULL,
	"cart_adds" integer DEFAULT 0 NOT NULL,
	"purchases" integer DEFAULT 0 NOT NULL,
	"revenue_minor" bigint DEFAULT 0 NOT NULL,
	"currency" text,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"duration_seconds" integer,
	"bounce" boolean,
	"metadata" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tracking_sessions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"delivery_id" text,
	"dedupe_key" text,
	"topic" text,
	"status" text NOT NULL,
	"reason" text,
	"http_status" smallint NOT NULL,
	"events_written" integer DEFAULT 0 NOT NULL,
	"body_sha256" text,
	"body_bytes" integer,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "webhook_deliveries_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "cart_events_dedupe_key" ON "cart_events" USING btree ("tenant_id","dedupe_key");--> statement-breakpoint
CREATE INDEX "cart_events_session_idx" ON "cart_events" USING btree ("tenant_id","session_id");--> statement-breakpoint
CREATE INDEX "cart_events_type_idx" ON "cart_events" USING btree ("tenant_id","event_type","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "funnel_events_dedupe_key" ON "funnel_events" USING btree ("tenant_id","dedupe_key");--> statement-breakpoint
CREATE INDEX "funnel_events_stage_idx" ON "funnel_events" USING btree ("tenant_id","stage","reached_at");--> statement-breakpoint
CREATE INDEX "funnel_events_session_idx" ON "funnel_events" USING btree ("tenant_id","session_id");--> statement-breakpoint
CREATE INDEX "integration_connections_id_idx" ON "integration_connections" USING btree ("id");--> statement-breakpoint
CREATE INDEX "integration_connections_shop_idx" ON "integration_connections" USING btree ("shop_domain");--> statement-breakpoint
CREATE UNIQUE INDEX "page_views_page_view_key" ON "page_views" USING btree ("tenant_id","page_view_id");--> statement-breakpoint
CREATE INDEX "page_views_session_idx" ON "page_views" USING btree ("tenant_id","session_id","started_at");--> statement-breakpoint
CREATE INDEX "page_views_started_idx" ON "page_views" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "tracking_sessions_session_key" ON "tracking_sessions" USING btree ("tenant_id","session_id");--> statement-breakpoint
CREATE INDEX "tracking_sessions_started_idx" ON "tracking_sessions" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE INDEX "tracking_sessions_user_idx" ON "tracking_sessions" USING btree ("tenant_id","user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_dedupe_key" ON "webhook_deliveries" USING btree ("tenant_id","connection_id","dedupe_key");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_connection_idx" ON "webhook_deliveries" USING btree ("tenant_id","connection_id","received_at");