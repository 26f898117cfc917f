CREATE TABLE "gbp_daily_metrics" (
	"tenant_id" uuid NOT NULL,
	"location_name" text NOT NULL,
	"day" date NOT NULL,
	"metric" text NOT NULL,
	"value" bigint NOT NULL,
	"fetched_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "gbp_daily_metrics_tenant_id_location_name_day_metric_pk" PRIMARY KEY("tenant_id","location_name","day","metric")
);
--> statement-breakpoint
CREATE TABLE "gbp_locations" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"account_name" text NOT NULL,
	"location_name" text NOT NULL,
	"title" text,
	"sync_status" text,
	"sync_issues" jsonb,
	"synced_at" timestamp with time zone,
	"metrics_fetched_at" timestamp with time zone,
	"metrics_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
