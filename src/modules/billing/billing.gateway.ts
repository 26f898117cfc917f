import Stripe from 'stripe';

/** Where the official `stripe` package sends its requests: Stripe itself, or a Stripe-protocol server (tests, demos). */
function clientOptions(apiUrl: string | undefined): Stripe.StripeConfig {
  if (!apiUrl) return { maxNetworkRetries: 2 };
  const u = new URL(apiUrl);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80,
    protocol: u.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 2,
  };
}

/** Loupe's own Stripe account (tenants pay Loupe), through the official package. */
export function createBillingGateway(secretKey: string, apiUrl: string | undefined) {
  const stripe = new Stripe(secretKey, clientOptions(apiUrl));
  return {
    /**
     * A Checkout Session in subscription mode for one price. The tenant rides along as `client_reference_id`
     * and in the session's and the subscription's metadata, so every later event names it.
     */
    async createSubscriptionCheckout(input: {
      tenantId: string;
      plan: string;
      price: string;
      customerId: string | null;
      successUrl: string;
      cancelUrl: string;
    }): Promise<{ id: string; url: string; expiresAt: Date }> {
      const metadata = { tenant_id: input.tenantId, plan: input.plan };
      const session = await stripe.checkout.sessions.create({
        mode: 'subscription',
        line_items: [{ price: input.price, quantity: 1 }],
        success_url: input.successUrl,
        cancel_url: input.cancelUrl,
        client_reference_id: input.tenantId,
        ...(input.customerId ? { customer: input.customerId } : {}),
        metadata,
        subscription_data: { metadata },
      });
      if (!session.url) throw new Error('Stripe returned a Checkout Session without a URL');
      return { id: session.id, url: session.url, expiresAt: new Date(session.expires_at * 1000) };
    },

    /**
     * Moves a subscription to another price: its one item's price is replaced (the item named by id: an item
     * without an id would be added beside the old one, billing both), prorated as Stripe does by default. The
     * plan changes in Loupe when Stripe's `customer.subscription.updated` arrives, like every subscription change.
     */
    async changeSubscriptionPrice(input: {
      subscriptionId: string;
      tenantId: string;
      plan: string;
      price: string;
    }): Promise<{ status: string; price: string | null }> {
      const sub = await stripe.subscriptions.retrieve(input.subscriptionId);
      const item = sub.items.data[0];
      if (!item) throw new Error('Stripe returned a subscription without items');
      // No idempotency key: the same change asked twice sets the same price twice (harmless), while a key reused
      // for a later change back to this price would make Stripe replay the old answer without applying it.
      const updated = await stripe.subscriptions.update(input.subscriptionId, {
        items: [{ id: item.id, price: input.price }],
        proration_behavior: 'create_prorations',
        metadata: { tenant_id: input.tenantId, plan: input.plan },
      });
      return { status: updated.status, price: updated.items.data[0]?.price.id ?? null };
    },

    /** The verified event, or null when the signature (or its timestamp, 5 minutes' tolerance) does not check. */
    verifyWebhook(payload: Buffer, signature: string, secret: string): Stripe.Event | null {
      try {
        return stripe.webhooks.constructEvent(payload, signature, secret);
      } catch {
        return null;
      }
    },
  };
}
export type BillingGateway = ReturnType<typeof createBillingGateway>;
