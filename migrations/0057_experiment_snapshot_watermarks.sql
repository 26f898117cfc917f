-- Hand-completed (drizzle-kit 0.31 printed the custom type as "undefined"."pg_snapshot" and no USING: xid8 has no cast
-- to pg_snapshot). An xmin watermark X becomes the snapshot X:X: (every transaction below X seen, none at or above):
-- the same rows count as unseen, so no rollup is rebuilt; NULL (never built) stays NULL.
ALTER TABLE "experiment_rollup_watermarks" ALTER COLUMN "watermark" SET DATA TYPE pg_snapshot USING ("watermark"::text || ':' || "watermark"::text || ':')::pg_snapshot;--> statement-breakpoint
-- Appended (drizzle cannot declare INCLUDE): a covering primary key, so a refresh's probes of stored unit states
-- (the state columns it compares) are index-only instead of random heap reads.
ALTER TABLE "experiment_unit_metrics" DROP CONSTRAINT "experiment_unit_metrics_tenant_id_experiment_id_metric_key_unit_id_pk", ADD CONSTRAINT "experiment_unit_metrics_tenant_id_experiment_id_metric_key_unit_id_pk" PRIMARY KEY ("tenant_id","experiment_id","metric_key","unit_id") INCLUDE ("variant_id","day","exposures","x","y");
