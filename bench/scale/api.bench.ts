/**
 * bench/scale, API side (issue 17): `/recommendations` throughput and latency of 1 `loupe serve --no-worker` process
 * against 2 of them on one PostgreSQL database, printed side by side with the load average (goal: 2 processes serve
 * at least 1.6x the requests of one at the same p99, on a quiet 2-core machine).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:scale-api
 *
 * A synthetic tenant (BENCH_USERS users, 20 interactions each over BENCH_ITEMS items with a skewed popularity) is
 * built in this process through the modules' bulk paths, an item_knn model trained by the real training job, then
 * real server processes are measured with autocannon, BENCH_CONNECTIONS closed-loop connections in all, BENCH_SECONDS
 * per scenario after 2 s of warm-up (both processes warmed alike first), in turns (1 process, 2 processes, BENCH_ROUNDS
 * rounds). Each row gives the CPU milliseconds per answer of each server process, of the PostgreSQL backends and of
 * this process (the load generator), and the last line what the machine's cores could give at that cost. With two processes the client is the balancer: two autocannon runs at once,
 * half the connections each, one per process (no proxy process competing for the two cores); the throughput is
 * their sum and the p99 the worse of the two. A fresh database is created on the server and dropped after.
 */
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { ChildProcess } from 'node:child_process';
import type { ItemUpsert } from '../../src/modules/catalog/index.ts';
import type { NewInteraction } from '../../src/modules/events/index.ts';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { type LoadRow, loadAverage, runLoad } from '../lib/load.ts';
import { freePort, processCpuMs, startServer, stopServer } from '../lib/process.ts';
import { scratchDatabase, startBenchServer } from '../lib/scratch.ts';

if (!process.env.DATABASE_URL) {
  process.stderr.write('bench:scale-api needs DATABASE_URL (a PostgreSQL server: the embedded database has one process)\n');
  process.exit(2);
}
const root = path.resolve(import.meta.dirname, '../..');
const USERS = Number(process.env.BENCH_USERS ?? 3000);
const ITEMS = Number(process.env.BENCH_ITEMS ?? 1500);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ADMIN = { email: 'admin@bench.test', password: 'Bench-Password-123!' };
const LIMITS = { RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000', RATE_LIMIT_TENANT_PER_MINUTE: '100000000' };

const scratch = await scratchDatabase('scale_api');
const rng = rngMulberry32(17);
const userId = (u: number) => `u${u}`;
const itemId = (i: number) => `i${i}`;

async function prepare(): Promise<string> {
  const { loupe, call, close } = await startBenchServer(scratch, { admin: ADMIN, env: { ...LIMITS, LOUPE_JOB_POLL_MS: '200' } });
  try {
    const adminToken = (await call('POST', '/api/v1/auth/login', ADMIN)).access_token as string;
    const tenant = await call('POST', '/api/v1/admin/tenants', { name: 'Scale store' }, adminToken);
    await call(
      'POST',
      '/api/v1/admin/users',
      { email: 'owner@bench.test', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
      adminToken,
    );
    const owner = (await call('POST', '/api/v1/auth/login', { email: 'owner@bench.test', password: 'Owner-Password-1' }))
      .access_token as string;
    const apiKey = (await call('POST', '/api/v1/api-keys', { name: 'bench', scopes: ['recommendations:read', 'models:manage'] }, owner))
      .api_key as string;
    const items: ItemUpsert[] = Array.from({ length: ITEMS }, (_, k) => ({
      itemId: itemId(k),
      name: `Item ${k}`,
      category: `Category ${k % 30}`,
      brand: `Brand ${k % 12}`,
      priceMinor: BigInt(500 + (k % 100) * 100),
      currency: 'USD',
      imageUrl: `https://cdn.example/${k}.jpg`,
      availability: 'in_stock',
    }));
    await loupe.modules.catalog.upsertItems(tenant.id, items);
    const base = Date.parse('2026-01-01T00:00:00Z');
    const rows: NewInteraction[] = [];
    for (let u = 0; u < USERS; u++) {
      // Each user stays mostly within a few categories, with popular items drawn more often (rng^2 skew).
      const home = Math.floor(rng() * 30);
      for (let k = 0; k < 20; k++) {
        const pick = Math.floor(rng() ** 2 * (ITEMS / 30));
        const cat = rng() < 0.8 ? home : Math.floor(rng() * 30);
        rows.push({
          userId: userId(u),
          itemId: itemId((pick * 30 + cat) % ITEMS),
          type: 'view',
          source: 'bench',
          occurredAt: new Date(base + (u * 20 + k) * 60_000),
        });
      }
    }
    for (let s = 0; s < rows.length; s += 20_000) await loupe.modules.events.interactions.appendMany(tenant.id, rows.slice(s, s + 20_000));
    loupe.jobs.start({ concurrency: 1 });
    const job = await call('POST', '/api/v1/train', { model_type: 'item_knn' }, apiKey);
    for (;;) {
      const p = await call('GET', `/api/v1/training/${job.job_id}/progress`, undefined, apiKey);
      if (p.status === 'completed') break;
      if (['failed', 'cancelled'].includes(p.status)) throw new Error(`training ${p.status}: ${p.error}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    return apiKey;
  } finally {
    await close();
  }
}

const servers: ChildProcess[] = [];
try {
  const t0 = performance.now();
  const apiKey = await prepare();
  console.log(
    `bench:scale-api  ${USERS} users, ${ITEMS} items, ${USERS * 20} interactions, item_knn trained in ${((performance.now() - t0) / 1000).toFixed(1)} s; load ${loadAverage()}`,
  );
  const ports: number[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    ports.push(port);
    servers.push(
      await startServer(
        'node',
        [path.join(root, 'bin/loupe.mjs'), 'serve', '--no-worker'],
        { ...scratch.env, ...LIMITS, LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', DATABASE_POOL_SIZE: '8' },
        `http://127.0.0.1:${port}/health/ready`,
        180_000,
      ),
    );
  }
  const body = () => JSON.stringify({ user_id: userId(Math.floor(rng() * USERS)), count: 10 });
  const pids = servers.map((s) => s.pid!);
  const load = (i: number, connections: number, scenario: string, afterWarmup?: () => Promise<void>) =>
    runLoad({
      scenario,
      url: `http://127.0.0.1:${ports[i]}/api/v1/recommendations`,
      connections,
      seconds: SECONDS,
      warmupSeconds: 2,
      headers: { authorization: `Bearer ${apiKey}` },
      body,
      pid: pids[i],
      ...(afterWarmup ? { afterWarmup } : {}),
    });
  /** CPU (ms) of the PostgreSQL backends serving the scratch database and of this process (the load generator). */
  const backendPids = async () => {
    const admin = new pg.Client({ connectionString: scratch.databaseUrl });
    await admin.connect();
    try {
      const r = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      return r.rows.map((x) => x.pid);
    } finally {
      await admin.end();
    }
  };
  /** Per backend pid its CPU so far; a window's PostgreSQL CPU sums the deltas of the backends alive at its end. */
  const sideCpu = async () => {
    const pg: Map<number, number> = new Map();
    for (const p of await backendPids()) pg.set(p, await processCpuMs(p));
    return { pg, gen: (process.cpuUsage().user + process.cpuUsage().system) / 1000 };
  };
  const pgDelta = (before: Map<number, number>, after: Map<number, number>) =>
    [...after].reduce((sum, [p, ms]) => (Number.isFinite(ms) ? sum + ms - (before.get(p) ?? 0) : sum), 0);
  interface Measured extends LoadRow {
    /** server CPU ms per request of each process, PostgreSQL's and the load generator's */
    perProcess: number[];
    pgMs: number;
    genMs: number;
  }
  // Both processes warmed alike first (a cold second process split the first runs unevenly: JIT, the model cache).
  await Promise.all([load(0, CONNECTIONS / 2, 'warm-up: first'), load(1, CONNECTIONS / 2, 'warm-up: second')]);
  const measure = async (procs: number[]): Promise<Measured> => {
    let before = { pg: new Map<number, number>(), gen: 0 };
    const rows = await Promise.all(
      procs.map((i, k) =>
        load(i, CONNECTIONS / procs.length, `${procs.length} process${procs.length > 1 ? 'es' : ''}: #${i + 1}`, async () => {
          if (k === 0) before = await sideCpu();
        }),
      ),
    );
    const after = await sideCpu();
    const total = rows.reduce((a, r) => a + r.rps, 0) * SECONDS;
    return {
      scenario: procs.length === 1 ? `1 process (#${procs[0]! + 1})` : '2 processes',
      rps: rows.reduce((a, r) => a + r.rps, 0),
      p50: Math.max(...rows.map((r) => r.p50)),
      p90: Math.max(...rows.map((r) => r.p90)),
      p99: Math.max(...rows.map((r) => r.p99)),
      errors: rows.reduce((a, r) => a + r.errors, 0),
      cpuMs:
        rows.reduce((a, r) => a + r.cpuMs * r.rps, 0) /
        Math.max(
          1,
          rows.reduce((a, r) => a + r.rps, 0),
        ),
      load: loadAverage(),
      perProcess: rows.map((r) => r.cpuMs),
      pgMs: pgDelta(before.pg, after.pg) / Math.max(1, total),
      genMs: (after.gen - before.gen) / Math.max(1, total),
    };
  };
  // In turns (1, 2, 1, 2, ...), the single process alternating, so a drift of the machine's load hits both alike.
  const ones: Measured[] = [];
  const twos: Measured[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ones.push(await measure([round % 2]));
    twos.push(await measure([0, 1]));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const one = ones.reduce((a, b) => (median(ones.map((r) => r.rps)) === b.rps ? b : a), ones[0]!);
  const ms = (x: number) => x.toFixed(2).padStart(6);
  console.log(`\nPostgreSQL, /recommendations, ${CONNECTIONS} connections in all, ${SECONDS} s per scenario, ${ROUNDS} rounds in turns`);
  console.log(
    'scenario             req/s  p50 ms  p90 ms  p99 ms errors x of 1 | CPU ms/request: server (per process)  PostgreSQL  generator  | load average',
  );
  for (const r of [...ones, ...twos]) {
    console.log(
      `${r.scenario.padEnd(17)} ${String(r.rps).padStart(8)} ${String(r.p50).padStart(7)} ${String(r.p90).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.errors).padStart(6)} ${(r.rps / one.rps).toFixed(2).padStart(6)} | ${ms(r.cpuMs)} (${r.perProcess.map(ms).join(' /')})  ${ms(r.pgMs)}  ${ms(r.genMs)} | ${r.load}`,
    );
  }
  const two = twos.reduce((a, b) => (median(twos.map((r) => r.rps)) === b.rps ? b : a), twos[0]!);
  // What 2 cores can give at all: every answer costs the server's, PostgreSQL's and the generator's CPU on the same cores.
  const perRequest = two.cpuMs + two.pgMs + two.genMs;
  const ceiling = (os.cpus().length * 1000) / perRequest;
  console.log(
    `CPU per answer with 2 processes: ${perRequest.toFixed(2)} ms (server ${two.cpuMs.toFixed(2)}, PostgreSQL ${two.pgMs.toFixed(2)}, generator ${two.genMs.toFixed(2)}); ` +
      `${os.cpus().length} cores give at most ${Math.round(ceiling)} req/s = ${(ceiling / one.rps).toFixed(2)}x the single process's median ${one.rps} req/s (nothing else running)`,
  );
  const met = two.rps >= 1.6 * one.rps && two.p99 <= one.p99 * 1.1 && two.errors === 0;
  console.log(
    `goal (2 processes >= 1.6x the throughput of one at the same p99): ${met ? 'met' : 'NOT met'} on this machine at this load (medians of ${ROUNDS} rounds)`,
  );
} finally {
  for (const s of servers) await stopServer(s);
  await scratch.cleanup();
}
