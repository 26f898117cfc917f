CREATE TABLE "pricing_brands" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"name" text NOT NULL,
	"name_norm" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_brands_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_feed_runs" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"store_id" uuid NOT NULL,
	"format" text NOT NULL,
	"status" text NOT NULL,
	"rows_read" integer DEFAULT 0 NOT NULL,
	"rows_accepted" integer DEFAULT 0 NOT NULL,
	"rows_rejected" integer DEFAULT 0 NOT NULL,
	"offers_created" integer DEFAULT 0 NOT NULL,
	"prices_changed" integer DEFAULT 0 NOT NULL,
	"errors" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"failure" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "pricing_feed_runs_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_match_groups" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"canonical_name" text NOT NULL,
	"brand_id" uuid,
	"gtin" text,
	"mpn" text,
	"catalog_item_id" text,
	"pinned" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_match_groups_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_match_log" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"action" text NOT NULL,
	"from_group_id" uuid,
	"to_group_id" uuid NOT NULL,
	"offer_ids" uuid[] NOT NULL,
	"reason" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text NOT NULL,
	"reverted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_match_log_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_offers" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"store_id" uuid NOT NULL,
	"external_id" text NOT NULL,
	"title" text NOT NULL,
	"brand_id" uuid,
	"gtin" text,
	"mpn" text,
	"mpn_norm" text,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"availability" text DEFAULT 'in_stock' NOT NULL,
	"affiliate_url" text,
	"image_url" text,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"match_group_id" uuid,
	"match_method" text,
	"price_updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_offers_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_price_history" (
	"tenant_id" uuid NOT NULL,
	"offer_id" uuid NOT NULL,
	"observed_at" timestamp with time zone NOT NULL,
	"price_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"availability" text NOT NULL,
	CONSTRAINT "pricing_price_history_tenant_id_offer_id_observed_at_pk" PRIMARY KEY("tenant_id","offer_id","observed_at")
);
--> statement-breakpoint
CREATE TABLE "pricing_stores" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"name" text NOT NULL,
	"network" text DEFAULT 'feed' NOT NULL,
	"network_merchant_id" text,
	"terms" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_stores_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_brands_tenant_norm_key" ON "pricing_brands" USING btree ("tenant_id","name_norm");--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_feed_runs_one_running_key" ON "pricing_feed_runs" USING btree ("tenant_id","store_id") WHERE status IN ('queued', 'running');--> statement-breakpoint
CREATE INDEX "pricing_feed_runs_tenant_started_idx" ON "pricing_feed_runs" USING btree ("tenant_id","started_at");--> statement-breakpoint
CREATE INDEX "pricing_match_groups_tenant_gtin_idx" ON "pricing_match_groups" USING btree ("tenant_id","gtin");--> statement-breakpoint
CREATE INDEX "pricing_match_log_tenant_created_idx" ON "pricing_match_log" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_offers_tenant_store_external_key" ON "pricing_offers" USING btree ("tenant_id","store_id","external_id");--> statement-breakpoint
CREATE INDEX "pricing_offers_tenant_group_idx" ON "pricing_offers" USING btree ("tenant_id","match_group_id");--> statement-breakpoint
CREATE INDEX "pricing_offers_tenant_gtin_idx" ON "pricing_offers" USING btree ("tenant_id","gtin");--> statement-breakpoint
CREATE INDEX "pricing_offers_tenant_brand_mpn_idx" ON "pricing_offers" USING btree ("tenant_id","brand_id","mpn_norm");--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_stores_tenant_name_key" ON "pricing_stores" USING btree ("tenant_id","name");