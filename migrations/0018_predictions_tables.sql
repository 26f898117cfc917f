CREATE TABLE "prediction_features" (
	"tenant_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"values" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "prediction_features_tenant_id_profile_id_pk" PRIMARY KEY("tenant_id","profile_id")
);
--> statement-breakpoint
CREATE TABLE "prediction_model_versions" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"kind" text NOT NULL,
	"version" text NOT NULL,
	"model_type" text NOT NULL,
	"status" text NOT NULL,
	"window_from" timestamp with time zone,
	"window_to" timestamp with time zone NOT NULL,
	"cutoff" timestamp with time zone NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"model_card" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"params" jsonb NOT NULL,
	"job_id" uuid,
	"training_seconds" real DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone,
	CONSTRAINT "prediction_model_versions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "prediction_scores" (
	"tenant_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"churn_probability" real,
	"expected_value_minor" bigint,
	"currency" text,
	"expected_purchases" real,
	"p_alive" real,
	"rfm_r" smallint NOT NULL,
	"rfm_f" smallint NOT NULL,
	"rfm_m" smallint NOT NULL,
	"segment" text NOT NULL,
	"cluster" integer,
	"reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"last_order_at" timestamp with time zone,
	"scored_at" timestamp with time zone NOT NULL,
	CONSTRAINT "prediction_scores_tenant_id_profile_id_pk" PRIMARY KEY("tenant_id","profile_id")
);
--> statement-breakpoint
CREATE INDEX "prediction_model_versions_kind_idx" ON "prediction_model_versions" USING btree ("tenant_id","kind","status");--> statement-breakpoint
CREATE INDEX "prediction_scores_segment_idx" ON "prediction_scores" USING btree ("tenant_id","segment");--> statement-breakpoint
CREATE INDEX "prediction_scores_churn_idx" ON "prediction_scores" USING btree ("tenant_id","churn_probability");