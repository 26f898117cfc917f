import { sql } from 'drizzle-orm';
import { type Q, queryOne } from '../../platform/index.ts';

export interface ShippingOption {
  id: string;
  name: string;
  amountMinor: bigint;
  currency: string;
}

/** Stored checkout settings; the Stripe keys are sealed (platform SecretBox), never stored in clear. */
export interface SettingsRow {
  taxRateBp: number;
  taxInclusive: boolean;
  shippingOptions: ShippingOption[];
  stripeSecretKey: string | null;
  stripeWebhookSecret: string | null;
  /** How long a checkout start holds the cart's units, in seconds (also the most a storefront may ask for). */
  reservationTtlSeconds: number;
}

export const DEFAULT_SETTINGS: SettingsRow = {
  taxRateBp: 0,
  taxInclusive: false,
  shippingOptions: [],
  stripeSecretKey: null,
  stripeWebhookSecret: null,
  reservationTtlSeconds: 900,
};

type RawOption = { id: string; name: string; amount_minor: string; currency: string };

export function createSettingsRepository() {
  return {
    async get(q: Q, tenantId: string): Promise<SettingsRow> {
      const row = await queryOne<Omit<SettingsRow, 'shippingOptions'> & { shippingOptions: RawOption[] }>(
        q,
        sql`SELECT tax_rate_bp AS "taxRateBp", tax_inclusive AS "taxInclusive", shipping_options AS "shippingOptions",
                   stripe_secret_key AS "stripeSecretKey", stripe_webhook_secret AS "stripeWebhookSecret",
                   reservation_ttl_seconds AS "reservationTtlSeconds"
            FROM commerce_settings WHERE tenant_id = ${tenantId}`,
      );
      if (!row) return DEFAULT_SETTINGS;
      return {
        ...row,
        shippingOptions: row.shippingOptions.map((o) => ({
          id: o.id,
          name: o.name,
          amountMinor: BigInt(o.amount_minor),
          currency: o.currency,
        })),
      };
    },

    async put(q: Q, tenantId: string, s: SettingsRow): Promise<void> {
      const options = JSON.stringify(
        s.shippingOptions.map((o) => ({ id: o.id, name: o.name, amount_minor: o.amountMinor.toString(), currency: o.currency })),
      );
      await q.execute(
        sql`INSERT INTO commerce_settings (tenant_id, tax_rate_bp, tax_inclusive, shipping_options, stripe_secret_key, stripe_webhook_secret, reservation_ttl_seconds, updated_at)
            VALUES (${tenantId}, ${s.taxRateBp}, ${s.taxInclusive}, ${options}::jsonb, ${s.stripeSecretKey}, ${s.stripeWebhookSecret}, ${s.reservationTtlSeconds}, now())
            ON CONFLICT (tenant_id) DO UPDATE SET tax_rate_bp = EXCLUDED.tax_rate_bp, tax_inclusive = EXCLUDED.tax_inclusive,
              shipping_options = EXCLUDED.shipping_options, stripe_secret_key = EXCLUDED.stripe_secret_key,
              stripe_webhook_secret = EXCLUDED.stripe_webhook_secret,
              reservation_ttl_seconds = EXCLUDED.reservation_ttl_seconds, updated_at = now()`,
      );
    },
  };
}
export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
