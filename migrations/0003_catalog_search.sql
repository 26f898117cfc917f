CREATE TABLE "category_alignment_audit" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"category_id" uuid NOT NULL,
	"old_google_category_id" integer,
	"new_google_category_id" integer,
	"actor_type" text NOT NULL,
	"actor_id" text NOT NULL,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "category_alignment_audit_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "google_taxonomy" (
	"id" integer PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"path" text NOT NULL,
	"parent_id" integer,
	"depth" integer NOT NULL,
	"path_norm" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "search_vector" "tsvector";--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "name_norm" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "items" ADD COLUMN "brand_norm" text;--> statement-breakpoint
CREATE INDEX "category_alignment_audit_category_idx" ON "category_alignment_audit" USING btree ("tenant_id","category_id","created_at");--> statement-breakpoint
CREATE INDEX "google_taxonomy_path_trgm_idx" ON "google_taxonomy" USING gin ("path_norm" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "items_tenant_name_prefix_idx" ON "items" USING btree ("tenant_id","name_norm" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "items_tenant_brand_prefix_idx" ON "items" USING btree ("tenant_id","brand_norm" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "items_search_vector_idx" ON "items" USING gin ("search_vector");--> statement-breakpoint
CREATE INDEX "items_name_trgm_idx" ON "items" USING gin ("name_norm" gin_trgm_ops);