import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Tenants, users, memberships and sessions are global (Citus reference or coordinator-local tables: docs/citus.md);
 * API keys are tenant-owned.
 */
export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    status: text('status').notNull().default('active'), // active | suspended
    settings: jsonb('settings').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('tenants_slug_key').on(t.slug)],
);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey(),
    email: text('email').notNull(), // normalized: trimmed, lower case
    name: text('name'),
    passwordHash: text('password_hash').notNull(),
    isPlatformAdmin: boolean('is_platform_admin').notNull().default(false),
    status: text('status').notNull().default('active'), // active | disabled
    failedLoginCount: integer('failed_login_count').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
    // The tenant the user acts in by default: their own choice only (never set by an inviter).
    defaultTenantId: uuid('default_tenant_id'),
    // Two-factor sign-in (TOTP, RFC 6238): the secret sealed with the platform's secret box; enabled once a
    // first code confirmed it. The last time step used, so a code cannot be replayed within its window.
    totpSecret: text('totp_secret'),
    totpEnabledAt: timestamp('totp_enabled_at', { withTimezone: true }),
    totpLastStep: integer('totp_last_step'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_email_key').on(t.email)],
);

export const memberships = pgTable(
  'memberships',
  {
    tenantId: uuid('tenant_id').notNull(),
    userId: uuid('user_id').notNull(),
    role: text('role').notNull(), // owner | admin | analyst | viewer
    // invited: an existing account added by a tenant admin; no access until the user accepts.
    status: text('status').notNull().default('active'), // active | invited
    invitedBy: uuid('invited_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

/**
 * Failed sign-ins per account AND source (client address): a guesser locks out only itself, never the
 * owner signing in from elsewhere. Keyed by the e-mail's hash so unknown e-mails behave exactly like
 * known ones (no account enumeration through lockout).
 */
export const loginThrottle = pgTable(
  'login_throttle',
  {
    subjectHash: text('subject_hash').notNull(),
    source: text('source').notNull(),
    failedCount: integer('failed_count').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.subjectHash, t.source] }), index('login_throttle_updated_idx').on(t.updatedAt)],
);

/** One row per sign-in: a refresh-token family. Revoking it ends every token of the family. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    tenantId: uuid('tenant_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
    // Set when the session began with single sign-on through this tenant's provider (a tenant requiring SSO
    // admits its members only through such a session).
    ssoTenantId: uuid('sso_tenant_id'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey(),
    sessionId: uuid('session_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('refresh_tokens_hash_key').on(t.tokenHash), index('refresh_tokens_session_idx').on(t.sessionId)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    name: text('name').notNull(),
    keyPrefix: text('key_prefix').notNull(),
    // sha-256 of the whole secret. Not unique-indexed: 256 random bits do not collide, and a unique index
    // without tenant_id would block distribution by tenant.
    keyHash: text('key_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    // 'secret' (sk_live_, server side only) or 'publishable' (pk_live_, safe in a web page: collection and serving only).
    kind: text('kind').notNull().default('secret'),
    // Publishable keys: the exact origins (scheme://host[:port]) that may use the key from a browser.
    allowedOrigins: text('allowed_origins').array().notNull().default(sql`'{}'::text[]`),
    // Publishable keys only: the key itself, public by design (it sits in the store's pages), so the dashboard
    // can show the install snippet at any time. Secret keys are never stored in clear.
    publishableKey: text('publishable_key'),
    // Requests a minute this key may make (null: the tenant's limits only).
    rateLimitPerMinute: integer('rate_limit_per_minute'),
    createdBy: uuid('created_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('api_keys_hash_idx').on(t.keyHash),
    index('api_keys_active_idx').on(t.tenantId).where(sql`revoked_at is null`),
  ],
);

/**
 * Invitations by e-mail link, for an address that may have no account yet: the link carries a single-use
 * token (only its sha-256 is stored) that expires; accepting creates the account (or signs in an existing
 * one) and the membership with the role. Withdrawn: revoked_at; answered: accepted_at.
 */
export const memberInvitations = pgTable(
  'member_invitations',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    email: text('email').notNull(), // normalized
    role: text('role').notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedBy: uuid('invited_by'),
    sentCount: integer('sent_count').notNull().default(1),
    lastSentAt: timestamp('last_sent_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    acceptedAt: timestamp('accepted_at', { withTimezone: true }),
    acceptedUserId: uuid('accepted_user_id'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('member_invitations_token_idx').on(t.tokenHash),
    // One open invitation per address and tenant: inviting again refreshes it (a new link) instead of adding one.
    uniqueIndex('member_invitations_open_key').on(t.tenantId, t.email).where(sql`accepted_at is null and revoked_at is null`),
  ],
);

/** Password reset tokens (global, like users): sha-256 of the token only, single use, one hour. */
export const passwordResets = pgTable(
  'password_resets',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('password_resets_token_key').on(t.tokenHash), index('password_resets_user_idx').on(t.userId, t.createdAt)],
);

/**
 * Sign-ups waiting for their e-mailed link (global, like users): the account and tenant are created only when the
 * link is followed. sha-256 of the token only, the chosen password already hashed, single use, one day.
 */
export const pendingRegistrations = pgTable(
  'pending_registrations',
  {
    id: uuid('id').primaryKey(),
    email: text('email').notNull(),
    name: text('name'),
    passwordHash: text('password_hash').notNull(),
    tenantName: text('tenant_name'),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('pending_registrations_token_key').on(t.tokenHash),
    index('pending_registrations_email_idx').on(t.email, t.createdAt),
  ],
);

/** Two-factor recovery codes: sha-256 of each, single use; replaced as a set when regenerated. */
export const userRecoveryCodes = pgTable(
  'user_recovery_codes',
  {
    userId: uuid('user_id').notNull(),
    codeHash: text('code_hash').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.codeHash] })],
);

/**
 * Single sign-on with OpenID Connect: a tenant's identity providers. The client secret is sealed with the
 * platform's secret box (bound to tenant and provider); `provisioning` is `jit` (a verified e-mail of an
 * allowed domain becomes a member with `default_role` at first sign-in) or `invite_only` (an open invitation
 * or membership is needed).
 */
export const ssoProviders = pgTable(
  'sso_providers',
  {
    tenantId: uuid('tenant_id').notNull(),
    id: uuid('id').notNull(),
    name: text('name').notNull(),
    issuer: text('issuer').notNull(),
    clientId: text('client_id').notNull(),
    clientSecret: text('client_secret').notNull(), // sealed: enc:v1:...
    allowedDomains: text('allowed_domains').array().notNull().default(sql`'{}'::text[]`),
    defaultRole: text('default_role').notNull().default('viewer'),
    provisioning: text('provisioning').notNull().default('invite_only'), // jit | invite_only
    enabled: boolean('enabled').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

/** An account's identity at a tenant's provider (the ID token's `sub`), linked by the account's consent. */
export const ssoIdentities = pgTable(
  'sso_identities',
  {
    tenantId: uuid('tenant_id').notNull(),
    providerId: uuid('provider_id').notNull(),
    subject: text('subject').notNull(),
    userId: uuid('user_id').notNull(),
    email: text('email').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.providerId, t.subject] }),
    // One identity per account and provider.
    uniqueIndex('sso_identities_user_key').on(t.tenantId, t.providerId, t.userId),
    index('sso_identities_user_idx').on(t.userId),
  ],
);

/**
 * Authorization requests in flight (state, nonce, PKCE verifier sealed), single use, ten minutes; bound to the
 * browser that started them by the hash of a key only that browser holds (no login CSRF).
 */
export const ssoLogins = pgTable(
  'sso_logins',
  {
    stateHash: text('state_hash').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    providerId: uuid('provider_id').notNull(),
    browserKeyHash: text('browser_key_hash').notNull(),
    nonce: text('nonce').notNull(),
    codeVerifier: text('code_verifier').notNull(), // sealed
    nextPath: text('next_path'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('sso_logins_expires_idx').on(t.expiresAt)],
);
