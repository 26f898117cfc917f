CREATE TABLE "pricing_network_sources" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"store_id" uuid NOT NULL,
	"network" text NOT NULL,
	"account" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"credentials" text NOT NULL,
	"schedule" text DEFAULT 'hourly' NOT NULL,
	"next_run_at" timestamp with time zone,
	"last_run_id" uuid,
	"last_run_at" timestamp with time zone,
	"last_status" text,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pricing_network_sources_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "pricing_network_sources_tenant_store_key" ON "pricing_network_sources" USING btree ("tenant_id","store_id");--> statement-breakpoint
CREATE INDEX "pricing_network_sources_due_idx" ON "pricing_network_sources" USING btree ("next_run_at") WHERE schedule <> 'off';