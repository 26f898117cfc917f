/**
 * bench/ingest: events per second through `POST /api/v1/interactions/batch` on a listening Loupe server (its own
 * process, identity resolution on), with concurrent clients, and p99 acknowledgment latency; then, in the same
 * run and on the same database, a raw batched `INSERT ... SELECT FROM unnest(...)` of the same rows as the ceiling.
 *
 *   npm run bench:ingest                     # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:ingest   # runs in a throwaway database created on that server
 *   BENCH_EVENTS=40000 BENCH_BATCH=100 BENCH_CONNECTIONS=8 npm run bench:ingest
 *
 * On PostgreSQL it also prints where the server's database time goes during the measured phase: the statements it
 * sent per 100 events, by kind (verb and table), and the time each kind waited for its answers (a census preloaded
 * into the server process: bench/lib/sql-census.mjs; BENCH_SQL_CENSUS=0 turns it off).
 *
 * The event mix is realistic for identity: 70% known visitors (seen during warm-up), 20% new visitors, 10% events
 * carrying two identifiers (a known user id and another visitor's anonymous id) that make identity merge profiles.
 * Goal: the HTTP path keeps >= 30% of the raw insert ceiling.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { arrayParam, openDatabase, type Database } from '../../src/platform/index.ts';
import { createIngestService, createInteractionsRepository, fromApiInteraction } from '../../src/modules/events/index.ts';
import { BENCH_ADMIN, postJson, processCpuMs, startLoupe, stopServer } from '../lib/process.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const KNOWN = Number(process.env.BENCH_KNOWN_VISITORS ?? 2_000);

// A small deterministic PRNG (mulberry32): the same population and mix on every run.
let seed = 42;
const rand = () => {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;

interface Ev {
  event_id: string;
  user_id?: string;
  anonymous_id?: string;
  item_id: string;
  interaction_type: string;
  timestamp: string;
  metadata?: { price: string; quantity: number; currency: string; order_id: string };
}

const knownUsers = Array.from({ length: KNOWN }, (_, i) => ({ user: `user-${i}`, anon: `anon-${i}` }));
const anonymousVisitors = Array.from({ length: KNOWN / 2 }, (_, i) => `visitor-${i}`);
let newCounter = 0;
const baseTime = Date.now() - 3600_000;
function event(i: number, warm = false): Ev {
  const type = rand() < 0.05 ? 'purchase' : rand() < 0.2 ? 'add_to_cart' : 'view';
  const base: Ev = {
    event_id: `${warm ? 'warm' : 'ev'}-${i}`,
    item_id: `item-${Math.floor(rand() * 5000)}`,
    interaction_type: type,
    timestamp: new Date(baseTime + i).toISOString(),
  };
  if (type === 'purchase')
    base.metadata = { price: (rand() * 200).toFixed(2), quantity: 1 + Math.floor(rand() * 3), currency: 'USD', order_id: `o-${i}` };
  if (warm) {
    const k = knownUsers[i % knownUsers.length]!;
    return i < knownUsers.length
      ? { ...base, user_id: k.user, anonymous_id: k.anon }
      : { ...base, anonymous_id: anonymousVisitors[i - knownUsers.length]! };
  }
  const r = rand();
  if (r < 0.7) return { ...base, user_id: pick(knownUsers).user };
  if (r < 0.9) return { ...base, user_id: `new-user-${++newCounter}`, anonymous_id: `new-anon-${newCounter}` };
  // Two identifiers seen on different profiles: a known user id and an anonymous visitor's id -> a merge.
  return { ...base, user_id: pick(knownUsers).user, anonymous_id: pick(anonymousVisitors) };
}

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-ingest-'));
// On PostgreSQL the run gets its own database (created, migrated by the server, dropped at the end), so the
// figures never depend on what an earlier run or a test left in the database DATABASE_URL names.
const benchDbName = `loupe_bench_ingest_${Date.now().toString(36)}${process.pid.toString(36)}`;
const adminQuery = async (text: string) => {
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(text);
  } finally {
    await admin.end();
  }
};
let databaseUrl: string | undefined;
if (process.env.DATABASE_URL) {
  await adminQuery(`CREATE DATABASE ${benchDbName}`);
  const u = new URL(process.env.DATABASE_URL);
  u.pathname = `/${benchDbName}`;
  databaseUrl = u.toString();
}
const dropBenchDb = async () => {
  if (databaseUrl) await adminQuery(`DROP DATABASE IF EXISTS ${benchDbName} WITH (FORCE)`);
};
const censusFile = databaseUrl && process.env.BENCH_SQL_CENSUS !== '0' ? path.join(dataDir, 'sql-census.json') : undefined;
// BENCH_CPU_PROFILE=file.cpuprofile: a CPU profile of the server during the measured phase (bench/lib/cpu-profile.mjs).
const profileFile = process.env.BENCH_CPU_PROFILE ? path.resolve(process.env.BENCH_CPU_PROFILE) : undefined;
const { server, base } = await startLoupe({
  dataDir,
  env: {
    ...(databaseUrl ? { DATABASE_URL: databaseUrl, ...(censusFile ? { LOUPE_SQL_CENSUS_FILE: censusFile } : {}) } : {}),
    ...(profileFile ? { LOUPE_CPU_PROFILE_FILE: profileFile } : {}),
  },
  nodeArgs: [
    ...(censusFile ? ['--import', path.resolve(import.meta.dirname, '../lib/sql-census.mjs')] : []),
    ...(profileFile ? ['--import', path.resolve(import.meta.dirname, '../lib/cpu-profile.mjs')] : []),
  ],
}).catch(async (err: unknown) => {
  await fs.rm(dataDir, { recursive: true, force: true });
  await dropBenchDb();
  throw err;
});

let serverCpuMs = Number.NaN;
let http: { seconds: number; events: number; p50: number; p99: number; non2xx: number; errors: number; stored: number } | undefined;
let allRows: Ev[] = [];
let tenantId = '';
try {
  const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
  const adminToken = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
  const tenant = await post('/api/v1/admin/tenants', { name: 'Bench Store' }, adminToken);
  tenantId = tenant.id as string;
  await post(
    '/api/v1/admin/users',
    { email: 'owner@bench.local', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
    adminToken,
  );
  const owner = (await post('/api/v1/auth/login', { email: 'owner@bench.local', password: 'Owner-Password-1' })).access_token as string;
  const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['interactions:write'] }, owner)).api_key as string;

  // Warm-up (untimed): the known visitors and anonymous visitors exist, each with a profile.
  const warm = Array.from({ length: knownUsers.length + anonymousVisitors.length }, (_, i) => event(i, true));
  const t0 = performance.now();
  for (let i = 0; i < warm.length; i += 1000) await post('/api/v1/interactions/batch', { events: warm.slice(i, i + 1000) }, key);
  if (databaseUrl) {
    // A production server's autovacuum would have analyzed the warmed-up tables; a server running with it off
    // (as this machine's) gets the ANALYZE it would have done, so plans are those of a live deployment.
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      const { rows } = await c.query<{ autovacuum: string }>('SHOW autovacuum');
      if (rows[0]?.autovacuum !== 'on') {
        await c.query('ANALYZE');
        console.log('autovacuum is off on this server: ran the ANALYZE it would have run after the warm-up');
      }
    } finally {
      await c.end();
    }
  }
  console.log(
    `warm-up: ${warm.length} events (population of ${knownUsers.length} known and ${anonymousVisitors.length} anonymous visitors) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  allRows = Array.from({ length: EVENTS }, (_, i) => event(i));
  if (censusFile || profileFile) server.kill('SIGUSR2'); // count and profile the measured phase only
  const cpu0 = await processCpuMs(server.pid);
  const bodies: string[] = [];
  for (let i = 0; i < allRows.length; i += BATCH) bodies.push(JSON.stringify({ events: allRows.slice(i, i + BATCH) }));
  let next = 0;
  const started = performance.now();
  // autocannon settles an `amount` run on its next 1-second sampling tick, which would round the duration up to
  // whole seconds (up to 20% of a 5 s run): time the run to its last acknowledgment instead.
  let lastAck = started;
  const result = await new Promise<autocannon.Result>((resolveRun, rejectRun) => {
    const run = autocannon(
      {
        url: `${base}/api/v1/interactions/batch`,
        method: 'POST',
        connections: CONNECTIONS,
        amount: bodies.length,
        timeout: 120,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        requests: [{ setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }) }],
      },
      (err, res) => (err ? rejectRun(err) : resolveRun(res)),
    );
    run.on('response', () => {
      lastAck = performance.now();
    });
  });
  const seconds = (lastAck - started) / 1000;
  serverCpuMs = (await processCpuMs(server.pid)) - cpu0;
  const counted = await post('/api/v1/interactions/batch', { events: [allRows[0]!] }, key); // a replay: must be a duplicate
  if (counted.duplicates !== 1) throw new Error('the first measured event was not stored');
  http = {
    seconds,
    events: EVENTS,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    stored: 0,
  };
} catch (err) {
  await stopServer(server);
  await dropBenchDb();
  throw err;
} finally {
  await stopServer(server);
}

// The ceiling: the same rows, raw, set-based, on the same database (the server is stopped: PGlite has one owner).
const database: Database = databaseUrl
  ? await openDatabase({ kind: 'postgres', url: databaseUrl })
  : await openDatabase({ kind: 'pglite', dataDir: path.join(dataDir, 'db') });
// Read before the folder is removed: the server wrote it when it exited.
const census = censusFile
  ? (JSON.parse(await fs.readFile(censusFile, 'utf8').catch(() => 'null')) as {
      wallMs: number;
      kinds: Record<string, { count: number; ms: number }>;
    } | null)
  : null;
let rawSeconds = 0;
let pathSeconds = 0;
try {
  const stored = (await database.db.execute(
    sql`SELECT count(*)::int AS n FROM interactions WHERE tenant_id = ${tenantId} AND dedupe_key LIKE 'e:ev-%'`,
  )) as unknown as { rows: { n: number }[] };
  http!.stored = Number(stored.rows[0]!.n);
  const rawTenant = randomUUID();
  const t0 = performance.now();
  for (let i = 0; i < allRows.length; i += 1000) {
    const chunk = allRows.slice(i, i + 1000);
    const col = <T>(f: (e: Ev) => T) => arrayParam(chunk.map(f));
    // As the write path stores them (migration 0058): the dedupe key claimed in interaction_keys, the row written
    // only where the claim was new, in one statement.
    await database.db.execute(
      sql`WITH t AS (
            SELECT gen_random_uuid() AS id, u.* FROM unnest(
              ${col((e) => `e:${e.event_id}`)}::text[], ${col((e) => e.user_id ?? null)}::text[], ${col((e) => e.anonymous_id ?? null)}::text[], ${col((e) => e.item_id)}::text[],
              ${col((e) => e.interaction_type)}::text[], ${col((e) => e.metadata?.quantity ?? null)}::int[],
              ${col((e) => (e.metadata ? String(Math.round(Number(e.metadata.price) * 100)) : null))}::bigint[], ${col((e) => e.metadata?.currency ?? null)}::text[],
              ${col((e) => e.metadata?.order_id ?? null)}::text[], ${col(() => 'api')}::text[], ${col((e) => e.timestamp)}::timestamptz[]
            ) AS u(dedupe_key, user_id, anonymous_id, item_id, type, quantity, price_minor, currency, order_id, source, occurred_at)
          ), k AS (
            INSERT INTO interaction_keys (tenant_id, dedupe_key, id, occurred_at)
            SELECT ${rawTenant}::uuid, t.dedupe_key, t.id, t.occurred_at FROM t
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING RETURNING dedupe_key
          )
          INSERT INTO interactions (tenant_id, id, dedupe_key, user_id, anonymous_id, item_id, type, quantity, price_minor, currency, order_id, source, occurred_at)
          SELECT ${rawTenant}::uuid, t.id, t.dedupe_key, t.user_id, t.anonymous_id, t.item_id, t.type, t.quantity, t.price_minor, t.currency, t.order_id,
                 t.source, t.occurred_at
          FROM t JOIN k USING (dedupe_key)`,
    );
  }
  rawSeconds = (performance.now() - t0) / 1000;

  // Diagnosis: the events write path alone (mapping, idempotent insert, per-row outcome) with identity
  // resolution stubbed out, in-process, same rows and batch size as the HTTP run. HTTP minus this row is the
  // cost of the HTTP stack plus identity resolution.
  const noIdentity = createIngestService({
    db: database.db,
    repo: createInteractionsRepository(),
    identity: { resolveMany: async (_t, inputs) => inputs.map(() => null), recordActivityWithin: async () => undefined },
    log: { error: () => undefined } as never,
    batching: { maxBatch: 1000, maxWaitMs: 4, maxPending: 1_000_000, concurrency: 1 },
  });
  const pathTenant = randomUUID();
  const now = new Date();
  const t1 = performance.now();
  for (let i = 0; i < allRows.length; i += BATCH) {
    await noIdentity.write(
      { tenantId: pathTenant },
      allRows.slice(i, i + BATCH).map((e) => fromApiInteraction(e as never, { now })),
      { source: 'import' },
    );
  }
  pathSeconds = (performance.now() - t1) / 1000;
} finally {
  await database.close();
  await fs.rm(dataDir, { recursive: true, force: true });
  await dropBenchDb();
}

const h = http!;
const httpRate = h.events / h.seconds;
const rawRate = allRows.length / rawSeconds;
const ratio = httpRate / rawRate;
const dbName = databaseUrl ? 'PostgreSQL' : 'embedded PGlite';
console.log(
  `\nbench/ingest — ${EVENTS} events in batches of ${BATCH}, ${CONNECTIONS} concurrent clients, ${os.cpus().length} cores, ${dbName}`,
);
console.log('mix: 70% known visitors, 20% new visitors, 10% two-identifier events (merges); identity resolution on\n');
console.log(
  `HTTP  POST /api/v1/interactions/batch : ${httpRate.toFixed(0).padStart(8)} events/s  (${h.seconds.toFixed(1)} s; ack latency per request p50 ${h.p50.toFixed(0)} ms, p99 ${h.p99.toFixed(0)} ms; non-2xx ${h.non2xx}, errors ${h.errors}; rows stored ${h.stored}/${h.events})`,
);
console.log(
  `      the server process used ${(serverCpuMs / 1000).toFixed(1)} s of CPU for it: ${((serverCpuMs * 100) / h.events).toFixed(1)} ms per 100 events (one core can give ${((1000 * h.events) / serverCpuMs).toFixed(0)} events/s at that cost)`,
);
console.log(
  `raw   INSERT ... SELECT FROM unnest   : ${rawRate.toFixed(0).padStart(8)} rows/s    (${rawSeconds.toFixed(1)} s, batches of 1000, no identity)`,
);
console.log(
  `path  ingest service, identity stubbed : ${(allRows.length / pathSeconds).toFixed(0).padStart(8)} rows/s    (${pathSeconds.toFixed(1)} s, in-process, batches of ${BATCH}: ${((allRows.length / pathSeconds / rawRate) * 100).toFixed(0)}% of raw)`,
);
console.log(`\nratio: ${(ratio * 100).toFixed(1)}% of the raw insert ceiling (goal >= 30%): ${ratio >= 0.3 ? 'MET' : 'NOT MET'}`);
console.log(
  `Load average during the run: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other work on the machine lowers both rows).`,
);
if (census) {
  const kinds = Object.entries(census.kinds).sort((a, b) => b[1].ms - a[1].ms);
  const total = kinds.reduce((a, [, k]) => a + k.count, 0);
  const totalMs = kinds.reduce((a, [, k]) => a + k.ms, 0);
  const per100 = (n: number) => ((n * 100) / EVENTS).toFixed(1);
  console.log(
    `\nWhere the server's database time went (measured phase; PostgreSQL): ${total} statements, ${per100(total)} per 100 events; ` +
      `a statement was in flight ${(census.wallMs / 1000).toFixed(1)} s of the ${h.seconds.toFixed(1)} s`,
  );
  console.log(
    `${'statement kind'.padEnd(40)} ${'count'.padStart(7)} ${'/100 ev'.padStart(8)} ${'wait ms'.padStart(9)} ${'share'.padStart(6)}`,
  );
  for (const [k, v] of kinds.slice(0, 20)) {
    console.log(
      `${k.padEnd(40)} ${String(v.count).padStart(7)} ${per100(v.count).padStart(8)} ${v.ms.toFixed(0).padStart(9)} ${`${((v.ms / totalMs) * 100).toFixed(1)}%`.padStart(6)}`,
    );
  }
}
