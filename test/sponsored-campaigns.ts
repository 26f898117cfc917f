import type { TestApp } from './helpers.ts';

/**
 * A sponsored campaign's create body for tests: a CPC campaign in USD with a 50.00 lifetime budget, live since an
 * hour ago, promoting `sku-1`; `over` replaces any field (targeting, bid, budget, items ...).
 */
export function campaignBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    brand_id: 'Ember',
    name: 'Ember week',
    currency: 'USD',
    budget_amount: '50.00',
    budget_type: 'lifetime',
    start_date: new Date(Date.now() - 3_600_000).toISOString(),
    pricing_model: 'cpc',
    bid_amount: '0.50',
    pacing: 'asap',
    creative: { headline: 'Ember, new season' },
    promoted_item_ids: ['sku-1'],
    ...over,
  };
}

/** Creates, approves and activates a campaign (`campaignBody(over)`); throws with the answer when a step is refused. */
export async function activeCampaign(t: TestApp, token: string, over: Record<string, unknown> = {}): Promise<string> {
  const c = await t.request('POST', '/api/v1/sponsored/campaigns', { token, body: campaignBody(over) });
  if (c.status !== 201) throw new Error(`campaign: ${c.status} ${JSON.stringify(c.body).slice(0, 300)}`);
  const id = String(c.body.id);
  for (const step of ['approve', 'activate']) {
    const r = await t.request('POST', `/api/v1/sponsored/campaigns/${id}/${step}`, { token });
    if (r.status !== 200) throw new Error(`campaign ${step}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }
  return id;
}
