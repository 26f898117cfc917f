import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';

/**
 * Seed 000's experiment calls on the real app and database: create, variants, start, assign, track, report,
 * lift; the issue's bad inputs; and tenant isolation of every resource.
 */
describe('experiments (seed 000 calls)', () => {
  let t: TestApp;
  let a: Awaited<ReturnType<TestApp['createTenant']>>;
  let b: Awaited<ReturnType<TestApp['createTenant']>>;
  let key: string;
  let bKey: string;
  let expId: string;

  beforeAll(async () => {
    t = await createTestApp();
    a = await t.createTenant('Muse');
    b = await t.createTenant('Other');
    key = await a.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
    bKey = await b.apiKey(['interactions:write', 'analytics:read', 'experiments:manage']);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('creates a draft, adds variants (seed 000 order), starts it', async () => {
    const created = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: { name: 'Feed module order', description: 'Does trending first sell more?', primary_metric: 'add_to_cart' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      key: 'feed_module_order',
      status: 'draft',
      primary_metric: 'add_to_cart',
      hashing: 'growthbook_fnv1a_v2',
    });
    expId = created.body.id;
    const v1 = await t.request('POST', `/api/v1/admin/experiments/${expId}/variants`, {
      token: key,
      body: { key: 'control', config: { modules: ['new', 'trending'] } },
    });
    expect(v1.status).toBe(200);
    const v2 = await t.request('POST', `/api/v1/admin/experiments/${expId}/variants`, {
      token: key,
      body: { key: 'trending_first', config: { modules: ['trending', 'new'] } },
    });
    expect(v2.body.variants.map((v: { key: string; weight: number }) => [v.key, v.weight])).toEqual([
      ['control', 0.5],
      ['trending_first', 0.5],
    ]);
    const started = await t.request('POST', `/api/v1/admin/experiments/${expId}/start`, { token: key });
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('running');
    expect(started.body.started_at).not.toBeNull();
  });

  it('assigns deterministically with the variant config, and logs one exposure per unit', async () => {
    const first = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { user_id: 'u1', experiments: ['feed_module_order'] },
    });
    expect(first.status).toBe(200);
    const [asg] = first.body.assignments;
    expect(asg).toMatchObject({ experiment_key: 'feed_module_order', experiment_id: expId, in_experiment: true });
    expect(asg.config.modules).toHaveLength(2);
    const again = await t.request('POST', '/api/v1/experiments/assign', { token: key, body: { user_id: 'u1' } });
    expect(again.body.assignments[0].variant_key).toBe(asg.variant_key);
    expect(first.body.unit_id).toBe('u:u1');
  });

  it('sticky across devices: an anonymous visitor who signs in keeps the variant and is counted once', async () => {
    const anon = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { anonymous_id: 'device-1', experiments: ['feed_module_order'] },
    });
    expect(anon.body.unit_id).toBe('a:device-1');
    const variant = anon.body.assignments[0].variant_key;
    // The shopper signs in on that device: identity links the anonymous id and the user id into one profile.
    const link = await t.request('POST', '/api/v1/interactions', {
      token: key,
      body: { user_id: 'person-1', anonymous_id: 'device-1', interaction_type: 'view', item_id: 'i1' },
    });
    expect(link.status).toBe(201);
    const signedIn = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { user_id: 'person-1', anonymous_id: 'device-1', experiments: ['feed_module_order'] },
    });
    expect(signedIn.body.unit_id).toMatch(/^p:/);
    expect(signedIn.body.assignments[0]).toMatchObject({ variant_key: variant, reason: 'sticky' });
    // Another device of the same person, user id only: same person, same variant.
    const phone = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { user_id: 'person-1', experiments: ['feed_module_order'] },
    });
    expect(phone.body.unit_id).toBe(signedIn.body.unit_id);
    expect(phone.body.assignments[0].variant_key).toBe(variant);
  });

  it('unknown and stopped experiments answer control, not an error; bots get control', async () => {
    const unknown = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { anonymous_id: 'anon-1', experiments: ['nope'] },
    });
    expect(unknown.status).toBe(200);
    expect(unknown.body.assignments[0]).toMatchObject({
      variant_key: 'control',
      in_experiment: false,
      reason: 'unknown',
      experiment_id: null,
    });
    const bot = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: {
        anonymous_id: 'crawler',
        experiments: ['feed_module_order'],
        user_agent: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
      },
    });
    expect(bot.body.assignments[0]).toMatchObject({ variant_key: 'control', in_experiment: false, reason: 'bot' });
    const other = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: { name: 'Stopped one', variants: [{ key: 'control' }, { key: 'b', config: { x: 1 } }] },
    });
    await t.request('POST', `/api/v1/admin/experiments/${other.body.id}/start`, { token: key });
    const stop = await t.request('POST', `/api/v1/admin/experiments/${other.body.id}/stop`, { token: key });
    expect(stop.body.status).toBe('stopped');
    const r = await t.request('POST', '/api/v1/experiments/assign', { token: key, body: { user_id: 'u9', experiments: ['stopped_one'] } });
    expect(r.body.assignments[0]).toMatchObject({ variant_key: 'control', in_experiment: false, reason: 'not_running' });
  });

  it('bad input: weights not summing to 1, zero variants, duplicate keys, 10,000 variants, no unit id', async () => {
    const weights = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: {
        name: 'w',
        variants: [
          { key: 'a', weight: 0.5 },
          { key: 'b', weight: 0.6 },
        ],
      },
    });
    expect(weights.status).toBe(400);
    expect(weights.body.error.code).toBe('EXPERIMENT_WEIGHTS_INVALID');
    const zero = await t.request('POST', '/api/v1/admin/experiments', { token: key, body: { name: 'z', variants: [] } });
    expect(zero.body.error.code).toBe('EXPERIMENT_NO_VARIANTS');
    const dup = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: { name: 'd', variants: [{ key: 'a' }, { key: 'a' }] },
    });
    expect(dup.body.error.code).toBe('EXPERIMENT_DUPLICATE_VARIANT');
    const many = await t.request('POST', '/api/v1/admin/experiments', {
      token: key,
      body: { name: 'm', variants: Array.from({ length: 10_000 }, (_, i) => ({ key: `v${i}` })) },
    });
    expect(many.status).toBe(400);
    expect(many.body.error.code).toBe('EXPERIMENT_TOO_MANY_VARIANTS');
    const dupKey = await t.request('POST', '/api/v1/admin/experiments', { token: key, body: { name: 'Feed module order' } });
    expect(dupKey.status).toBe(409);
    const noUnit = await t.request('POST', '/api/v1/experiments/assign', { token: key, body: {} });
    expect(noUnit.status).toBe(400);
    const startEmpty = await t.request('POST', '/api/v1/admin/experiments', { token: key, body: { name: 'empty' } });
    const s = await t.request('POST', `/api/v1/admin/experiments/${startEmpty.body.id}/start`, { token: key });
    expect(s.body.error.code).toBe('EXPERIMENT_NO_VARIANTS');
    const running = await t.request('POST', `/api/v1/admin/experiments/${expId}/variants`, { token: key, body: { key: 'late' } });
    expect(running.status).toBe(409);
    const badId = await t.request('GET', '/api/v1/admin/experiments/not-a-uuid/report', { token: key });
    expect(badId.status).toBe(404);
  });

  it('the same purchase tracked twice counts once', async () => {
    const body = { user_id: 'u1', order_id: 'order-77', amount: '59.90', currency: 'EUR' };
    const one = await t.request('POST', '/api/v1/experiments/track-purchase', { token: key, body });
    const two = await t.request('POST', '/api/v1/experiments/track-purchase', { token: key, body });
    expect(one.status).toBe(201);
    expect(one.body.counted).toBe(true);
    expect(two.body.counted).toBe(false);
    const badMoney = await t.request('POST', '/api/v1/experiments/track-purchase', {
      token: key,
      body: { user_id: 'u1', order_id: 'o-jpy', amount: '12.5', currency: 'JPY' },
    });
    expect(badMoney.status).toBe(400);
  });

  it('runs end to end to a report with a winner, SRM check and lift', async () => {
    const rng = (() => {
      let s = 12345;
      return () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return s / 2147483648;
      };
    })();
    const shopper = async (i: number, draw: number) => {
      const user = `shopper-${i}`;
      const r = await t.request('POST', '/api/v1/experiments/assign', {
        token: key,
        body: { user_id: user, experiments: ['feed_module_order'] },
      });
      const variant = r.body.assignments[0].variant_key;
      await t.request('POST', '/api/v1/experiments/track-click', {
        token: key,
        body: { user_id: user, item_id: 'sku-1', event_id: `c-${i}` },
      });
      if (draw < (variant === 'trending_first' ? 0.35 : 0.1))
        await t.request('POST', '/api/v1/experiments/track-add-to-cart', {
          token: key,
          body: { user_id: user, item_id: 'sku-1', event_id: `atc-${i}` },
        });
    };
    for (let i = 0; i < 500; i += 25) await Promise.all(Array.from({ length: 25 }, (_, j) => shopper(i + j, rng())));
    const rep = await t.request('GET', `/api/v1/admin/experiments/${expId}/report?refresh=true`, { token: key });
    expect(rep.status).toBe(200);
    const total = rep.body.units.reduce((s: number, u: { n: number }) => s + u.n, 0);
    expect(total).toBe(502); // 500 shoppers, u1 and person-1 (counted once across devices)
    const atc = rep.body.metrics.find((m: { name: string }) => m.name === 'add_to_cart');
    expect(atc.primary).toBe(true);
    expect(atc.variants[0].name).toBe('trending_first');
    expect(atc.variants[0].relative_effect).toBeGreaterThan(1);
    expect(atc.variants[0].adjusted_p_value).toBeLessThan(0.01);
    expect(rep.body.srm_p_value).toBeGreaterThan(0.001);
    expect(rep.body.decision).toMatchObject({ action: 'ship', variant_key: 'trending_first' });
    // Revenue is counted in USD only and every purchase was in EUR: control at zero, reported rather than divided by.
    const revenue = rep.body.metrics.find((m: { name: string }) => m.name === 'revenue');
    expect(revenue.variants[0].error).toBe('BASELINE_ZERO');
    const lift = await t.request('GET', `/api/v1/admin/experiments/${expId}/lift`, { token: key });
    expect(lift.body).toMatchObject({ metric: 'add_to_cart', control: 'control', winner: 'trending_first' });
    expect(lift.body.variants[0].significant).toBe(true);
  }, 120_000);

  it('another tenant cannot see, change, count or assign tenant A experiments', async () => {
    for (const [method, path] of [
      ['GET', `/api/v1/admin/experiments/${expId}`],
      ['GET', `/api/v1/admin/experiments/${expId}/report`],
      ['GET', `/api/v1/admin/experiments/${expId}/lift`],
      ['POST', `/api/v1/admin/experiments/${expId}/stop`],
      ['POST', `/api/v1/admin/experiments/${expId}/archive`],
    ] as const) {
      const r = await t.request(method, path, { token: bKey });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error.code).toBe('EXPERIMENT_NOT_FOUND');
    }
    const v = await t.request('POST', `/api/v1/admin/experiments/${expId}/variants`, { token: bKey, body: { key: 'x' } });
    expect(v.status).toBe(404);
    const list = await t.request('GET', '/api/v1/admin/experiments', { token: bKey });
    expect(list.body.data).toEqual([]);
    const asg = await t.request('POST', '/api/v1/experiments/assign', {
      token: bKey,
      body: { user_id: 'u1', experiments: ['feed_module_order', expId] },
    });
    expect(asg.body.assignments.every((x: { reason: string }) => x.reason === 'unknown')).toBe(true);
    // B's purchase with A's order id is B's own: A's report does not move.
    const p = await t.request('POST', '/api/v1/experiments/track-purchase', {
      token: bKey,
      body: { user_id: 'u1', order_id: 'order-77', amount: 10 },
    });
    expect(p.body.counted).toBe(true);
    const still = await t.request('GET', `/api/v1/admin/experiments/${expId}`, { token: key });
    expect(still.body.status).toBe('running');
  });

  it('analyze endpoint answers the issue example and refuses malformed input', async () => {
    const ok = await t.request('POST', '/api/v1/experiments/analyze', {
      token: key,
      body: {
        engine: 'frequentist',
        confidence: 0.95,
        correction: 'none',
        sequential: false,
        metrics: [
          {
            name: 'cr',
            type: 'binomial',
            variants: [
              { name: 'control', n: 1000, sum: 120, sum_squares: 120, expected_weight: 0.5 },
              { name: 'b', n: 1000, sum: 150, sum_squares: 150, expected_weight: 0.5 },
            ],
          },
        ],
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.metrics[0].variants[0].relative_effect).toBeCloseTo(0.25, 12);
    const bad = await t.request('POST', '/api/v1/experiments/analyze', {
      token: key,
      body: {
        metrics: [
          {
            name: 'r',
            type: 'ratio',
            variants: [
              { name: 'c', n: 10, sum: 5, sum_squares: 5 },
              { name: 'c', n: 10, sum: 'NaN' },
            ],
          },
        ],
      },
    });
    expect(bad.status).toBe(400);
  });

  it('archives; an archived experiment disappears from the list and assigns control', async () => {
    const r = await t.request('POST', `/api/v1/admin/experiments/${expId}/archive`, { token: key });
    expect(r.body.status).toBe('archived');
    const list = await t.request('GET', '/api/v1/admin/experiments', { token: key });
    expect(list.body.data.some((e: { id: string }) => e.id === expId)).toBe(false);
    const asg = await t.request('POST', '/api/v1/experiments/assign', {
      token: key,
      body: { user_id: 'u1', experiments: ['feed_module_order'] },
    });
    expect(asg.body.assignments[0]).toMatchObject({ variant_key: 'control', in_experiment: false });
  });
});
