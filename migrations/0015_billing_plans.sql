CREATE TABLE "billing_stripe_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"tenant_id" uuid,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_subscriptions" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"plan" text NOT NULL,
	"status" text NOT NULL,
	"stripe_customer_id" text,
	"stripe_subscription_id" text,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"current_period_end" timestamp with time zone,
	"last_payment_error" text,
	"state_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_usage" (
	"tenant_id" uuid NOT NULL,
	"period" text NOT NULL,
	"meter" text NOT NULL,
	"used" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "billing_usage_tenant_id_period_meter_pk" PRIMARY KEY("tenant_id","period","meter")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "billing_subscriptions_subscription_idx" ON "billing_subscriptions" USING btree ("stripe_subscription_id");