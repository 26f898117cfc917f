import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { LRUCache } from 'lru-cache';
import {
  type Q,
  type Actor,
  AppError,
  type Authenticator,
  type TenantRateLimits,
  type Role,
  type SecurityEventRepository,
  randomToken,
  sha256Hex,
  tenantRateLimitsOf,
} from '../../platform/index.ts';
import {
  ACCESS_TOKEN_SECONDS,
  REFRESH_TOKEN_SECONDS,
  API_KEY_PREFIX,
  PUBLISHABLE_KEY_PREFIX,
  isGraceReuse,
  isLocked,
  normalizeEmail,
  onLoginFailure,
} from './auth.core.ts';
import type { ApiKeyKind, TenancyRepository, UserRow } from './tenancy.repository.ts';
import type { TokenSigner } from './tokens.ts';

export interface ClientMeta {
  ip: string | null;
  userAgent: string | null;
}

export interface AuthServiceDeps {
  db: Q;
  repo: TenancyRepository;
  security: SecurityEventRepository;
  tokens: TokenSigner;
  clock: () => Date;
  sleep: (ms: number) => Promise<void>;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  sessionId: string;
}

// argon2id with the OWASP-recommended minimum (19 MiB, t=2, p=1): about 20 ms here.
const ARGON = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
export const hashPassword = (password: string): Promise<string> => argonHash(password, ARGON);

interface CachedKey {
  tenantId: string;
  id: string;
  scopes: string[];
  kind: ApiKeyKind;
  allowedOrigins: string[];
  rateLimitPerMinute: number | null;
  expiresAt: Date | null;
  revoked: boolean;
}

const invalidCredentials = () => new AppError('unauthenticated', 'INVALID_CREDENTIALS', 'The e-mail or password is incorrect.');

/**
 * Sign-in, token rotation, step-up, and the Authenticator the platform's access hook calls for every
 * request (access tokens and API keys).
 */
export function createAuthService(deps: AuthServiceDeps) {
  const { repo, security, tokens, clock, db } = deps;
  // A real hash to verify against when the e-mail is unknown, so both cases take the same time.
  const dummyHash = hashPassword(randomToken(24));
  // Access facts cached per process (lru-cache: bounded, least recently used dropped first, per-entry TTL).
  // `false` caches a miss (unknown key, tenant or membership) so a flood of bad credentials reads nothing.
  // `invalidate` drops an entry at once after a change made through this process (revocation, suspension).
  const apiKeyCache = new LRUCache<string, CachedKey | false>({ max: 10_000, ttl: 30_000 });
  const tenantCache = new LRUCache<
    string,
    { status: string; rateLimits: TenantRateLimits | undefined; requireTwoFactor: boolean; requireSso: boolean } | false
  >({
    max: 10_000,
    ttl: 5_000,
  });
  const roleCache = new LRUCache<string, Role | false>({ max: 10_000, ttl: 5_000 });
  const keyTouched = new LRUCache<string, true>({ max: 10_000, ttl: 60_000 });

  async function issue(user: UserRow, sessionId: string, authTime: number): Promise<IssuedTokens> {
    const now = clock();
    const accessToken = await tokens.sign(
      { sub: user.id, sid: sessionId, auth_time: authTime, adm: user.isPlatformAdmin },
      Math.floor(now.getTime() / 1000),
    );
    const refreshToken = `rt_${randomToken(48)}`;
    await repo.insertRefreshToken(db, sessionId, sha256Hex(refreshToken), new Date(now.getTime() + REFRESH_TOKEN_SECONDS * 1000));
    return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_SECONDS, sessionId };
  }

  /**
   * Counts a failed password for (account, source), locks the pair at MAX_FAILED_LOGINS, records the
   * security event (an `account_locked` event is the alert), and holds the answer for the back-off delay.
   */
  async function countFailure(
    subjectHash: string,
    source: string,
    userId: string | null,
    meta: ClientMeta,
    now: Date,
    details: Record<string, unknown>,
  ): Promise<{ locked: boolean }> {
    const failures = await repo.countThrottleFailure(db, subjectHash, source);
    const o = onLoginFailure(failures - 1, now);
    if (o.lockedUntil) await repo.lockThrottle(db, subjectHash, source, o.lockedUntil);
    await security.record({
      type: o.lockedUntil ? 'account_locked' : 'login_failed',
      userId,
      subjectHash,
      ...meta,
      details: { failures, ...(o.lockedUntil ? { scope: 'account_and_source', alert: true } : {}), ...details },
    });
    if (o.delayMs) await deps.sleep(o.delayMs);
    return { locked: !!o.lockedUntil };
  }

  async function verifyPasswordOf(user: UserRow | undefined, password: string): Promise<boolean> {
    if (!user) {
      await argonVerify(await dummyHash, password).catch(() => false);
      return false;
    }
    return argonVerify(user.passwordHash, password).catch(() => false);
  }

  /** `ssoTenantId`: the tenant whose identity provider signed the user in (its members then act there; others' tenants first). */
  async function startSession(user: UserRow, meta: ClientMeta, subjectHash: string, ssoTenantId: string | null = null) {
    const now = clock();
    await repo.recordLoginSuccess(db, user.id);
    const tenantId =
      ssoTenantId && (await repo.getRole(db, ssoTenantId, user.id)) ? ssoTenantId : ((await repo.firstTenantOf(db, user.id)) ?? null);
    const sessionId = await repo.insertSession(db, {
      userId: user.id,
      tenantId,
      ssoTenantId,
      ...meta,
      expiresAt: new Date(now.getTime() + REFRESH_TOKEN_SECONDS * 1000),
    });
    await security.record({
      type: 'login_succeeded',
      userId: user.id,
      subjectHash,
      ...meta,
      ...(ssoTenantId ? { details: { method: 'sso', tenant_id: ssoTenantId } } : {}),
    });
    const issued = await issue(user, sessionId, Math.floor(now.getTime() / 1000));
    const role = tenantId ? ((await repo.getRole(db, tenantId, user.id)) ?? null) : null;
    return { ...issued, user, tenantId, role };
  }

  const authenticator: Authenticator = {
    async authenticate(credential: string): Promise<Actor> {
      if (credential.startsWith(API_KEY_PREFIX) || credential.startsWith(PUBLISHABLE_KEY_PREFIX)) {
        const keyHash = sha256Hex(credential);
        let key = apiKeyCache.get(keyHash);
        if (key === undefined) {
          const row = await repo.findApiKeyByHash(db, keyHash);
          key = row
            ? {
                tenantId: row.tenantId,
                id: row.id,
                scopes: row.scopes,
                kind: row.kind,
                allowedOrigins: row.allowedOrigins,
                rateLimitPerMinute: row.rateLimitPerMinute,
                expiresAt: row.expiresAt,
                revoked: !!row.revokedAt,
              }
            : false;
          apiKeyCache.set(keyHash, key);
        }
        if (!key) throw new AppError('unauthenticated', 'API_KEY_INVALID', 'The API key is not valid.');
        if (key.revoked)
          throw new AppError(
            'unauthenticated',
            'API_KEY_REVOKED',
            'This API key has been revoked. Create a new one in Settings → API keys.',
          );
        if (key.expiresAt && key.expiresAt.getTime() <= clock().getTime()) {
          throw new AppError('unauthenticated', 'API_KEY_EXPIRED', 'This API key has expired. Create a new one in Settings → API keys.');
        }
        if (!keyTouched.get(key.id)) {
          keyTouched.set(key.id, true);
          void repo.touchApiKey(db, key.tenantId, key.id).catch(() => undefined); // last-used time, at most once a minute
        }
        return {
          type: 'api_key',
          id: key.id,
          tenantId: key.tenantId,
          scopes: key.scopes,
          kind: key.kind,
          allowedOrigins: key.allowedOrigins,
          rateLimitPerMinute: key.rateLimitPerMinute,
        };
      }
      const claims = await tokens.verify(credential);
      const s = await repo.getSessionWithUser(db, claims.sid);
      if (!s || s.userId !== claims.sub || s.revokedAt || s.expiresAt.getTime() <= clock().getTime()) {
        throw new AppError('unauthenticated', 'SESSION_ENDED', 'This session has ended. Sign in again.');
      }
      if (s.userStatus !== 'active') throw new AppError('unauthenticated', 'USER_DISABLED', 'This account is disabled.');
      return {
        type: 'user',
        id: claims.sub,
        isPlatformAdmin: s.isPlatformAdmin,
        authTime: claims.auth_time,
        sessionId: claims.sid,
        twoFactor: s.twoFactor,
        ssoTenantId: s.ssoTenantId,
      };
    },
    async membershipRole(userId, tenantId) {
      const k = `${userId}:${tenantId}`;
      let role = roleCache.get(k);
      if (role === undefined) {
        role = (await repo.getRole(db, tenantId, userId)) ?? false;
        roleCache.set(k, role);
      }
      return role || undefined;
    },
    defaultTenant: (userId) => repo.firstTenantOf(db, userId),
    async tenantInfo(tenantId) {
      let info = tenantCache.get(tenantId);
      if (info === undefined) {
        const t = await repo.getTenant(db, tenantId);
        info = t
          ? {
              status: t.status,
              rateLimits: tenantRateLimitsOf(t.settings),
              requireTwoFactor: t.settings.require_2fa === true,
              requireSso: t.settings.require_sso === true,
            }
          : false;
        tenantCache.set(tenantId, info);
      }
      return info || undefined;
    },
  };

  return {
    authenticator,
    /** Drops cached access facts after a change (revoked key, suspended tenant, changed role). */
    invalidate(what: { apiKeyHash?: string; tenantId?: string; membership?: { userId: string; tenantId: string } }): void {
      if (what.apiKeyHash) apiKeyCache.delete(what.apiKeyHash);
      if (what.tenantId) tenantCache.delete(what.tenantId);
      if (what.membership) roleCache.delete(`${what.membership.userId}:${what.membership.tenantId}`);
    },

    /**
     * Checks an existing account's password outside sign-in (accepting an invitation) under the sign-in
     * throttle of (account, source): refused with ACCOUNT_LOCKED while that pair is locked, a wrong password
     * counted like a failed sign-in (five lock the pair), a right one clears the count. `during` names the flow
     * in the security event.
     */
    async checkPassword(user: UserRow, password: string, meta: ClientMeta, during: string): Promise<boolean> {
      const subjectHash = sha256Hex(normalizeEmail(user.email));
      const source = sourceOf(meta);
      const now = clock();
      const throttle = await repo.getThrottle(db, subjectHash, source);
      if (throttle && isLocked(throttle.lockedUntil, now)) {
        await security.record({ type: 'login_locked', userId: user.id, subjectHash, ...meta, details: { during } });
        throw lockedError(throttle.lockedUntil!, now);
      }
      if (!(await verifyPasswordOf(user, password)) || user.status !== 'active') {
        await countFailure(subjectHash, source, user.id, meta, now, { during });
        return false;
      }
      if (throttle) await repo.clearThrottle(db, subjectHash, source);
      return true;
    },

    /**
     * Password sign-in. Failures are counted per account AND source (client address): five wrong
     * passwords lock that pair only, so a guesser elsewhere cannot lock the owner out. Known and unknown
     * e-mails take the same path (a dummy argon2 verify, the same counting, delays and lockout), so
     * neither the answer nor its timing tells whether an account exists.
     */
    async login(emailIn: string, password: string, meta: ClientMeta) {
      const email = normalizeEmail(emailIn);
      const subjectHash = sha256Hex(email);
      const source = sourceOf(meta);
      const now = clock();
      const user = await repo.getUserByEmail(db, email);
      const throttle = await repo.getThrottle(db, subjectHash, source);
      if (throttle && isLocked(throttle.lockedUntil, now)) {
        await security.record({ type: 'login_locked', userId: user?.id ?? null, subjectHash, ...meta });
        throw lockedError(throttle.lockedUntil!, now);
      }
      const ok = await verifyPasswordOf(user, password);
      if (!ok || !user || user.status !== 'active') {
        await countFailure(subjectHash, source, user?.id ?? null, meta, now, user ? {} : { reason: 'unknown_email' });
        throw invalidCredentials();
      }
      if (throttle) await repo.clearThrottle(db, subjectHash, source);
      // Two-factor sign-in: the right password earns a short-lived step token, not a session.
      if (user.totpEnabledAt) {
        await security.record({ type: 'login_password_ok', userId: user.id, subjectHash, ...meta });
        return { mfaToken: await tokens.signMfa(user.id, Math.floor(now.getTime() / 1000)), user };
      }
      return startSession(user, meta, subjectHash);
    },

    /** Completes a two-factor sign-in: the step token of a right password, after the second factor was checked. */
    async completeMfa(mfaToken: string, checkSecondFactor: (userId: string) => Promise<void>, meta: ClientMeta) {
      const { userId, ssoTenantId } = await tokens.verifyMfa(mfaToken);
      const user = await repo.getUser(db, userId);
      if (!user || user.status !== 'active') throw invalidCredentials();
      await checkSecondFactor(user.id);
      return startSession(user, meta, sha256Hex(user.email), ssoTenantId);
    },

    /** Starts the first session of an account created just now from its verified sign-up link (no second factor yet). */
    signInVerified: (user: UserRow, meta: ClientMeta) => startSession(user, meta, sha256Hex(user.email)),

    /**
     * Signs in an account whose identity a tenant's provider vouched for (single sign-on). The account's own
     * second factor still applies: with TOTP on, the answer is the step token (as after a right password), and
     * the session starts after the code.
     */
    async signInWithSso(user: UserRow, ssoTenantId: string, meta: ClientMeta) {
      if (user.status !== 'active') throw new AppError('unauthenticated', 'USER_DISABLED', 'This account is disabled.');
      const now = clock();
      if (user.totpEnabledAt) {
        await security.record({
          type: 'login_sso_ok',
          userId: user.id,
          subjectHash: sha256Hex(user.email),
          ...meta,
          details: { tenant_id: ssoTenantId },
        });
        return { mfaToken: await tokens.signMfa(user.id, Math.floor(now.getTime() / 1000), ssoTenantId), user };
      }
      return startSession(user, meta, sha256Hex(user.email), ssoTenantId);
    },

    /**
     * Rotates a refresh token. A token presented twice means it leaked (or a client raced itself): the
     * whole family (session) is revoked and every token of it stops working, except for the race the
     * grace window allows (the immediately previous token, again within REFRESH_REUSE_GRACE_SECONDS of
     * its first use), which gets a fresh valid pair of the same family.
     */
    async refresh(refreshToken: string, meta: ClientMeta) {
      const state = refreshToken.startsWith('rt_') ? await repo.useRefreshToken(db, sha256Hex(refreshToken), clock()) : undefined;
      if (!state) throw new AppError('unauthenticated', 'REFRESH_TOKEN_INVALID', 'The refresh token is not valid. Sign in again.');
      const session = await repo.getSession(db, state.sessionId);
      if (!state.firstUse && !isGraceReuse(state.usedAt, state.newerUsed, clock())) {
        await repo.revokeSession(db, state.sessionId, 'refresh_token_reuse');
        await security.record({
          type: 'refresh_reuse_detected',
          userId: session?.userId ?? null,
          subjectHash: null,
          ...meta,
          details: { session_id: state.sessionId },
        });
        throw new AppError(
          'unauthenticated',
          'REFRESH_TOKEN_REUSED',
          'This refresh token was already used; the session has been ended for safety. Sign in again.',
        );
      }
      const now = clock();
      if (!session || session.revokedAt || session.expiresAt.getTime() <= now.getTime() || state.expiresAt.getTime() <= now.getTime()) {
        throw new AppError('unauthenticated', 'SESSION_ENDED', 'This session has ended. Sign in again.');
      }
      const user = await repo.getUser(db, session.userId);
      if (!user || user.status !== 'active') throw new AppError('unauthenticated', 'USER_DISABLED', 'This account is disabled.');
      await repo.touchSession(db, session.id);
      // Keep the original auth_time: only a password (login or step-up) makes a session elevated.
      const authTime = Math.floor(session.createdAt.getTime() / 1000);
      return { ...(await issue(user, session.id, authTime)), user };
    },

    async logout(sessionId: string, meta: ClientMeta, userId: string) {
      await repo.revokeSession(db, sessionId, 'logout');
      await security.record({ type: 'logout', userId, subjectHash: null, ...meta });
    },

    /** An access token whose auth_time is now (elevated for a few minutes), after a second factor was checked. */
    async elevate(userId: string, sessionId: string) {
      const user = await repo.getUser(db, userId);
      if (!user) throw invalidCredentials();
      const authTime = Math.floor(clock().getTime() / 1000);
      const accessToken = await tokens.sign({ sub: user.id, sid: sessionId, auth_time: authTime, adm: user.isPlatformAdmin }, authTime);
      return { accessToken, expiresIn: ACCESS_TOKEN_SECONDS, authTime };
    },

    /** Re-checks the password and issues an access token whose auth_time is now (elevated for a few minutes). */
    async stepUp(userId: string, sessionId: string, password: string, meta: ClientMeta) {
      const user = await repo.getUser(db, userId);
      const subjectHash = sha256Hex(user?.email ?? userId);
      const source = sourceOf(meta);
      const now = clock();
      const throttle = await repo.getThrottle(db, subjectHash, source);
      if (throttle && isLocked(throttle.lockedUntil, now)) throw lockedError(throttle.lockedUntil!, now);
      const ok = await verifyPasswordOf(user, password);
      if (!ok || !user) {
        await security.record({ type: 'step_up_failed', userId, subjectHash: null, ...meta });
        const { locked } = await countFailure(subjectHash, source, user?.id ?? null, meta, now, { during: 'step_up' });
        if (locked) await repo.revokeSession(db, sessionId, 'step_up_lockout');
        throw new AppError('unauthenticated', 'INVALID_CREDENTIALS', 'The password is incorrect.');
      }
      if (throttle) await repo.clearThrottle(db, subjectHash, source);
      await security.record({ type: 'step_up_succeeded', userId, subjectHash: null, ...meta });
      const authTime = Math.floor(clock().getTime() / 1000);
      const accessToken = await tokens.sign({ sub: user.id, sid: sessionId, auth_time: authTime, adm: user.isPlatformAdmin }, authTime);
      return { accessToken, expiresIn: ACCESS_TOKEN_SECONDS, authTime };
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;

/** The source a failed password is counted against: the client address (behind a proxy, per LOUPE_TRUST_PROXY). */
const sourceOf = (meta: ClientMeta): string => meta.ip ?? 'unknown';

function lockedError(until: Date, now: Date): AppError {
  const retry = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new AppError(
    'locked',
    'ACCOUNT_LOCKED',
    `Too many failed sign-ins from this address. Sign-in from here is paused for ${Math.ceil(retry / 60)} more minute(s).`,
    { retryAfterSeconds: retry },
  );
}
