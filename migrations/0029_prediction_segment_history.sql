CREATE TABLE "prediction_segment_history" (
	"tenant_id" uuid NOT NULL,
	"run_at" timestamp with time zone NOT NULL,
	"segment" text NOT NULL,
	"profiles" integer NOT NULL,
	CONSTRAINT "prediction_segment_history_tenant_id_run_at_segment_pk" PRIMARY KEY("tenant_id","run_at","segment")
);
