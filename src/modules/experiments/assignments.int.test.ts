import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../platform/index.ts';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * Assignment storage, one row per unit: a request that exposes a new visitor to several experiments stores one
 * row holding all of them; later exposures add to that row's counters; reports, sticky lookups and the move of a
 * visitor's assignment to a signed-in person read the row's entries per experiment.
 */
describe('experiment assignments, one row per unit', () => {
  let t: TestApp;
  let key: string;
  let bKey: string;
  let tenantA: string;
  const ids: string[] = [];

  type Row = { unit_id: string; experiment_ids: string[]; variant_ids: string[]; exposures: number[] };
  const rowsOf = async (tenantId: string, unit?: string): Promise<Row[]> =>
    queryRows<Row>(
      t.database.db,
      sql`SELECT unit_id, experiment_ids, variant_ids, exposures FROM experiment_assignments
          WHERE tenant_id = ${tenantId} ${unit === undefined ? sql`` : sql`AND unit_id = ${unit}`} ORDER BY unit_id`,
    );
  const assign = (token: string, body: object) => t.request('POST', '/api/v1/experiments/assign', { token, body });
  const unitsInReport = async (token: string, id: string): Promise<number> => {
    const rep = await t.request('GET', `/api/v1/admin/experiments/${id}/report?refresh=true`, { token });
    expect(rep.status).toBe(200);
    return (rep.body.units as { n: number }[]).reduce((s, v) => s + v.n, 0);
  };

  beforeAll(async () => {
    t = await createTestApp();
    const a = await t.createTenant('Rows');
    const b = await t.createTenant('Other rows');
    tenantA = a.tenantId;
    key = await a.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    bKey = await b.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    for (let i = 0; i < 3; i++) {
      const e = await t.request('POST', '/api/v1/admin/experiments', {
        token: key,
        body: { name: `rows ${i}`, variants: [{ key: 'control' }, { key: 'b' }] },
      });
      expect(e.status).toBe(201);
      ids.push(e.body.id);
      expect((await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: key })).status).toBe(200);
    }
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('stores a new visitor of three experiments as one row, and repeats as counters on it', async () => {
    const first = await assign(key, { user_id: 'alice' });
    expect(first.status).toBe(200);
    expect(first.body.assignments).toHaveLength(3);
    await t.modules.experiments.flushExposures();
    const [row, ...more] = await rowsOf(tenantA, 'u:alice');
    expect(more).toEqual([]);
    expect([...(row as Row).experiment_ids].sort()).toEqual([...ids].sort());
    expect((row as Row).exposures).toEqual([1, 1, 1]);
    const variantOf = new Map((row as Row).experiment_ids.map((e, i) => [e, (row as Row).variant_ids[i]]));
    for (const a of first.body.assignments) expect(variantOf.get(a.experiment_id)).toBe(a.variant_id);

    for (let i = 0; i < 4; i++) expect((await assign(key, { user_id: 'alice', experiments: [`rows_${i % 2}`] })).status).toBe(200);
    await t.modules.experiments.flushExposures();
    const [again] = await rowsOf(tenantA, 'u:alice');
    const count = new Map((again as Row).experiment_ids.map((e, i) => [e, (again as Row).exposures[i]]));
    expect([count.get(ids[0] as string), count.get(ids[1] as string), count.get(ids[2] as string)]).toEqual([3, 3, 1]);
    expect((again as Row).variant_ids).toEqual((row as Row).variant_ids);
    for (const id of ids) expect(await unitsInReport(key, id)).toBe(1);
  });

  it('concurrent first requests of one visitor: one row, each experiment once, one variant, every exposure counted', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => assign(key, { anonymous_id: 'burst' })));
    for (const a of answers) expect(a.status).toBe(200);
    const variants = new Set(answers.map((a) => JSON.stringify(a.body.assignments.map((x: { variant_key: string }) => x.variant_key))));
    expect(variants.size).toBe(1);
    await t.modules.experiments.flushExposures();
    const rows = await rowsOf(tenantA, 'a:burst');
    expect(rows).toHaveLength(1);
    expect(new Set((rows[0] as Row).experiment_ids).size).toBe(3);
    expect((rows[0] as Row).exposures).toEqual([20, 20, 20]);
  });

  it('a visitor who signs in moves one experiment to the person and keeps the rest; counted once', async () => {
    const anon = await assign(key, { anonymous_id: 'dev-9' });
    expect(anon.status).toBe(200);
    await t.modules.experiments.flushExposures();
    const link = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: 'bob', anonymous_id: 'dev-9', interaction_type: 'view', item_id: 'i1' },
    });
    expect(link.status).toBe(201);
    const before = await unitsInReport(key, ids[0] as string);
    const signed = await assign(key, { user_id: 'bob', anonymous_id: 'dev-9', experiments: ['rows_0'] });
    expect(signed.body.assignments[0]).toMatchObject({ reason: 'sticky', variant_key: anon.body.assignments[0].variant_key });
    await t.modules.experiments.flushExposures();
    const [visitor] = await rowsOf(tenantA, 'a:dev-9');
    expect((visitor as Row).experiment_ids).not.toContain(ids[0]);
    expect((visitor as Row).experiment_ids).toHaveLength(2);
    const [person] = await rowsOf(tenantA, signed.body.unit_id);
    expect((person as Row).experiment_ids).toEqual([ids[0]]);
    expect((person as Row).exposures).toEqual([2]);
    expect(await unitsInReport(key, ids[0] as string)).toBe(before);
  });

  it('hostile ids are refused or stored as given, never split across rows; another tenant neither sees nor counts them', async () => {
    const nul = await assign(key, { user_id: 'nul\u0000id' });
    const lone = await assign(key, { user_id: 'lone\ud800' });
    const comma = await assign(key, { user_id: 'a,b{c}"d' });
    for (const r of [nul, lone]) expect([200, 400]).toContain(r.status);
    expect(comma.status).toBe(200);
    await t.modules.experiments.flushExposures();
    const [stored] = await rowsOf(tenantA, 'u:a,b{c}"d');
    expect((stored as Row).experiment_ids).toHaveLength(3);
    // The same user id in another tenant is that tenant's unit: its report counts it, A's does not move.
    const unitsA = await unitsInReport(key, ids[0] as string);
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: bKey,
      body: { name: 'rows 0', variants: [{ key: 'control' }, { key: 'b' }] },
    });
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: bKey });
    expect((await assign(bKey, { user_id: 'alice' })).status).toBe(200);
    await t.modules.experiments.flushExposures();
    expect(await unitsInReport(bKey, e.body.id)).toBe(1);
    expect(await unitsInReport(key, ids[0] as string)).toBe(unitsA);
    expect((await t.request('GET', `/api/v1/admin/experiments/${ids[0]}/report`, { token: bKey })).status).toBe(404);
  });
});
