/**
 * Shared pieces of the dashboard's browser tests: build the dashboard once (when missing or stale),
 * start the real server in-process on an embedded database, drive Debian's chromium with playwright-core,
 * collect console errors, and save screenshots under test-artifacts/screenshots/.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import type { AppDeps } from '../../src/app.ts';
import { createTokenSigner } from '../../src/modules/tenancy/tokens.ts';
// helpers.ts reads vitest's provided values: loaded only when a test starts a server, so bench/dashboard (run by
// tsx, outside vitest) can use the build and browser helpers here.
import type { TestApp } from '../helpers.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.LOUPE_CHROMIUM ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!HAS_CHROMIUM) {
  console.warn(
    `\n[browser tests] SKIPPED: no chromium at ${CHROMIUM}. Install Debian's \`chromium\` package (or set LOUPE_CHROMIUM) to run the dashboard's browser tests.\n`,
  );
}

/**
 * Builds dashboard/dist when it is missing or older than its sources; a lock keeps parallel files from
 * building twice. Asynchronous: a blocked worker would miss vitest's RPC heartbeats during the build.
 */
export function ensureDashboardBuilt(): Promise<void> {
  // Once per process: the files of one vitest fork share this module (isolate: false), and the first file's build
  // (or staleness check, a node process walking the sources) serves them all.
  built ??= buildDashboard().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return built;
}
let built: Promise<void> | undefined;

async function buildDashboard(): Promise<void> {
  const lock = path.join(ROOT, 'dashboard', '.build-lock');
  const started = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 180_000)
        throw new Error(`timed out waiting for another dashboard build (remove ${lock} if no build is running)`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'build-dashboard.mjs')], { cwd: ROOT });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('close', (code) => resolve({ code, output }));
    });
    if (out.code !== 0) throw new Error(`dashboard build failed:\n${out.output}`);
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
  if (!fs.existsSync(path.join(ROOT, 'dashboard', 'dist', 'index.html')))
    throw new Error('dashboard/dist/index.html is missing after the build');
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // launch() gives every browser a fresh temporary profile (user-data-dir), removed on close.
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

let shared: Promise<Browser> | undefined;
/**
 * One chromium per test process, launched on first use and shared by every browser test file of that process (vitest
 * runs a fork's files one after another in one process: isolate: false). Tests stay apart through browser contexts
 * (each has its own cookies, storage and cache); a file's contexts are closed when its server closes. The browser
 * goes with the process (playwright kills what it launched at exit; beforeExit closes it politely first). Launching
 * chromium per file cost 1 to 3 s of a loaded machine's CPU each time.
 */
export function sharedBrowser(): Promise<Browser> {
  const current = shared;
  if (current) {
    return current.then((b) => {
      if (b.isConnected()) return b;
      if (shared === current) shared = undefined;
      return sharedBrowser();
    });
  }
  const next = launchBrowser();
  shared = next;
  next.catch(() => {
    if (shared === next) shared = undefined;
  });
  if (!exitHooked) {
    exitHooked = true;
    process.once('beforeExit', () => void shared?.then((b) => b.close()).catch(() => undefined));
  }
  return next;
}
let exitHooked = false;

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions, except the browser's own line for each HTTP 4xx answer. */
  errors: string[];
  /** API answers with a 5xx status. */
  serverErrors: string[];
  /** The page's requests sent and not yet answered or failed. */
  inflight: Set<unknown>;
}

export async function openPage(
  browser: Browser,
  opts: { viewport?: { width: number; height: number }; storageState?: BrowserContextOptions['storageState'] } = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: opts.viewport ?? { width: 1280, height: 860 },
    ...(opts.storageState ? { storageState: opts.storageState } : {}),
  });
  const page = await context.newPage();
  const errors: string[] = [];
  const serverErrors: string[] = [];
  page.on('console', (msg) => {
    // Chromium logs every non-2xx fetch as "Failed to load resource"; expected 4xx answers (a 404 for a
    // feature the server lacks, a 401 before refresh) are asserted on by the tests themselves.
    if (msg.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()))
      errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('response', (res) => {
    if (res.status() >= 500) serverErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`);
  });
  page.on('dialog', (d) => void d.accept());
  const inflight = new Set<unknown>();
  page.on('request', (r) => inflight.add(r));
  page.on('requestfinished', (r) => inflight.delete(r));
  page.on('requestfailed', (r) => inflight.delete(r));
  return { page, errors, serverErrors, inflight };
}

/**
 * Waits until the page has settled: no loading indicator (a `role="status"` other than the toasts' permanent live
 * region) and no request of the page in flight, seen twice a frame apart. The condition networkidle approximates
 * with a fixed 500 ms of silence per page.
 */
export async function settled(w: WatchedPage, timeout = 20_000): Promise<void> {
  const end = Date.now() + timeout;
  for (;;) {
    await w.page.waitForFunction(() => !document.querySelector('[role="status"]:not([data-testid="toasts"])'), undefined, {
      timeout: Math.max(1, end - Date.now()),
    });
    if (w.inflight.size === 0) {
      await w.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
      if (w.inflight.size === 0) return;
    } else {
      await Promise.race([
        w.page.waitForEvent('requestfinished', { timeout: Math.max(1, end - Date.now()) }).catch(() => undefined),
        w.page.waitForEvent('requestfailed', { timeout: Math.max(1, end - Date.now()) }).catch(() => undefined),
      ]);
    }
    if (Date.now() > end) throw new Error(`the page did not settle within ${timeout} ms (${w.inflight.size} requests in flight)`);
  }
}

export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/sign-in`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 20_000 });
}

/**
 * A new page already signed in as `email`, opened at `path`: signs in through the API in the dashboard's cookie
 * mode (`X-Loupe-Refresh: cookie`) and gives the new browser context what the sign-in page leaves behind (the
 * access token and tenant in localStorage, the HttpOnly refresh cookie), so refreshes and sign-out work as after a
 * real sign-in. One page load instead of three (sign-in page, Home, then the page under test) for tests whose
 * subject is not the sign-in form; the form itself is covered by dashboard.browser.test.ts ("signs in, shows Home
 * ..."), session-tabs, sso and the refresh test, which still type the form through signIn().
 */
export async function openSignedInPage(
  browser: Browser,
  baseUrl: string,
  email: string,
  password: string,
  opts: { path?: string; viewport?: { width: number; height: number } } = {},
): Promise<WatchedPage> {
  const res = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-loupe-refresh': 'cookie' },
    body: JSON.stringify({ email, password }),
  });
  const out = (await res.json()) as { access_token?: string; user?: { tenant_id?: string | null } };
  if (res.status !== 200 || !out.access_token) throw new Error(`sign-in of ${email} failed: ${res.status} ${JSON.stringify(out)}`);
  const url = new URL(baseUrl);
  const cookies = res.headers.getSetCookie().flatMap((line) => {
    const m = /^loupe_refresh=([^;]+)/.exec(line);
    if (!m) return [];
    const path = /;\s*Path=([^;]+)/i.exec(line)?.[1] ?? '/';
    return [
      {
        name: 'loupe_refresh',
        value: m[1]!,
        domain: url.hostname,
        path,
        httpOnly: true,
        secure: false,
        sameSite: 'Strict' as const,
        expires: -1,
      },
    ];
  });
  const localStorage = [{ name: 'loupe.session', value: JSON.stringify({ accessToken: out.access_token }) }];
  if (out.user?.tenant_id) localStorage.push({ name: 'loupe.tenant', value: out.user.tenant_id });
  const w = await openPage(browser, {
    ...(opts.viewport ? { viewport: opts.viewport } : {}),
    storageState: { cookies, origins: [{ origin: url.origin, localStorage }] },
  });
  await w.page.goto(`${baseUrl}${opts.path ?? '/'}`);
  // As signIn() ends: the signed-in shell is up (the page under test may still be loading its data).
  await w.page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 20_000 });
  return w;
}

/**
 * Replaces the dashboard's stored access token by one signed with `secret` (the server's JWT secret) for the same
 * session, issued `issuedSecondsAgo` and with its password check `authSecondsAgo` ago (a stale or expired sign-in).
 */
export async function forgeAccessToken(page: Page, secret: string, o: { issuedSecondsAgo: number; authSecondsAgo: number }): Promise<void> {
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('loupe.session')!) as { accessToken: string });
  const claims = JSON.parse(Buffer.from(stored.accessToken.split('.')[1]!, 'base64url').toString()) as {
    sub: string;
    sid: string;
    adm: boolean;
  };
  const now = Math.floor(Date.now() / 1000);
  const token = await createTokenSigner(secret).sign(
    { sub: claims.sub, sid: claims.sid, adm: claims.adm, auth_time: now - o.authSecondsAgo },
    now - o.issuedSecondsAgo,
  );
  await page.evaluate((tok) => {
    const s = JSON.parse(localStorage.getItem('loupe.session')!);
    localStorage.setItem('loupe.session', JSON.stringify({ ...s, accessToken: tok }));
  }, token);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface DashboardServer {
  /** The real app on its own test database, listening on a free loopback port. */
  t: TestApp;
  /** `http://127.0.0.1:<port>` */
  base: string;
  browser: Browser;
  /** Closes the file's browser contexts (the browser is the process's), then the app and its database; safe after a failed start. */
  close(): Promise<void>;
}

/**
 * What every browser test file starts with: the dashboard built (once, when stale), the real server on a fresh
 * test database listening on port 0, job workers when asked, and the process's shared chromium.
 */
export async function startDashboardServer(
  opts: { env?: Record<string, string>; deps?: Partial<AppDeps>; jobs?: { concurrency: number }; port?: number } = {},
): Promise<DashboardServer> {
  await ensureDashboardBuilt();
  const { createTestApp } = await import('../helpers.ts');
  const t = await createTestApp(opts.env ?? {}, opts.deps ?? {});
  let browser: Browser | undefined;
  try {
    if (opts.jobs) t.jobs.start(opts.jobs);
    await t.app.listen({ port: opts.port ?? 0, host: '127.0.0.1' });
    const addr = t.app.server.address();
    if (!addr || typeof addr !== 'object') throw new Error('the test server has no TCP address');
    browser = await sharedBrowser();
    const b = browser;
    return {
      t,
      base: `http://127.0.0.1:${addr.port}`,
      browser: b,
      async close() {
        // The browser is shared with the next file: close only what this file opened (files of a process run one at
        // a time, so every open context is this file's).
        await Promise.all(b.contexts().map((c) => c.close().catch(() => undefined)));
        await t.close();
      },
    };
  } catch (err) {
    await Promise.all((browser?.contexts() ?? []).map((c) => c.close().catch(() => undefined)));
    await t.close();
    throw err;
  }
}
