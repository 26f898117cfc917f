import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { queryOne } from '../../platform/index.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const cats = (tenantId: string, rest = '') => `/api/v1/tenants/${tenantId}/categories${rest}`;

describe('categories as a tree', () => {
  it('creates under parents, renames and moves with descendant paths following, lists flat and as a tree', async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    const mk = async (name: string, parent_id?: string) => {
      const r = await t.request('POST', cats(tenantId), { token, body: { name, ...(parent_id ? { parent_id } : {}) } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body as { id: string; path: string; depth: number };
    };
    const elec = await mk('Electronics');
    const audio = await mk('Audio', elec.id);
    const phones = await mk('Headphones', audio.id);
    const home = await mk('Home');
    expect(phones).toMatchObject({ path: 'Electronics > Audio > Headphones', depth: 2 });
    const dup = await t.request('POST', '/api/v1/categories', { token, body: { name: 'Audio', parent_id: elec.id } });
    expect(dup.status).toBe(409);
    const sep = await t.request('POST', '/api/v1/categories', { token, body: { name: 'A > B' } });
    expect(sep.status).toBe(400);

    // An item in the subtree follows the move (its category path is read through the category).
    await t.request('POST', '/api/v1/items', { token, body: { item_id: 'H1', name: 'Cans', category_id: phones.id } });

    const renamed = await t.request('PUT', cats(tenantId, `/${audio.id}`), { token, body: { name: 'Sound' } });
    expect(renamed.body).toMatchObject({ path: 'Electronics > Sound', depth: 1 });
    expect((await t.request('GET', `/api/v1/categories/${phones.id}`, { token })).body.path).toBe('Electronics > Sound > Headphones');

    const moved = await t.request('PUT', cats(tenantId, `/${audio.id}`), { token, body: { parent_id: home.id } });
    expect(moved.body).toMatchObject({ path: 'Home > Sound', depth: 1, parent_id: home.id });
    expect((await t.request('GET', `/api/v1/categories/${phones.id}`, { token })).body).toMatchObject({
      path: 'Home > Sound > Headphones',
      depth: 2,
    });
    expect((await t.request('GET', '/api/v1/items/H1', { token })).body.category).toBe('Home > Sound > Headphones');
    expect((await t.request('GET', `/api/v1/items?category=${encodeURIComponent('Home')}`, { token })).body.data).toHaveLength(1);

    const toRoot = await t.request('PUT', cats(tenantId, `/${audio.id}`), { token, body: { parent_id: null } });
    expect(toRoot.body).toMatchObject({ path: 'Sound', depth: 0, parent_id: null });

    const cycle = await t.request('PUT', cats(tenantId, `/${audio.id}`), { token, body: { parent_id: phones.id } });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.code).toBe('CATEGORY_CYCLE');
    const self = await t.request('PUT', cats(tenantId, `/${audio.id}`), { token, body: { parent_id: audio.id } });
    expect(self.body.error.code).toBe('CATEGORY_CYCLE');
    const clash = await t.request('PUT', cats(tenantId, `/${audio.id}`), { token, body: { name: 'Home' } });
    expect(clash.status).toBe(409);

    const flat = await t.request('GET', cats(tenantId, '?limit=2'), { token });
    expect(flat.body.data.map((c: { path: string }) => c.path)).toEqual(['Electronics', 'Home']);
    const next = await t.request('GET', cats(tenantId, `?limit=2&cursor=${flat.body.next_cursor}`), { token });
    expect(next.body.data.map((c: { path: string }) => c.path)).toEqual(['Sound', 'Sound > Headphones']);
    expect(next.body.next_cursor).toBeNull();
    const roots = await t.request('GET', cats(tenantId, '?parent_id=root'), { token });
    expect(roots.body.data.map((c: { name: string }) => c.name)).toEqual(['Electronics', 'Home', 'Sound']);
    const tree = await t.request('GET', '/api/v1/categories?format=tree', { token });
    expect(
      tree.body.data.map((c: { name: string; children: { name: string; item_count: number }[] }) => [
        c.name,
        c.children.map((k) => [k.name, k.item_count]),
      ]),
    ).toEqual([
      ['Electronics', []],
      ['Home', []],
      ['Sound', [['Headphones', 1]]],
    ]);
  });

  it('delete refuses while children or items remain; strategy=reparent moves them up', async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    await t.request('POST', '/api/v1/items', { token, body: { item_id: 'I1', name: 'Kettle', category: 'Home > Kitchen > Appliances' } });
    await t.request('POST', '/api/v1/items', { token, body: { item_id: 'I2', name: 'Pan', category: 'Home > Kitchen' } });
    const kitchen = (await t.request('GET', '/api/v1/items/I2', { token })).body.category_id;
    const refused = await t.request('DELETE', cats(tenantId, `/${kitchen}`), { token });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CATEGORY_NOT_EMPTY');
    const ok = await t.request('DELETE', cats(tenantId, `/${kitchen}?strategy=reparent`), { token });
    expect(ok.status).toBe(204);
    expect((await t.request('GET', '/api/v1/items/I2', { token })).body.category).toBe('Home');
    expect((await t.request('GET', '/api/v1/items/I1', { token })).body.category).toBe('Home > Appliances');
    const flat = await t.request('GET', cats(tenantId), { token });
    expect(flat.body.data.map((c: { path: string; depth: number }) => [c.path, c.depth])).toEqual([
      ['Home', 0],
      ['Home > Appliances', 1],
    ]);
    // A top-level category: its children become top level, its items uncategorized.
    const homeId = flat.body.data[0].id;
    expect((await t.request('DELETE', `/api/v1/categories/${homeId}?strategy=reparent`, { token })).status).toBe(204);
    expect((await t.request('GET', '/api/v1/items/I2', { token })).body).toMatchObject({ category: null, category_id: null });
    expect((await t.request('GET', '/api/v1/items/I1', { token })).body.category).toBe('Appliances');
    const leaf = (await t.request('GET', cats(tenantId), { token })).body.data[0];
    expect(leaf).toMatchObject({ path: 'Appliances', depth: 0, parent_id: null });
    await t.request('DELETE', '/api/v1/items/I1', { token });
    expect((await t.request('DELETE', `/api/v1/categories/${leaf.id}`, { token })).status).toBe(204);
    expect((await t.request('GET', `/api/v1/categories/${leaf.id}`, { token })).status).toBe(404);
  });
});

describe('Google taxonomy alignment', () => {
  it('suggests by text similarity, aligns, keeps an audit trail, and rejects unknown ids', async () => {
    const { tenantId, ownerToken: token } = await t.createTenant();
    const c = (await t.request('POST', cats(tenantId), { token, body: { name: 'Headphones' } })).body;
    const sug = await t.request('GET', cats(tenantId, `/${c.id}/align/suggestions?limit=5`), { token });
    expect(sug.status).toBe(200);
    expect(sug.body.suggestions[0]).toMatchObject({
      id: 543626,
      path: 'Electronics > Audio > Audio Components > Headphones & Headsets > Headphones',
    });
    expect(sug.body.suggestions.map((s: { id: number }) => s.id)).toContain(505771);

    const set = await t.request('POST', cats(tenantId, `/${c.id}/align`), { token, body: { google_category_id: 543626 } });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      category: { google_category_id: 543626 },
      previous_google_category_id: null,
      google_category: { id: 543626, name: 'Headphones' },
    });
    const change = await t.request('POST', `/api/v1/categories/${c.id}/align`, { token, body: { google_category_id: 505771 } });
    expect(change.body.previous_google_category_id).toBe(543626);
    const unknown = await t.request('POST', cats(tenantId, `/${c.id}/align`), { token, body: { google_category_id: 999999999 } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('GOOGLE_CATEGORY_NOT_FOUND');

    const hist = await t.request('GET', cats(tenantId, `/${c.id}/align/history`), { token });
    expect(
      hist.body.data.map((h: { old_google_category_id: number | null; new_google_category_id: number }) => [
        h.old_google_category_id,
        h.new_google_category_id,
      ]),
    ).toEqual([
      [543626, 505771],
      [null, 543626],
    ]);
    expect(hist.body.data[0]).toMatchObject({ actor_type: 'user' });
    // The platform audit log records the action too.
    const audit = await t.request('GET', '/api/v1/audit/logs?action=catalog.category.align', { token });
    expect(audit.status).toBe(200);
    const ok = audit.body.data.filter((e: { outcome: string }) => e.outcome === 'success');
    expect(ok).toHaveLength(2);
    expect(audit.body.data.filter((e: { outcome: string }) => e.outcome === 'failure')).toHaveLength(1);
    expect(ok[0]).toMatchObject({
      resource_type: 'category',
      resource_id: c.id,
      details: { old_google_category_id: 543626, new_google_category_id: 505771 },
    });
  });

  it('loads a taxonomy file in the published format, reporting bad lines', async () => {
    const { parseTaxonomy } = await import('./taxonomy.core.ts');
    const out = parseTaxonomy(
      '\uFEFF# Google_Product_Taxonomy_Version: 2021-09-21\r\n1 - Animals & Pet Supplies\r\n3237 - Animals & Pet Supplies > Live Animals\r\nnonsense\r\n1 - Dup\r\n',
    );
    expect(out.nodes).toEqual([
      { id: 1, name: 'Animals & Pet Supplies', path: 'Animals & Pet Supplies', parentPath: '', depth: 0 },
      { id: 3237, name: 'Live Animals', path: 'Animals & Pet Supplies > Live Animals', parentPath: 'Animals & Pet Supplies', depth: 1 },
    ]);
    expect(out.errors).toEqual([
      { line: 4, message: 'expected "<id> - <path>"' },
      { line: 5, message: 'duplicate id 1' },
    ]);
    const admin = await t.adminToken();
    const r = await t.request('POST', '/api/v1/admin/google-taxonomy', { token: admin, body: {} });
    expect(r.status).toBe(200);
    // The bundled file is Google's full 2021-09-21 taxonomy: 5,595 categories (its README's count), 21 top level.
    expect(r.body.loaded).toBe(5595);
    expect(r.body.errors).toEqual([]);
    const again = await t.request('POST', '/api/v1/admin/google-taxonomy', { token: admin, body: {} });
    expect(again.body.loaded).toBe(5595);
    const counts = await queryOne(
      t.database.db,
      sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE parent_id IS NULL)::int AS top, max(depth)::int AS deepest FROM google_taxonomy`,
    );
    expect(counts).toEqual({ n: 5595, top: 21, deepest: 6 });
  });
});

describe('category tenant isolation', () => {
  it("B addressing A's category by id gets the same 404 as a missing one, for every verb and alignment", async () => {
    const A = await t.createTenant();
    const B = await t.createTenant();
    const a = (await t.request('POST', cats(A.tenantId), { token: A.ownerToken, body: { name: 'Secret' } })).body;
    const missing = await t.request('GET', cats(B.tenantId, '/00000000-0000-7000-8000-000000000000'), { token: B.ownerToken });
    expect(missing.status).toBe(404);
    const calls: [string, string, unknown?][] = [
      ['GET', `/${a.id}`],
      ['PUT', `/${a.id}`, { name: 'x' }],
      ['DELETE', `/${a.id}`],
      ['POST', `/${a.id}/align`, { google_category_id: 1 }],
      ['GET', `/${a.id}/align/suggestions`],
      ['GET', `/${a.id}/align/history`],
      ['GET', '/not-a-uuid'],
    ];
    for (const [method, rest, body] of calls) {
      const r = await t.request(method, cats(B.tenantId, rest), { token: B.ownerToken, ...(body ? { body } : {}) });
      expect(r.status, `${method} ${rest}`).toBe(404);
      expect(r.body.error.code).toBe(missing.body.error.code);
    }
    const asParent = await t.request('POST', cats(B.tenantId), { token: B.ownerToken, body: { name: 'child', parent_id: a.id } });
    expect(asParent.status).toBe(400);
    expect((await t.request('GET', cats(B.tenantId), { token: B.ownerToken })).body.data).toEqual([]);
    expect((await t.request('GET', cats(A.tenantId, `/${a.id}`), { token: A.ownerToken })).body).toMatchObject({
      name: 'Secret',
      google_category_id: null,
    });
  });
});
