CREATE TABLE "categories" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"external_id" text,
	"name" text NOT NULL,
	"parent_id" uuid,
	"path" text NOT NULL,
	"depth" integer DEFAULT 0 NOT NULL,
	"google_category_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "categories_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "items" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"item_id" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"category_id" uuid,
	"category_path" text,
	"brand" text,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"price_minor" bigint,
	"sale_price_minor" bigint,
	"currency" text,
	"image_url" text,
	"url" text,
	"availability" text DEFAULT 'in_stock' NOT NULL,
	"stock" integer,
	"gtin" text,
	"mpn" text,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "items_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "categories_tenant_path_key" ON "categories" USING btree ("tenant_id","path");--> statement-breakpoint
CREATE INDEX "categories_tenant_parent_idx" ON "categories" USING btree ("tenant_id","parent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "items_tenant_item_id_key" ON "items" USING btree ("tenant_id","item_id");--> statement-breakpoint
CREATE INDEX "items_tenant_category_idx" ON "items" USING btree ("tenant_id","category_id");--> statement-breakpoint
CREATE INDEX "items_tenant_updated_idx" ON "items" USING btree ("tenant_id","updated_at");