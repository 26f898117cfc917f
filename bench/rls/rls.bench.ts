/**
 * bench/rls: what row-level security of reads (issue 22) costs per statement. The same tenant-filtered read of a
 * tenant-owned table, run in turns outside a tenant scope (the connecting role: the baseline, as before) and
 * inside one (its own short transaction as `loupe_tenant` with the tenant set), in the same process and run.
 *
 *   npm run bench:rls                      # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:rls
 */
import { sql } from 'drizzle-orm';
import { migrateDatabase, openDatabase, queryRows, runInTenantScope } from '../../src/platform/index.ts';
import { loadAverage } from '../lib/load.ts';
import { scratchDatabase } from '../lib/scratch.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PER_ROUND = Number(process.env.BENCH_STATEMENTS ?? 400);
const TENANT = '018f0000-0000-7000-8000-000000000001';

const scratch = await scratchDatabase('rls');
const database = scratch.databaseUrl
  ? await openDatabase({ kind: 'postgres', url: scratch.databaseUrl })
  : await openDatabase({ kind: 'pglite', dataDir: `${scratch.dataDir}/db` });
try {
  await migrateDatabase(database);
  const db = database.db;
  const read = () => queryRows(db, sql`SELECT id, item_id, name FROM items WHERE tenant_id = ${TENANT} ORDER BY id LIMIT 20`);
  const time = async (scoped: boolean): Promise<number> => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PER_ROUND; i++) await (scoped ? runInTenantScope(TENANT, read) : read());
    return Number(process.hrtime.bigint() - t0) / 1000 / PER_ROUND;
  };
  await time(false);
  await time(true); // warm-up
  const plain: number[] = [];
  const scoped: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(await time(false));
    scoped.push(await time(true));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const target = database.kind === 'postgres' ? 'PostgreSQL' : 'embedded PGlite';
  console.log(`\nbench/rls — ${ROUNDS} rounds of ${PER_ROUND} reads each way, taken in turns, ${target}`);
  console.log(
    `baseline: read outside a tenant scope      ${median(plain).toFixed(0).padStart(7)} µs/statement (rounds ${plain.map((x) => x.toFixed(0)).join(' ')})`,
  );
  console.log(
    `scoped:   read under RLS (own transaction) ${median(scoped).toFixed(0).padStart(7)} µs/statement (rounds ${scoped.map((x) => x.toFixed(0)).join(' ')})`,
  );
  console.log(
    `cost of the scope: +${(median(scoped) - median(plain)).toFixed(0)} µs per read (x${(median(scoped) / median(plain)).toFixed(2)})`,
  );
  console.log(`Load average: ${loadAverage()} (a shared machine: compare the two rows of one run only).`);
} finally {
  await database.close();
  await scratch.cleanup();
}
