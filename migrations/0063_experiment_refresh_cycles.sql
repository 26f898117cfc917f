ALTER TABLE "experiment_rollup_watermarks" ADD COLUMN "target" "pg_snapshot";--> statement-breakpoint
ALTER TABLE "experiment_rollup_watermarks" ADD COLUMN "target_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "experiment_rollup_watermarks" ADD COLUMN "cursor" text;