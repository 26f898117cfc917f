import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne } from './database.ts';

/**
 * Refresh watermarks as whole snapshots (one mechanism for every incremental rollup: experiments' and analytics'
 * funnels). A rollup refresh keeps the snapshot it started from (`pg_current_snapshot()`, as text); the next refresh
 * reads the rows written by transactions that snapshot did not see: those still running then (its in-progress list)
 * and those begun since (its xmax and up). Rows are tagged with their writer's `pg_current_xact_id()` (an xid8 column
 * with an index on (tenant, xid)). Unlike a watermark of the snapshot's xmin, one long transaction anywhere on the
 * server (another tenant's, another database's) does not turn every row written since it began into "changed":
 * only its own rows, once it commits.
 */

/** A snapshot's parts: transactions below `xmin` had finished, those at or above `xmax` had not begun, `xip` were running. */
export interface SnapshotParts {
  xmin: bigint;
  xmax: bigint;
  xip: bigint[];
}

/** Parses a `pg_snapshot` text (`xmin:xmax:xip,xip,...`). Throws on anything else (a watermark is never user input). */
export function parseSnapshot(text: string): SnapshotParts {
  const m = /^(\d+):(\d+):((?:\d+(?:,\d+)*)?)$/.exec(text);
  if (!m) throw new Error('not a pg_snapshot');
  const xmin = BigInt(m[1]!);
  const xmax = BigInt(m[2]!);
  const xip = m[3] ? m[3].split(',').map(BigInt) : [];
  if (xmin > xmax || xip.some((x) => x < xmin || x >= xmax)) throw new Error('not a pg_snapshot');
  return { xmin, xmax, xip };
}

/** The text form of `parts` (what PostgreSQL prints: in-progress ids ascending, no duplicates). */
export function formatSnapshot(parts: SnapshotParts): string {
  const xip = [...new Set(parts.xip)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `${parts.xmin}:${parts.xmax}:${xip.join(',')}`;
}

/**
 * A snapshot that sees only what every one of `texts` sees (the least xmax, every in-progress id below it): reading
 * the rows it does not see covers each watermark's unseen rows at once (a rollup group whose watermarks differ).
 */
export function commonSnapshot(texts: readonly string[]): string {
  if (!texts.length) throw new Error('no snapshots');
  const all = texts.map(parseSnapshot);
  const xmax = all.map((s) => s.xmax).reduce((a, b) => (b < a ? b : a));
  const xmin = all.map((s) => s.xmin).reduce((a, b) => (b < a ? b : a));
  const xip = all.flatMap((s) => s.xip).filter((x) => x < xmax);
  return formatSnapshot({ xmin: xmin < xmax ? xmin : xmax, xmax, xip });
}

/**
 * The current snapshot (text). Ask it first in a refresh's transaction: every row it sees, the refresh's later
 * statements see too, so storing it as the watermark misses nothing (rows it does not see are the next refresh's).
 */
export async function currentSnapshot(q: Q): Promise<string> {
  const row = await queryOne<{ snap: string }>(q, sql`SELECT pg_current_snapshot()::text AS snap`);
  return row!.snap;
}

/**
 * SQL condition: the row written by transaction `xid` (an xid8 column) is one snapshot `since` did not see (for
 * committed writers: exactly `NOT pg_visible_in_snapshot(xid, since)`). Written as the index can serve it: a range
 * from the snapshot's xmax (the newest end of an (tenant, xid) index) plus one probe per in-progress id, never the
 * range from its xmin (which a long transaction holds back). Literal bounds, so the planner sees how far past its
 * statistics the range lies.
 */
export function unseenBy(xid: SQL, since: string): SQL {
  const s = parseSnapshot(since);
  const range = sql`${xid} >= ${s.xmax.toString()}::xid8`;
  if (!s.xip.length) return sql`(${range})`;
  return sql`(${range} OR ${xid} = ANY(${arrayParam(s.xip.map(String))}::xid8[]))`;
}
