import Stripe from 'stripe';

/** A PaymentIntent as checkout needs it. */
export interface PaymentResult {
  paymentIntentId: string;
  status: string;
  amountReceived: bigint;
}

export type PaymentOutcome =
  | { ok: true; payment: PaymentResult }
  | { ok: false; paymentIntentId: string | null; code: string; message: string };

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

/**
 * Stripe through the official package, one client per secret key. Every call carries a Stripe idempotency key
 * derived from the order, so two Loupe processes paying the same order make one PaymentIntent and one capture.
 */
export function createStripeGateway(apiUrl: string | undefined) {
  const options = clientOptions(apiUrl);
  const clients = new Map<string, Stripe>();
  const client = (secretKey: string): Stripe => {
    let c = clients.get(secretKey);
    if (!c) {
      c = new Stripe(secretKey, options);
      clients.set(secretKey, c);
    }
    return c;
  };
  // Signature checks need no key: any client's `webhooks` verifies with the endpoint secret given.
  const verifier = new Stripe('sk_test_verifier', options);

  return {
    /**
     * Authorizes `amount` on `paymentMethod` (manual capture) and captures it. A decline is a value
     * (`ok: false`, Stripe's code and message); other Stripe errors throw.
     */
    async pay(
      secretKey: string,
      input: { orderId: string; amount: bigint; currency: string; paymentMethod: string; metadata: Record<string, string> },
    ): Promise<PaymentOutcome> {
      const stripe = client(secretKey);
      let pi: Stripe.PaymentIntent;
      try {
        pi = await stripe.paymentIntents.create(
          {
            amount: Number(input.amount),
            currency: input.currency.toLowerCase(),
            capture_method: 'manual',
            payment_method: input.paymentMethod,
            confirm: true,
            metadata: input.metadata,
          },
          { idempotencyKey: `loupe:${input.orderId}:authorize` },
        );
      } catch (err) {
        if (err instanceof Stripe.errors.StripeCardError)
          return {
            ok: false,
            paymentIntentId: (err.raw as { payment_intent?: { id?: string } }).payment_intent?.id ?? null,
            code: err.code ?? 'card_declined',
            message: err.message,
          };
        throw err;
      }
      if (pi.status === 'requires_capture')
        pi = await stripe.paymentIntents.capture(pi.id, {}, { idempotencyKey: `loupe:${input.orderId}:capture` });
      if (pi.status !== 'succeeded')
        return { ok: false, paymentIntentId: pi.id, code: 'payment_incomplete', message: `The payment is ${pi.status}.` };
      return { ok: true, payment: { paymentIntentId: pi.id, status: pi.status, amountReceived: BigInt(pi.amount_received) } };
    },

    async refund(
      secretKey: string,
      input: { paymentIntentId: string; amount: bigint; idempotencyKey: string },
    ): Promise<{ refundId: string }> {
      const r = await client(secretKey).refunds.create(
        { payment_intent: input.paymentIntentId, amount: Number(input.amount) },
        { idempotencyKey: `loupe:${input.idempotencyKey}` },
      );
      return { refundId: r.id };
    },

    /** The verified event, or null when the signature (or its timestamp, 5 minutes' tolerance) does not check. */
    verifyWebhook(payload: Buffer, signature: string, secret: string): Stripe.Event | null {
      try {
        return verifier.webhooks.constructEvent(payload, signature, secret);
      } catch {
        return null;
      }
    },
  };
}
export type StripeGateway = ReturnType<typeof createStripeGateway>;
