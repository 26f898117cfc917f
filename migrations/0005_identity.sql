CREATE TABLE "identity_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profile_identifiers" (
	"tenant_id" uuid NOT NULL,
	"type" text NOT NULL,
	"value" text NOT NULL,
	"match_key" text NOT NULL,
	"profile_id" uuid NOT NULL,
	"origin_profile_id" uuid NOT NULL,
	"confidence" real NOT NULL,
	"channel" text,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "profile_identifiers_tenant_id_type_value_pk" PRIMARY KEY("tenant_id","type","value")
);
--> statement-breakpoint
CREATE TABLE "profile_merges" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"kind" text NOT NULL,
	"survivor_id" uuid NOT NULL,
	"merged_id" uuid NOT NULL,
	"rule" text NOT NULL,
	"identifier_type" text,
	"identifier_hash" text,
	"event_ref" text,
	"actor" text NOT NULL,
	"reverts_merge_id" uuid,
	"moved_event_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profile_merges_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "profile_orders" (
	"tenant_id" uuid NOT NULL,
	"order_id" text NOT NULL,
	"profile_id" uuid NOT NULL,
	"revenue_minor" bigint DEFAULT 0 NOT NULL,
	"refunded_minor" bigint DEFAULT 0 NOT NULL,
	"currency" text,
	"occurred_at" timestamp with time zone NOT NULL,
	CONSTRAINT "profile_orders_tenant_id_order_id_pk" PRIMARY KEY("tenant_id","order_id")
);
--> statement-breakpoint
CREATE TABLE "profile_review_queue" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"case_key" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reason" text NOT NULL,
	"profile_ids" uuid[] NOT NULL,
	"event_ref" text,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profile_review_queue_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"merged_into" uuid,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"first_seen_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"total_orders" integer DEFAULT 0 NOT NULL,
	"revenue_minor" bigint DEFAULT 0 NOT NULL,
	"refunded_minor" bigint DEFAULT 0 NOT NULL,
	"currency" text,
	"event_count" integer DEFAULT 0 NOT NULL,
	"channels" text[] DEFAULT '{}'::text[] NOT NULL,
	"profile_strength" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profiles_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE INDEX "profile_identifiers_match_idx" ON "profile_identifiers" USING btree ("tenant_id","match_key");--> statement-breakpoint
CREATE INDEX "profile_identifiers_profile_idx" ON "profile_identifiers" USING btree ("tenant_id","profile_id");--> statement-breakpoint
CREATE INDEX "profile_merges_survivor_idx" ON "profile_merges" USING btree ("tenant_id","survivor_id");--> statement-breakpoint
CREATE INDEX "profile_merges_merged_idx" ON "profile_merges" USING btree ("tenant_id","merged_id");--> statement-breakpoint
CREATE INDEX "profile_orders_profile_idx" ON "profile_orders" USING btree ("tenant_id","profile_id");--> statement-breakpoint
CREATE UNIQUE INDEX "profile_review_case_key" ON "profile_review_queue" USING btree ("tenant_id","case_key");--> statement-breakpoint
CREATE INDEX "profile_review_status_idx" ON "profile_review_queue" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE INDEX "profiles_merged_into_idx" ON "profiles" USING btree ("tenant_id","merged_into");--> statement-breakpoint
CREATE INDEX "profiles_strength_idx" ON "profiles" USING btree ("tenant_id","profile_strength");