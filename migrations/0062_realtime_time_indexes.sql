-- Hand edit: IF NOT EXISTS, so an operator may build these two indexes beforehand with CREATE INDEX CONCURRENTLY
-- (writes go on) and this migration then skips them; drizzle's migrator runs every pending migration in one
-- transaction, where CONCURRENTLY cannot run (docs/production.md, "Indexes on large tables").
CREATE INDEX IF NOT EXISTS "cart_events_time_idx" ON "cart_events" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "funnel_events_time_idx" ON "funnel_events" USING btree ("tenant_id","reached_at");
