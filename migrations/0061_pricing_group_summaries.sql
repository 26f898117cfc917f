-- Backfill: not here. Summaries are computed by the pricing rules in TypeScript (summary.core.ts); the elected task
-- pricing.group-summaries summarizes every group without a row at its first run after this migration.
CREATE TABLE "pricing_group_summaries" (
	"tenant_id" uuid NOT NULL,
	"group_id" uuid NOT NULL,
	"currency" text,
	"best_offer_id" uuid,
	"best_price_minor" bigint,
	"next_price_minor" bigint,
	"min_price_minor" bigint,
	"max_price_minor" bigint,
	"was_minor" bigint,
	"savings_minor" bigint DEFAULT 0 NOT NULL,
	"offer_count" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_group_summaries_tenant_id_group_id_pk" PRIMARY KEY("tenant_id","group_id")
);
