import { startAffiliateNetworks } from './fakes/affiliate-networks.ts';
import { createTestApp, type TestApp } from './helpers.ts';

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
