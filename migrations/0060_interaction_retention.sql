CREATE TABLE "interaction_retention" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"months" integer NOT NULL,
	"archive" boolean DEFAULT true NOT NULL,
	"last_purge_at" timestamp with time zone,
	"last_purged_rows" bigint DEFAULT 0 NOT NULL,
	"purged_rows" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
