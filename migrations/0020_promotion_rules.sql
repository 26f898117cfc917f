ALTER TABLE "promotions" ADD COLUMN "kind" text DEFAULT 'standard' NOT NULL;--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "target_item_ids" text[];--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "buy_item_ids" text[];--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "buy_min_quantity" integer;--> statement-breakpoint
ALTER TABLE "promotions" ADD COLUMN "apply_to_quantity" integer;