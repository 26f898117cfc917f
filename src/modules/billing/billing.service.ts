import type Stripe from 'stripe';
import { AppError, type Config, type Db, isUuid, type TenantContext } from '../../platform/index.ts';
import type { BillingGateway } from './billing.gateway.ts';
import {
  DEFAULT_PLANS,
  LIMIT_LABELS,
  LIMIT_NAMES,
  type LimitName,
  type Plan,
  effectivePlan,
  factsOf,
  periodOf,
  upgradeFor,
  withinLimit,
} from './billing.plans.core.ts';
import type { BillingRepository, SubscriptionRow } from './billing.repository.ts';

/** The meters billing counts itself (the catalog size is read from the catalog). */
type Meter = 'api_calls' | 'feed_pushes';
const METER_OF: Record<Exclude<LimitName, 'catalog_items'>, Meter> = {
  api_calls_per_month: 'api_calls',
  feed_pushes_per_month: 'feed_pushes',
};

/** Events the billing webhook applies; others are acknowledged and ignored. */
const HANDLED = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.payment_failed',
]);

/** How long a tenant's subscription, meter totals and catalog size are trusted before being read again. */
const CACHE_MS = 5_000;

export interface BillingServiceDeps {
  db: Db;
  repo: BillingRepository;
  config: Config['billing'];
  gateway: BillingGateway | undefined;
  clock: () => Date;
  /** Active catalog items of a tenant (catalog's public entry). */
  catalogSize: (tenantId: string) => Promise<number>;
  /** How often counted usage is written (ms). */
  flushMs?: number;
}

/**
 * Plans, the tenant's subscription (Stripe Checkout and its webhooks) and the plan limits. Billing is on when
 * Loupe's Stripe key is configured; when off, every tenant is unlimited and the Stripe routes answer 503.
 *
 * Usage is counted in memory and written every `flushMs` (one UPDATE per tenant and meter, not one per request);
 * the total a check sees is the stored one (read again every few seconds, so replicas see each other) plus what
 * this process counted since. Across replicas a limit can be overshot by what they count in one interval.
 */
export function createBillingService(deps: BillingServiceDeps) {
  const { db, repo, config } = deps;
  const plans: readonly Plan[] = config.plans ?? DEFAULT_PLANS;
  const priceToPlan = new Map(Object.entries(config.prices).map(([plan, price]) => [price, plan]));
  const enabled = deps.gateway !== undefined;

  const subs = new Map<string, { row: SubscriptionRow | null; at: number }>();
  const meters = new Map<string, { tenantId: string; period: string; meter: Meter; stored: number; pending: number; at: number }>();
  const catalog = new Map<string, { size: number; at: number }>();
  const now = () => deps.clock();

  async function subscription(tenantId: string): Promise<SubscriptionRow | null> {
    const hit = subs.get(tenantId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.row;
    const row = await repo.subscription(db, tenantId);
    subs.set(tenantId, { row, at: Date.now() });
    return row;
  }
  const planOf = async (tenantId: string) => effectivePlan(plans, await subscription(tenantId));

  async function meterState(tenantId: string, meter: Meter) {
    const period = periodOf(now());
    const key = `${tenantId}:${meter}`;
    let m = meters.get(key);
    if (m && m.period !== period) {
      await flushOne(m);
      m = undefined;
    }
    if (!m || Date.now() - m.at >= CACHE_MS) {
      const stored = await repo.usage(db, tenantId, period, meter);
      const pending = m?.pending ?? 0;
      m = { tenantId, period, meter, stored, pending, at: Date.now() };
      meters.set(key, m);
    }
    return m;
  }

  async function flushOne(m: { tenantId: string; period: string; meter: Meter; stored: number; pending: number; at: number }) {
    if (m.pending === 0) return;
    const n = m.pending;
    m.pending = 0;
    try {
      m.stored = await repo.addUsage(db, m.tenantId, m.period, m.meter, n);
      m.at = Date.now();
    } catch (err) {
      m.pending += n;
      throw err;
    }
  }

  async function catalogSize(tenantId: string): Promise<number> {
    const hit = catalog.get(tenantId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.size;
    const size = await deps.catalogSize(tenantId);
    catalog.set(tenantId, { size, at: Date.now() });
    return size;
  }

  async function used(tenantId: string, limit: LimitName): Promise<number> {
    if (limit === 'catalog_items') return catalogSize(tenantId);
    const m = await meterState(tenantId, METER_OF[limit]);
    return m.stored + m.pending;
  }

  /** Refuses (402) when the tenant's plan allows no more of `limit`, naming the limit and the plan to move to. */
  async function enforce(tenantId: string, limit: LimitName): Promise<void> {
    if (!enabled) return;
    const plan = await planOf(tenantId);
    if (plan.limits[limit] === null) return;
    const n = await used(tenantId, limit);
    if (withinLimit(plan, limit, n)) return;
    const next = upgradeFor(plans, plan, limit, n);
    const allowed = plan.limits[limit]!;
    const what = LIMIT_LABELS[limit];
    const how = next
      ? `Upgrade to ${next.name} (${next.limits[limit] === null ? 'unlimited' : next.limits[limit].toLocaleString('en-US')} ${what}) on the Billing page or with POST /stripe/checkout {"plan":"${next.id}"}.`
      : limit === 'catalog_items'
        ? 'Remove or deactivate items, or contact us for a larger plan.'
        : 'The allowance renews on the 1st of next month (UTC); contact us for a larger plan.';
    throw new AppError(
      'payment_required',
      'PLAN_LIMIT_REACHED',
      `Your ${plan.name} plan allows ${allowed.toLocaleString('en-US')} ${what}; you have used ${n.toLocaleString('en-US')}. ${how}`,
      {
        details: [
          { field: limit, message: `${n} of ${allowed} used`, limit, used: n, allowed, plan: plan.id, upgrade_to: next?.id ?? null },
        ],
      },
    );
  }

  const timer = setInterval(() => void flush().catch(() => undefined), deps.flushMs ?? 2_000);
  timer.unref();

  /** Writes the usage counted since the last flush. */
  async function flush(): Promise<void> {
    for (const m of meters.values()) await flushOne(m);
  }

  return {
    enabled,
    plans,

    /** Checks a tenant's API-call allowance and counts the call (API keys only: the dashboard is not metered). */
    async apiCall(tenantId: string): Promise<void> {
      if (!enabled) return;
      await enforce(tenantId, 'api_calls_per_month');
      (await meterState(tenantId, 'api_calls')).pending++;
    },
    /** Refuses a catalog write when the catalog is at the plan's size. */
    catalogWrite: (tenantId: string) => enforce(tenantId, 'catalog_items'),
    /** A catalog write went through: the size is read again at the next check. */
    catalogChanged(tenantId: string): void {
      catalog.delete(tenantId);
    },
    /** Refuses a feed push past the plan's monthly pushes. */
    feedPushAllowed: (tenantId: string) => enforce(tenantId, 'feed_pushes_per_month'),
    /** Counts a feed push that was accepted. */
    async feedPushed(tenantId: string): Promise<void> {
      if (!enabled) return;
      (await meterState(tenantId, 'feed_pushes')).pending++;
    },
    flush,
    /** Shutdown: stops the flush timer (it would keep the whole app alive) and writes what is counted. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await flush();
    },

    /** The tenant's plan, subscription and usage against every limit. */
    async status(ctx: TenantContext) {
      subs.delete(ctx.tenantId);
      const sub = await subscription(ctx.tenantId);
      const plan = effectivePlan(plans, sub);
      const usage = [];
      for (const limit of LIMIT_NAMES)
        usage.push({ limit, label: LIMIT_LABELS[limit], used: await used(ctx.tenantId, limit), allowed: plan.limits[limit] });
      return { enabled, plan, period: periodOf(now()), subscription: sub, usage, purchasable: new Set(Object.keys(config.prices)) };
    },

    /** A Stripe Checkout Session for `planId`; the plan changes when Stripe's webhook says the payment went through. */
    async checkout(ctx: TenantContext, input: { plan: string; successUrl: string; cancelUrl: string }) {
      if (!deps.gateway)
        throw new AppError(
          'unavailable',
          'BILLING_NOT_CONFIGURED',
          'Billing is not set up on this server (LOUPE_BILLING_STRIPE_SECRET_KEY).',
        );
      const plan = plans.find((p) => p.id === input.plan);
      const price = config.prices[input.plan];
      if (!plan || !price)
        throw new AppError(
          'validation',
          'PLAN_UNKNOWN',
          `There is no paid plan "${input.plan}". Plans you can buy: ${Object.keys(config.prices).join(', ') || 'none'}.`,
          {
            details: [{ field: 'plan', message: 'unknown plan' }],
          },
        );
      subs.delete(ctx.tenantId);
      const sub = await subscription(ctx.tenantId);
      const current = effectivePlan(plans, sub);
      if (sub && current.id !== plans[0]!.id && sub.status !== 'incomplete')
        throw new AppError(
          'conflict',
          current.id === plan.id ? 'PLAN_ALREADY_ACTIVE' : 'SUBSCRIPTION_EXISTS',
          current.id === plan.id
            ? `You are on the ${plan.name} plan already.`
            : `You have a ${current.name} subscription: change it to ${plan.name} with PATCH /api/v1/billing/subscription {"plan":"${plan.id}"}, not with a second checkout.`,
        );
      return deps.gateway.createSubscriptionCheckout({
        tenantId: ctx.tenantId,
        plan: plan.id,
        price,
        customerId: sub?.stripeCustomerId ?? null,
        successUrl: input.successUrl,
        cancelUrl: input.cancelUrl,
      });
    },

    /**
     * Moves a running subscription to another paid plan (Stripe prorates). The plan in Loupe changes when Stripe's
     * `customer.subscription.updated` arrives (the one door for subscription state); without a running
     * subscription, paying starts with a checkout instead.
     */
    async changePlan(ctx: TenantContext, planId: string): Promise<{ plan: string; subscriptionStatus: string }> {
      if (!deps.gateway)
        throw new AppError(
          'unavailable',
          'BILLING_NOT_CONFIGURED',
          'Billing is not set up on this server (LOUPE_BILLING_STRIPE_SECRET_KEY).',
        );
      const plan = plans.find((p) => p.id === planId);
      const price = config.prices[planId];
      if (!plan || !price)
        throw new AppError(
          'validation',
          'PLAN_UNKNOWN',
          `There is no paid plan "${planId}". Plans you can move to: ${Object.keys(config.prices).join(', ') || 'none'}.`,
          { details: [{ field: 'plan', message: 'unknown plan' }] },
        );
      subs.delete(ctx.tenantId);
      const sub = await subscription(ctx.tenantId);
      const current = effectivePlan(plans, sub);
      if (!sub?.stripeSubscriptionId || current.id === plans[0]!.id || sub.status === 'incomplete')
        throw new AppError(
          'conflict',
          'SUBSCRIPTION_NOT_ACTIVE',
          `There is no running subscription to change: start one for ${plan.name} with POST /stripe/checkout {"plan":"${plan.id}"}.`,
        );
      if (current.id === plan.id) throw new AppError('conflict', 'PLAN_ALREADY_ACTIVE', `You are on the ${plan.name} plan already.`);
      let out: { status: string; price: string | null };
      try {
        out = await deps.gateway.changeSubscriptionPrice({
          subscriptionId: sub.stripeSubscriptionId,
          tenantId: ctx.tenantId,
          plan: plan.id,
          price,
        });
      } catch {
        throw new AppError(
          'unavailable',
          'BILLING_STRIPE_UNAVAILABLE',
          'Stripe did not accept the plan change just now; try again shortly.',
        );
      }
      return { plan: plan.id, subscriptionStatus: out.status };
    },

    /**
     * Stripe's webhook: verifies the signature on the exact bytes, then applies the event once (the event id is
     * claimed in the same transaction as the change). An event older than the stored state changes nothing.
     */
    async receiveWebhook(raw: Buffer, signature: string | undefined): Promise<{ duplicate: boolean; applied: boolean }> {
      if (!deps.gateway || !config.webhookSecret)
        throw new AppError('unavailable', 'BILLING_NOT_CONFIGURED', 'Billing is not set up on this server (LOUPE_BILLING_WEBHOOK_SECRET).');
      const event = signature ? deps.gateway.verifyWebhook(raw, signature, config.webhookSecret) : null;
      if (!event) throw new AppError('validation', 'SIGNATURE_INVALID', 'The Stripe-Signature header does not verify for this endpoint.');
      return applyEvent(event);
    },
  };

  async function applyEvent(event: Stripe.Event): Promise<{ duplicate: boolean; applied: boolean }> {
    const facts = HANDLED.has(event.type)
      ? factsOf(event.type, event.data.object as unknown as Record<string, unknown>, priceToPlan)
      : null;
    const out = await db.transaction(async (tx) => {
      // The tenant: from the subscription Loupe knows, else from what Loupe put in the metadata at checkout.
      let tenantId: string | null = null;
      if (facts) {
        tenantId = (facts.subscriptionId ? await repo.tenantOfSubscription(tx, facts.subscriptionId) : null) ?? facts.tenantId;
        if (tenantId && !isUuid(tenantId)) tenantId = null;
      }
      if (!(await repo.claimEvent(tx, event.id, event.type, tenantId, now()))) return { duplicate: true, applied: false, tenantId };
      if (!facts || !tenantId) return { duplicate: false, applied: false, tenantId };
      const applied = await repo.applyFacts(tx, tenantId, facts, new Date(event.created * 1000), now());
      return { duplicate: false, applied, tenantId };
    });
    if (out.tenantId) subs.delete(out.tenantId);
    return { duplicate: out.duplicate, applied: out.applied };
  }
}
export type BillingService = ReturnType<typeof createBillingService>;
