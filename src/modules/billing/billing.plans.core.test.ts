import { describe, expect, it } from 'vitest';
import { DEFAULT_PLANS, effectivePlan, factsOf, periodOf, upgradeFor, withinLimit } from './billing.plans.core.ts';

const prices = new Map([
  ['price_pro', 'pro'],
  ['price_business', 'business'],
]);
const [free, pro, business] = DEFAULT_PLANS as [
  (typeof DEFAULT_PLANS)[number],
  (typeof DEFAULT_PLANS)[number],
  (typeof DEFAULT_PLANS)[number],
];

describe('effective plan', () => {
  it('is the subscribed plan while in good standing, the free plan otherwise', () => {
    expect(effectivePlan(DEFAULT_PLANS, null).id).toBe('free');
    for (const status of ['active', 'trialing', 'past_due']) expect(effectivePlan(DEFAULT_PLANS, { plan: 'pro', status }).id).toBe('pro');
    for (const status of ['canceled', 'unpaid', 'incomplete', 'incomplete_expired', 'paused'])
      expect(effectivePlan(DEFAULT_PLANS, { plan: 'pro', status }).id).toBe('free');
    expect(effectivePlan(DEFAULT_PLANS, { plan: 'retired-plan', status: 'active' }).id).toBe('free');
  });
});

describe('limits and upgrades', () => {
  it('allows strictly below the allowance; null is unlimited', () => {
    expect(withinLimit(free, 'catalog_items', 999)).toBe(true);
    expect(withinLimit(free, 'catalog_items', 1000)).toBe(false);
    const unlimited = { ...business, limits: { ...business.limits, catalog_items: null } };
    expect(withinLimit(unlimited, 'catalog_items', 1e12)).toBe(true);
  });
  it('suggests the cheapest dearer plan that fits the usage', () => {
    expect(upgradeFor(DEFAULT_PLANS, free, 'catalog_items', 1000)?.id).toBe('pro');
    expect(upgradeFor(DEFAULT_PLANS, free, 'catalog_items', 60_000)?.id).toBe('business');
    expect(upgradeFor(DEFAULT_PLANS, pro, 'api_calls_per_month', 500_000)?.id).toBe('business');
    expect(upgradeFor(DEFAULT_PLANS, business, 'api_calls_per_month', 5_000_000)).toBeNull();
    // Invariant: every suggestion is dearer than the current plan and allows more than the usage.
    for (const cur of DEFAULT_PLANS)
      for (const used of [0, 999, 1_000, 49_999, 50_000, 499_999, 5e6, 1e9]) {
        const up = upgradeFor(DEFAULT_PLANS, cur, 'catalog_items', used);
        if (up) {
          expect(up.monthly_price_minor).toBeGreaterThan(cur.monthly_price_minor);
          expect(withinLimit(up, 'catalog_items', used)).toBe(true);
        }
      }
  });
  it('periods are UTC calendar months', () => {
    expect(periodOf(new Date('2026-12-31T23:59:59Z'))).toBe('2026-12');
    expect(periodOf(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01');
  });
});

describe('facts of Stripe events', () => {
  it('reads a completed subscription checkout', () => {
    const f = factsOf(
      'checkout.session.completed',
      {
        mode: 'subscription',
        payment_status: 'paid',
        client_reference_id: 't1',
        customer: 'cus_1',
        subscription: 'sub_1',
        metadata: { plan: 'pro' },
      },
      prices,
    );
    expect(f).toMatchObject({ tenantId: 't1', customerId: 'cus_1', subscriptionId: 'sub_1', plan: 'pro', status: 'active' });
    expect(factsOf('checkout.session.completed', { mode: 'payment' }, prices)).toBeNull();
    expect(factsOf('checkout.session.completed', { mode: 'subscription', payment_status: 'unpaid' }, prices)?.status).toBe('incomplete');
  });
  it('reads the plan from the price, the period end from the subscription or (newer API versions) its item', () => {
    const sub = {
      id: 'sub_1',
      status: 'active',
      customer: { id: 'cus_1' },
      items: { data: [{ price: { id: 'price_business' }, current_period_end: 1_800_000_000 }] },
    };
    const f = factsOf('customer.subscription.updated', sub, prices)!;
    expect(f).toMatchObject({ plan: 'business', status: 'active', customerId: 'cus_1' });
    expect(f.currentPeriodEnd?.toISOString()).toBe(new Date(1_800_000_000_000).toISOString());
    expect(factsOf('customer.subscription.deleted', { ...sub, status: 'active' }, prices)?.status).toBe('canceled');
    expect(
      factsOf('customer.subscription.updated', { ...sub, items: { data: [{ price: 'price_unknown' }] }, metadata: { plan: 'pro' } }, prices)
        ?.plan,
    ).toBe('pro');
  });
  it('reads the failed invoice of either API shape', () => {
    expect(factsOf('invoice.payment_failed', { subscription: 'sub_1', attempt_count: 2 }, prices)).toMatchObject({
      subscriptionId: 'sub_1',
      status: 'past_due',
    });
    expect(
      factsOf(
        'invoice.payment_failed',
        { parent: { subscription_details: { subscription: 'sub_2', metadata: { tenant_id: 't2' } } } },
        prices,
      ),
    ).toMatchObject({ subscriptionId: 'sub_2', tenantId: 't2' });
    expect(factsOf('invoice.payment_failed', { customer: 'cus_1' }, prices)).toBeNull();
  });
  it('drops hostile values instead of storing them', () => {
    const f = factsOf(
      'customer.subscription.updated',
      {
        id: 'sub\u0000x',
        status: '\ud800',
        customer: 'x'.repeat(300),
        current_period_end: 1e308,
        metadata: { tenant_id: 42 },
        items: 'nope',
      },
      prices,
    )!;
    expect(f).toMatchObject({ subscriptionId: null, status: null, customerId: null, currentPeriodEnd: null, tenantId: null });
    expect(factsOf('charge.succeeded', {}, prices)).toBeNull();
  });
});
