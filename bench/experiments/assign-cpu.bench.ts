/**
 * bench/experiments (assign CPU): the CPU one POST /experiments/assign costs, in process (the app factory and
 * `inject`, the embedded database on the same thread), for new users assigned to 10 running experiments with
 * their exposures stored, and for returning users. CPU time per request (process.cpuUsage) is the figure that
 * stays meaningful on a shared, loaded machine where latencies measure the neighbours; HTTP latencies are
 * bench:experiments-assign's. With BENCH_BASELINE_ROOT (another checkout, e.g. main), both trees run in
 * alternating rounds in this one process, so they see the same neighbours:
 *
 *   npm run bench:experiments-assign-cpu
 *   BENCH_BASELINE_ROOT=/tmp/base BENCH_ROUNDS=2 npm run bench:experiments-assign-cpu
 *   (a baseline checkout: `git archive main | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/`)
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const here = path.resolve(import.meta.dirname, '../..');
const baselineRoot = process.env.BENCH_BASELINE_ROOT;

type Inject = (o: {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  payload: unknown;
}) => Promise<{ statusCode: number; body: string }>;

/** Builds the app of the checkout at `root` on a fresh embedded database; returns its inject and a closer. */
async function appOf(root: string) {
  const platform = await import(path.join(root, 'src/platform/index.ts'));
  const { buildApp } = await import(path.join(root, 'src/app.ts'));
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-assign-cpu-'));
  const database = await platform.openDatabase({ kind: 'pglite' });
  await platform.migrateDatabase(database);
  const config = platform.loadConfig({
    LOUPE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000000',
  });
  const loupe = await buildApp(config, { database });
  const admin = { email: 'bench@loupe.local', password: 'Bench-Password-123' };
  await loupe.tenancy.ensurePlatformAdmin(admin.email, admin.password);
  const inject: Inject = (o) => loupe.app.inject(o);
  const post = async (url: string, payload: unknown, token?: string) => {
    const r = await inject({ method: 'POST', url, headers: token ? { authorization: `Bearer ${token}` } : {}, payload });
    if (r.statusCode >= 300) throw new Error(`${url}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    return JSON.parse(r.body);
  };
  const adminToken = (await post('/api/v1/auth/login', admin)).access_token;
  const tenant = await post('/api/v1/admin/tenants', { name: 'Bench Store' }, adminToken);
  await post(
    '/api/v1/admin/users',
    { email: 'owner@bench.local', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
    adminToken,
  );
  const owner = (await post('/api/v1/auth/login', { email: 'owner@bench.local', password: 'Owner-Password-1' })).access_token;
  const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['interactions:write', 'experiments:manage'] }, owner)).api_key;
  for (let i = 0; i < 10; i++) {
    const e = await post(
      '/api/v1/admin/experiments',
      { name: `exp ${i}`, variants: [{ key: 'control' }, { key: 'b', config: { i } }] },
      key,
    );
    await post(`/api/v1/admin/experiments/${e.id}/start`, {}, key);
  }
  const close = async () => {
    await loupe.close();
    await database.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  };
  return { inject, key: key as string, flush: () => loupe.modules.experiments.flushExposures() as Promise<void>, close };
}

/** CPU milliseconds per request for `n` requests at `CONCURRENCY` in flight, exposures stored included. */
async function cpuPerRequest(a: Awaited<ReturnType<typeof appOf>>, userOf: (i: number) => string): Promise<number> {
  const headers = { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' };
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const r = await a.inject({ method: 'POST', url: '/api/v1/experiments/assign', headers, payload: { user_id: userOf(i) } });
      if (r.statusCode !== 200) throw new Error(`assign: ${r.statusCode} ${r.body.slice(0, 200)}`);
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await a.flush();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / REQUESTS;
}

const lines: string[] = [];
let run = 0;
for (let r = 0; r < ROUNDS; r++) {
  const roots = baselineRoot ? (r % 2 === 0 ? [baselineRoot, here] : [here, baselineRoot]) : [here];
  for (const root of roots) {
    const label = root === here ? `this tree r${r + 1}` : `baseline r${r + 1}`;
    const a = await appOf(root);
    try {
      const tag = `${++run}-`;
      const fresh = await cpuPerRequest(a, (i) => `new-${tag}${i}`);
      // Returning users: the pool assigned once (not measured), then assigned again.
      await cpuPerRequest(a, (i) => `back-${tag}${i % 1000}`);
      const back = await cpuPerRequest(a, (i) => `back-${tag}${(i * 7919) % 1000}`);
      lines.push(`${label.padEnd(16)} new users ${fresh.toFixed(2)} ms CPU/req   returning users ${back.toFixed(2)} ms CPU/req`);
    } finally {
      await a.close();
    }
  }
}
console.log(
  `\nbench/experiments assign CPU — ${REQUESTS} requests per run, ${CONCURRENCY} in flight, 10 running experiments, embedded PGlite in process, ${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const l of lines) console.log(l);
