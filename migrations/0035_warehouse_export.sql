CREATE TABLE "warehouse_files" (
	"tenant_id" uuid NOT NULL,
	"table_name" text NOT NULL,
	"seq" integer NOT NULL,
	"partition_date" text NOT NULL,
	"path" text NOT NULL,
	"row_count" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "warehouse_files_tenant_id_table_name_seq_partition_date_pk" PRIMARY KEY("tenant_id","table_name","seq","partition_date")
);
--> statement-breakpoint
CREATE TABLE "warehouse_watermarks" (
	"tenant_id" uuid NOT NULL,
	"table_name" text NOT NULL,
	"key_ts" timestamp with time zone,
	"key_id" text,
	"batches" integer DEFAULT 0 NOT NULL,
	"rows_exported" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_run_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "warehouse_watermarks_tenant_id_table_name_pk" PRIMARY KEY("tenant_id","table_name")
);
--> statement-breakpoint
CREATE INDEX "orders_tenant_updated_idx" ON "orders" USING btree ("tenant_id","updated_at","id");--> statement-breakpoint
CREATE INDEX "profiles_updated_idx" ON "profiles" USING btree ("tenant_id","updated_at","id");