import { type PlanConfig, unsafeTextReason } from '../../platform/index.ts';

/** What a plan limits. `null`: unlimited. */
export type LimitName = 'api_calls_per_month' | 'catalog_items' | 'feed_pushes_per_month';
export const LIMIT_NAMES: readonly LimitName[] = ['api_calls_per_month', 'catalog_items', 'feed_pushes_per_month'];

/** What the limits count, in words a merchant reads in an error or on the billing page. */
export const LIMIT_LABELS: Record<LimitName, string> = {
  api_calls_per_month: 'API calls this month',
  catalog_items: 'active catalog items',
  feed_pushes_per_month: 'feed pushes to Google this month',
};

export type Plan = PlanConfig;

/**
 * The built-in plans (LOUPE_BILLING_PLANS replaces them). The first plan is where a tenant without a paid
 * subscription is. Prices are what the billing page shows, in minor units; what Stripe charges is the
 * price object named in LOUPE_BILLING_PRICES.
 */
export const DEFAULT_PLANS: readonly Plan[] = [
  {
    id: 'free',
    name: 'Free',
    monthly_price_minor: 0,
    currency: 'USD',
    limits: { api_calls_per_month: 10_000, catalog_items: 1_000, feed_pushes_per_month: 30 },
  },
  {
    id: 'pro',
    name: 'Pro',
    monthly_price_minor: 4_900,
    currency: 'USD',
    limits: { api_calls_per_month: 500_000, catalog_items: 50_000, feed_pushes_per_month: 1_000 },
  },
  {
    id: 'business',
    name: 'Business',
    monthly_price_minor: 19_900,
    currency: 'USD',
    limits: { api_calls_per_month: 5_000_000, catalog_items: 500_000, feed_pushes_per_month: 10_000 },
  },
];

/** Subscription statuses (Stripe's) under which the paid plan's limits apply; `past_due` keeps them while Stripe retries. */
const PAID_STATUSES: ReadonlySet<string> = new Set(['active', 'trialing', 'past_due']);

/** The plan whose limits apply: the subscribed plan while the subscription is in good standing, else the first (free) plan. */
export function effectivePlan(plans: readonly Plan[], sub: { plan: string; status: string } | null): Plan {
  if (sub && PAID_STATUSES.has(sub.status)) {
    const p = plans.find((x) => x.id === sub.plan);
    if (p) return p;
  }
  return plans[0]!;
}

/** The billing period a moment falls in: the calendar month in UTC, `YYYY-MM`. */
export function periodOf(now: Date): string {
  return now.toISOString().slice(0, 7);
}

/** The cheapest plan (by price) above `current` that allows more than `used` of `limit`, or null. */
export function upgradeFor(plans: readonly Plan[], current: Plan, limit: LimitName, used: number): Plan | null {
  const better = plans
    .filter((p) => p.id !== current.id && p.monthly_price_minor > current.monthly_price_minor)
    .filter((p) => p.limits[limit] === null || p.limits[limit] > used)
    .sort((a, b) => a.monthly_price_minor - b.monthly_price_minor);
  return better[0] ?? null;
}

/** Whether one more unit of `limit` is allowed: `used` so far against the plan's allowance. */
export function withinLimit(plan: Plan, limit: LimitName, used: number): boolean {
  const allowed = plan.limits[limit];
  return allowed === null || used < allowed;
}

/** The state of a tenant's subscription as a Stripe event tells it (what billing stores). */
export interface SubscriptionFacts {
  subscriptionId: string | null;
  customerId: string | null;
  /** Our plan id, when the event names one (metadata or a known price). */
  plan: string | null;
  status: string | null;
  cancelAtPeriodEnd: boolean | null;
  currentPeriodEnd: Date | null;
  lastPaymentError: string | null;
  /** The tenant the event names in its metadata or client_reference_id (not trusted alone: see the service). */
  tenantId: string | null;
}

type Obj = Record<string, unknown>;
/** A short, storable string (no NUL, no lone surrogate: the database refuses them), or null. */
const str = (v: unknown): string | null =>
  typeof v === 'string' && v.length > 0 && v.length <= 255 && unsafeTextReason(v) === null ? v : null;
/** An expandable Stripe reference: the id, whether it came as a string or as the expanded object. */
const ref = (v: unknown): string | null => str(v) ?? (v && typeof v === 'object' ? str((v as Obj).id) : null);
const unixDate = (v: unknown): Date | null =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && v < 1e11 ? new Date(v * 1000) : null;

/**
 * Reads the facts billing needs from one of the Stripe events it handles, or null for other types. Tolerant of
 * API versions: the period end sits on the subscription (before 2025-03-31) or on its item (after); the
 * invoice's subscription on the invoice or under `parent.subscription_details`.
 */
export function factsOf(type: string, object: Obj, priceToPlan: ReadonlyMap<string, string>): SubscriptionFacts | null {
  const meta = (object.metadata && typeof object.metadata === 'object' ? object.metadata : {}) as Obj;
  const base: SubscriptionFacts = {
    subscriptionId: null,
    customerId: ref(object.customer),
    plan: str(meta.plan),
    status: null,
    cancelAtPeriodEnd: null,
    currentPeriodEnd: null,
    lastPaymentError: null,
    tenantId: str(meta.tenant_id),
  };
  if (type === 'checkout.session.completed') {
    if (object.mode !== 'subscription') return null;
    return {
      ...base,
      subscriptionId: ref(object.subscription),
      tenantId: str(object.client_reference_id) ?? base.tenantId,
      status: object.payment_status === 'paid' || object.payment_status === 'no_payment_required' ? 'active' : 'incomplete',
    };
  }
  if (type === 'customer.subscription.created' || type === 'customer.subscription.updated' || type === 'customer.subscription.deleted') {
    const items = ((object.items as Obj | undefined)?.data as Obj[] | undefined) ?? [];
    const first = items[0] ?? {};
    const priceId = ref(first.price);
    return {
      ...base,
      subscriptionId: str(object.id),
      plan: (priceId ? priceToPlan.get(priceId) : undefined) ?? base.plan,
      status: type === 'customer.subscription.deleted' ? 'canceled' : str(object.status),
      cancelAtPeriodEnd: typeof object.cancel_at_period_end === 'boolean' ? object.cancel_at_period_end : null,
      currentPeriodEnd: unixDate(object.current_period_end) ?? unixDate(first.current_period_end),
    };
  }
  if (type === 'invoice.payment_failed') {
    const parent = (object.parent as Obj | undefined)?.subscription_details as Obj | undefined;
    const subscriptionId = ref(object.subscription) ?? ref(parent?.subscription);
    if (!subscriptionId) return null;
    const parentMeta = (parent?.metadata ?? {}) as Obj;
    const attempt = typeof object.attempt_count === 'number' ? object.attempt_count : null;
    return {
      ...base,
      subscriptionId,
      tenantId: str(parentMeta.tenant_id) ?? base.tenantId,
      plan: null,
      status: 'past_due',
      lastPaymentError: `The renewal payment failed${attempt ? ` (attempt ${attempt})` : ''}: update the card in Stripe before it is retried.`,
    };
  }
  return null;
}
