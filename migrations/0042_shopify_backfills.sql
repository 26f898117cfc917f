CREATE TABLE "shopify_backfills" (
	"tenant_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"job_id" uuid,
	"status" text NOT NULL,
	"access_token" text NOT NULL,
	"resources" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_error" text,
	"last_error_code" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "shopify_backfills_tenant_id_connection_id_pk" PRIMARY KEY("tenant_id","connection_id")
);
