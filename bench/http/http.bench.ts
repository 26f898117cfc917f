/**
 * bench/http: throughput and latency of Loupe's API-key-authenticated, rate-limited read endpoints (the full
 * hook stack: request id, credential check, tenant resolution, permission, per-address and per-tenant limits,
 * metrics, audit hook) against a bare Fastify hello-world, measured side by side in one run on this machine.
 * Two Loupe rows: /whoami measures the stack itself; /tenant adds one database read per request.
 *
 *   npm run bench:http                     # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:http
 *
 * Each server runs in its own process; autocannon drives it from this one. Goal: Loupe keeps >= 60% of
 * the bare server's throughput.
 */
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import autocannon from 'autocannon';
import { BENCH_ADMIN, freePort, postJson, startLoupe, startServer, stopServer } from '../lib/process.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(name: string, url: string, headers: Record<string, string> = {}): Promise<Result> {
  // Warm up (JIT, caches), then measure.
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers });
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

const root = path.resolve(import.meta.dirname, '../..');
const results: Result[] = [];

const barePort = await freePort();
const bare = await startServer(
  'node',
  ['--import', 'tsx', path.join(root, 'bench/http/bare-server.ts'), String(barePort)],
  {},
  `http://127.0.0.1:${barePort}/`,
);
try {
  results.push(await load('bare Fastify hello-world', `http://127.0.0.1:${barePort}/`));
} finally {
  await stopServer(bare);
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-http-'));
const { server: loupe, base } = await startLoupe({ dataDir, timeoutMs: 120_000 });
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
  for (let i = 0; i < 5; i++) await post('/api/v1/api-keys', { name: `k${i}`, scopes: ['admin'] }, owner);
  const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['catalog:read', 'analytics:read'] }, owner)).api_key as string;
  const auth = { authorization: `Bearer ${key}` };
  results.push(await load('Loupe GET /api/v1/whoami (API key, rate limit)', `${base}/api/v1/whoami`, auth));
  results.push(await load('Loupe GET /api/v1/tenant (+1 database read)', `${base}/api/v1/tenant`, auth));
} finally {
  await stopServer(loupe);
  await fs.rm(dataDir, { recursive: true, force: true });
}

const baseline = results[0]!;
const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
console.log(`\nbench/http — ${CONNECTIONS} connections, ${DURATION} s per endpoint, ${os.cpus().length} cores, ${db}\n`);
console.log(
  'endpoint'.padEnd(52),
  'req/s'.padStart(9),
  'p50 ms'.padStart(8),
  'p99 ms'.padStart(8),
  'errors'.padStart(7),
  'non-2xx'.padStart(8),
  'vs bare'.padStart(8),
);
for (const r of results) {
  console.log(
    r.name.padEnd(52),
    r.rps.toFixed(0).padStart(9),
    r.p50.toFixed(1).padStart(8),
    r.p99.toFixed(1).padStart(8),
    String(r.errors).padStart(7),
    String(r.non2xx).padStart(8),
    `${((r.rps / baseline.rps) * 100).toFixed(0)}%`.padStart(8),
  );
}
const ratio = results[1]!.rps / baseline.rps;
console.log(
  `\nThe authenticated, rate-limited stack keeps ${(ratio * 100).toFixed(1)}% of the bare server's throughput (goal >= 60%): ${ratio >= 0.6 ? 'MET' : 'NOT MET'}`,
);
console.log(`With one database read per request: ${((results[2]!.rps / baseline.rps) * 100).toFixed(1)}% (${db}).`);
console.log(
  `Load average during the run: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other work on the machine lowers every row alike).`,
);
