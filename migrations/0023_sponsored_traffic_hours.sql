CREATE TABLE "sponsored_traffic_hours" (
	"tenant_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" bigint NOT NULL,
	CONSTRAINT "sponsored_traffic_hours_tenant_id_hour_pk" PRIMARY KEY("tenant_id","hour")
);
