/**
 * Feed precheck throughput: a feed of N products (default 100,000) built from the precheck's fixture suite,
 * so every rule is violated somewhere (about half the items break one rule), checked against Google's full
 * taxonomy (the file bundled with the catalog). Target: under 10 s for 100,000 items.
 *
 * Then the push (`--push-items=2000`, 0 skips it): a tenant's catalog pushed to a local server speaking the
 * Merchant API (test/fakes/google.fake.ts) with a write quota (`--quota=500` calls a second, answered 429 past it, as
 * Google does), through the real app: feed job, OAuth token, one product input per call, 429s retried with backoff.
 * Printed beside the baseline of the same inputs POSTed straight to the same server by a bare loop that waits out
 * each 429, and followed by a re-push of the unchanged catalog, which must make zero calls.
 *
 * Usage: npx tsx bench/feeds/feeds.bench.ts [--items=100000] [--push-items=2000] [--quota=500]
 *
 * Printed beside a baseline measured in the same run: a JSON round trip of the same feed (the cost of
 * merely receiving it), so the precheck's own cost reads as a multiple of that floor.
 */
import fs from 'node:fs';
import os from 'node:os';
import { fakeGoogleEnv, startFakeGoogle } from '../../test/fakes/google.fake.ts';
import { scratchDatabase, startBenchServer } from '../lib/scratch.ts';
import { type FeedItem, precheckFeed, PRECHECK_RULE_IDS, VALID_FIXTURES, VIOLATION_FIXTURES } from '../../src/modules/visibility/index.ts';

const opts = new Map(
  process.argv
    .slice(2)
    .map((a) => /^--([^=]+)=(.*)$/.exec(a))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => [m[1]!, m[2]!]),
);
const N = Number(opts.get('items') ?? 100_000);
const PUSH_N = Number(opts.get('push-items') ?? 2_000);
const QUOTA = Number(opts.get('quota') ?? 500);

const taxonomyText = fs.readFileSync(new URL('../../src/modules/catalog/data/taxonomy-with-ids.en-US.txt', import.meta.url), 'utf8');
const taxonomy = new Map<number, string>();
for (const line of taxonomyText.split('\n')) {
  const m = /^(\d+) - (.+)$/.exec(line.trim());
  if (m) taxonomy.set(Number(m[1]), m[2]!);
}

// Cycle through the fixtures; ids get a suffix so only the duplicate-id fixture repeats an id.
const groups = [...VALID_FIXTURES, ...VIOLATION_FIXTURES];
const feed: FeedItem[] = [];
for (let round = 0; feed.length < N; round++) {
  for (const g of groups) {
    for (const item of g.items) {
      if (feed.length >= N) break;
      const keepId = g.expect.includes('id_duplicate') || g.expect.includes('id_required') || g.expect.includes('id_too_long');
      feed.push({
        ...item,
        id: keepId ? item.id : `${item.id}-${round}`,
        // Variants are variants within a round (the same product listed again would be a variant of itself).
        title: item.color || item.size ? `${item.title} ${round}` : item.title,
      });
    }
  }
}

const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const out = fn();
  return [out, (performance.now() - t0) / 1000];
};

const [, baseline] = time(() => JSON.parse(JSON.stringify(feed)) as unknown);
const [report, seconds] = time(() => precheckFeed(feed, { targetCountry: 'US', taxonomy }));
const violated = PRECHECK_RULE_IDS.filter((r) => (report.summary.byRule[r] ?? 0) > 0).length;

console.log(
  `machine: ${os.cpus().length} cores, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`feed: ${N.toLocaleString('en-US')} items, ${violated}/${PRECHECK_RULE_IDS.length} rules violated somewhere`);
console.log(`summary: ok ${report.summary.ok}, warnings ${report.summary.warnings}, errors ${report.summary.errors}`);
console.log(`baseline (JSON round trip of the feed): ${baseline.toFixed(2)} s`);
console.log(
  `precheck: ${seconds.toFixed(2)} s (${Math.round(N / seconds).toLocaleString('en-US')} items/s, ${(seconds / baseline).toFixed(1)}x the baseline)`,
);
console.log(seconds < 10 ? 'PASS: under 10 s' : 'FAIL: 10 s or more');
if (seconds >= 10) process.exitCode = 1;

if (PUSH_N > 0) await pushBench();

/** Push throughput against the local Merchant API with its quota, beside a bare loop; then an unchanged re-push. */
async function pushBench(): Promise<void> {
  const google = await startFakeGoogle();
  google.quotaPerWindow = QUOTA;
  google.quotaWindowMs = 1000;
  const scratch = await scratchDatabase('feeds_push');
  const admin = { email: 'bench@loupe.local', password: 'Bench-Password-123' };
  const srv = await startBenchServer(scratch, {
    admin,
    // the production backoff (1 s base, doubling, full jitter): a faster one gives up inside a quota window
    env: { ...fakeGoogleEnv(google), GOOGLE_MERCHANT_RETRY_BASE_MS: '1000', LOUPE_JOB_POLL_MS: '50' },
  });
  try {
    const adminToken = (await srv.call('POST', '/api/v1/auth/login', admin)).access_token as string;
    const tenant = await srv.call('POST', '/api/v1/admin/tenants', { name: `Feeds bench ${Date.now()}` }, adminToken);
    const email = `owner-${tenant.id.slice(-12)}@bench.local`;
    await srv.call('POST', '/api/v1/admin/users', { email, password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' }, adminToken);
    const owner = (await srv.call('POST', '/api/v1/auth/login', { email, password: 'Owner-Password-1' })).access_token as string;
    const link = await srv.call('POST', '/google/oauth/link', { merchant_id: '1001', data_source_id: '77' }, owner);
    const grant = await google.authorize(link.authorization_url);
    await srv.call('GET', `/google/oauth/callback?code=${grant.code}&state=${encodeURIComponent(grant.state)}`);
    const rows = Array.from({ length: PUSH_N }, (_, i) => ({
      item_id: `P${i}`,
      name: `Trail shoe ${i}`,
      description: `Trail running shoe number ${i}, cushioned.`,
      url: `https://shop.example.com/p/${i}`,
      image_url: `https://cdn.example.com/${i}.jpg`,
      price: `${20 + (i % 50)}.99`,
      currency: 'USD',
      brand: 'Acme',
      mpn: `MPN-${i}`,
    }));
    for (let i = 0; i < rows.length; i += 1000) await srv.call('POST', '/api/v1/items/bulk', rows.slice(i, i + 1000), owner);

    // baseline: the same number of product inputs POSTed straight, one at a time, waiting out each 429 (Retry-After or 1 s window)
    const token = await bareToken();
    let base429 = 0;
    const b0 = performance.now();
    for (let i = 0; i < PUSH_N; i++) {
      for (;;) {
        const r = await fetch(`${google.url}/products/v1/accounts/2002/productInputs:insert?dataSource=accounts%2F2002%2FdataSources%2F1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ offerId: `B${i}`, contentLanguage: 'en', feedLabel: 'US', productAttributes: { title: `t${i}` } }),
        });
        await r.arrayBuffer();
        if (r.status !== 429) break;
        base429++;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    const baseSecs = (performance.now() - b0) / 1000;

    srv.loupe.jobs.start({ concurrency: 1 });
    const calls0 = google.calls.length;
    const p0 = performance.now();
    const job = await srv.call('POST', `/api/v1/tenants/${tenant.id}/feed/push`, undefined, owner);
    const done = await waitJob(job.id);
    const pushSecs = (performance.now() - p0) / 1000;
    const pushCalls = google.calls.slice(calls0);
    const quota429 = pushCalls.filter((c) => c.status === 429).length;

    const calls1 = google.calls.length;
    const again = await waitJob((await srv.call('POST', `/api/v1/tenants/${tenant.id}/feed/push`, undefined, owner)).id);
    const repushCalls = google.calls.length - calls1;

    console.log(
      `push: ${PUSH_N.toLocaleString('en-US')} items to the local Merchant API, quota ${QUOTA} calls/s (429 past it), database ${srv.database.kind}`,
    );
    console.log(
      `baseline (bare loop of inserts, waits out 429s): ${(PUSH_N / baseSecs).toFixed(0)} items/s, ${base429} answers 429, ${baseSecs.toFixed(1)} s`,
    );
    console.log(
      `loupe push job: ${done.status}, ${done.summary.inserted ?? 0} written, ${(PUSH_N / pushSecs).toFixed(0)} items/s (${(baseSecs / pushSecs).toFixed(2)}x the baseline), ${pushCalls.length} calls of which ${quota429} answered 429 and were retried, ${pushSecs.toFixed(1)} s`,
    );
    console.log(
      `re-push of the unchanged catalog: ${again.status}, ${again.summary.unchanged ?? 0} unchanged, ${repushCalls} calls (writes)`,
    );
    console.log(repushCalls === 0 ? 'PASS: zero writes on an unchanged re-push' : 'FAIL: an unchanged re-push wrote');
    if (repushCalls !== 0 || done.status !== 'success') process.exitCode = 1;

    async function waitJob(id: string): Promise<any> {
      const deadline = Date.now() + 30 * 60_000;
      for (;;) {
        const j = await srv.call('GET', `/api/feed-jobs/${id}`, undefined, owner);
        if (j.status === 'success' || j.status === 'failed') return j;
        if (Date.now() > deadline) throw new Error(`feed job ${id} still ${j.status}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    /** A fresh access token of the fake for the baseline loop (the same kind the push uses). */
    async function bareToken(): Promise<string> {
      const g = await google.authorize(
        `${google.url}/authorize?client_id=${google.clientId}&response_type=code&code_challenge_method=S256&code_challenge=${encodeURIComponent(
          'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        )}&redirect_uri=${encodeURIComponent('https://x.example/cb')}&state=s`,
      );
      const r = await fetch(`${google.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: g.code,
          redirect_uri: 'https://x.example/cb',
          code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
          client_id: google.clientId,
          client_secret: google.clientSecret,
        }).toString(),
      });
      return ((await r.json()) as { access_token: string }).access_token;
    }
  } finally {
    await srv.close();
    await scratch.cleanup();
    await google.close();
  }
}
