import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, pollUntil } from '../../../test/helpers.ts';
import { pricingRepository as repo } from './pricing.repository.ts';

/**
 * The review queue: pairs the learned matcher was unsure of, decided by operators once (accept moves the offer,
 * logged and revertible; reject moves nothing), never across tenants.
 */
let t: TestApp;
let key: string;
let tenantId: string;
let otherKey: string;
beforeAll(async () => {
  t = await createTestApp();
  const a = await t.createTenant('Aggregator');
  tenantId = a.tenantId;
  key = await a.apiKey(['catalog:read', 'catalog:write']);
  otherKey = await (await t.createTenant('Other tenant')).apiKey(['catalog:read', 'catalog:write']);
  t.jobs.start({ concurrency: 1 });
}, 240_000);
afterAll(async () => {
  await t?.close();
}, 120_000);

const api = (method: string, url: string, body?: unknown, k = key) =>
  t.request(method, url, { token: k, ...(body !== undefined ? { body } : {}) });

async function importFeed(storeId: string, file: string) {
  const boundary = `----loupe${Math.random().toString(16).slice(2)}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="feed.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const up = await t.request('POST', `/api/v1/pricing/stores/${storeId}/feeds`, {
    token: key,
    body: body as unknown as string,
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  expect(up.status).toBe(202);
  const run = await pollUntil(
    'feed import',
    () => api('GET', up.body.status_url),
    (r) => r.body.status === 'succeeded' || r.body.status === 'failed',
    { intervalMs: 100 },
  );
  if (run.body.status === 'failed') throw new Error(run.body.failure);
  return run.body;
}

const offerBy = async (externalId: string) => (await api('GET', `/api/v1/pricing/offers?q=${externalId}`)).body.data[0];

describe('the review queue', () => {
  let offerId: string;
  let groupA: string;
  let groupB: string;
  let candidateOfferId: string;

  beforeAll(async () => {
    const s1 = (await api('POST', '/api/v1/pricing/stores', { name: 'Store One' })).body.id;
    const s2 = (await api('POST', '/api/v1/pricing/stores', { name: 'Store Two' })).body.id;
    await importFeed(s1, 'id,title,price\nQ1,Acme tea kettle steel 1.7 litre,30.00 USD\nQ3,Acme toaster two slot,25.00 USD\n');
    await importFeed(s2, 'id,title,price\nQ2,Acme stovetop kettle 1.7l,28.00 USD\n');
    const [q1, q2, q3] = await Promise.all(['Q1', 'Q2', 'Q3'].map(offerBy));
    offerId = q2.id;
    candidateOfferId = q1.id;
    groupA = q1.match_group_id;
    groupB = q3.match_group_id;
    // The uncertain band depends on the shipped model: queue the pairs directly, as the import would.
    const db = t.database.db;
    const added = await repo.insertReviews(
      db,
      tenantId,
      [
        { offerId, candidateGroupId: groupA, candidateOfferId: q1.id, score: 0.62 },
        { offerId, candidateGroupId: groupB, candidateOfferId: q3.id, score: 0.31 },
        { offerId, candidateGroupId: groupA, candidateOfferId: q1.id, score: 0.62 },
      ],
      new Date(),
    );
    expect(added).toBe(2); // the duplicated pair is queued once
    expect(
      await repo.insertReviews(db, tenantId, [{ offerId, candidateGroupId: groupA, candidateOfferId: q1.id, score: 0.7 }], new Date()),
    ).toBe(0);
  });

  it('lists pending pairs with both offers; another tenant sees none and cannot decide them', async () => {
    const r = await api('GET', '/api/v1/pricing/reviews');
    expect(r.status).toBe(200);
    const mine = r.body.data.filter((x: { offer: { offer_id: string } }) => x.offer.offer_id === offerId);
    expect(mine).toHaveLength(2);
    const top = mine.find((x: { candidate: { match_group_id: string } }) => x.candidate.match_group_id === groupA);
    expect(top).toMatchObject({
      score: 0.62,
      status: 'pending',
      offer: { store: 'Store Two', price: '28.00' },
      candidate: { offer_id: candidateOfferId, store: 'Store One' },
    });
    expect((await api('GET', '/api/v1/pricing/reviews', undefined, otherKey)).body.data).toEqual([]);
    expect((await api('POST', `/api/v1/pricing/reviews/${top.id}/accept`, undefined, otherKey)).status).toBe(404);
    expect((await api('POST', `/api/v1/pricing/reviews/${top.id}/reject`, undefined, otherKey)).status).toBe(404);
    expect((await api('GET', '/api/v1/pricing/reviews')).body.data.filter((x: { id: string }) => x.id === top.id)[0].status).toBe(
      'pending',
    );
  });

  it('refuses malformed and hostile input', async () => {
    for (const id of ['not-a-uuid', '00000000-0000-0000-0000-000000000000', 'x'.repeat(200)])
      expect((await api('POST', `/api/v1/pricing/reviews/${id}/accept`)).status).toBe(404);
    // A NUL in the path is refused at the edge, naming the parameter.
    expect((await api('POST', '/api/v1/pricing/reviews/%00/accept')).body.error).toMatchObject({ code: 'UNSAFE_TEXT' });
    // A lone surrogate's bytes (not UTF-8) in the path: refused, never a 500.
    expect([400, 404]).toContain((await api('POST', '/api/v1/pricing/reviews/%ED%A0%80/accept')).status);
    expect((await api('GET', '/api/v1/pricing/reviews?status=maybe')).status).toBe(400);
    expect((await api('GET', '/api/v1/pricing/reviews?cursor=zzz')).status).toBe(400);
    expect((await api('GET', '/api/v1/pricing/reviews?limit=100000')).status).toBe(400);
  });

  it('concurrent accepts of one pair: exactly one wins, the offer moves once, the other pairs close; revertible', async () => {
    const pending = (await api('GET', '/api/v1/pricing/reviews')).body.data.filter(
      (x: { offer: { offer_id: string } }) => x.offer.offer_id === offerId,
    );
    const target = pending.find((x: { candidate: { match_group_id: string } }) => x.candidate.match_group_id === groupA);
    const other = pending.find((x: { candidate: { match_group_id: string } }) => x.candidate.match_group_id === groupB);
    const from = (await offerBy('Q2')).match_group_id;
    const rs = await Promise.all(Array.from({ length: 6 }, () => api('POST', `/api/v1/pricing/reviews/${target.id}/accept`)));
    expect(rs.filter((r) => r.status === 200)).toHaveLength(1);
    expect(rs.filter((r) => r.status === 409).map((r) => r.body.error?.code ?? r.body.code)).toHaveLength(5);
    const win = rs.find((r) => r.status === 200)!.body;
    expect(win.moved_offer_ids).toEqual([offerId]);
    expect(win.review.status).toBe('accepted');
    expect((await offerBy('Q2')).match_group_id).toBe(groupA);
    // the offer's other candidate is closed, not left pending
    const all = (await api('GET', '/api/v1/pricing/reviews?status=rejected')).body.data;
    expect(all.map((x: { id: string }) => x.id)).toContain(other.id);
    expect((await api('POST', `/api/v1/pricing/reviews/${other.id}/accept`)).status).toBe(409);
    // the move is in the match log and can be reverted
    const rev = await api('POST', `/api/v1/pricing/match-log/${win.log_id}/revert`);
    expect(rev.status).toBe(200);
    expect((await offerBy('Q2')).match_group_id).toBe(from);
  });

  it('reject records the decision once and moves nothing', async () => {
    const q3 = await offerBy('Q3');
    const q1 = await offerBy('Q1');
    await repo.insertReviews(
      t.database.db,
      tenantId,
      [{ offerId: q3.id, candidateGroupId: q1.match_group_id, candidateOfferId: q1.id, score: 0.4 }],
      new Date(),
    );
    const item = (await api('GET', '/api/v1/pricing/reviews')).body.data.find(
      (x: { offer: { offer_id: string } }) => x.offer.offer_id === q3.id,
    );
    const r = await api('POST', `/api/v1/pricing/reviews/${item.id}/reject`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ moved_offer_ids: [], log_id: null, review: { status: 'rejected' } });
    expect((await offerBy('Q3')).match_group_id).toBe(q3.match_group_id);
    expect((await api('POST', `/api/v1/pricing/reviews/${item.id}/reject`)).status).toBe(409);
  });
});
