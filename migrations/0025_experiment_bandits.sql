CREATE TABLE "experiment_bandit_periods" (
	"tenant_id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"period" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"weights" jsonb NOT NULL,
	"best_arm_probabilities" jsonb,
	"arms" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"message" text NOT NULL,
	CONSTRAINT "experiment_bandit_periods_tenant_id_experiment_id_period_pk" PRIMARY KEY("tenant_id","experiment_id","period")
);
--> statement-breakpoint
ALTER TABLE "experiments" ADD COLUMN "hash_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "experiments" ADD COLUMN "type" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE "experiments" ADD COLUMN "bandit" jsonb;