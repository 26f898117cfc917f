import { GrowthBook } from '@growthbook/growthbook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { bucketRanges, chooseVariant, hashV2 } from './assign.core.ts';

/**
 * Feature flags end to end: administration, the GrowthBook SDK payload evaluated by GrowthBook's own JavaScript
 * SDK (@growthbook/growthbook), ETag / 304, environments, exposures back into experiment reports, bad input,
 * concurrent edits and tenant isolation.
 */
describe('feature flags', () => {
  let t: TestApp;
  let key: string;
  let bKey: string;
  let prodKey: string;
  let stagingKey: string;
  let checkoutId: string;
  let expSeed: string;
  let expWeights: number[];

  const payload = async (clientKey: string, headers: Record<string, string> = {}) =>
    t.request('GET', `/api/features/${clientKey}`, { headers });
  const sdk = (
    features: Record<string, unknown>,
    attributes: Record<string, unknown>,
    tracking?: (e: { key: string }, r: { variationId: number }) => void,
  ) => new GrowthBook({ features: features as never, attributes, ...(tracking ? { trackingCallback: tracking as never } : {}) });

  beforeAll(async () => {
    t = await createTestApp();
    const a = await t.createTenant('Muse');
    const b = await t.createTenant('Other');
    key = await a.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    bKey = await b.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        key: 'checkout_copy',
        name: 'Checkout copy',
        variants: [
          { key: 'control', weight: 0.4 },
          { key: 'bold', weight: 0.6 },
        ],
      },
    });
    expSeed = e.body.key;
    expWeights = e.body.variants.map((v: { weight: number }) => v.weight);
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: key });
    prodKey = (await t.request('POST', '/api/v1/admin/flags/client-keys', { token: key, body: { environment: 'production' } })).body
      .client_key;
    stagingKey = (await t.request('POST', '/api/v1/admin/flags/client-keys', { token: key, body: { environment: 'staging' } })).body
      .client_key;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('serves boolean, string, number and JSON flags with targeting, a rollout, a prerequisite and an experiment, as GrowthBook SDKs evaluate them', async () => {
    const checkout = await t.request('POST', '/api/v1/admin/flags', {
      token: key,
      body: {
        key: 'new_checkout',
        value_type: 'boolean',
        default_value: false,
        environments: ['production', 'staging'],
        rules: [
          { id: 'fr', type: 'force', condition: { country: 'FR' }, value: true },
          { id: 'beta', type: 'rollout', coverage: 0.3, value: true, environments: ['production'] },
        ],
      },
    });
    expect(checkout.status).toBe(201);
    checkoutId = checkout.body.id;
    expect(checkout.body).toMatchObject({
      key: 'new_checkout',
      value_type: 'boolean',
      version: 1,
      environments: ['production', 'staging'],
    });
    const banner = await t.request('POST', '/api/v1/admin/flags', {
      token: key,
      body: {
        key: 'checkout_banner',
        value_type: 'json',
        default_value: { text: 'Welcome' },
        prerequisites: [{ flag_key: 'new_checkout' }],
        rules: [
          {
            type: 'experiment',
            experiment_key: 'checkout_copy',
            variation_values: { control: { text: 'Pay' }, bold: { text: 'PAY NOW' } },
          },
        ],
      },
    });
    expect(banner.status).toBe(201);
    expect(banner.body.rules[0].id).toMatch(/^fr_/);
    for (const body of [
      {
        key: 'button_color',
        value_type: 'string',
        default_value: 'blue',
        rules: [{ type: 'force', condition: { plan: { $in: ['pro'] } }, value: 'green' }],
      },
      { key: 'max_items', value_type: 'number', default_value: 20 },
    ])
      expect((await t.request('POST', '/api/v1/admin/flags', { token: key, body })).status).toBe(201);

    const res = await payload(prodKey);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.body.status).toBe(200);
    expect(Object.keys(res.body.features).sort()).toEqual(['button_color', 'checkout_banner', 'max_items', 'new_checkout']);
    const f = res.body.features;
    expect(f.new_checkout.rules[1]).toMatchObject({
      id: 'beta',
      force: true,
      coverage: 0.3,
      hashAttribute: 'id',
      seed: 'new_checkout',
      hashVersion: 2,
    });

    // GrowthBook's SDK on the payload: targeting, types, prerequisites.
    expect(sdk(f, { id: 'x', country: 'FR' }).isOn('new_checkout')).toBe(true);
    expect(sdk(f, { id: 'x', plan: 'pro' }).getFeatureValue('button_color', '')).toBe('green');
    expect(sdk(f, { id: 'x', plan: 'free' }).getFeatureValue('button_color', '')).toBe('blue');
    expect(sdk(f, { id: 'x' }).getFeatureValue('max_items', 0)).toBe(20);
    // The rollout: the SDK's answer is GrowthBook's hash v2 of (flag key, id) below 0.3, and about 30 % of units.
    let on = 0;
    for (let i = 0; i < 2000; i++) {
      const id = `user-${i}`;
      const gb = sdk(f, { id });
      expect(gb.isOn('new_checkout')).toBe(hashV2('new_checkout', id) < 0.3);
      if (gb.isOn('new_checkout')) on++;
    }
    expect(on / 2000).toBeGreaterThan(0.26);
    expect(on / 2000).toBeLessThan(0.34);
    // Prerequisite: the banner is off (null) until new_checkout is on for the unit; then the experiment picks the copy.
    expect(sdk(f, { id: 'x', country: 'DE' }).getFeatureValue('checkout_banner', null)).toBeNull();
    const ranges = bucketRanges(expWeights, 1);
    for (let i = 0; i < 50; i++) {
      const id = `fr-${i}`;
      const expected = chooseVariant(hashV2(expSeed, id), ranges) === 0 ? 'Pay' : 'PAY NOW';
      expect(sdk(f, { id, country: 'FR' }).getFeatureValue('checkout_banner', { text: '' })).toEqual({ text: expected });
    }
  });

  it('answers 304 to a matching If-None-Match, and a new ETag after a change', async () => {
    const first = await payload(prodKey);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await payload(prodKey, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    expect((await payload(prodKey, { 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
    expect((await payload(prodKey, { 'if-none-match': '"stale"' })).status).toBe(200);
    const current = await t.request('GET', `/api/v1/admin/flags/${checkoutId}`, { token: key });
    const changed = await t.request('PUT', `/api/v1/admin/flags/${checkoutId}`, {
      token: key,
      body: {
        version: current.body.version,
        value_type: 'boolean',
        default_value: true,
        environments: ['production', 'staging'],
        rules: [],
      },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.version).toBe(current.body.version + 1);
    const after = await payload(prodKey, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.body.features.new_checkout).toEqual({ defaultValue: true });
  });

  it('documents the flag endpoints in the OpenAPI document', async () => {
    const doc = await t.request('GET', '/docs/json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/features/{clientKey}',
        '/api/features/{clientKey}/exposures',
        '/api/v1/admin/flags',
        '/api/v1/admin/flags/{id}',
      ]),
    );
    expect(doc.body.paths['/api/v1/admin/flags'].post.requestBody.content['application/json'].schema.properties.value_type).toBeDefined();
  });

  it('serves each environment its own flags and rules', async () => {
    const res = await payload(stagingKey);
    expect(Object.keys(res.body.features)).toEqual(['new_checkout']);
    const prod = await payload(prodKey);
    expect(Object.keys(prod.body.features)).toContain('max_items');
  });

  it('stores experiment exposures reported by the SDK as assignments in the report, and counts flag evaluations', async () => {
    const f = (await payload(prodKey)).body.features;
    const exposures: { experiment_key: string; variation_id: number; user_id: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const gb = sdk(f, { id: `sdk-${i}` }, (e, r) =>
        exposures.push({ experiment_key: e.key, variation_id: r.variationId, user_id: `sdk-${i}` }),
      );
      gb.getFeatureValue('checkout_banner', null);
    }
    expect(exposures).toHaveLength(40);
    const posted = await t.request('POST', `/api/features/${prodKey}/exposures`, {
      body: {
        exposures: [
          ...exposures,
          { experiment_key: 'checkout_copy', variation_id: 7, user_id: 'ghost' },
          { experiment_key: 'no_such_experiment', variation_id: 0, user_id: 'ghost' },
          { feature_key: 'max_items', value: 20 },
          { feature_key: 'max_items', value: 20 },
          { feature_key: 'unknown_flag', value: 1 },
        ],
      },
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toEqual({ accepted: 42, skipped: 3 });
    const list = await t.request('GET', '/api/v1/admin/experiments', { token: key });
    const exp = list.body.data.find((e: { key: string }) => e.key === 'checkout_copy');
    const report = await t.request('GET', `/api/v1/admin/experiments/${exp.id}/report?refresh=true`, { token: key });
    expect(report.body.units.reduce((s: number, u: { n: number }) => s + u.n, 0)).toBe(40);
    const flagsList = await t.request('GET', '/api/v1/admin/flags', { token: key });
    const maxItems = flagsList.body.data.find((x: { key: string }) => x.key === 'max_items');
    const counts = await t.request('GET', `/api/v1/admin/flags/${maxItems.id}/exposures`, { token: key });
    expect(counts.body.data).toEqual([{ day: expect.any(String), value: '20', count: 2 }]);
  });

  it('gives a GrowthBook SDK evaluating the payload locally the variant the server assigns (weights, traffic, namespace, holdout, targeting)', async () => {
    const e = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        key: 'agree_exp',
        name: 'Server and SDK agree',
        variants: [
          { key: 'control', weight: 0.2 },
          { key: 'b', weight: 0.3 },
          { key: 'c', weight: 0.5 },
        ],
        traffic_allocation: 0.8,
        targeting: { country: 'FR' },
        namespace: { name: 'checkout_layer', start: 0.1, end: 0.9 },
        holdout: { seed: 'agree_holdout', percent: 0.15 },
      },
    });
    expect(e.status).toBe(201);
    await t.request('POST', `/api/v1/admin/experiments/${e.body.id}/start`, { token: key });
    const flag = await t.request('POST', '/api/v1/admin/flags', {
      token: key,
      body: {
        key: 'agree_flag',
        value_type: 'string',
        default_value: 'off',
        rules: [{ type: 'experiment', experiment_key: 'agree_exp', variation_values: { control: 'control', b: 'b', c: 'c' } }],
      },
    });
    expect(flag.status).toBe(201);
    const f = (await payload(prodKey)).body.features;
    const rule = f.agree_flag.rules[0];
    // The holdout is a filter; with filters present the SDK ignores `namespace`, so the namespace is a filter too.
    expect(rule.filters).toEqual([
      { seed: 'agree_holdout', ranges: [[0.15, 1]], hashVersion: 2, attribute: 'id' },
      { seed: '__checkout_layer', ranges: [[0.1, 0.9]], hashVersion: 1, attribute: 'id' },
    ]);
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      // Users by id, then anonymous visitors (the SDK's `id` holds the anonymous id when no user id is known);
      // a tenth of them outside the targeting.
      const id = i < 200 ? `shopper-${i}` : `anon-${i}`;
      const country = i % 10 === 0 ? 'DE' : 'FR';
      const server = await t.request('POST', '/api/v1/experiments/assign', {
        token: key,
        body: { ...(i < 200 ? { user_id: id } : { anonymous_id: id }), experiments: ['agree_exp'], attributes: { country } },
      });
      const a = server.body.assignments[0];
      const local = sdk(f, { id, country }).evalFeature('agree_flag');
      const sdkIn = local.source === 'experiment' && local.experimentResult?.inExperiment === true;
      expect({ id, inExperiment: sdkIn }).toEqual({ id, inExperiment: a.in_experiment });
      if (sdkIn) expect({ id, variant: local.value }).toEqual({ id, variant: a.variant_key });
      const outcome = a.in_experiment ? a.variant_key : a.reason;
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    }
    // Every path was taken: each variant, and each way out (targeting, namespace, holdout, traffic).
    for (const k of ['control', 'b', 'c', 'not_targeted', 'namespace', 'holdout', 'traffic']) expect(seen.get(k) ?? 0).toBeGreaterThan(0);
  });

  it('refuses bad definitions in plain words', async () => {
    const create = (body: unknown) => t.request('POST', '/api/v1/admin/flags', { token: key, body });
    const cases: [unknown, number, RegExp | string][] = [
      [{ key: 'a', value_type: 'boolean', default_value: 'yes' }, 400, 'FLAG_VALUE_INVALID'],
      [{ key: 'b', value_type: 'number', default_value: 1, rules: [{ type: 'force', value: 'x' }] }, 400, 'FLAG_VALUE_INVALID'],
      [{ key: 'c', value_type: 'boolean', default_value: false, rules: [{ type: 'rollout', value: true }] }, 400, /coverage/],
      [{ key: 'd', value_type: 'boolean', default_value: false, prerequisites: [{ flag_key: 'nope' }] }, 400, 'FLAG_PREREQUISITE_UNKNOWN'],
      [{ key: 'e', value_type: 'boolean', default_value: false, prerequisites: [{ flag_key: 'e' }] }, 400, 'FLAG_PREREQUISITE_CYCLE'],
      [{ key: 'f\u0000', value_type: 'boolean', default_value: false }, 400, /./],
      [{ key: 'g', value_type: 'string', default_value: '\ud800' }, 400, /./],
      [{ key: 'h', value_type: 'json', default_value: JSON.parse(`${'['.repeat(20)}${']'.repeat(20)}`) }, 400, /nested/],
      [{ key: 'i', value_type: 'json', default_value: 'x'.repeat(20_000) }, 400, /bytes/],
      [
        {
          key: 'j',
          value_type: 'boolean',
          default_value: false,
          rules: Array.from({ length: 101 }, () => ({ type: 'force', value: true })),
        },
        400,
        /./,
      ],
      [{ key: 'k', value_type: 'boolean', default_value: false, environments: ['prod', 'prod'] }, 400, /twice/],
      [
        {
          key: 'l',
          value_type: 'boolean',
          default_value: false,
          rules: [
            { id: 'r', type: 'force', value: true },
            { id: 'r', type: 'force', value: false },
          ],
        },
        400,
        'FLAG_RULE_DUPLICATE',
      ],
      [{ key: 'new_checkout', value_type: 'boolean', default_value: false }, 409, 'FLAG_KEY_TAKEN'],
    ];
    for (const [body, status, match] of cases) {
      const r = await create(body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(JSON.stringify(r.body)).toMatch(match);
    }
    // Huge numbers: 1e400 parses to Infinity, not a finite number.
    const huge = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/flags',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: '{"key":"huge","value_type":"number","default_value":1e400}',
    });
    expect(huge.statusCode).toBe(400);
    // A prerequisite cycle through two flags.
    const p = await create({ key: 'p1', value_type: 'boolean', default_value: true });
    await create({ key: 'p2', value_type: 'boolean', default_value: true, prerequisites: [{ flag_key: 'p1' }] });
    const cyc = await t.request('PUT', `/api/v1/admin/flags/${p.body.id}`, {
      token: key,
      body: {
        version: 1,
        value_type: 'boolean',
        default_value: true,
        rules: [{ type: 'force', value: true, prerequisites: [{ flag_key: 'p2' }] }],
      },
    });
    expect(cyc.status).toBe(400);
    expect(cyc.body.error.message).toMatch(/p1 → p2 → p1/);
    // Unknown or malformed client keys, oversized exposure batches.
    expect((await payload('sdk-doesnotexist1234')).status).toBe(404);
    expect((await payload('../../etc/passwd')).status).toBe(404);
    expect((await payload(`sdk-${'a'.repeat(150)}`)).status).toBe(404);
    const many = Array.from({ length: 501 }, () => ({ feature_key: 'max_items', value: 1 }));
    expect((await t.request('POST', `/api/features/${prodKey}/exposures`, { body: { exposures: many } })).status).toBe(400);
    expect(
      (await t.request('POST', `/api/features/${prodKey}/exposures`, { body: { exposures: [{ experiment_key: 'x', variation_id: 0 }] } }))
        .status,
    ).toBe(400);
  });

  it('lets one of two concurrent edits of the same version win, and one of ten concurrent creates of a key', async () => {
    const f = await t.request('POST', '/api/v1/admin/flags', { token: key, body: { key: 'race', value_type: 'number', default_value: 0 } });
    const edits = await Promise.all(
      [1, 2].map((n) =>
        t.request('PUT', `/api/v1/admin/flags/${f.body.id}`, { token: key, body: { version: 1, value_type: 'number', default_value: n } }),
      ),
    );
    expect(edits.map((e) => e.status).sort()).toEqual([200, 409]);
    const creates = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.request('POST', '/api/v1/admin/flags', { token: key, body: { key: 'dup', value_type: 'boolean', default_value: false } }),
      ),
    );
    expect(creates.filter((c) => c.status === 201)).toHaveLength(1);
    expect(creates.filter((c) => c.status === 409)).toHaveLength(9);
  });

  it("keeps tenants apart: another tenant never reads, changes or feeds this tenant's flags", async () => {
    expect((await t.request('GET', `/api/v1/admin/flags/${checkoutId}`, { token: bKey })).status).toBe(404);
    const put = await t.request('PUT', `/api/v1/admin/flags/${checkoutId}`, {
      token: bKey,
      body: { version: 1, value_type: 'boolean', default_value: false },
    });
    expect(put.status).toBe(404);
    expect((await t.request('GET', '/api/v1/admin/flags', { token: bKey })).body.data).toEqual([]);
    const bClient = (await t.request('POST', '/api/v1/admin/flags/client-keys', { token: bKey, body: {} })).body.client_key;
    expect((await payload(bClient)).body.features).toEqual({});
    const fed = await t.request('POST', `/api/features/${bClient}/exposures`, {
      body: {
        exposures: [
          { experiment_key: 'checkout_copy', variation_id: 0, user_id: 'b-user' },
          { feature_key: 'max_items', value: 1 },
        ],
      },
    });
    expect(fed.body).toEqual({ accepted: 0, skipped: 2 });
    // B cannot name A's flag as a prerequisite either.
    const pre = await t.request('POST', '/api/v1/admin/flags', {
      token: bKey,
      body: { key: 'b_flag', value_type: 'boolean', default_value: false, prerequisites: [{ flag_key: 'new_checkout' }] },
    });
    expect(pre.body.error.code).toBe('FLAG_PREREQUISITE_UNKNOWN');
  });
});
