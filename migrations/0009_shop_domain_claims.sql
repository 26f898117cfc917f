CREATE TABLE "shop_domain_claims" (
	"vendor" text NOT NULL,
	"shop_domain" text NOT NULL,
	"tenant_id" uuid NOT NULL,
	"connection_id" uuid NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "shop_domain_claims_vendor_shop_domain_pk" PRIMARY KEY("vendor","shop_domain")
);
