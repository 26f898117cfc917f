/**
 * bench/rls: what row-level security of reads (issue 22) costs per statement. The same tenant-filtered read of a
 * tenant-owned table, run in turns in the same process and run:
 *   - baseline: outside a tenant scope (the connecting role, as before RLS);
 *   - transaction: inside a scope, the earlier design (each read in its own short transaction as `loupe_tenant`);
 *   - session: inside a scope, the current design (the connection keeps role and tenant as session settings), for a
 *     repeat tenant (0 extra round trips) and for two tenants taking turns read by read (1 extra per read).
 *
 *   npm run bench:rls                      # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:rls
 */
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { type Db, migrateDatabase, openDatabase, queryRows, runInTenantScope, tenantScopedPglite } from '../../src/platform/index.ts';
import { loadAverage } from '../lib/load.ts';
import { scratchDatabase } from '../lib/scratch.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_STATEMENTS ?? 400);
const TENANT = '018f0000-0000-7000-8000-000000000001';
const OTHER = '018f0000-0000-7000-8000-000000000002';

const scratch = await scratchDatabase('rls');
const database = scratch.databaseUrl
  ? await openDatabase({ kind: 'postgres', url: scratch.databaseUrl })
  : await openDatabase({ kind: 'pglite', dataDir: `${scratch.dataDir}/db` });
// The earlier design over the same database: a second pool on PostgreSQL; on PGlite a per-read-transaction proxy over
// the guarded instance (its transactions pass the guard, which resets the session first: the guard stays correct).
const old = scratch.databaseUrl
  ? await openDatabase({ kind: 'postgres', url: scratch.databaseUrl, readScope: 'transaction' })
  : { db: drizzlePglite({ client: tenantScopedPglite(database.pglite!, 'transaction') }) as unknown as Db, close: async () => undefined };
try {
  await migrateDatabase(database);
  const read = (db: Db, tenant: string) =>
    queryRows(db, sql`SELECT id, item_id, name FROM items WHERE tenant_id = ${tenant} ORDER BY id LIMIT 20`);
  type Way = 'baseline' | 'transaction' | 'session' | 'session, tenants alternating';
  const once = (way: Way, i: number): Promise<unknown> => {
    if (way === 'baseline') return read(database.db, TENANT);
    if (way === 'transaction') return runInTenantScope(TENANT, () => read(old.db, TENANT));
    const tenant = way === 'session' || i % 2 === 0 ? TENANT : OTHER;
    return runInTenantScope(tenant, () => read(database.db, tenant));
  };
  const time = async (way: Way): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PER_ROUND; i++) await once(way, i);
    return Number(process.hrtime.bigint() - t0) / 1000 / PER_ROUND;
  };
  const ways: Way[] = ['baseline', 'transaction', 'session', 'session, tenants alternating'];
  for (const w of ways) await time(w); // warm-up
  const runs = new Map<Way, number[]>(ways.map((w) => [w, []]));
  for (let r = 0; r < ROUNDS; r++) for (const w of ways) runs.get(w)!.push(await time(w));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(runs.get('baseline')!);
  const target = database.kind === 'postgres' ? 'PostgreSQL' : 'embedded PGlite';
  console.log(`\nbench/rls — ${ROUNDS} rounds of ${PER_ROUND} reads each way, taken in turns, ${target}`);
  for (const w of ways) {
    const xs = runs.get(w)!;
    const m = median(xs);
    const cost = w === 'baseline' ? '' : `  +${(m - base).toFixed(0)} µs (x${(m / base).toFixed(2)})`;
    console.log(`${w.padEnd(30)} ${m.toFixed(0).padStart(7)} µs/read${cost.padEnd(22)} rounds ${xs.map((x) => x.toFixed(0)).join(' ')}`);
  }
  console.log(`Load average: ${loadAverage()} (a shared machine: compare the rows of one run only).`);
} finally {
  await old.close();
  await database.close();
  await scratch.cleanup();
}
