-- Hand-ordered: drizzle-kit generated the PRIMARY KEY constraints before the columns they name.
ALTER TABLE "analytics_cart_hours" ADD COLUMN "id" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "analytics_page_hours" ADD COLUMN "id" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "analytics_session_hours" ADD COLUMN "id" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "analytics_session_marks" ADD COLUMN "id" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "analytics_cart_hours" ADD CONSTRAINT "analytics_cart_hours_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "analytics_page_hours" ADD CONSTRAINT "analytics_page_hours_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "analytics_session_hours" ADD CONSTRAINT "analytics_session_hours_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "analytics_session_marks" ADD CONSTRAINT "analytics_session_marks_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");
