/**
 * bench/webhooks: outbound webhook delivery through the real outbox and job queue to a local receiver. Publishes N
 * events (one transaction) for one endpoint and times until the receiver has them all; the baseline is the same
 * number of signed POSTs sent straight with fetch at the same concurrency (what an in-process sender without outbox,
 * jobs or log would do). Prints deliveries/s of both and their ratio, and the outbox write time.
 *
 *   npm run bench:webhooks                  # embedded database (PGlite, in a temporary data folder)
 *   N=2000 WORKERS=4 npm run bench:webhooks
 *   DATABASE_URL=postgres://... npm run bench:webhooks
 */
import { createHmac, randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.ts';
import { loadConfig, migrateDatabase, openDatabase } from '../../src/platform/index.ts';

const N = Number(process.env.N ?? 500);
const WORKERS = Number(process.env.WORKERS ?? 4);
let received = 0;
let target = Number.POSITIVE_INFINITY;
let reached: (() => void) | undefined;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(204).end();
    if (++received >= target) reached?.();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
const waitFor = (n: number) =>
  new Promise<void>((resolve) => {
    target = n;
    reached = resolve;
    if (received >= n) resolve();
  });

const databaseUrl = process.env.DATABASE_URL;
const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-webhooks-'));
const config = loadConfig({
  LOUPE_DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
  LOUPE_WEBHOOKS_ALLOW_PRIVATE: '127.0.0.1/32',
  LOUPE_WEBHOOKS_MAX_IN_FLIGHT: String(WORKERS),
  LOUPE_JOB_POLL_MS: '50',
});
const database = await openDatabase(
  databaseUrl ? { kind: 'postgres', url: databaseUrl, poolSize: 10 } : { kind: 'pglite', dataDir: path.join(dataDir, 'db') },
);
await migrateDatabase(database);
const loupe = await buildApp(config, { database });
const admin = { email: 'bench@loupe.local', password: 'Bench-Password-123' };
await loupe.tenancy.ensurePlatformAdmin(admin.email, admin.password);

async function api(method: string, url: string, token: string | undefined, body?: unknown): Promise<any> {
  const r = await loupe.app.inject({
    method: method as 'GET',
    url,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(body ? { payload: body as object } : {}),
  });
  if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
  return r.json();
}

try {
  const adminToken = (await api('POST', '/api/v1/auth/login', undefined, admin)).access_token as string;
  const tenant = await api('POST', '/api/v1/admin/tenants', adminToken, { name: `Webhooks bench ${Date.now()}` });
  const email = `owner-${tenant.id.slice(-12)}@bench.local`;
  await api('POST', '/api/v1/admin/users', adminToken, { email, password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' });
  const owner = (await api('POST', '/api/v1/auth/login', undefined, { email, password: 'Owner-Password-1' })).access_token as string;
  await api('POST', '/api/v1/webhooks/endpoints', owner, { url: hookUrl, event_types: ['*'] });
  const payload = (i: number) => ({ alert_id: `a${i}`, user_id: `u${i}`, price: '45.00', threshold: '50.00', currency: 'USD' });

  // baseline: signed POSTs straight from this process, WORKERS at a time
  const key = randomBytes(24);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let i = next++; i < N; i = next++) {
        const body = JSON.stringify({ type: 'pricing.price_alert.triggered', timestamp: new Date().toISOString(), data: payload(i) });
        const ts = Math.floor(Date.now() / 1000);
        const sig = createHmac('sha256', key).update(`msg_${i}.${ts}.${body}`).digest('base64');
        const r = await fetch(hookUrl, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': `msg_${i}`,
            'webhook-timestamp': String(ts),
            'webhook-signature': `v1,${sig}`,
          },
          body,
        });
        await r.arrayBuffer();
      }
    }),
  );
  const baseSecs = (performance.now() - t0) / 1000;
  const baseline = received;

  // Loupe: the outbox in one transaction, then the queue delivers
  loupe.jobs.start({ concurrency: WORKERS });
  const t1 = performance.now();
  const published = await database.db.transaction((tx) =>
    loupe.modules.webhooks.publisher.publish(
      tx,
      tenant.id,
      Array.from({ length: N }, (_, i) => ({
        type: 'pricing.price_alert.triggered' as const,
        payload: payload(i),
        idempotencyKey: `bench-${i}`,
      })),
    ),
  );
  const outboxMs = performance.now() - t1;
  const t2 = performance.now();
  await loupe.modules.webhooks.publisher.dispatch(published);
  const dispatchMs = performance.now() - t2;
  await waitFor(baseline + N);
  const loupeSecs = (performance.now() - t1) / 1000;
  const baseRate = N / baseSecs;
  const loupeRate = N / loupeSecs;
  process.stdout.write(
    `database ${database.kind}; ${N} events, ${WORKERS} workers\n` +
      `baseline (direct signed POSTs): ${baseRate.toFixed(0)} deliveries/s\n` +
      `loupe (outbox + jobs + log):    ${loupeRate.toFixed(0)} deliveries/s  (${(loupeRate / baseRate).toFixed(3)}× baseline)\n` +
      `outbox write of ${N} events in one transaction: ${outboxMs.toFixed(0)} ms; enqueueing their jobs: ${dispatchMs.toFixed(0)} ms\n`,
  );
} finally {
  await loupe.close();
  await database.close();
  receiver.close();
  await fsp.rm(dataDir, { recursive: true, force: true });
}
