-- Live jobs that already share a dedupe key (booked twice before this index existed): the queued extras are
-- cancelled, running extras keep running without their key, so the unique index below can be built.
WITH ranked AS (
	SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id, type, dedupe_key ORDER BY (status = 'running') DESC, created_at, id) AS n
	FROM jobs WHERE status IN ('queued', 'running') AND dedupe_key IS NOT NULL
)
UPDATE jobs j SET
	status = CASE WHEN j.status = 'queued' THEN 'cancelled' ELSE j.status END,
	finished_at = CASE WHEN j.status = 'queued' THEN now() ELSE j.finished_at END,
	last_error = CASE WHEN j.status = 'queued' THEN 'duplicate of a live job with the same dedupe key' ELSE j.last_error END,
	dedupe_key = CASE WHEN j.status = 'queued' THEN j.dedupe_key ELSE NULL END,
	updated_at = now()
FROM ranked r WHERE r.tenant_id = j.tenant_id AND r.id = j.id AND r.n > 1;--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_live_dedupe_idx" ON "jobs" USING btree ("tenant_id","type","dedupe_key") WHERE status in ('queued', 'running');
