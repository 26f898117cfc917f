/**
 * Where PostgreSQL's time goes under a bench's load, by sampling: every `everyMs`, the active backends of one
 * database (pg_stat_activity) are counted by statement (its text cut at the first `FROM <table>`-worth of words)
 * and wait event. A statement seen in 30% of samples had a backend busy on it 30% of the window. Sampling is
 * cheap (one catalog read per tick over one connection) and needs no server setting (pg_stat_statements needs a
 * preload and a restart). Also the window's table counters (pg_stat_user_tables): rows read by sequential and
 * index scans, per table, which tell a full scan from probes.
 */
import pg from 'pg';
import { processCpuMs } from './process.ts';

export interface ActivityReport {
  samples: number;
  /** Statement -> samples with a backend on it (several backends on it count several times). */
  busy: [string, number][];
  /** Wait event (or 'CPU') -> backend samples. */
  waits: [string, number][];
  /** Table -> rows read in the window: [sequential, index-fetched]. */
  tables: [string, number, number][];
  /**
   * CPU ms of this database's backends over the window (other databases' work on a shared server left out;
   * a backend that exited meanwhile is missed).
   */
  backendCpuMs: number;
}

async function backendCpu(c: pg.Client, db: string): Promise<Map<number, number>> {
  const r = await c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db]);
  const out = new Map<number, number>();
  for (const { pid } of r.rows) {
    const ms = await processCpuMs(pid);
    if (Number.isFinite(ms)) out.set(pid, ms);
  }
  return out;
}

/** The statement's head and tail (its WHERE usually tells two statements with the same select list apart). */
const shorten = (q: string) => {
  const t = q.replace(/\s+/g, ' ').trim();
  return t.length <= 150 ? t : `${t.slice(0, 70)} … ${t.slice(-75)}`;
};

async function tableCounters(c: pg.Client): Promise<Map<string, [number, number]>> {
  const r = await c.query<{ relname: string; seq: string; idx: string }>(
    `SELECT relname, coalesce(seq_tup_read, 0)::text AS seq, coalesce(idx_tup_fetch, 0)::text AS idx FROM pg_stat_user_tables`,
  );
  return new Map(r.rows.map((x) => [x.relname, [Number(x.seq), Number(x.idx)]]));
}

/** Starts sampling `databaseUrl`'s activity; `stop()` ends it and reports. Undefined URL: a no-op (PGlite). */
export async function sampleActivity(
  databaseUrl: string | undefined,
  everyMs = 10,
): Promise<{ stop(): Promise<ActivityReport | undefined> }> {
  if (!databaseUrl) return { stop: async () => undefined };
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  const db = new URL(databaseUrl).pathname.slice(1);
  const busy = new Map<string, number>();
  const waits = new Map<string, number>();
  let samples = 0;
  let running = true;
  // statistics are flushed by backends at most every 500 ms (PG 15): read after a pause at both ends
  const before = await tableCounters(c);
  const cpuBefore = await backendCpu(c, db);
  const loop = (async () => {
    while (running) {
      const r = await c.query<{ query: string; wait: string | null }>(
        `SELECT query, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity
         WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`,
        [db],
      );
      samples++;
      for (const row of r.rows) {
        const k = shorten(row.query);
        busy.set(k, (busy.get(k) ?? 0) + 1);
        const w = row.wait ?? 'CPU';
        waits.set(w, (waits.get(w) ?? 0) + 1);
      }
      await new Promise((res) => setTimeout(res, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const cpuAfter = await backendCpu(c, db);
      let backendCpuMs = 0;
      for (const [pid, ms] of cpuAfter) backendCpuMs += ms - (cpuBefore.get(pid) ?? 0);
      await new Promise((res) => setTimeout(res, 600));
      const after = await tableCounters(c);
      await c.end();
      const tables: [string, number, number][] = [...after]
        .map(([t, [s, i]]) => [t, s - (before.get(t)?.[0] ?? 0), i - (before.get(t)?.[1] ?? 0)] as [string, number, number])
        .filter(([, s, i]) => s + i > 0)
        .sort((a, b) => b[1] + b[2] - (a[1] + a[2]));
      const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
      return { samples, busy: sorted(busy), waits: sorted(waits), tables, backendCpuMs };
    },
  };
}

/** The report as a few lines: statements with the share of samples a backend was on them, waits, tables. */
export function formatActivity(r: ActivityReport, requests: number, top = 8): string {
  const pct = (n: number) => `${((100 * n) / Math.max(1, r.samples)).toFixed(0)}%`;
  const lines = [
    `  PostgreSQL, this database's backends: CPU ${(r.backendCpuMs / Math.max(1, requests)).toFixed(2)} ms/request; activity (${r.samples} samples; share = backends busy on it per sample, summed over backends):`,
    ...r.busy.slice(0, top).map(([q, n]) => `    ${pct(n).padStart(5)}  ${q}`),
    `    waits: ${r.waits
      .slice(0, 6)
      .map(([w, n]) => `${w} ${pct(n)}`)
      .join(', ')}`,
    `    rows read per request (seq/index): ${r.tables
      .slice(0, 6)
      .map(([t, s, i]) => `${t} ${(s / Math.max(1, requests)).toFixed(0)}/${(i / Math.max(1, requests)).toFixed(0)}`)
      .join(', ')}`,
  ];
  return lines.join('\n');
}
