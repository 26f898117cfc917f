CREATE TABLE "catalog_change_markers" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"items_deleted" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
