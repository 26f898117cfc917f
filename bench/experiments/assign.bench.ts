/**
 * bench/experiments (assign): POST /api/v1/experiments/assign for 10 running experiments at 50 concurrent
 * clients, every request a new user id (the worst case: a sticky-assignment lookup per request, one exposure
 * each, batched), beside a bare Fastify hello-world measured in the same run. Goal: p99 under 5 ms.
 *
 *   npm run bench:experiments-assign                  # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:experiments-assign
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { BENCH_ADMIN, freePort, postJson, startLoupe, startServer, stopServer } from '../lib/process.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const root = path.resolve(import.meta.dirname, '../..');

async function load(url: string, opts: Partial<autocannon.Options> = {}) {
  await autocannon({ url, connections: CONNECTIONS, duration: 2, ...opts });
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, ...opts });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const barePort = await freePort();
const bare = await startServer(
  'node',
  ['--import', 'tsx', path.join(root, 'bench/http/bare-server.ts'), String(barePort)],
  {},
  `http://127.0.0.1:${barePort}/`,
);
let baseline: Awaited<ReturnType<typeof load>>;
try {
  baseline = await load(`http://127.0.0.1:${barePort}/`);
} finally {
  await stopServer(bare);
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-exp-'));
// BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile there on exit (open it in Chrome DevTools).
const nodeArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const { server, base } = await startLoupe({ dataDir, nodeArgs, timeoutMs: 180_000, env: { RATE_LIMIT_AUTH_PER_MINUTE: '100000000' } });
let assign: Awaited<ReturnType<typeof load>>;
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
  assign = await load(`${base}/api/v1/experiments/assign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: '[<id>]' }),
    idReplacement: true,
  });
} finally {
  await stopServer(server);
  await fs.rm(dataDir, { recursive: true, force: true });
}

const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `\nbench/experiments assign — ${CONNECTIONS} connections, ${DURATION} s, ${os.cpus().length} cores, ${db}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `bare hello-world      ${baseline.rps.toFixed(0).padStart(7)} req/s  p50 ${baseline.p50.toFixed(1)} ms  p99 ${baseline.p99.toFixed(1)} ms`,
);
console.log(
  `assign, 10 running    ${assign.rps.toFixed(0).padStart(7)} req/s  p50 ${assign.p50.toFixed(1)} ms  p99 ${assign.p99.toFixed(1)} ms  non-2xx ${assign.non2xx}  errors ${assign.errors}`,
);
console.log(`p99 goal < 5 ms: ${assign.p99 < 5 ? 'MET' : 'NOT MET'} (bare server p99 on this machine now: ${baseline.p99.toFixed(1)} ms)`);
