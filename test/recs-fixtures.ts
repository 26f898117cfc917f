import type { TestApp } from './helpers.ts';

/**
 * A small store for recommender tests: three categories of 12 items; shoppers who stay mostly within one
 * category (so a model has something to learn), a third of their interactions purchases.
 */
export const CATS = ['Audio', 'Computers', 'Wearables'] as const;
export const itemId = (c: number, k: number) => `P_${CATS[c]}_${k}`;

export async function seedTenant(t: TestApp, tenantId: string, opts: { users?: number; outOfStock?: string[] } = {}) {
  const items = CATS.flatMap((cat, c) =>
    Array.from({ length: 12 }, (_, k) => ({
      itemId: itemId(c, k),
      name: `${cat} thing ${k}`,
      category: cat,
      brand: k % 2 ? 'Acme' : 'Globex',
      priceMinor: BigInt(1000 + k * 500),
      currency: 'USD',
      imageUrl: `https://cdn.test/${itemId(c, k)}.jpg`,
      availability: (opts.outOfStock?.includes(itemId(c, k)) ? 'out_of_stock' : 'in_stock') as 'in_stock' | 'out_of_stock',
    })),
  );
  await t.modules.catalog.upsertItems(tenantId, items);
  const rows = [];
  const base = Date.parse('2026-10-01T00:00:00Z');
  const users = opts.users ?? 45;
  for (let u = 0; u < users; u++) {
    const c = u % 3;
    for (let j = 0; j < 6; j++) {
      const k = (u * 7 + j * 5) % 12;
      rows.push({
        userId: `U${u}`,
        itemId: itemId(c, k),
        type: j % 3 === 0 ? 'purchase' : 'view',
        source: 'test',
        occurredAt: new Date(base + (u * 10 + j) * 60_000),
      });
    }
    rows.push({
      userId: `U${u}`,
      itemId: itemId((c + 1) % 3, u % 12),
      type: 'view',
      source: 'test',
      occurredAt: new Date(base + (u * 10 + 7) * 60_000),
    });
  }
  await t.modules.events.interactions.appendMany(tenantId, rows);
}

/** Polls a training job's progress until `until` (by default: finished). */
export async function waitJob(
  t: TestApp,
  token: string,
  jobId: string,
  until: (b: any) => boolean = (b) => ['completed', 'failed', 'cancelled'].includes(b.status),
) {
  for (let i = 0; i < 600; i++) {
    const r = await t.request('GET', `/api/v1/training/${jobId}/progress`, { token });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    if (until(r.body)) return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('job did not finish');
}
