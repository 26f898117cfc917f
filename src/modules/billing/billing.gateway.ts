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
