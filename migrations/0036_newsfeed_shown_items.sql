CREATE TABLE "newsfeed_shown_items" (
	"tenant_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"item_id" text NOT NULL,
	"shown_at" timestamp with time zone NOT NULL,
	CONSTRAINT "newsfeed_shown_items_tenant_id_user_id_item_id_pk" PRIMARY KEY("tenant_id","user_id","item_id")
);
--> statement-breakpoint
CREATE INDEX "newsfeed_shown_items_user_idx" ON "newsfeed_shown_items" USING btree ("tenant_id","user_id","shown_at");