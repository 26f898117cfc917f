import { pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Seed 004's Google account link of a tenant (one per tenant). */
export const googleOauthAccounts = pgTable('google_oauth_accounts', {
  tenantId: uuid('tenant_id').primaryKey(),
  /** The Google account's subject or email, as the token endpoint's id_token or userinfo gave it (may be null). */
  googleAccount: text('google_account'),
  scopes: text('scopes').notNull(),
  /** 'linked' | 'consent_revoked' (Google answered invalid_grant: the merchant must link again) */
  status: text('status').notNull(),
  linkedAt: timestamp('linked_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The tenant's OAuth tokens, sealed (platform secret box) with the tenant id as associated data. */
export const googleOauthTokens = pgTable('google_oauth_tokens', {
  tenantId: uuid('tenant_id').primaryKey(),
  accessTokenSealed: text('access_token_sealed').notNull(),
  refreshTokenSealed: text('refresh_token_sealed'),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Pending authorization requests: state (hashed) and the PKCE verifier (sealed); single use, short-lived. */
export const googleOauthStates = pgTable(
  'google_oauth_states',
  {
    tenantId: uuid('tenant_id').notNull(),
    stateHash: text('state_hash').notNull(),
    codeVerifierSealed: text('code_verifier_sealed').notNull(),
    redirectUri: text('redirect_uri').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.stateHash] })],
);

/** The Merchant Center account and data source the tenant's feed goes to. */
export const googleMerchantLinks = pgTable('google_merchant_links', {
  tenantId: uuid('tenant_id').primaryKey(),
  merchantId: text('merchant_id').notNull(),
  dataSourceId: text('data_source_id').notNull(),
  feedLabel: text('feed_label').notNull(),
  contentLanguage: text('content_language').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
