CREATE TABLE "pricing_alert_events" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"alert_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"group_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"price_minor" bigint NOT NULL,
	"threshold_minor" bigint,
	"currency" text NOT NULL,
	"fired_at" timestamp with time zone NOT NULL,
	CONSTRAINT "pricing_alert_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_price_alerts" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"group_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"target_minor" bigint,
	"currency" text NOT NULL,
	"reference_minor" bigint,
	"armed" boolean DEFAULT true NOT NULL,
	"last_fired_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_price_alerts_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE INDEX "pricing_alert_events_tenant_fired_idx" ON "pricing_alert_events" USING btree ("tenant_id","fired_at");--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_price_alerts_watch_key" ON "pricing_price_alerts" USING btree ("tenant_id","user_id","group_id","kind");--> statement-breakpoint
CREATE INDEX "pricing_price_alerts_tenant_group_idx" ON "pricing_price_alerts" USING btree ("tenant_id","group_id");--> statement-breakpoint
CREATE INDEX "items_tenant_gtin_idx" ON "items" USING btree ("tenant_id","gtin");--> statement-breakpoint
CREATE INDEX "pricing_match_groups_tenant_catalog_item_idx" ON "pricing_match_groups" USING btree ("tenant_id","catalog_item_id");