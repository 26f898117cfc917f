CREATE TABLE "analytics_cohorts" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"definition" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "analytics_cohorts_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "analytics_cohorts_name_key" ON "analytics_cohorts" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "analytics_cohorts_updated_idx" ON "analytics_cohorts" USING btree ("tenant_id","updated_at");