/**
 * Dashboard performance (issue 6): the production build's first-load JavaScript (gzip) and the time to a
 * rendered Home in chromium against the real server on the embedded database.
 *
 *   npm run bench:dashboard
 *
 * - Build: every JS file in dashboard/dist/assets, gzip-compressed (zlib level 9, as served by a CDN);
 *   "first load" = the JS files chromium actually fetched to render Home (entry, preloaded vendor chunks,
 *   and any lazy chunk Home needs).
 * - Time: navigation start → Home's KPI area visible with its figures settled (no loading indicator),
 *   read from performance.now() in the page; cold loads (fresh browser context: empty HTTP cache), signed
 *   in beforehand (tokens placed in localStorage), median of RUNS after one discarded warm-up.
 * Goals: < 300 kB gzip, < 1.5 s.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildApp } from '../../src/app.ts';
import { loadConfig, migrateDatabase, openDatabase } from '../../src/platform/index.ts';
import { CHROMIUM, HAS_CHROMIUM, ensureDashboardBuilt, launchBrowser } from '../../test/browser/harness.ts';

const GOAL_KB = 300;
const GOAL_MS = 1500;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const ROOT = path.resolve(import.meta.dirname, '../..');
const ASSETS = path.join(ROOT, 'dashboard', 'dist', 'assets');
const gz = (buf: Buffer) => gzipSync(buf, { level: 9 }).length;
const kb = (n: number) => (n / 1024).toFixed(1);

await ensureDashboardBuilt();
const jsFiles = fs.readdirSync(ASSETS).filter((f) => f.endsWith('.js'));
const sizes = new Map(jsFiles.map((f) => [f, gz(fs.readFileSync(path.join(ASSETS, f)))]));
const totalJs = [...sizes.values()].reduce((a, b) => a + b, 0);
const css = fs
  .readdirSync(ASSETS)
  .filter((f) => f.endsWith('.css'))
  .reduce((a, f) => a + gz(fs.readFileSync(path.join(ASSETS, f))), 0);

console.log(`dashboard build: ${jsFiles.length} JS files, all JS ${kb(totalJs)} kB gzip, CSS ${kb(css)} kB gzip`);
if (!HAS_CHROMIUM) {
  console.log(`No chromium at ${CHROMIUM}: only the build size is measured.`);
  process.exit(0);
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-dashboard-'));
const database = await openDatabase({ kind: 'pglite' });
await migrateDatabase(database);
const config = loadConfig({
  LOUPE_DATA_DIR: dataDir,
  LOG_LEVEL: 'silent',
  RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
});
const loupe = await buildApp(config, { database });
await loupe.tenancy.ensurePlatformAdmin('admin@bench.test', 'Bench-Admin-Password-1');
const call = async (method: string, url: string, body?: unknown, token?: string) => {
  const res = await loupe.app.inject({
    method: method as 'POST',
    url,
    payload: body as object,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return res.json();
};
const admin = await call('POST', '/api/v1/auth/login', { email: 'admin@bench.test', password: 'Bench-Admin-Password-1' });
const tenant = await call('POST', '/api/v1/admin/tenants', { name: 'Bench Store' }, admin.access_token);
await call(
  'POST',
  '/api/v1/admin/users',
  { email: 'owner@bench.test', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
  admin.access_token,
);
await loupe.app.listen({ port: 0, host: '127.0.0.1' });
const addr = loupe.app.server.address();
const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

const browser = await launchBrowser();
const times: number[] = [];
let firstLoad = new Set<string>();
try {
  for (let i = 0; i <= RUNS; i++) {
    // A fresh session per run (refresh tokens rotate) and a fresh context (empty cache).
    const login = await call('POST', '/api/v1/auth/login', { email: 'owner@bench.test', password: 'Owner-Password-1' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.addInitScript(
      ([access, refresh, tenantId]) => {
        localStorage.setItem('loupe.session', JSON.stringify({ accessToken: access, refreshToken: refresh }));
        localStorage.setItem('loupe.tenant', tenantId!);
      },
      [login.access_token, login.refresh_token, tenant.id] as string[],
    );
    const page = await context.newPage();
    const fetched = new Set<string>();
    page.on('response', (r) => {
      const m = /\/assets\/([^/?]+\.js)/.exec(r.url());
      if (m) fetched.add(m[1]!);
    });
    await page.goto(`${base}/`);
    await page.waitForFunction(
      () => {
        const k = document.querySelector('[data-testid="kpis"]');
        return (
          !!k &&
          (k as HTMLElement).offsetParent !== null &&
          !k.querySelector('[role="status"]') &&
          k.querySelectorAll('.kpi-value').length > 0
        );
      },
      undefined,
      { polling: 'raf', timeout: 30_000 },
    );
    const ms = await page.evaluate(() => performance.now());
    if (i > 0) times.push(ms);
    firstLoad = fetched;
    await context.close();
  }
} finally {
  await browser.close();
  await loupe.close();
  await database.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

const firstLoadBytes = [...firstLoad].reduce((a, f) => a + (sizes.get(f) ?? 0), 0);
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(`first-load JS (files fetched to render Home: ${[...firstLoad].sort().join(', ')})`);
console.log(`  ${kb(firstLoadBytes)} kB gzip   goal < ${GOAL_KB} kB   ratio to goal ${(firstLoadBytes / 1024 / GOAL_KB).toFixed(2)}`);
console.log(
  `time to rendered Home (cold cache, median of ${times.length}; min ${times[0]!.toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms)`,
);
console.log(`  ${median.toFixed(0)} ms   goal < ${GOAL_MS} ms   ratio to goal ${(median / GOAL_MS).toFixed(2)}`);
