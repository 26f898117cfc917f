/**
 * `loupe export` throughput (the warehouse module's exportTenant, events table) in rows/s, beside a raw
 * `COPY (SELECT the same columns ...) TO` CSV of the same rows written to a file, measured in one run on one
 * database. Embedded PGlite by default; DATABASE_URL for PostgreSQL (a scratch database of its own).
 *
 *   npm run bench:export                      # 200,000 events
 *   EXPORT_BENCH_ROWS=1000000 npm run bench:export
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { scratchDatabase, startBenchServer } from '../lib/scratch.ts';

const ROWS = Number(process.env.EXPORT_BENCH_ROWS ?? 200_000);
const ADMIN = { email: 'bench@loupe.test', password: 'Bench-Password-123!' };

async function folderBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.parquet')) n += (await fs.stat(path.join(e.parentPath, e.name))).size;
  }
  return n;
}

async function main(): Promise<void> {
  const scratch = await scratchDatabase('export');
  const server = await startBenchServer(scratch, { admin: ADMIN, env: { LOUPE_EXPORT_SETTLE_SECONDS: '0' } });
  try {
    const tenant = await server.loupe.tenancy.tenants.createTenant({ name: 'Bench export' });
    const tenantId = tenant.id;
    const db = server.database.db;
    // Events as the ingest path stores them: UUIDv7 ids in time order (10 per ms, a year ago), 3 types, 30 days.
    const base = Date.now() - 365 * 86_400_000;
    for (let start = 0; start < ROWS; start += 100_000) {
      const n = Math.min(100_000, ROWS - start);
      await db.execute(sql`INSERT INTO interactions (tenant_id, id, dedupe_key, user_id, item_id, type, quantity, price_minor, currency, source,
          context, occurred_at, received_at)
        SELECT ${tenantId}, (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
               'b' || i, 'u' || (i % 20000), 'SKU-' || (i % 5000), (ARRAY['view','add_to_cart','purchase'])[1 + i % 3],
               CASE WHEN i % 3 = 2 THEN 1 END, CASE WHEN i % 3 = 2 THEN 1999 END, CASE WHEN i % 3 = 2 THEN 'USD' END, 'api',
               jsonb_build_object('page', '/p/' || (i % 1000)), to_timestamp((${base}::bigint + i::bigint * 13000)::float8 / 1000), to_timestamp((${base}::bigint + i / 10)::float8 / 1000)
          FROM (SELECT i, lpad(to_hex(${base}::bigint + i / 10), 12, '0') AS h FROM generate_series(${start}::int, ${start + n - 1}::int) i) g`);
    }
    await db.execute(sql`ANALYZE interactions`);
    const outDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-bench-copy-'));
    const columns = `id::text, received_at, occurred_at, type, user_id, anonymous_id, profile_id::text, item_id, value, quantity,
      price_minor, currency, order_id, session_id, recommendation_id, source, context::text, metadata::text`;
    const copySql = `COPY (SELECT ${columns} FROM interactions WHERE tenant_id = '${tenantId}' ORDER BY id) TO STDOUT WITH (FORMAT csv)`;

    // Baseline: the raw COPY TO of the same rows and columns, into a CSV file.
    const csvFile = path.join(outDir, 'events.csv');
    const t0 = performance.now();
    if (server.database.pglite) {
      const res = await server.database.pglite.query(copySql.replace('TO STDOUT', "TO '/dev/blob'"));
      await fs.writeFile(csvFile, Buffer.from(await res.blob!.arrayBuffer()));
    } else {
      const client = new pg.Client({ connectionString: scratch.databaseUrl });
      await client.connect();
      try {
        await pipeline(client.query(copyTo(copySql)), createWriteStream(csvFile));
      } finally {
        await client.end();
      }
    }
    const copyMs = performance.now() - t0;
    const csvBytes = (await fs.stat(csvFile)).size;

    const t1 = performance.now();
    const out = await server.loupe.modules.warehouse.exportTenant(tenantId, { tables: ['events'] });
    const exportMs = performance.now() - t1;
    const exported = out.tables[0]!.rows;
    if (exported !== ROWS) throw new Error(`exported ${exported} rows, expected ${ROWS}`);
    const parquetBytes = await folderBytes(server.config.warehouse.exportDir);

    const load = (await fs.readFile('/proc/loadavg', 'utf8')).trim();
    const rate = (ms: number) => Math.round(ROWS / (ms / 1000));
    process.stdout.write(
      [
        `export bench: ${ROWS} events, ${server.database.kind}, batch ${server.config.warehouse.batchRows} rows, load average ${load}`,
        `  baseline COPY ... TO csv : ${(copyMs / 1000).toFixed(2)} s  ${rate(copyMs)} rows/s  ${(csvBytes / 1e6).toFixed(1)} MB`,
        `  loupe export (parquet)   : ${(exportMs / 1000).toFixed(2)} s  ${rate(exportMs)} rows/s  ${(parquetBytes / 1e6).toFixed(1)} MB in ${out.tables[0]!.files} files`,
        `  export / COPY throughput : ${(rate(exportMs) / rate(copyMs)).toFixed(2)}`,
      ].join('\n') + '\n',
    );
    await fs.rm(outDir, { recursive: true, force: true });
  } finally {
    await server.close();
    await scratch.cleanup();
  }
}

await main();
