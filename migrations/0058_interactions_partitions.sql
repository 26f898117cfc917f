-- Hand-edited after `drizzle-kit generate` (drizzle cannot describe partitioning): its three ALTERs on
-- "interactions" became the conversion below; the snapshot is drizzle's own, so generate sees no change.
-- 1. The dedupe keys move to their own table: a unique index on a partitioned table must include the partition key.
CREATE TABLE "interaction_keys" (
	"tenant_id" uuid NOT NULL,
	"dedupe_key" text NOT NULL,
	"id" uuid NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "interaction_keys_tenant_id_dedupe_key_pk" PRIMARY KEY("tenant_id","dedupe_key")
);
--> statement-breakpoint
INSERT INTO "interaction_keys" ("tenant_id", "dedupe_key", "id", "occurred_at", "received_at")
	SELECT "tenant_id", "dedupe_key", "id", "occurred_at", "received_at" FROM "interactions";--> statement-breakpoint
CREATE INDEX "interaction_keys_time_idx" ON "interaction_keys" USING btree ("occurred_at");--> statement-breakpoint
-- 2. "interactions" becomes PARTITION BY RANGE ("occurred_at"): the old table is renamed, its indexes dropped
-- (their names are taken again), the partitioned one made with a DEFAULT partition and one partition per month
-- holding rows plus this month and the next two (interactions_yYYYYmMM, UTC bounds), the rows copied, the old dropped.
ALTER TABLE "interactions" RENAME TO "interactions_unpartitioned";--> statement-breakpoint
ALTER TABLE "interactions_unpartitioned" DROP CONSTRAINT "interactions_tenant_id_id_pk";--> statement-breakpoint
DROP INDEX "interactions_dedupe_key";--> statement-breakpoint
DROP INDEX "interactions_user_time_idx";--> statement-breakpoint
DROP INDEX "interactions_item_idx";--> statement-breakpoint
DROP INDEX "interactions_time_idx";--> statement-breakpoint
DROP INDEX "interactions_profile_idx";--> statement-breakpoint
DROP INDEX "interactions_recommendation_idx";--> statement-breakpoint
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
	CONSTRAINT "interactions_tenant_id_id_occurred_at_pk" PRIMARY KEY("tenant_id","id","occurred_at")
) PARTITION BY RANGE ("occurred_at");
--> statement-breakpoint
CREATE TABLE "interactions_default" PARTITION OF "interactions" DEFAULT;--> statement-breakpoint
DO $months$
DECLARE
  m timestamptz;
BEGIN
  FOR m IN
    SELECT DISTINCT date_trunc('month', "occurred_at", 'UTC') FROM "interactions_unpartitioned"
    UNION
    SELECT date_trunc('month', now(), 'UTC') + make_interval(months => k) FROM generate_series(0, 2) k
    ORDER BY 1
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "interactions" FOR VALUES FROM (%L) TO (%L)',
                   'interactions_' || to_char(m AT TIME ZONE 'UTC', '"y"YYYY"m"MM'), m, m + interval '1 month');
  END LOOP;
END $months$;--> statement-breakpoint
INSERT INTO "interactions" ("tenant_id", "id", "dedupe_key", "user_id", "anonymous_id", "profile_id", "item_id", "type", "value",
	"quantity", "price_minor", "currency", "order_id", "session_id", "recommendation_id", "source", "context", "metadata", "occurred_at", "received_at")
	SELECT "tenant_id", "id", "dedupe_key", "user_id", "anonymous_id", "profile_id", "item_id", "type", "value",
	"quantity", "price_minor", "currency", "order_id", "session_id", "recommendation_id", "source", "context", "metadata", "occurred_at", "received_at"
	FROM "interactions_unpartitioned";--> statement-breakpoint
DROP TABLE "interactions_unpartitioned";--> statement-breakpoint
CREATE INDEX "interactions_user_time_idx" ON "interactions" USING btree ("tenant_id","user_id","occurred_at");--> statement-breakpoint
CREATE INDEX "interactions_item_idx" ON "interactions" USING btree ("tenant_id","item_id");--> statement-breakpoint
CREATE INDEX "interactions_time_idx" ON "interactions" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "interactions_profile_idx" ON "interactions" USING btree ("tenant_id","profile_id","occurred_at");--> statement-breakpoint
CREATE INDEX "interactions_recommendation_idx" ON "interactions" USING btree ("tenant_id","recommendation_id");
