import { sql } from 'drizzle-orm';
import { type Q, type SecretBox, queryOne, queryRows, resealColumn } from '../../platform/index.ts';

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
  /** Bumped by every change of the settings or of the tenant's promotions (0 before the first). */
  rulesVersion: bigint;
}

export const DEFAULT_SETTINGS: SettingsRow = {
  taxRateBp: 0,
  taxInclusive: false,
  shippingOptions: [],
  stripeSecretKey: null,
  stripeWebhookSecret: null,
  reservationTtlSeconds: 900,
  rulesVersion: 0n,
};

/** The statement that bumps the tenant's rules version (creating its settings row, at the defaults, when it has none). */
export const bumpRulesVersion = (tenantId: string) =>
  sql`INSERT INTO commerce_settings (tenant_id, rules_version, updated_at) VALUES (${tenantId}, 1, now())
      ON CONFLICT (tenant_id) DO UPDATE SET rules_version = commerce_settings.rules_version + 1`;

type RawOption = { id: string; name: string; amount_minor: string; currency: string };

export function createSettingsRepository() {
  return {
    /**
     * Seals the stored Stripe keys not sealed with the current key (a key rotation), across tenants (a start-up
     * step); `context` is the one the keys were sealed with. Compare-and-set per value: a settings change wins.
     */
    async resealAll(
      q: Q,
      secrets: SecretBox,
      context: (tenantId: string, which: 'secret' | 'webhook') => string,
    ): Promise<{ resealed: number; unreadable: number }> {
      const a = await resealColumn(q, secrets, {
        table: 'commerce_settings',
        column: 'stripe_secret_key',
        context: (t) => context(t, 'secret'),
      });
      const b = await resealColumn(q, secrets, {
        table: 'commerce_settings',
        column: 'stripe_webhook_secret',
        context: (t) => context(t, 'webhook'),
      });
      return { resealed: a.resealed + b.resealed, unreadable: a.unreadable + b.unreadable };
    },

    async get(q: Q, tenantId: string): Promise<SettingsRow> {
      const row = await queryOne<
        Omit<SettingsRow, 'shippingOptions' | 'rulesVersion'> & { shippingOptions: RawOption[]; rulesVersion: string }
      >(
        q,
        sql`SELECT tax_rate_bp AS "taxRateBp", tax_inclusive AS "taxInclusive", shipping_options AS "shippingOptions",
                   stripe_secret_key AS "stripeSecretKey", stripe_webhook_secret AS "stripeWebhookSecret",
                   reservation_ttl_seconds AS "reservationTtlSeconds", rules_version::text AS "rulesVersion"
            FROM commerce_settings WHERE tenant_id = ${tenantId}`,
      );
      if (!row) return DEFAULT_SETTINGS;
      return {
        ...row,
        rulesVersion: BigInt(row.rulesVersion),
        shippingOptions: row.shippingOptions.map((o) => ({
          id: o.id,
          name: o.name,
          amountMinor: BigInt(o.amount_minor),
          currency: o.currency,
        })),
      };
    },

    /** Stores the settings and bumps the rules version (cached copies elsewhere see the change on their next cart read). */
    async put(q: Q, tenantId: string, s: Omit<SettingsRow, 'rulesVersion'>): Promise<void> {
      const options = JSON.stringify(
        s.shippingOptions.map((o) => ({ id: o.id, name: o.name, amount_minor: o.amountMinor.toString(), currency: o.currency })),
      );
      await queryRows(
        q,
        sql`INSERT INTO commerce_settings (tenant_id, tax_rate_bp, tax_inclusive, shipping_options, stripe_secret_key, stripe_webhook_secret, reservation_ttl_seconds, rules_version, updated_at)
            VALUES (${tenantId}, ${s.taxRateBp}, ${s.taxInclusive}, ${options}::jsonb, ${s.stripeSecretKey}, ${s.stripeWebhookSecret}, ${s.reservationTtlSeconds}, 1, now())
            ON CONFLICT (tenant_id) DO UPDATE SET tax_rate_bp = EXCLUDED.tax_rate_bp, tax_inclusive = EXCLUDED.tax_inclusive,
              shipping_options = EXCLUDED.shipping_options, stripe_secret_key = EXCLUDED.stripe_secret_key,
              stripe_webhook_secret = EXCLUDED.stripe_webhook_secret,
              reservation_ttl_seconds = EXCLUDED.reservation_ttl_seconds, rules_version = commerce_settings.rules_version + 1, updated_at = now()`,
      );
    },
  };
}
export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
