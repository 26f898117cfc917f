CREATE TABLE "warehouse_export_leases" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"owner" uuid NOT NULL,
	"token" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
