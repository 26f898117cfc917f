/**
 * bench/experiments (assign): POST /api/v1/experiments/assign for 10 running experiments, beside a bare Fastify
 * hello-world measured in the same run. Goal: p99 under 5 ms. Three runs:
 *  - new users, 50 clients as fast as they go: every request a new user id, ten first exposures to store each
 *    (the worst case). Closed loop: by Little's law p99 ≥ 50 / throughput, so a 5 ms p99 here needs the bare
 *    server's rate; read it against the bare server's own p99 in the same run;
 *  - returning users, 50 clients: ids drawn from a pool of 5,000 (repeat exposures only bump counters);
 *  - new users at a fixed rate (BENCH_RATE, default 200 req/s, open loop from bench/lib/paced.ts: each request due
 *    at its time, latency counted from then): the latency an assignment costs when the server is not saturated, the
 *    figure the goal is about. Beside it, autocannon's `overallRate`, which is not a steady load (each connection
 *    sends its share of the second at once when the second starts) and pads latencies (coordinated-omission
 *    correction with a 1 ms expected interval).
 *
 *   npm run bench:experiments-assign                  # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:experiments-assign
 *   BENCH_BASELINE_ROOT=/tmp/base BENCH_ROUNDS=2 npm run bench:experiments-assign   # before/after side by side
 *   (a baseline checkout: `git archive main | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/`)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { runPaced } from '../lib/paced.ts';
import { BENCH_ADMIN, freePort, postJson, processCpuMs, startLoupe, startServer, stopServer } from '../lib/process.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const root = path.resolve(import.meta.dirname, '../..');

const RATE = Number(process.env.BENCH_RATE ?? 200);
const POOL = 5000;

/**
 * Runs the load; `cpuPerRequest` is the server's CPU milliseconds per completed request, the figure that stays
 * meaningful on a shared, loaded machine (latencies there measure the neighbours as much as the server).
 */
async function load(url: string, opts: Partial<autocannon.Options> = {}, warm = true, pid?: number) {
  if (warm) await autocannon({ url, connections: CONNECTIONS, duration: 2, ...opts });
  const before = await processCpuMs(pid);
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...opts });
  // Batched writes land after the last answer (repeat exposures up to 5 s later): count them too.
  await new Promise((res) => setTimeout(res, 6000));
  const cpuPerRequest = ((await processCpuMs(pid)) - before) / Math.max(1, r.requests.total);
  if (r.non2xx > 0) console.log(`non-2xx answers by status: ${JSON.stringify(r.statusCodeStats)}`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuPerRequest };
}
const line = (name: string, r: Awaited<ReturnType<typeof load>>) =>
  `${name.padEnd(28)}${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  non-2xx ${r.non2xx}  errors ${r.errors}` +
  (Number.isNaN(r.cpuPerRequest) ? '' : `  server CPU ${r.cpuPerRequest.toFixed(2)} ms/req`);

const barePort = await freePort();
const bare = await startServer(
  'node',
  ['--import', 'tsx', path.join(root, 'bench/http/bare-server.ts'), String(barePort)],
  {},
  `http://127.0.0.1:${barePort}/`,
);
let baseline: Awaited<ReturnType<typeof load>>;
try {
  baseline = await load(`http://127.0.0.1:${barePort}/`, {}, true, bare.pid);
} finally {
  await stopServer(bare);
}

type Figures = Awaited<ReturnType<typeof load>>;
/** BENCH_RUNS=new,returning,paced (default all): which loads to run. */
const RUNS = new Set((process.env.BENCH_RUNS ?? 'new,returning,paced').split(','));

/** Starts a server from `root`, creates 10 running experiments and runs the loads against it. */
async function measure(root: string | undefined): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>();
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-exp-'));
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there on exit (open it in Chrome DevTools).
  const nodeArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const { server, base } = await startLoupe({
    dataDir,
    nodeArgs,
    timeoutMs: 180_000,
    env: { RATE_LIMIT_AUTH_PER_MINUTE: '100000000' },
    ...(root ? { root } : {}),
  });
  try {
    const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
    const adminToken = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
    const tenant = await post('/api/v1/admin/tenants', { name: 'Bench Store' }, adminToken);
    await post(
      '/api/v1/admin/users',
      { email: 'owner@bench.local', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
      adminToken,
    );
    const owner = (await post('/api/v1/auth/login', { email: 'owner@bench.local', password: 'Owner-Password-1' })).access_token as string;
    const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['interactions:write', 'experiments:manage'] }, owner))
      .api_key as string;
    for (let i = 0; i < 10; i++) {
      const e = await post(
        '/api/v1/admin/experiments',
        { name: `exp ${i}`, variants: [{ key: 'control' }, { key: 'b', config: { i } }] },
        key,
      );
      await post(`/api/v1/admin/experiments/${e.id}/start`, {}, key);
    }
    const url = `${base}/api/v1/experiments/assign`;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const pid = server.pid;
    if (RUNS.has('new'))
      out.set(
        'new',
        await load(url, { method: 'POST', headers, body: JSON.stringify({ user_id: '[<id>]' }), idReplacement: true }, true, pid),
      );
    let next = 0;
    if (RUNS.has('returning'))
      out.set(
        'returning',
        await load(
          url,
          {
            method: 'POST',
            headers,
            requests: [
              {
                setupRequest: (req) => ({ ...req, body: JSON.stringify({ user_id: `returning-${(next++ * 7919) % POOL}` }) }),
              },
            ],
          },
          true,
          pid,
        ),
      );
    if (RUNS.has('paced')) {
      let k = 0;
      const before = await processCpuMs(pid);
      const r = await runPaced({
        scenario: 'paced',
        url,
        rate: RATE,
        seconds: DURATION,
        connections: 10,
        warmupSeconds: 2,
        headers,
        body: () => JSON.stringify({ user_id: `paced-${process.pid}-${k++}` }),
      });
      await new Promise((res) => setTimeout(res, 6000)); // batched writes land after the last answer
      const cpuPerRequest = ((await processCpuMs(pid)) - before) / Math.max(1, Math.round(r.rps * DURATION) + 2 * RATE); // the warm-up's requests too
      out.set('paced', { rps: r.rps, p50: r.p50, p99: r.p99, non2xx: r.errors, errors: 0, cpuPerRequest });
    }
    if (RUNS.has('paced'))
      out.set(
        'paced-ac',
        await load(
          url,
          { method: 'POST', headers, body: JSON.stringify({ user_id: '[<id>]' }), idReplacement: true, overallRate: RATE, connections: 10 },
          false,
          pid,
        ),
      );
  } finally {
    await stopServer(server);
    await fs.rm(dataDir, { recursive: true, force: true });
  }
  return out;
}

// BENCH_BASELINE_ROOT=<checkout>: the same loads against a baseline tree, in alternating rounds (BENCH_ROUNDS,
// default 1 each; baseline first in odd rounds, this tree first in even ones), so both see the same neighbours.
const baselineRoot = process.env.BENCH_BASELINE_ROOT;
const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
const results: { label: string; figures: Map<string, Figures> }[] = [];
for (let r = 0; r < rounds; r++) {
  const order: (string | undefined)[] = baselineRoot ? (r % 2 === 0 ? [baselineRoot, undefined] : [undefined, baselineRoot]) : [undefined];
  for (const root of order) results.push({ label: root ? `baseline r${r + 1}` : `this tree r${r + 1}`, figures: await measure(root) });
}

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `\nbench/experiments assign — ${CONNECTIONS} connections, ${DURATION} s, ${os.cpus().length} cores, ${db}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(line('bare hello-world', baseline));
const names: Record<string, string> = {
  new: 'assign, new users',
  returning: 'assign, returning users',
  paced: `assign, new users @${RATE}/s`,
  'paced-ac': `... autocannon overallRate`,
};
for (const { label, figures } of results) for (const [k, f] of figures) console.log(line(`${names[k]} [${label}]`, f));
const mine = results.filter((r) => r.label.startsWith('this tree'));
const paced = mine.map((r) => r.figures.get('paced')).filter((f): f is Figures => !!f);
const saturated = mine.map((r) => r.figures.get('new')).filter((f): f is Figures => !!f);
if (paced.length || saturated.length)
  console.log(
    `p99 goal < 5 ms: ${paced.length ? `${paced.every((f) => f.p99 < 5) ? 'MET' : 'NOT MET'} at ${RATE} req/s` : 'paced not run'}; saturated: ${saturated.length ? (saturated.every((f) => f.p99 < 5) ? 'MET' : 'NOT MET') : 'not run'} (bare server p99 on this machine now: ${baseline.p99.toFixed(1)} ms)`,
  );
