CREATE TABLE "pricing_match_reviews" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"offer_id" uuid NOT NULL,
	"candidate_group_id" uuid NOT NULL,
	"candidate_offer_id" uuid NOT NULL,
	"score" double precision NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"decided_by_type" text,
	"decided_by_id" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_match_reviews_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "pricing_offer_keys" (
	"tenant_id" uuid NOT NULL,
	"key" text NOT NULL,
	"offer_id" uuid NOT NULL,
	CONSTRAINT "pricing_offer_keys_tenant_id_key_offer_id_pk" PRIMARY KEY("tenant_id","key","offer_id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_match_reviews_pair_key" ON "pricing_match_reviews" USING btree ("tenant_id","offer_id","candidate_group_id");--> statement-breakpoint
CREATE INDEX "pricing_match_reviews_tenant_status_idx" ON "pricing_match_reviews" USING btree ("tenant_id","status","score");--> statement-breakpoint
CREATE INDEX "pricing_offer_keys_tenant_offer_idx" ON "pricing_offer_keys" USING btree ("tenant_id","offer_id");