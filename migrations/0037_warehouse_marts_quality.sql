CREATE TABLE "warehouse_cohort_analysis" (
	"tenant_id" uuid NOT NULL,
	"cohort_month" text NOT NULL,
	"period_index" integer NOT NULL,
	"period_month" text NOT NULL,
	"cohort_size" integer NOT NULL,
	"active_customers" integer NOT NULL,
	"orders" integer NOT NULL,
	"net_revenue_minor" bigint NOT NULL,
	"retention_rate" double precision NOT NULL,
	CONSTRAINT "warehouse_cohort_analysis_tenant_id_cohort_month_period_index_pk" PRIMARY KEY("tenant_id","cohort_month","period_index")
);
--> statement-breakpoint
CREATE TABLE "warehouse_dim_customers" (
	"tenant_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"status" text NOT NULL,
	"merged_into" uuid,
	"first_seen_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"event_count" integer NOT NULL,
	"channels" text[] NOT NULL,
	"orders" integer NOT NULL,
	"net_revenue_minor" bigint NOT NULL,
	"first_order_at" timestamp with time zone,
	"last_order_at" timestamp with time zone,
	"cohort_month" text,
	CONSTRAINT "warehouse_dim_customers_tenant_id_profile_id_pk" PRIMARY KEY("tenant_id","profile_id")
);
--> statement-breakpoint
CREATE TABLE "warehouse_dim_products" (
	"tenant_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"item_id" text NOT NULL,
	"name" text,
	"brand" text,
	"category_path" text,
	"price_minor" bigint,
	"sale_price_minor" bigint,
	"currency" text,
	"availability" text,
	"is_active" boolean NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "warehouse_dim_products_tenant_id_product_id_pk" PRIMARY KEY("tenant_id","product_id")
);
--> statement-breakpoint
CREATE TABLE "warehouse_fact_orders" (
	"tenant_id" uuid NOT NULL,
	"order_id" text NOT NULL,
	"profile_id" uuid NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"order_date" text NOT NULL,
	"currency" text,
	"revenue_minor" bigint NOT NULL,
	"refunded_minor" bigint NOT NULL,
	"net_minor" bigint NOT NULL,
	"order_number" integer NOT NULL,
	"is_first_order" boolean NOT NULL,
	"days_since_previous_order" double precision,
	CONSTRAINT "warehouse_fact_orders_tenant_id_order_id_pk" PRIMARY KEY("tenant_id","order_id")
);
--> statement-breakpoint
CREATE TABLE "warehouse_mart_runs" (
	"tenant_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"row_counts" jsonb NOT NULL,
	"duration_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "warehouse_mart_runs_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "warehouse_quality_results" (
	"tenant_id" uuid NOT NULL,
	"run_id" uuid NOT NULL,
	"check_name" text NOT NULL,
	"table_name" text NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"observed" double precision,
	"threshold" double precision,
	"examples" text[] NOT NULL,
	"message" text NOT NULL,
	"trigger" text NOT NULL,
	"ran_at" timestamp with time zone NOT NULL,
	CONSTRAINT "warehouse_quality_results_tenant_id_run_id_check_name_pk" PRIMARY KEY("tenant_id","run_id","check_name")
);
--> statement-breakpoint
CREATE TABLE "warehouse_rfm_analysis" (
	"tenant_id" uuid NOT NULL,
	"profile_id" uuid NOT NULL,
	"as_of" timestamp with time zone NOT NULL,
	"recency_days" double precision NOT NULL,
	"frequency" integer NOT NULL,
	"monetary_minor" bigint NOT NULL,
	"r_score" integer NOT NULL,
	"f_score" integer NOT NULL,
	"m_score" integer NOT NULL,
	"rfm_score" text NOT NULL,
	"segment" text NOT NULL,
	CONSTRAINT "warehouse_rfm_analysis_tenant_id_profile_id_pk" PRIMARY KEY("tenant_id","profile_id")
);
--> statement-breakpoint
CREATE INDEX "warehouse_dim_products_item_idx" ON "warehouse_dim_products" USING btree ("tenant_id","item_id");--> statement-breakpoint
CREATE INDEX "warehouse_fact_orders_profile_idx" ON "warehouse_fact_orders" USING btree ("tenant_id","profile_id");--> statement-breakpoint
CREATE INDEX "warehouse_mart_runs_recent_idx" ON "warehouse_mart_runs" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "warehouse_quality_results_recent_idx" ON "warehouse_quality_results" USING btree ("tenant_id","ran_at");