CREATE TABLE "import_errors" (
	"tenant_id" uuid NOT NULL,
	"import_id" uuid NOT NULL,
	"row" integer NOT NULL,
	"field" text NOT NULL,
	"code" text NOT NULL,
	"severity" text NOT NULL,
	"reason" text NOT NULL,
	"value" text,
	"item_id" text,
	CONSTRAINT "import_errors_tenant_id_import_id_row_field_code_pk" PRIMARY KEY("tenant_id","import_id","row","field","code")
);
--> statement-breakpoint
CREATE TABLE "import_runs" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"mode" text NOT NULL,
	"file_name" text NOT NULL,
	"storage_key" text,
	"file_bytes" bigint DEFAULT 0 NOT NULL,
	"compressed" text,
	"format" text,
	"delimiter" text,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"job_id" uuid,
	"rows_read" integer DEFAULT 0 NOT NULL,
	"rows_accepted" integer DEFAULT 0 NOT NULL,
	"rows_rejected" integer DEFAULT 0 NOT NULL,
	"rows_duplicate" integer DEFAULT 0 NOT NULL,
	"warnings" integer DEFAULT 0 NOT NULL,
	"bytes_read" bigint DEFAULT 0 NOT NULL,
	"checkpoint_row" integer DEFAULT 0 NOT NULL,
	"statistics" jsonb,
	"error_code" text,
	"error_message" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "import_runs_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE INDEX "import_runs_tenant_created_idx" ON "import_runs" USING btree ("tenant_id","created_at");