CREATE TABLE "style_profile_events" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"event_type" text NOT NULL,
	"source_type" text NOT NULL,
	"source_id" text NOT NULL,
	"weight" double precision NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "style_profile_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "style_profile_snapshots" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"style_layers" jsonb NOT NULL,
	"layers" jsonb NOT NULL,
	"confidence" double precision NOT NULL,
	"snapshot_date" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	CONSTRAINT "style_profile_snapshots_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "style_profiles" (
	"tenant_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"style_layers" jsonb NOT NULL,
	"price_layers" jsonb NOT NULL,
	"category_layers" jsonb NOT NULL,
	"occasion_layers" jsonb NOT NULL,
	"brand_layers" jsonb NOT NULL,
	"commerce_intent" jsonb NOT NULL,
	"confidence" double precision NOT NULL,
	"events_count" integer NOT NULL,
	"last_event_id" text,
	"decayed_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "style_profiles_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "user_brand_follows" (
	"tenant_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"brand_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "user_brand_follows_tenant_id_user_id_brand_id_pk" PRIMARY KEY("tenant_id","user_id","brand_id")
);
--> statement-breakpoint
CREATE TABLE "user_fashion_preferences" (
	"tenant_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"preferences" jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "user_fashion_preferences_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "user_favorites" (
	"tenant_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"item_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "user_favorites_tenant_id_user_id_item_id_pk" PRIMARY KEY("tenant_id","user_id","item_id")
);
--> statement-breakpoint
CREATE TABLE "sponsored_campaigns" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"brand_id" text NOT NULL,
	"name" text NOT NULL,
	"creative" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"promoted_item_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"currency" text NOT NULL,
	"budget_minor" bigint NOT NULL,
	"budget_type" text NOT NULL,
	"start_date" timestamp with time zone NOT NULL,
	"end_date" timestamp with time zone,
	"status" text NOT NULL,
	"status_reason" text,
	"priority_score" double precision DEFAULT 0 NOT NULL,
	"pricing_model" text NOT NULL,
	"bid_minor" bigint NOT NULL,
	"targeting" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"frequency_caps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"pacing" text DEFAULT 'even' NOT NULL,
	"click_window_seconds" integer DEFAULT 604800 NOT NULL,
	"view_window_seconds" integer DEFAULT 86400 NOT NULL,
	"spent_milli" bigint DEFAULT 0 NOT NULL,
	"reserved_milli" bigint DEFAULT 0 NOT NULL,
	"budget_day" text DEFAULT '' NOT NULL,
	"day_spent_milli" bigint DEFAULT 0 NOT NULL,
	"day_reserved_milli" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sponsored_campaigns_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "sponsored_charges" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"source_id" uuid NOT NULL,
	"amount_milli" bigint NOT NULL,
	"currency" text NOT NULL,
	"charged_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sponsored_charges_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "sponsored_clicks" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"impression_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"click_cost_milli" bigint NOT NULL,
	"invalid_reason" text,
	"clicked_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sponsored_clicks_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "sponsored_conversions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"user_id" text NOT NULL,
	"campaign_id" uuid,
	"click_id" uuid,
	"impression_id" uuid,
	"conversion_type" text NOT NULL,
	"value_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"cost_milli" bigint NOT NULL,
	"converted_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sponsored_conversions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "sponsored_decisions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"placement" text NOT NULL,
	"price_minor" bigint NOT NULL,
	"reserved_milli" bigint NOT NULL,
	"reserved_day" text NOT NULL,
	"state" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sponsored_decisions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "sponsored_impressions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"event_id" text NOT NULL,
	"campaign_id" uuid NOT NULL,
	"decision_id" uuid,
	"user_id" text NOT NULL,
	"placement" text NOT NULL,
	"impression_cost_milli" bigint NOT NULL,
	"viewed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sponsored_impressions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE INDEX "style_profile_events_user_idx" ON "style_profile_events" USING btree ("tenant_id","user_id","created_at");--> statement-breakpoint
CREATE INDEX "style_profile_snapshots_user_idx" ON "style_profile_snapshots" USING btree ("tenant_id","user_id","snapshot_date");--> statement-breakpoint
CREATE INDEX "sponsored_campaigns_status_idx" ON "sponsored_campaigns" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE UNIQUE INDEX "sponsored_charges_source_key" ON "sponsored_charges" USING btree ("tenant_id","kind","source_id");--> statement-breakpoint
CREATE INDEX "sponsored_charges_campaign_idx" ON "sponsored_charges" USING btree ("tenant_id","campaign_id","charged_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sponsored_clicks_event_key" ON "sponsored_clicks" USING btree ("tenant_id","event_id");--> statement-breakpoint
CREATE INDEX "sponsored_clicks_user_idx" ON "sponsored_clicks" USING btree ("tenant_id","user_id","clicked_at");--> statement-breakpoint
CREATE INDEX "sponsored_clicks_campaign_idx" ON "sponsored_clicks" USING btree ("tenant_id","campaign_id","clicked_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sponsored_conversions_event_key" ON "sponsored_conversions" USING btree ("tenant_id","event_id");--> statement-breakpoint
CREATE INDEX "sponsored_conversions_campaign_idx" ON "sponsored_conversions" USING btree ("tenant_id","campaign_id","converted_at");--> statement-breakpoint
CREATE INDEX "sponsored_decisions_open_idx" ON "sponsored_decisions" USING btree ("tenant_id","state","expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "sponsored_impressions_event_key" ON "sponsored_impressions" USING btree ("tenant_id","event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sponsored_impressions_decision_key" ON "sponsored_impressions" USING btree ("tenant_id","decision_id");--> statement-breakpoint
CREATE INDEX "sponsored_impressions_user_idx" ON "sponsored_impressions" USING btree ("tenant_id","user_id","viewed_at");--> statement-breakpoint
CREATE INDEX "sponsored_impressions_campaign_idx" ON "sponsored_impressions" USING btree ("tenant_id","campaign_id","viewed_at");