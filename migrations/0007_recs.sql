CREATE TABLE "recs_deployments" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"active_version_id" uuid,
	"previous_version_id" uuid,
	"canary_version_id" uuid,
	"canary_percent" integer DEFAULT 0 NOT NULL,
	"canary_started_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "recs_model_versions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"version" text NOT NULL,
	"model_type" text NOT NULL,
	"hyperparameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"model_card" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"snapshot_users" integer DEFAULT 0 NOT NULL,
	"snapshot_items" integer DEFAULT 0 NOT NULL,
	"snapshot_interactions" integer DEFAULT 0 NOT NULL,
	"artifact_key" text NOT NULL,
	"artifact_bytes" bigint DEFAULT 0 NOT NULL,
	"job_id" uuid,
	"training_seconds" real DEFAULT 0 NOT NULL,
	"load_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deployed_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "recs_model_versions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "recs_served" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"kind" text NOT NULL,
	"user_id" text,
	"model_version_id" uuid,
	"item_ids" text[] NOT NULL,
	"latency_ms" real NOT NULL,
	"cache_hit" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "recs_served_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "recs_model_versions_version_key" ON "recs_model_versions" USING btree ("tenant_id","version");--> statement-breakpoint
CREATE INDEX "recs_model_versions_created_idx" ON "recs_model_versions" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "recs_served_time_idx" ON "recs_served" USING btree ("tenant_id","created_at");