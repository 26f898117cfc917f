/**
 * bench/scale/interactions-write: the cost of the monthly partitions and the dedupe-key table on the one events write
 * statement (issue 17). Side by side, on the same database, rounds alternated:
 *   before: main's statement (INSERT ... SELECT FROM unnest ... ON CONFLICT (tenant_id, dedupe_key) DO NOTHING) into
 *           the pre-0057 unpartitioned table (made from migrations/0001_interactions.sql in schema bench_before);
 *   after:  `createInteractionsRepository().appendManyDetailed` (keys first, then the interactions of the keys it
 *           got, one statement) into the partitioned table and interaction_keys.
 * Each round writes BENCH_BATCH fresh events (spread over the last 6 months) and then the same batch again (all
 * retries) to each arm; `uptime`'s load is printed beside each figure (a figure at load > 3 is "loaded").
 *
 *   nice -n 15 npx tsx bench/scale/interactions-write.bench.ts                       # embedded database (PGlite)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test nice -n 15 npx tsx bench/scale/interactions-write.bench.ts
 *   BENCH_ROUNDS=20 BENCH_BATCH=1000 BENCH_PREFILL=50000 ...
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { createInteractionsRepository, type NewInteraction } from '../../src/modules/events/index.ts';
import { arrayParam, migrateDatabase, openDatabase, queryRows, type Q } from '../../src/platform/index.ts';
import { scratchDatabase } from '../lib/scratch.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 50_000);
const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');
const TENANT = '0190a000-0000-7000-8000-00000000be01';

const load = () => os.loadavg()[0]!.toFixed(1);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let n = 0;
function batch(): NewInteraction[] {
  const now = Date.now();
  return Array.from({ length: BATCH }, () => {
    n++;
    return {
      userId: `u${n % 5000}`,
      itemId: `i${n % 2000}`,
      type: 'view',
      source: 'api',
      occurredAt: new Date(now - (n % 180) * 86_400_000 - (n % 86_400) * 1000),
      eventId: `ev-${n}`,
    };
  });
}

/** main's write statement (before 0057), verbatim but for the schema: every column sent, as the repository does. */
async function writeBefore(q: Q, rows: NewInteraction[]): Promise<number> {
  const col = <T>(f: (r: NewInteraction) => T) => arrayParam(rows.map(f));
  const keys = col((x) => `e:${x.eventId}`);
  const r = await queryRows<{ dedupeKey: string }>(
    q,
    sql`INSERT INTO bench_before.interactions (tenant_id, id, dedupe_key, user_id, anonymous_id, profile_id, item_id, type, value, quantity, price_minor,
                                  currency, order_id, session_id, recommendation_id, source, context, metadata, occurred_at)
        SELECT ${TENANT}::uuid, t.* FROM unnest(
          ${col(() => randomUUID())}::uuid[], ${keys}::text[], ${col((x) => x.userId ?? null)}::text[], ${col((x) => x.anonymousId ?? null)}::text[],
          ${col((x) => x.profileId ?? null)}::uuid[], ${col((x) => x.itemId ?? null)}::text[], ${col((x) => x.type)}::text[],
          ${col((x) => x.value ?? null)}::float8[], ${col((x) => x.quantity ?? null)}::int[], ${col((x) => (x.priceMinor == null ? null : x.priceMinor.toString()))}::bigint[],
          ${col((x) => x.currency ?? null)}::text[], ${col((x) => x.orderId ?? null)}::text[], ${col((x) => x.sessionId ?? null)}::text[],
          ${col((x) => x.recommendationId ?? null)}::text[], ${col((x) => x.source)}::text[],
          ${col((x) => (x.context ? JSON.stringify(x.context) : null))}::jsonb[], ${col((x) => (x.metadata ? JSON.stringify(x.metadata) : null))}::jsonb[],
          ${col((x) => x.occurredAt.toISOString())}::timestamptz[]
        ) AS t
        ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
        RETURNING dedupe_key AS "dedupeKey", id, received_at AS "receivedAt"`,
  );
  if (r.length < rows.length) {
    await q.execute(
      sql`SELECT dedupe_key AS "dedupeKey", id, received_at AS "receivedAt" FROM bench_before.interactions WHERE tenant_id = ${TENANT}
          AND dedupe_key = ANY(${keys}::text[])`,
    );
  }
  return r.length;
}

async function main() {
  const scratch = await scratchDatabase('interactions_write');
  const database = await openDatabase(
    scratch.databaseUrl
      ? { kind: 'postgres', url: scratch.databaseUrl, poolSize: 2 }
      : { kind: 'pglite', dataDir: path.join(scratch.dataDir, 'db') },
  );
  try {
    await migrateDatabase(database);
    const q = database.db;
    await q.execute(sql`CREATE SCHEMA bench_before`);
    const ddl = readFileSync(path.join(MIGRATIONS_DIR, '0001_interactions.sql'), 'utf8').replaceAll(
      '"interactions"',
      'bench_before.interactions',
    );
    for (const s of ddl.split('--> statement-breakpoint')) await q.execute(sql.raw(s));
    const repo = createInteractionsRepository();
    const arms = {
      before: (rows: NewInteraction[]) => writeBefore(q, rows),
      after: async (rows: NewInteraction[]) => (await repo.appendManyDetailed(q, TENANT, rows)).created.filter(Boolean).length,
    };
    console.log(`${database.kind}, batch ${BATCH}, prefill ${PREFILL} per arm, ${ROUNDS} rounds alternated; load ${load()}`);
    for (let i = 0; i < PREFILL / BATCH; i++) {
      const rows = batch();
      await arms.before(rows);
      await arms.after(rows);
    }
    await q.execute(sql`ANALYZE`);
    const fresh: Record<string, number[]> = { before: [], after: [] };
    const retry: Record<string, number[]> = { before: [], after: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? (['after', 'before'] as const) : (['before', 'after'] as const);
      const rows = batch();
      for (const arm of order) {
        let t = performance.now();
        const got = await arms[arm](rows);
        fresh[arm]!.push(performance.now() - t);
        if (got !== rows.length) throw new Error(`${arm}: ${got} of ${rows.length} fresh events stored`);
        t = performance.now();
        const again = await arms[arm](rows);
        retry[arm]!.push(performance.now() - t);
        if (again !== 0) throw new Error(`${arm}: a retry stored ${again}`);
      }
      console.log(
        `round ${r + 1}: fresh before ${fresh.before!.at(-1)!.toFixed(1)} ms, after ${fresh.after!.at(-1)!.toFixed(1)} ms; ` +
          `retry before ${retry.before!.at(-1)!.toFixed(1)} ms, after ${retry.after!.at(-1)!.toFixed(1)} ms; load ${load()}`,
      );
    }
    const mb = median(fresh.before!);
    const ma = median(fresh.after!);
    console.log(
      `median per ${BATCH} fresh events: before ${mb.toFixed(1)} ms, after ${ma.toFixed(1)} ms (x${(ma / mb).toFixed(2)}); ` +
        `retries: before ${median(retry.before!).toFixed(1)} ms, after ${median(retry.after!).toFixed(1)} ms; load ${load()}`,
    );
  } finally {
    await database.close();
    await scratch.cleanup();
  }
}

await main();
