import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';
import type { SubscriptionFacts } from './billing.plans.core.ts';

export interface SubscriptionRow {
  tenantId: string;
  plan: string;
  status: string;
  stripeCustomerId: string | null;
  stripeSubscriptionId: string | null;
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: Date | null;
  lastPaymentError: string | null;
  stateAt: Date;
  updatedAt: Date;
}

const SUB_COLUMNS = sql`tenant_id AS "tenantId", plan, status, stripe_customer_id AS "stripeCustomerId",
  stripe_subscription_id AS "stripeSubscriptionId", cancel_at_period_end AS "cancelAtPeriodEnd",
  current_period_end AS "currentPeriodEnd", last_payment_error AS "lastPaymentError", state_at AS "stateAt", updated_at AS "updatedAt"`;

/** Billing's tables: subscriptions, applied Stripe events, metered usage. Tenant rows filter on tenant_id. */
export function createBillingRepository() {
  return {
    subscription: (q: Q, tenantId: string) =>
      queryOne<SubscriptionRow>(q, sql`SELECT ${SUB_COLUMNS} FROM billing_subscriptions WHERE tenant_id = ${tenantId}`).then(
        (r) => r ?? null,
      ),

    /**
     * The tenant a Stripe subscription belongs to (the webhook's lookup, across tenants by design: Stripe
     * names the subscription, not the tenant).
     */
    tenantOfSubscription: (q: Q, subscriptionId: string) =>
      queryOne<{ tenantId: string }>(
        q,
        sql`SELECT tenant_id AS "tenantId" FROM billing_subscriptions WHERE stripe_subscription_id = ${subscriptionId}`,
      ).then((r) => r?.tenantId ?? null),

    /**
     * Records a Stripe event id once: true the first time, false for a replay or a duplicate (also while the
     * first delivery's transaction is still open: the second waits for it).
     */
    claimEvent: async (q: Q, eventId: string, type: string, tenantId: string | null, now: Date) =>
      (
        await queryRows(
          q,
          sql`INSERT INTO billing_stripe_events (event_id, type, tenant_id, received_at) VALUES (${eventId}, ${type}, ${tenantId}, ${now.toISOString()})
            ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        )
      ).length === 1,

    /**
     * Applies an event's facts to the tenant's subscription, unless the stored state comes from a later event
     * (out-of-order delivery), from one as old that canceled it (a cancellation is final), or from another
     * subscription still alive. Fields the event does not name keep their value. Returns whether the row changed.
     */
    applyFacts: async (q: Q, tenantId: string, f: SubscriptionFacts, eventAt: Date, now: Date) =>
      (
        await queryRows(
          q,
          sql`INSERT INTO billing_subscriptions AS s (tenant_id, plan, status, stripe_customer_id, stripe_subscription_id,
              cancel_at_period_end, current_period_end, last_payment_error, state_at, updated_at)
            VALUES (${tenantId}, ${f.plan ?? 'unknown'}, ${f.status ?? 'incomplete'}, ${f.customerId}, ${f.subscriptionId},
              ${f.cancelAtPeriodEnd ?? false}, ${f.currentPeriodEnd?.toISOString() ?? null}, ${f.lastPaymentError},
              ${eventAt.toISOString()}, ${now.toISOString()})
            ON CONFLICT (tenant_id) DO UPDATE SET
              plan = COALESCE(${f.plan}, s.plan),
              status = COALESCE(${f.status}, s.status),
              stripe_customer_id = COALESCE(${f.customerId}, s.stripe_customer_id),
              stripe_subscription_id = COALESCE(${f.subscriptionId}, s.stripe_subscription_id),
              cancel_at_period_end = COALESCE(${f.cancelAtPeriodEnd}, s.cancel_at_period_end),
              current_period_end = COALESCE(${f.currentPeriodEnd?.toISOString() ?? null}::timestamptz, s.current_period_end),
              last_payment_error = CASE WHEN ${f.status} IN ('active', 'trialing') THEN NULL
                                        ELSE COALESCE(${f.lastPaymentError}, s.last_payment_error) END,
              state_at = EXCLUDED.state_at,
              updated_at = EXCLUDED.updated_at
            WHERE (
                -- the same subscription (or an event naming none): the later state wins, a cancellation is final
                (s.stripe_subscription_id IS NULL OR ${f.subscriptionId}::text IS NULL OR s.stripe_subscription_id = ${f.subscriptionId})
                AND (s.state_at < EXCLUDED.state_at OR (s.state_at = EXCLUDED.state_at AND s.status <> 'canceled'))
              ) OR (
                -- a new subscription replaces one that has ended (a checkout after a cancellation), whatever the clock says;
                -- events of an old subscription never overwrite a live one
                ${f.subscriptionId}::text IS NOT NULL AND s.stripe_subscription_id <> ${f.subscriptionId}
                AND s.status IN ('canceled', 'incomplete_expired', 'unpaid')
              )
            RETURNING tenant_id`,
        )
      ).length === 1,

    /** Usage of one meter in one period (0 when none recorded). */
    usage: async (q: Q, tenantId: string, period: string, meter: string) =>
      (
        await queryOne<{ used: number }>(
          q,
          sql`SELECT used::float8 AS used FROM billing_usage WHERE tenant_id = ${tenantId} AND period = ${period} AND meter = ${meter}`,
        )
      )?.used ?? 0,

    /** Adds `n` to a meter and returns the new total. */
    addUsage: async (q: Q, tenantId: string, period: string, meter: string, n: number) =>
      (await queryOne<{ used: number }>(
        q,
        sql`INSERT INTO billing_usage AS u (tenant_id, period, meter, used) VALUES (${tenantId}, ${period}, ${meter}, ${n})
            ON CONFLICT (tenant_id, period, meter) DO UPDATE SET used = u.used + EXCLUDED.used
            RETURNING used::float8 AS used`,
      ))!.used,
  };
}
export type BillingRepository = ReturnType<typeof createBillingRepository>;
