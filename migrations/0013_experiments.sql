CREATE TABLE "experiment_assignments" (
	"tenant_id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"unit_id" text NOT NULL,
	"variant_id" uuid NOT NULL,
	"first_exposed_at" timestamp with time zone NOT NULL,
	"last_exposed_at" timestamp with time zone NOT NULL,
	"exposures" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "experiment_assignments_tenant_id_experiment_id_unit_id_pk" PRIMARY KEY("tenant_id","experiment_id","unit_id")
);
--> statement-breakpoint
CREATE TABLE "experiment_metric_events" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"unit_id" text NOT NULL,
	"event" text NOT NULL,
	"value" double precision DEFAULT 1 NOT NULL,
	"amount_minor" bigint,
	"currency" text,
	"dedupe_key" text NOT NULL,
	"experiment_id" uuid,
	"item_id" text,
	"recommendation_id" text,
	"occurred_at" timestamp with time zone NOT NULL,
	CONSTRAINT "experiment_metric_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "experiment_variants" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"weight" double precision NOT NULL,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"position" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "experiment_variants_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "experiments" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"metrics" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"primary_metric" text NOT NULL,
	"traffic_allocation" real DEFAULT 1 NOT NULL,
	"targeting" jsonb,
	"namespace" text,
	"namespace_start" real DEFAULT 0 NOT NULL,
	"namespace_end" real DEFAULT 1 NOT NULL,
	"holdout_seed" text,
	"holdout_percent" real DEFAULT 0 NOT NULL,
	"hash_seed" text NOT NULL,
	"exclude_bots" boolean DEFAULT true NOT NULL,
	"engine" text DEFAULT 'frequentist' NOT NULL,
	"confidence" real DEFAULT 0.95 NOT NULL,
	"correction" text DEFAULT 'holm' NOT NULL,
	"sequential" boolean DEFAULT false NOT NULL,
	"minimum_sample_size" integer DEFAULT 100 NOT NULL,
	"conversion_window_hours" integer DEFAULT 72 NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"stopped_at" timestamp with time zone,
	CONSTRAINT "experiments_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE INDEX "experiment_assignments_variant_idx" ON "experiment_assignments" USING btree ("tenant_id","experiment_id","variant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "experiment_metric_events_dedupe_key" ON "experiment_metric_events" USING btree ("tenant_id","event","dedupe_key");--> statement-breakpoint
CREATE INDEX "experiment_metric_events_unit_idx" ON "experiment_metric_events" USING btree ("tenant_id","unit_id","event","occurred_at");--> statement-breakpoint
CREATE UNIQUE INDEX "experiment_variants_key_key" ON "experiment_variants" USING btree ("tenant_id","experiment_id","key");--> statement-breakpoint
CREATE UNIQUE INDEX "experiments_key_key" ON "experiments" USING btree ("tenant_id","key");