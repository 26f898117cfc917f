import { sql } from 'drizzle-orm';
import type { Q, RunLogEntry } from './pricing.repository.ts';

/**
 * Lines a run's log keeps at most. Past it, info lines are dropped and warnings and errors still kept (a run of a
 * thousand pages logs its first pages, every retry and its end, not every page).
 */
const RUN_LOG_MAX = 200;

/** The log of feed and network runs (pricing_feed_runs.log). */
export const runsRepository = {
  /** Appends lines to a run's log, in order; info lines only while the log is under RUN_LOG_MAX. */
  async appendLog(q: Q, tenantId: string, runId: string, entries: readonly RunLogEntry[]): Promise<void> {
    if (!entries.length) return;
    const important = entries.every((e) => e.level !== 'info');
    await q.execute(
      sql`UPDATE pricing_feed_runs SET log = log || ${JSON.stringify(entries)}::jsonb
          WHERE tenant_id = ${tenantId} AND id = ${runId}
            AND (${important} OR jsonb_array_length(log) + ${entries.length} <= ${RUN_LOG_MAX})`,
    );
  },
};
