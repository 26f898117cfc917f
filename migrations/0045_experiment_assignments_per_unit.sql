-- One row per unit instead of one per (experiment, unit): the rows of a unit fold into parallel arrays, ordered by first exposure (hand-written: drizzle-kit's ALTERs cannot carry the rows over).
ALTER TABLE "experiment_assignments" RENAME TO "experiment_assignments_by_experiment";--> statement-breakpoint
ALTER TABLE "experiment_assignments_by_experiment" DROP CONSTRAINT "experiment_assignments_tenant_id_experiment_id_unit_id_pk";--> statement-breakpoint
CREATE TABLE "experiment_assignments" (
	"tenant_id" uuid NOT NULL,
	"unit_id" text NOT NULL,
	"experiment_ids" uuid[] NOT NULL,
	"variant_ids" uuid[] NOT NULL,
	"first_exposed_at" timestamp with time zone[] NOT NULL,
	"last_exposed_at" timestamp with time zone[] NOT NULL,
	"exposures" integer[] NOT NULL,
	CONSTRAINT "experiment_assignments_tenant_id_unit_id_pk" PRIMARY KEY("tenant_id","unit_id")
);--> statement-breakpoint
INSERT INTO "experiment_assignments" ("tenant_id", "unit_id", "experiment_ids", "variant_ids", "first_exposed_at", "last_exposed_at", "exposures")
SELECT "tenant_id", "unit_id",
	array_agg("experiment_id" ORDER BY "first_exposed_at", "experiment_id"), array_agg("variant_id" ORDER BY "first_exposed_at", "experiment_id"),
	array_agg("first_exposed_at" ORDER BY "first_exposed_at", "experiment_id"), array_agg("last_exposed_at" ORDER BY "first_exposed_at", "experiment_id"),
	array_agg("exposures" ORDER BY "first_exposed_at", "experiment_id")
FROM "experiment_assignments_by_experiment" GROUP BY "tenant_id", "unit_id";--> statement-breakpoint
DROP TABLE "experiment_assignments_by_experiment";
