import type { PlatformServices } from '../../platform/index.ts';
import type { RowIssue } from './feed.core.ts';
import type { RunLogEntry } from './pricing.repository.ts';
import { runsRepository as runs } from './runs.repository.ts';

/** Attempts of a feed or network run's job (the first and two retries). */
export const RUN_MAX_ATTEMPTS = 3;
/** Rejected rows named one by one in a run's log; the rest are counted (all of the first 100 are in its errors). */
const LOGGED_ISSUES = 20;

/**
 * A run's log as an operator reads it (GET /api/v1/pricing/feed-runs/:id, the dashboard's Networks page). Lines are
 * written in order, one after another, behind the caller: `info`/`warn`/`error` never wait, so a line may be
 * written while an import transaction is open (on the embedded database it is then written after the transaction
 * ends); `flush` waits for every line so far and must not be awaited inside a transaction. A failed write is logged
 * to the process log, never thrown.
 */
export interface RunLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  flush(): Promise<void>;
}

export function createRunLog(deps: Pick<PlatformServices, 'db' | 'clock' | 'log'>, tenantId: string, runId: string): RunLog {
  let writing: Promise<void> = Promise.resolve();
  const add = (level: RunLogEntry['level'], message: string) => {
    const entry: RunLogEntry = { at: deps.clock().toISOString(), level, message: message.slice(0, 1000) };
    writing = writing
      .then(() => runs.appendLog(deps.db, tenantId, runId, [entry]))
      .catch((err: unknown) => deps.log.warn({ err, runId }, 'pricing: a run log line could not be written'));
  };
  return {
    info: (m) => add('info', m),
    warn: (m) => add('warning', m),
    error: (m) => add('error', m),
    flush: () => writing,
  };
}

/** Logs a run's validation outcome: rejected rows with their reason (the first LOGGED_ISSUES), warnings counted. */
export function logIssues(log: RunLog, issues: readonly RowIssue[], rejected: number, rows: number): void {
  const errors = issues.filter((i) => i.level === 'error');
  const warnings = issues.length - errors.length;
  if (rejected) log.warn(`${rejected} of ${rows} rows rejected (the other rows are imported):`);
  for (const i of errors.slice(0, LOGGED_ISSUES)) log.warn(`row ${i.row} rejected, ${i.field}: ${i.message}`);
  if (errors.length > LOGGED_ISSUES) log.warn(`${errors.length - LOGGED_ISSUES} more row errors: see the run's errors`);
  if (warnings)
    log.warn(`${warnings} row warnings (a bad GTIN or link left out, an offer listed twice): the rows are imported; see the run's errors`);
}

/** The job queue's retry hook of run jobs: the log says what failed and when the next attempt starts. */
export function logRetry(deps: Pick<PlatformServices, 'db' | 'clock' | 'log'>) {
  return async <P extends { runId: string }>(
    job: { tenantId: string; payload: P; attempt: number; maxAttempts: number },
    error: string,
    delayMs: number,
  ): Promise<void> => {
    const log = createRunLog(deps, job.tenantId, job.payload.runId);
    log.warn(
      `attempt ${job.attempt} of ${job.maxAttempts} failed: ${error.slice(0, 400)}. Retrying in ${delayMs < 1000 ? `${delayMs} ms` : `${(delayMs / 1000).toFixed(1)} s`} (attempt ${job.attempt + 1} of ${job.maxAttempts}).`,
    );
    await log.flush();
  };
}
