/**
 * bench/recs-serving/served-insert: how long one served-log statement (`recordServedMany`, the repository's own
 * INSERT) holds the thread on PGlite on disk, by rows per statement. PGlite's engine runs synchronously on the
 * calling thread, the serving thread in `loupe serve`: this is how long every request waits behind one write.
 * The table is filled first (200,000 rows) so its indexes are not tiny.
 *
 *   npx tsx bench/recs-serving/served-insert.bench.ts
 *
 * Measured 2026-12-06 (2 cores, loaded, load average 2.9): 1 row 0.8 ms, 200 rows 5.5 ms, 500 rows 15 ms,
 * 5,000 rows 122 ms (median of 8): about 0.8 ms per statement plus 25 us per row.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRecsRepository } from '../../src/modules/recs/recs.repository.ts';
import type { RecsPorts } from '../../src/modules/recs/recs.types.ts';
import { loadAverage } from '../lib/load.ts';
import { migrateDatabase, openDatabase } from '../../src/platform/index.ts';

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-served-'));
const database = await openDatabase({ kind: 'pglite', dataDir: path.join(dir, 'db') });
try {
  await migrateDatabase(database);
  // only the served log's own statement is used: the ports (other modules' reads) are never called
  const repo = createRecsRepository({ events: {}, catalog: {}, tenantSettings: async () => ({}) } as unknown as RecsPorts);
  const tenantId = randomUUID();
  const modelVersionId = randomUUID();
  const insert = async (n: number) => {
    const rows = Array.from({ length: n }, () => ({
      id: randomUUID(),
      kind: 'user' as const,
      userId: `U${Math.floor(Math.random() * 30_000)}`,
      modelVersionId,
      itemIds: Array.from({ length: 10 }, () => `I${Math.floor(Math.random() * 38_000)}`),
      latencyMs: 1.5,
      cacheHit: false,
      createdAt: new Date(),
    }));
    const t = performance.now();
    await repo.recordServedMany(database.db, tenantId, rows);
    return performance.now() - t;
  };
  for (let k = 0; k < 40; k++) await insert(5000);
  console.log(`PGlite on disk, recs_served with 200,000 rows; load average ${loadAverage()}`);
  for (const n of [1, 10, 50, 100, 200, 500, 1000, 2000, 5000]) {
    const ts: number[] = [];
    for (let k = 0; k < 8; k++) ts.push(await insert(n));
    ts.sort((a, b) => a - b);
    console.log(
      `rows ${String(n).padStart(5)}: median ${ts[4]!.toFixed(1)} ms, min ${ts[0]!.toFixed(1)}, max ${ts[7]!.toFixed(1)}, per row ${((ts[4]! / n) * 1000).toFixed(0)} us`,
    );
  }
} finally {
  await database.close();
  await fs.rm(dir, { recursive: true, force: true });
}
