CREATE TABLE "stock_reservations" (
	"tenant_id" uuid NOT NULL,
	"cart_id" uuid NOT NULL,
	"item_id" text NOT NULL,
	"quantity" integer NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stock_reservations_tenant_id_cart_id_item_id_pk" PRIMARY KEY("tenant_id","cart_id","item_id")
);
--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "target_categories" text[];--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "max_applications" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "budget_minor" bigint;--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "budget_used_minor" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "stock_reservations_item_idx" ON "stock_reservations" USING btree ("tenant_id","item_id");