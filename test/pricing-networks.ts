import { startAffiliateNetworks } from './fakes/affiliate-networks.ts';
import { createTestApp, multipartBody, pollUntil, type TestApp } from './helpers.ts';

/** The Rakuten credentials the pricing tests connect with (the fake network accepts exactly these). */
export const RAKUTEN = { clientId: 'client-1', clientSecret: 'secret-1', sid: '3111111' };

/**
 * The pricing network tests' setting: local Rakuten and CJ servers, the app pointed at them (the clients' retries, and
 * a failed run's next attempt, after 1 ms), an aggregator tenant and another tenant with catalog keys, and the job
 * workers running. `api` calls as the first tenant (or with the key given). `close` stops the app, then the networks.
 */
export async function startNetworksApp(cjToken: string) {
  const fake = await startAffiliateNetworks({ rakuten: RAKUTEN, cjToken });
  const t: TestApp = await createTestApp({
    RAKUTEN_API_URL: fake.origin,
    CJ_API_URL: fake.origin,
    PRICING_NETWORK_RETRY_BASE_MS: '1',
    PRICING_RUN_RETRY_BASE_MS: '1',
  });
  const key = await (await t.createTenant('Aggregator')).apiKey(['catalog:read', 'catalog:write']);
  const otherKey = await (await t.createTenant('Other')).apiKey(['catalog:read', 'catalog:write']);
  t.jobs.start({ concurrency: 1 });
  const api = (method: string, url: string, body?: unknown, k = key) =>
    t.request(method, url, { token: k, ...(body !== undefined ? { body } : {}) });
  return {
    fake,
    t,
    key,
    otherKey,
    api,
    async close(): Promise<void> {
      await t.close();
      await fake.close();
    },
  };
}
export type NetworksApp = Awaited<ReturnType<typeof startNetworksApp>>;

/**
 * Uploads `csv` as a store's feed (`mode` full or prices-only) and waits for its run to succeed (the job workers must
 * be running).
 */
export async function importFeedCsv(
  t: TestApp,
  token: string,
  storeId: string,
  csv: string,
  mode: 'full' | 'prices' = 'full',
): Promise<void> {
  const m = multipartBody(csv, {}, 'feed.csv');
  const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds?mode=${mode}`, {
    token,
    body: m.body as unknown as string,
    headers: { 'content-type': m.contentType },
  });
  if (up.status !== 202) throw new Error(`feed upload answered ${up.status}: ${JSON.stringify(up.body)}`);
  const run = await pollUntil(
    'feed import',
    () => t.request('GET', up.body.status_url, { token }),
    (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
  );
  if (run.body.status !== 'succeeded') throw new Error(`feed import ${run.body.status}: ${JSON.stringify(run.body)}`);
}
