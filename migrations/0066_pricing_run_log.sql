ALTER TABLE "pricing_feed_runs" ADD COLUMN "job_id" uuid;--> statement-breakpoint
ALTER TABLE "pricing_feed_runs" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "pricing_feed_runs" ADD COLUMN "log" jsonb DEFAULT '[]'::jsonb NOT NULL;