/**
 * bench/import: imports UCI Online Retail (541,909 invoice lines) through the real HTTP upload of a
 * listening Loupe server, as interactions (the gzip file, with a column mapping) and its distinct
 * StockCodes as items; prints rows/s and peak RSS, then the rows/s of a raw COPY of the same rows into
 * the same interactions table (the ceiling) and the ratio (goal >= 50%).
 *
 *   npm run bench:import                            # embedded database (PGlite, in a temporary data folder)
 *   DATABASE_URL=postgres://... npm run bench:import
 *
 * The server runs in this process (PGlite is single-connection and the COPY must share it), so peak RSS
 * covers server and client together. Skips when ../shared/datasets is absent.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { scratchDatabase, startBenchServer } from '../lib/scratch.ts';

const root = path.resolve(import.meta.dirname, '../..');
const FILE = path.resolve(root, '../shared/datasets/online-retail/online_retail.csv.gz');
if (!fs.existsSync(FILE)) {
  process.stdout.write(`bench:import skipped: ${FILE} not found (the datasets folder ../shared/datasets is absent).\n`);
  process.exit(0);
}

// The run's own database (PostgreSQL: created and dropped on the server DATABASE_URL names) and data folder.
const scratch = await scratchDatabase('import');
const admin = { email: 'bench@loupe.local', password: 'Bench-Password-123' };
const { loupe, database, close } = await startBenchServer(scratch, { admin, env: { LOG_LEVEL: 'warn' }, poolSize: 10 });
if ((await loupe.tenancy.auth.login(admin.email, admin.password, { ip: null, userAgent: null }).catch(() => null)) === null) {
  await loupe.tenancy.tenants.createUser({ email: admin.email, password: admin.password, isPlatformAdmin: true }).catch(() => undefined);
}
const address = await loupe.app.listen({ port: 0, host: '127.0.0.1' });

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 25);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;

async function api(method: string, url: string, token: string | undefined, body?: unknown): Promise<any> {
  const r = await fetch(`${address}${url}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

async function upload(kind: 'items' | 'interactions', key: string, file: Blob, name: string, fields: Record<string, string>): Promise<any> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', file, name);
  const r = await fetch(`${address}/api/v1/upload/${kind}`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const json = await r.json();
  if (r.status !== 200) throw new Error(`upload ${kind}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

try {
  // A tenant and an API key, through the API as a client would.
  const adminToken = (await api('POST', '/api/v1/auth/login', undefined, admin)).access_token as string;
  const tenant = await api('POST', '/api/v1/admin/tenants', adminToken, { name: `Online Retail bench ${Date.now()}` });
  const email = `owner-${tenant.id.slice(-12)}@bench.local`;
  await api('POST', '/api/v1/admin/users', adminToken, { email, password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' });
  const owner = (await api('POST', '/api/v1/auth/login', undefined, { email, password: 'Owner-Password-1' })).access_token as string;
  const key = (await api('POST', '/api/v1/api-keys', owner, { name: 'bench', scopes: ['catalog:write', 'interactions:write'] }))
    .api_key as string;

  // Distinct StockCodes (for the items upload); the lines themselves are not held, so RSS reflects the server.
  type Line = [string, string, string, string, string, string, string, string];
  const readLines = () =>
    fs
      .createReadStream(FILE)
      .pipe(createGunzip())
      .pipe(parse({ from_line: 2 })) as unknown as AsyncIterable<Line>;
  const stock = new Map<string, { name: string; price: string }>();
  let lineCount = 0;
  for await (const rec of readLines()) {
    lineCount++;
    const prev = stock.get(rec[1]);
    stock.set(rec[1], { name: rec[2].trim() || prev?.name || rec[1], price: Number(rec[5]) > 0 ? rec[5] : (prev?.price ?? '') });
  }
  const itemsCsv = `StockCode,Description,UnitPrice\n${[...stock].map(([code, v]) => `"${code.replace(/"/g, '""')}","${v.name.replace(/"/g, '""')}",${v.price}`).join('\n')}\n`;
  const gz = await fsp.readFile(FILE);
  process.stdout.write(
    `Online Retail: ${lineCount} lines (${mb(gz.length)} gzip), ${stock.size} distinct StockCodes; database ${database.kind}\n`,
  );

  peakRss = process.memoryUsage().rss;
  const baseRss = peakRss;
  let t0 = performance.now();
  const items = await upload('items', key, new Blob([itemsCsv]), 'stockcodes.csv', {
    mapping: JSON.stringify({ StockCode: 'item_id', Description: 'name', UnitPrice: 'price' }),
  });
  const itemsSecs = (performance.now() - t0) / 1000;
  process.stdout.write(
    `items upload:        ${stock.size} rows in ${itemsSecs.toFixed(2)} s = ${Math.round(stock.size / itemsSecs)} rows/s (${items.rows_accepted} accepted, ${items.rows_rejected} rejected)\n`,
  );

  const mapping = {
    InvoiceNo: 'order_id',
    StockCode: 'item_id',
    CustomerID: 'user_id',
    InvoiceDate: 'timestamp',
    UnitPrice: 'price',
    Quantity: 'quantity',
    'const:purchase': 'type',
    Description: 'ignore',
  };
  t0 = performance.now();
  const res = await upload('interactions', key, new Blob([gz]), 'online_retail.csv.gz', { mapping: JSON.stringify(mapping), mode: 'sync' });
  const upSecs = (performance.now() - t0) / 1000;
  const read = res.rows_accepted + res.rows_rejected;
  const uploadRate = read / upSecs;
  const written = await loupe.modules.events.interactions.count(tenant.id);
  process.stdout.write(
    `interactions upload: ${read} rows in ${upSecs.toFixed(2)} s = ${Math.round(uploadRate)} rows/s read and validated, ${Math.round(written / upSecs)} rows/s written\n` +
      `  accepted ${res.rows_accepted} (${written} stored after in-file duplicates collapse), rejected ${res.rows_rejected}; types ${JSON.stringify(res.statistics?.interaction_types)}\n` +
      `  rejections by reason: ${JSON.stringify(
        Object.fromEntries(
          (
            (await database.db.execute(
              sql`SELECT code, count(*)::int AS n FROM import_errors WHERE tenant_id = ${tenant.id} GROUP BY code ORDER BY n DESC`,
            )) as unknown as { rows: { code: string; n: number }[] }
          ).rows.map((r) => [r.code, r.n]),
        ),
      )}\n` +
      `  peak RSS ${mb(peakRss)} (at start of uploads ${mb(baseRss)})\n`,
  );

  // The import's shoppers get their style profiles folded in the background once the upload is over (newsfeed's
  // backlog): wait for that, so the ceiling below is measured on an idle server, as the upload was.
  const settling = performance.now();
  await loupe.modules.newsfeed.settled();
  process.stdout.write(
    `  style profiles of the imported shoppers folded in the background after it: ${((performance.now() - settling) / 1000).toFixed(1)} s\n`,
  );

  // The ceiling: raw COPY of the same lines into the same table, for another tenant (text prepared beforehand).
  const copyTenant = randomUUID();
  const esc = (v: string) => (v === '' ? '\\N' : v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'));
  const copyLines: string[] = [];
  let n = 0;
  for await (const l of readLines()) {
    const dedupe = `h:${createHash('sha256').update(`${n++}`).digest('base64url').slice(0, 32)}`;
    const price = /^-?\d+(\.\d+)?$/.test(l[5]) ? String(Math.round(Number(l[5]) * 100)) : '';
    copyLines.push(
      [copyTenant, randomUUID(), dedupe, esc(l[6]), esc(l[1]), 'purchase', esc(l[3]), price, esc(l[0]), 'upload', `${l[4]}+00`].join('\t'),
    );
  }
  const copyText = copyLines.join('\n');
  copyLines.length = 0;
  const cols = 'tenant_id, id, dedupe_key, user_id, item_id, type, quantity, price_minor, order_id, source, occurred_at';
  t0 = performance.now();
  if (database.kind === 'pglite') {
    await database.pglite!.query(`COPY interactions (${cols}) FROM '/dev/blob'`, [], { blob: new Blob([`${copyText}\n`]) });
  } else {
    const client = new pg.Client({ connectionString: scratch.databaseUrl });
    await client.connect();
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyFrom(`COPY interactions (${cols}) FROM STDIN`));
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end(`${copyText}\n`);
    });
    await client.end();
  }
  const copySecs = (performance.now() - t0) / 1000;
  const copyRate = n / copySecs;
  process.stdout.write(`raw COPY ceiling:    ${n} rows in ${copySecs.toFixed(2)} s = ${Math.round(copyRate)} rows/s\n`);
  process.stdout.write(`ratio upload / COPY: ${((uploadRate / copyRate) * 100).toFixed(0)}% (goal >= 50%)\n`);

  await database.db.execute(sql`DELETE FROM interactions WHERE tenant_id IN (${copyTenant}, ${tenant.id})`);
  await database.db.execute(sql`DELETE FROM items WHERE tenant_id = ${tenant.id}`);
} finally {
  clearInterval(sampler);
  await close();
  await scratch.cleanup();
}
