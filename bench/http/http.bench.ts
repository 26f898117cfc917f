/**
 * bench/http: throughput and latency of Loupe's API-key-authenticated, rate-limited read endpoints (the full
 * hook stack: request id, credential check, tenant resolution, permission, per-address and per-tenant limits,
 * metrics, audit hook) against a bare Fastify hello-world, measured side by side in one run on this machine.
 * Two Loupe rows: /whoami measures the stack itself; /tenant adds one database read per request.
 *
 *   npm run bench:http                     # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:http
 *   BENCH_BASELINE=/path/to/other/checkout npm run bench:http   # that tree's /whoami and /tenant measured in the same rounds
 *   BENCH_CPU_PROFILE=/tmp/dir npm run bench:http   # V8 profiles of the Loupe server(s), measured rounds only
 *   BENCH_COMPARE_READ_SCOPE=1 npm run bench:http   # also a server with the earlier read scope (a transaction per read)
 *
 * Each server runs in its own process; autocannon drives them from this one, in turns (BENCH_ROUNDS rounds of
 * BENCH_SECONDS each, medians reported). Goal: Loupe keeps >= 60% of the bare server's throughput.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { BENCH_ADMIN, freePort, postJson, processCpuMs, startLoupe, startServer, stopServer } from '../lib/process.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Another checkout (for example `git archive main` unpacked, node_modules linked): its Loupe measured in the same rounds. */
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
/** A folder for the servers' CPU profiles of the measured rounds (bench/lib/cpu-profile.mjs, SIGUSR2 after the warm-up). */
/** BENCH_PATHS=whoami,tenant: only the Loupe rows whose path names one of these (the bare row always runs). */
const PATHS = process.env.BENCH_PATHS?.split(',');
const PROFILE_DIR = process.env.BENCH_CPU_PROFILE ? path.resolve(process.env.BENCH_CPU_PROFILE) : undefined;

interface Result {
  rps: number;
  /** The server process's CPU time per answered request (user + system), µs: steadier than req/s on a shared machine. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, headers: Record<string, string> = {}, duration = DURATION, pid?: number): Promise<Result> {
  const c0 = await processCpuMs(pid);
  const r = await autocannon({ url, connections: CONNECTIONS, duration, headers });
  const cpuUs = (((await processCpuMs(pid)) - c0) * 1000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, cpuUs, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

const root_ = path.resolve(import.meta.dirname, '../..');
const root = root_;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// Both servers run at once and are measured in turns, ROUNDS times: a shared machine's load changes by the
// minute, and a ratio taken within one round (seconds apart) is far steadier than one taken across the run.
const barePort = await freePort();
const bare = await startServer(
  'node',
  ['--import', 'tsx', path.join(root, 'bench/http/bare-server.ts'), String(barePort)],
  {},
  `http://127.0.0.1:${barePort}/`,
);
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-http-'));
const rows: { name: string; url: string; headers: Record<string, string>; pid?: number; runs: Result[] }[] = [];
const servers: ChildProcess[] = [];
if (PROFILE_DIR) await fs.mkdir(PROFILE_DIR, { recursive: true });
/** Starts one Loupe (this tree or the baseline's) with a tenant and an API key; returns the rows it measures. */
async function loupeRows(
  label: string,
  root?: string,
  env: Record<string, string> = {},
  tagged = root ? ' [baseline]' : '',
): Promise<typeof rows> {
  const dir = path.join(dataDir, label);
  await fs.mkdir(dir);
  const { server: loupe, base } = await startLoupe({
    dataDir: dir,
    timeoutMs: 600_000,
    ...(root ? { root } : {}),
    ...(PROFILE_DIR
      ? {
          nodeArgs: ['--import', path.join(root_, 'bench/lib/cpu-profile.mjs')],
          env: { ...env, LOUPE_CPU_PROFILE_FILE: path.join(PROFILE_DIR, `${label}.cpuprofile`) },
        }
      : { env }),
  });
  servers.push(loupe);
  const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
  const adminToken = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
  const tenant = await post('/api/v1/admin/tenants', { name: 'Bench Store' }, adminToken);
  // One e-mail per server: on PostgreSQL the servers share a database.
  const email = `owner-${label}@bench.local`;
  await post('/api/v1/admin/users', { email, password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' }, adminToken);
  const owner = (await post('/api/v1/auth/login', { email, password: 'Owner-Password-1' })).access_token as string;
  for (let i = 0; i < 5; i++) await post('/api/v1/api-keys', { name: `k${i}`, scopes: ['admin'] }, owner);
  const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['catalog:read', 'analytics:read'] }, owner)).api_key as string;
  const auth = { authorization: `Bearer ${key}` };
  const tag = tagged;
  const all = [
    { name: `Loupe GET /api/v1/whoami (API key, rate limit)${tag}`, url: `${base}/api/v1/whoami`, headers: auth, pid: loupe.pid, runs: [] },
    { name: `Loupe GET /api/v1/tenant (+1 database read)${tag}`, url: `${base}/api/v1/tenant`, headers: auth, pid: loupe.pid, runs: [] },
    // A tenant-owned table read through a repository: what row-level security of reads (issue 22) costs.
    {
      name: `Loupe GET /api/v1/items?limit=20 (tenant table)${tag}`,
      url: `${base}/api/v1/items?limit=20`,
      headers: auth,
      pid: loupe.pid,
      runs: [],
    },
  ];
  return PATHS ? all.filter((r) => PATHS.some((p) => r.url.includes(`/api/v1/${p}`))) : all;
}
try {
  {
    rows.push({ name: 'bare Fastify hello-world', url: `http://127.0.0.1:${barePort}/`, headers: {}, pid: bare.pid, runs: [] });
    rows.push(...(await loupeRows('loupe')));
    if (BASELINE) rows.push(...(await loupeRows('baseline', BASELINE)));
    // BENCH_COMPARE_READ_SCOPE=1: a second server with the earlier read scope (each scoped read in its own
    // transaction), measured in the same turns (issue 22).
    if (process.env.BENCH_COMPARE_READ_SCOPE === '1')
      rows.push(
        ...(await loupeRows('transaction-scope', undefined, { DATABASE_READ_SCOPE: 'transaction' }, ' [read scope per transaction]')),
      );
    // Warm up (JIT, caches), then measure.
    for (const r of rows) await load(r.url, r.headers, 2);
    if (PROFILE_DIR) for (const s of servers) s.kill('SIGUSR2');
    for (let round = 0; round < ROUNDS; round++) for (const r of rows) r.runs.push(await load(r.url, r.headers, DURATION, r.pid));
  }
} finally {
  for (const s of servers) await stopServer(s);
  await stopServer(bare);
  await fs.rm(dataDir, { recursive: true, force: true });
}

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `\nbench/http — ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION} s per endpoint (taken in turns), ${os.cpus().length} cores, ${db}\n`,
);
console.log(
  'endpoint (median of rounds)'.padEnd(52),
  'req/s'.padStart(9),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'CPU µs'.padStart(8),
  'errors'.padStart(7),
  'non-2xx'.padStart(8),
  'vs bare'.padStart(8),
  '  per round vs bare',
);
const bareRuns = rows[0]!.runs;
const ratios = rows.map((r) => r.runs.map((x, i) => x.rps / bareRuns[i]!.rps));
rows.forEach((r, i) => {
  console.log(
    r.name.padEnd(52),
    median(r.runs.map((x) => x.rps))
      .toFixed(0)
      .padStart(9),
    median(r.runs.map((x) => x.p50))
      .toFixed(1)
      .padStart(8),
    median(r.runs.map((x) => x.p99))
      .toFixed(1)
      .padStart(8),
    median(r.runs.map((x) => x.cpuUs))
      .toFixed(1)
      .padStart(8),
    String(r.runs.reduce((a, x) => a + x.errors, 0)).padStart(7),
    String(r.runs.reduce((a, x) => a + x.non2xx, 0)).padStart(8),
    `${(median(ratios[i]!) * 100).toFixed(0)}%`.padStart(8),
    ' ',
    ratios[i]!.map((x) => `${(x * 100).toFixed(0)}%`).join(' '),
  );
});
const ratioOf = (name: string, baseline = false): number => {
  const i = rows.findIndex((r) => r.name.includes(name) && r.name.endsWith('[baseline]') === baseline);
  return i < 0 ? Number.NaN : median(ratios[i]!);
};
// Throughput ratios swing with whatever else the machine runs; CPU per request does far less. Each server is one
// process on one core, so when both are CPU-bound, throughput ratio = inverse ratio of CPU per request.
const cpuRatioOf = (name: string, baseline = false): number => {
  const i = rows.findIndex((r) => r.name.includes(name) && r.name.endsWith('[baseline]') === baseline);
  return i < 0 ? Number.NaN : median(rows[0]!.runs.map((x, k) => x.cpuUs / rows[i]!.runs[k]!.cpuUs));
};
/** A share as a percentage; 'not measured' for a row BENCH_PATHS left out. */
const pct = (x: number) => (Number.isNaN(x) ? 'not measured' : `${(x * 100).toFixed(1)}%`);
const ratio = ratioOf('/whoami');
console.log(
  `\nThe authenticated, rate-limited stack keeps ${pct(ratio)} of the bare server's throughput (median of ${ROUNDS} rounds; goal >= 60%): ${ratio >= 0.6 ? 'MET' : 'NOT MET'}`,
);
console.log(`With one database read per request: ${pct(ratioOf('/tenant'))} (${db}).`);
console.log(`A tenant table's list (items): ${pct(ratioOf('/items'))} (${db}).`);
console.log(
  `By CPU per request (bare µs / Loupe µs, median of rounds): /whoami ${pct(cpuRatioOf('/whoami'))}, /tenant ${pct(cpuRatioOf('/tenant'))} (goal >= 60%: ${cpuRatioOf('/whoami') >= 0.6 ? 'MET' : 'NOT MET'}).`,
);
if (BASELINE) {
  console.log(
    `Baseline tree (${BASELINE}), by CPU per request: /whoami ${pct(cpuRatioOf('/whoami', true))}, /tenant ${pct(cpuRatioOf('/tenant', true))} of bare.`,
  );
}
if (PROFILE_DIR)
  console.log(`CPU profiles of the measured rounds: ${PROFILE_DIR}/*.cpuprofile (node bench/lib/cpu-profile-summary.mjs FILE)`);
console.log(
  `Load average during the run: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other work on the machine lowers every row alike).`,
);
