CREATE TABLE "interactions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"dedupe_key" text NOT NULL,
	"user_id" text,
	"anonymous_id" text,
	"profile_id" uuid,
	"item_id" text,
	"type" text NOT NULL,
	"value" double precision,
	"quantity" integer,
	"price_minor" bigint,
	"currency" text,
	"order_id" text,
	"session_id" text,
	"recommendation_id" text,
	"source" text NOT NULL,
	"context" jsonb,
	"metadata" jsonb,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "interactions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "interactions_dedupe_key" ON "interactions" USING btree ("tenant_id","dedupe_key");--> statement-breakpoint
CREATE INDEX "interactions_user_time_idx" ON "interactions" USING btree ("tenant_id","user_id","occurred_at");--> statement-breakpoint
CREATE INDEX "interactions_item_idx" ON "interactions" USING btree ("tenant_id","item_id");--> statement-breakpoint
CREATE INDEX "interactions_time_idx" ON "interactions" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "interactions_profile_idx" ON "interactions" USING btree ("tenant_id","profile_id","occurred_at");--> statement-breakpoint
CREATE INDEX "interactions_recommendation_idx" ON "interactions" USING btree ("tenant_id","recommendation_id");