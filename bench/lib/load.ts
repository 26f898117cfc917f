import os from 'node:os';
import autocannon from 'autocannon';
import { processCpuMs } from './process.ts';

/** The machine's load averages (1, 5, 15 min), printed beside every figure measured on a shared machine. */
export const loadAverage = (): string =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** One measured scenario: throughput, latency percentiles (ms), failed answers and the server's CPU per request. */
export interface LoadRow {
  scenario: string;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  /** non-2xx answers, connection errors and timeouts */
  errors: number;
  /** the server's CPU milliseconds per answered request (NaN without a pid) */
  cpuMs: number;
  load: string;
}

/**
 * Drives `url` with autocannon for `seconds` (after an optional warm-up) and prints the row as JSON. With `body`,
 * every request is a POST of a fresh body; with `rate`, the offered load is fixed (requests/s over all
 * connections) instead of closed-loop; with `pid`, the server process's CPU time per answer is measured too.
 */
export async function runLoad(opts: {
  scenario: string;
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds?: number;
  headers?: Record<string, string>;
  body?: () => string;
  rate?: number;
  pid?: number;
  /** Called between the warm-up and the measured seconds (e.g. to reset a server-side monitor). */
  afterWarmup?: () => Promise<void>;
}): Promise<LoadRow> {
  const request = {
    url: opts.url,
    connections: opts.connections,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    ...(opts.body
      ? {
          method: 'POST' as const,
          headers: { 'content-type': 'application/json', ...opts.headers },
          requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: opts.body!() }) }],
        }
      : { headers: opts.headers ?? {} }),
  };
  if (opts.warmupSeconds) await autocannon({ ...request, duration: opts.warmupSeconds });
  await opts.afterWarmup?.();
  const cpuBefore = opts.pid === undefined ? Number.NaN : await processCpuMs(opts.pid);
  const r = await autocannon({ ...request, duration: opts.seconds });
  const cpu = opts.pid === undefined ? Number.NaN : (await processCpuMs(opts.pid)) - cpuBefore;
  const row: LoadRow = {
    scenario: opts.scenario,
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
    cpuMs: Math.round((cpu / Math.max(1, r.requests.total)) * 100) / 100,
    load: loadAverage(),
  };
  console.log(JSON.stringify(row));
  return row;
}
