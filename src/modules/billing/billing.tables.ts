import { bigint, boolean, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/** A tenant's subscription to a paid plan through Loupe's Stripe account (one row per tenant, absent: free plan). */
export const billingSubscriptions = pgTable(
  'billing_subscriptions',
  {
    tenantId: uuid('tenant_id').primaryKey(),
    plan: text('plan').notNull(),
    /** Stripe's subscription status: incomplete, trialing, active, past_due, unpaid, canceled, ... */
    status: text('status').notNull(),
    stripeCustomerId: text('stripe_customer_id'),
    stripeSubscriptionId: text('stripe_subscription_id'),
    cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
    currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
    lastPaymentError: text('last_payment_error'),
    /** `created` of the Stripe event the state comes from: an older event arriving later changes nothing. */
    stateAt: timestamp('state_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('billing_subscriptions_subscription_idx').on(t.stripeSubscriptionId)],
);

/** Stripe events of the billing webhook already applied (replays and duplicates count once). */
export const billingStripeEvents = pgTable('billing_stripe_events', {
  eventId: text('event_id').primaryKey(),
  type: text('type').notNull(),
  /** The tenant the event was applied to, or null when it named none Loupe knows. */
  tenantId: uuid('tenant_id'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Metered usage per tenant, calendar month (UTC, `YYYY-MM`) and meter (api_calls, feed_pushes). */
export const billingUsage = pgTable(
  'billing_usage',
  {
    tenantId: uuid('tenant_id').notNull(),
    period: text('period').notNull(),
    meter: text('meter').notNull(),
    used: bigint('used', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.period, t.meter] })],
);
