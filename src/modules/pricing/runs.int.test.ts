/**
 * Network import runs end to end, as an operator follows them (issue 13: "each a job with progress, retries and a
 * log"): a network that answers 500 until the client gives up is retried by the job queue and imported once by the
 * second attempt; revoked credentials fail the run for good, keep the last good prices and say what to do next;
 * progress moves while a run reads its pages; the scheduler's tick queues one run per due store, none beside a run
 * still going. Against the local Rakuten and CJ servers (test/fakes/affiliate-networks.ts).
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeProduct } from '../../../test/fakes/affiliate-networks.ts';
import { pollUntil, type TestApp } from '../../../test/helpers.ts';
import { type NetworksApp, RAKUTEN, startNetworksApp } from '../../../test/pricing-networks.ts';
import { queryOne, queryRows } from '../../platform/index.ts';

const CJ_TOKEN = 'cj-runs-token';
let app: NetworksApp;
let fake: NetworksApp['fake'];
let t: TestApp;

interface Run {
  id: string;
  status: string;
  attempt: number;
  max_attempts: number;
  rows_read: number;
  offers_created: number;
  prices_changed: number;
  failure: string | null;
  progress: { fraction: number | null; pages_read: number | null; rows_read: number | null; total: number | null } | null;
  log: { at: string; level: string; message: string }[];
}

const products = (prefix: string, n: number, price = '10.00'): FakeProduct[] =>
  Array.from({ length: n }, (_, k) => ({ id: `${prefix}${k}`, title: `${prefix} product ${k}`, price, currency: 'USD' }));

beforeAll(async () => {
  app = await startNetworksApp(CJ_TOKEN);
  ({ fake, t } = app);
});
afterAll(async () => {
  await app?.close();
});

async function connect(name: string, body: Record<string, unknown>): Promise<{ storeId: string; sourceId: string }> {
  const s = await app.api('POST', '/api/v1/pricing/stores', { name, network: 'feed' });
  expect(s.status).toBe(201);
  const c = await app.api('PUT', `/api/v1/pricing/stores/${s.body.id}/network`, { schedule: 'off', ...body });
  expect(c.status).toBe(200);
  return { storeId: s.body.id, sourceId: c.body.id };
}
const rakuten = (mid: string, extra: Record<string, unknown> = {}) => ({
  network: 'rakuten',
  client_id: RAKUTEN.clientId,
  client_secret: RAKUTEN.clientSecret,
  sid: RAKUTEN.sid,
  mid,
  ...extra,
});
const getRun = async (id: string) => (await app.api('GET', `/api/v1/pricing/feed-runs/${id}`)).body as Run;
const ended = (id: string) =>
  pollUntil(
    'run',
    () => getRun(id),
    (r) => r.status === 'succeeded' || r.status === 'failed',
  );
async function start(sourceId: string): Promise<string> {
  const r = await app.api('POST', `/api/v1/pricing/sources/${sourceId}/runs`);
  expect(r.status).toBe(202);
  return r.body.run_id as string;
}
const lines = (r: Run) => r.log.map((l) => `${l.level}: ${l.message}`);
const storePrices = async (storeId: string) =>
  queryRows<{ price: string; history: number }>(
    t.database.db,
    sql`SELECT o.price_minor::text AS price,
          (SELECT count(*)::int FROM pricing_price_history h WHERE h.tenant_id = o.tenant_id AND h.offer_id = o.id) AS history
        FROM pricing_offers o WHERE o.store_id = ${storeId}`,
  );

describe('network runs: retries, log and progress', () => {
  it('a network answering 500 until the client gives up: attempt 2 imports every product once, the log holds the retry', async () => {
    fake.setProducts('3001', products('P', 250));
    const { storeId, sourceId } = await connect('Flaky store', rakuten('3001'));
    // Page 1 answers; page 2 answers 500 to the first call and the client's 4 retries: attempt 1 gives up.
    fake.passNext(1);
    fake.failNext(...Array.from({ length: 5 }, () => ({ status: 500 as const })));
    fake.slowDown(150); // pages take a while: progress is seen between pages
    const fractions = new Set<number>();
    try {
      const id = await start(sourceId);
      const run = await pollUntil(
        'retried run',
        async () => {
          const r = await getRun(id);
          if (r.status === 'running' && r.progress?.fraction !== null && r.progress?.fraction !== undefined)
            fractions.add(r.progress.fraction);
          return r;
        },
        (r) => r.status === 'succeeded' || r.status === 'failed',
        { intervalMs: 20 },
      );
      expect(run).toMatchObject({ status: 'succeeded', attempt: 2, max_attempts: 3, rows_read: 250, offers_created: 250 });
      expect(run.progress?.fraction).toBe(1);
      const log = lines(run);
      expect(log[0]).toMatch(/^info: attempt 1 of 3 started: a full import from Rakuten Advertising/);
      expect(log).toContain('info: page 1 of 3 read: 100 products (100 so far)');
      expect(log.filter((l) => /^warning: Rakuten product search page 2: HTTP 500; asking again in [\d.]+ s/.test(l))).toHaveLength(4);
      const retry = log.findIndex((l) =>
        /^warning: attempt 1 of 3 failed: Rakuten product search page 2: HTTP 500 \(gave up after 5 attempts\) \(nothing was written: the last good prices stand\)\. Retrying in (\d+ ms|\d+\.\d s) \(attempt 2 of 3\)\.$/.test(
          l,
        ),
      );
      expect(retry).toBeGreaterThan(0);
      const second = log.findIndex((l) => l.startsWith('info: attempt 2 of 3 started'));
      expect(second).toBeGreaterThan(retry);
      expect(log.slice(second)).toContain('info: page 3 of 3 read: 50 products (250 so far)');
      expect(log.at(-1)).toMatch(/^info: finished: 250 rows read, 0 rejected, 250 offers created, 0 prices changed/);
      // Imported once: one offer per product, one history row each (attempt 1 wrote nothing).
      const prices = await storePrices(storeId);
      expect(prices).toHaveLength(250);
      expect(prices.every((p) => p.price === '1000' && p.history === 1)).toBe(true);
      // Progress moved while the run was going: a fraction strictly between 0 and 1 was seen.
      expect(
        [...fractions].some((f) => f > 0 && f < 1),
        JSON.stringify([...fractions]),
      ).toBe(true);
    } finally {
      fake.slowDown(0);
    }
  });

  it('rejected rows are in the log with their reason; the other rows are imported', async () => {
    fake.setProducts('3003', [
      ...products('V', 4),
      { id: 'V-zero', title: 'free', price: '0.00', currency: 'USD' },
      { id: 'V-neg', title: 'negative', price: '-5.00', currency: 'USD' },
    ]);
    const { sourceId } = await connect('Messy store', rakuten('3003'));
    const run = await ended(await start(sourceId));
    expect(run).toMatchObject({ status: 'succeeded', rows_read: 6, offers_created: 4 });
    const log = lines(run);
    expect(log).toContain('warning: 2 of 6 rows rejected (the other rows are imported):');
    expect(log).toContain('warning: row 5 rejected, price: must be greater than zero');
    expect(log.some((l) => /^warning: row 6 rejected, price: \S/.test(l))).toBe(true); // a negative amount, with parseMoney's reason
    expect(log.at(-1)).toMatch(/^info: finished: 6 rows read, 2 rejected, 4 offers created/);
  });

  it('revoked credentials fail the run at once: the last good prices stay, the log says what to do next', async () => {
    fake.setProducts('3002', products('K', 30, '20.00'));
    const { storeId, sourceId } = await connect('Revoked store', rakuten('3002'));
    expect(await ended(await start(sourceId))).toMatchObject({ status: 'succeeded', attempt: 1, offers_created: 30 });
    fake.setProducts('3002', products('K', 30, '1.00'));
    fake.revoke();
    try {
      const failed = await ended(await start(sourceId));
      // No retry: refused credentials will not get better by themselves.
      expect(failed).toMatchObject({ status: 'failed', attempt: 1 });
      expect(failed.failure).toMatch(/refused the credentials.*the last good prices are kept/);
      const last = failed.log.at(-1)!;
      expect(last.level).toBe('error');
      expect(last.message).toMatch(/^failed: Rakuten token: the network refused the credentials/);
      expect(last.message).toContain(`Next: renew the credentials at Rakuten Advertising and connect the store again`);
      expect(last.message).toContain(`/api/v1/pricing/stores/${storeId}/network`);
      expect(lines(failed).some((l) => /Retrying in/.test(l))).toBe(false);
      const prices = await storePrices(storeId);
      expect(prices).toHaveLength(30);
      expect(prices.every((p) => p.price === '2000' && p.history === 1)).toBe(true);
      const src = await app.api('GET', `/api/v1/pricing/sources/${sourceId}`);
      expect(src.body.last_run).toMatchObject({ id: failed.id, status: 'failed' });
    } finally {
      fake.restore();
    }
  });

  it('a CJ run that gives up three times fails for good after its last attempt, keeping the last good prices', async () => {
    fake.setProducts('6101', products('G', 20, '30.00'));
    const { storeId, sourceId } = await connect('Down store', {
      network: 'cj',
      token: CJ_TOKEN,
      company_id: '7654321',
      partner_ids: ['6101'],
    });
    expect(await ended(await start(sourceId))).toMatchObject({ status: 'succeeded' });
    fake.setProducts('6101', products('G', 20, '3.00'));
    fake.breakAfter(0);
    try {
      const id = await start(sourceId);
      const failed = await pollUntil(
        'failing run',
        () => getRun(id),
        (r) => ['succeeded', 'failed'].includes(r.status),
        {
          timeoutMs: 90_000,
        },
      );
      expect(failed).toMatchObject({ status: 'failed', attempt: 3 });
      const log = lines(failed);
      expect(log.filter((l) => /^warning: attempt [12] of 3 failed: CJ products at offset 0: HTTP 500/.test(l))).toHaveLength(2);
      expect(log.at(-1)).toMatch(
        /^error: failed: CJ products at offset 0: HTTP 500 .*last good prices are kept\. Next: check that CJ answers/,
      );
      expect((await storePrices(storeId)).every((p) => p.price === '3000')).toBe(true);
    } finally {
      fake.restore();
    }
  }, 120_000);
});

describe('the hourly/daily schedule (the scheduler task pricing.network-imports)', () => {
  const runsOf = async (storeId: string) =>
    (await queryOne<{ n: number }>(t.database.db, sql`SELECT count(*)::int AS n FROM pricing_feed_runs WHERE store_id = ${storeId}`))!.n;
  const jobsOf = async (runIds: string[]) =>
    (await queryOne<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM jobs WHERE type = 'pricing.network' AND payload->>'runId' = ANY(${sql.param(runIds)}::text[])`,
    ))!.n;
  const lastRunId = async (sourceId: string) => (await app.api('GET', `/api/v1/pricing/sources/${sourceId}`)).body.last_run?.id as string;

  // The elected scheduler's task itself (src/app.ts), run by hand: a tick.
  const tick = () => t.scheduledTasks.find((s) => s.name === 'pricing.network-imports')!.run();

  it('a tick queues one run (one job) per due store; a store whose run is still going gets no second one', async () => {
    fake.setProducts('3101', products('A', 3));
    fake.setProducts('3102', products('B', 3));
    const hourly = await connect('Hourly A', rakuten('3101', { schedule: 'hourly' }));
    const daily = await connect('Daily B', rakuten('3102', { schedule: 'daily', price_schedule: 'hourly' }));
    expect(t.scheduledTasks.map((s) => s.name)).toContain('pricing.network-imports');
    expect(await tick()).toBe(2);
    expect(await tick()).toBe(0);
    for (const s of [hourly, daily]) {
      expect(await runsOf(s.storeId)).toBe(1);
      const id = await lastRunId(s.sourceId);
      expect(await jobsOf([id])).toBe(1);
      expect(await ended(id)).toMatchObject({ status: 'succeeded', attempt: 1 });
    }
    const next = (await app.api('GET', `/api/v1/pricing/sources/${daily.sourceId}`)).body;
    expect(Date.parse(next.next_run_at) - Date.now()).toBeGreaterThan(23 * 3_600_000);

    // The hourly store's import is running (a slow network) when its full slot and the daily store's price slot come.
    fake.slowDown(1500);
    try {
      const going = await start(hourly.sourceId);
      await pollUntil(
        'running',
        () => getRun(going),
        (r) => r.status === 'running',
      );
      await t.database.db.execute(
        sql`UPDATE pricing_network_sources SET next_run_at = now() - interval '1 minute' WHERE id = ${hourly.sourceId}`,
      );
      await t.database.db.execute(
        sql`UPDATE pricing_network_sources SET next_price_run_at = now() - interval '1 minute' WHERE id = ${daily.sourceId}`,
      );
      // Only the daily store's price-only run: none beside the hourly store's running import.
      expect(await tick()).toBe(1);
      expect(await runsOf(hourly.storeId)).toBe(2);
      expect(await runsOf(daily.storeId)).toBe(2);
      const src = (await app.api('GET', `/api/v1/pricing/sources/${hourly.sourceId}`)).body;
      expect(src.last_run.id).toBe(going); // the skipped slot did not replace the running run
      expect(Date.parse(src.next_run_at) - Date.now()).toBeGreaterThan(55 * 60_000); // skipped until its next slot
      expect(await ended(going)).toMatchObject({ status: 'succeeded' });
      const priceRun = await lastRunId(daily.sourceId);
      expect(await ended(priceRun)).toMatchObject({ status: 'succeeded' });
    } finally {
      fake.slowDown(0);
    }
  });
});
