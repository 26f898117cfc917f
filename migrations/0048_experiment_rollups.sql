-- Experiment rollups. The two new xid columns are added without a default first, then given one (hand-edited): a volatile default in ADD COLUMN would rewrite both tables; old rows stay null and are read by each rollup's first (whole) build.
CREATE TABLE "experiment_metric_rollups" (
	"tenant_id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"metric_key" text NOT NULL,
	"variant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"n" bigint NOT NULL,
	"exposures" bigint NOT NULL,
	"sum" numeric NOT NULL,
	"sum_squares" numeric NOT NULL,
	"denominator_sum" numeric NOT NULL,
	"denominator_sum_squares" numeric NOT NULL,
	"sum_product" numeric NOT NULL,
	CONSTRAINT "experiment_metric_rollups_tenant_id_experiment_id_metric_key_variant_id_day_pk" PRIMARY KEY("tenant_id","experiment_id","metric_key","variant_id","day")
);
--> statement-breakpoint
CREATE TABLE "experiment_rollup_watermarks" (
	"tenant_id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"metric_key" text NOT NULL,
	"watermark" "xid8",
	"refreshed_at" timestamp with time zone,
	CONSTRAINT "experiment_rollup_watermarks_tenant_id_experiment_id_metric_key_pk" PRIMARY KEY("tenant_id","experiment_id","metric_key")
);
--> statement-breakpoint
CREATE TABLE "experiment_unit_metrics" (
	"tenant_id" uuid NOT NULL,
	"experiment_id" uuid NOT NULL,
	"metric_key" text NOT NULL,
	"unit_id" text NOT NULL,
	"variant_id" uuid NOT NULL,
	"day" date NOT NULL,
	"exposures" integer NOT NULL,
	"x" numeric NOT NULL,
	"y" numeric NOT NULL,
	CONSTRAINT "experiment_unit_metrics_tenant_id_experiment_id_metric_key_unit_id_pk" PRIMARY KEY("tenant_id","experiment_id","metric_key","unit_id")
);
--> statement-breakpoint
ALTER TABLE "experiment_assignments" ADD COLUMN "changed_xid" "xid8";--> statement-breakpoint
ALTER TABLE "experiment_assignments" ALTER COLUMN "changed_xid" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
ALTER TABLE "experiment_metric_events" ADD COLUMN "ingest_xid" "xid8";--> statement-breakpoint
ALTER TABLE "experiment_metric_events" ALTER COLUMN "ingest_xid" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "experiment_assignments_changed_idx" ON "experiment_assignments" USING btree ("tenant_id","changed_xid");--> statement-breakpoint
CREATE INDEX "experiment_metric_events_ingest_idx" ON "experiment_metric_events" USING btree ("tenant_id","ingest_xid");