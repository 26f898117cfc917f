import { z } from 'zod';

const limitValue = z.number().nullable().describe('null: unlimited');

export const planSchema = z.object({
  id: z.string(),
  name: z.string(),
  monthly_price: z.number().describe('minor units of `currency` (4900 = $49.00)'),
  currency: z.string(),
  purchasable: z.boolean().describe('whether POST /stripe/checkout can buy it (a Stripe price is configured)'),
  limits: z.object({ api_calls_per_month: limitValue, catalog_items: limitValue, feed_pushes_per_month: limitValue }),
});

export const billingStatus = z.object({
  billing_enabled: z.boolean().describe('false: this server has no billing; no plan limits apply'),
  plan: planSchema,
  period: z.string().describe('the calendar month (UTC) usage counts in, YYYY-MM'),
  subscription: z
    .object({
      plan: z.string(),
      status: z.string().describe("Stripe's: active, trialing, past_due, unpaid, canceled, incomplete"),
      cancel_at_period_end: z.boolean(),
      current_period_end: z.string().nullable(),
      last_payment_error: z.string().nullable(),
      updated_at: z.string(),
    })
    .nullable(),
  usage: z.array(
    z.object({
      limit: z.enum(['api_calls_per_month', 'catalog_items', 'feed_pushes_per_month']),
      label: z.string(),
      used: z.number(),
      allowed: limitValue,
    }),
  ),
  plans: z.array(planSchema),
});

/** Same-site redirect targets only: Stripe sends the customer's browser there. */
const redirect = z
  .url({ protocol: /^https?$/ })
  .max(2000)
  .optional();

export const checkoutBody = z
  .object({
    plan: z.string().min(1).max(40).describe('the plan to subscribe to, e.g. "pro"'),
    success_url: redirect.describe('where Stripe sends the browser after paying (default: the dashboard Billing page)'),
    cancel_url: redirect.describe('where Stripe sends the browser when the customer goes back (default: the Billing page)'),
  })
  .strict();

export const checkoutResponse = z.object({
  id: z.string().describe('the Stripe Checkout Session id (cs_...)'),
  url: z.string().describe("Stripe's hosted payment page: send the browser there"),
  plan: z.string(),
  expires_at: z.string(),
});

export const webhookAnswer = z.object({ received: z.literal(true), duplicate: z.boolean() });

export const changePlanBody = z.object({ plan: z.string().min(1).max(40) }).strict();
export const changePlanResponse = z.object({
  plan: z.string().describe('The plan asked for; it applies when Stripe confirms the change (its subscription webhook)'),
  subscription_status: z.string(),
  pending: z.literal(true),
});
