import { sql } from 'drizzle-orm';
import type { Role } from '../../platform/index.ts';
import { type Q, newId, queryOne, queryRows } from '../../platform/index.ts';

export interface TenantRow {
  id: string;
  name: string;
  slug: string;
  status: string;
  settings: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}
export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  passwordHash: string;
  isPlatformAdmin: boolean;
  status: string;
  failedLoginCount: number;
  lockedUntil: Date | null;
  lastLoginAt: Date | null;
  defaultTenantId: string | null;
  /** Set when two-factor sign-in (TOTP) is on. */
  totpEnabledAt: Date | null;
  createdAt: Date;
}
export interface SessionRow {
  id: string;
  userId: string;
  tenantId: string | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}
export type ApiKeyKind = 'secret' | 'publishable';
export interface ApiKeyRow {
  tenantId: string;
  id: string;
  name: string;
  keyPrefix: string;
  keyHash: string;
  scopes: string[];
  kind: ApiKeyKind;
  publishableKey: string | null;
  allowedOrigins: string[];
  rateLimitPerMinute: number | null;
  createdBy: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
/** A key with who created it, for the key list (null when created by a platform process or a deleted user). */
export interface ApiKeyListRow extends ApiKeyRow {
  creatorEmail: string | null;
  creatorName: string | null;
}
export interface InvitationRow {
  tenantId: string;
  tenantName: string;
  tenantSlug: string;
  role: Role;
  invitedByEmail: string | null;
  createdAt: Date;
}

const TENANT = sql`id, name, slug, status, settings, created_at AS "createdAt", updated_at AS "updatedAt"`;
const USER = sql`id, email, name, password_hash AS "passwordHash", is_platform_admin AS "isPlatformAdmin", status,
  failed_login_count AS "failedLoginCount", locked_until AS "lockedUntil", last_login_at AS "lastLoginAt",
  default_tenant_id AS "defaultTenantId", totp_enabled_at AS "totpEnabledAt", created_at AS "createdAt"`;
const KEY = sql`tenant_id AS "tenantId", id, name, key_prefix AS "keyPrefix", key_hash AS "keyHash", scopes, created_by AS "createdBy",
  kind, publishable_key AS "publishableKey", allowed_origins AS "allowedOrigins", rate_limit_per_minute AS "rateLimitPerMinute",
  created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt", revoked_at AS "revokedAt"`;
const KEY_K = sql`k.tenant_id AS "tenantId", k.id, k.name, k.key_prefix AS "keyPrefix", k.key_hash AS "keyHash", k.scopes, k.created_by AS "createdBy",
  k.kind, k.publishable_key AS "publishableKey", k.allowed_origins AS "allowedOrigins", k.rate_limit_per_minute AS "rateLimitPerMinute",
  k.created_at AS "createdAt", k.last_used_at AS "lastUsedAt", k.expires_at AS "expiresAt", k.revoked_at AS "revokedAt"`;

/** All SQL of the tenancy module. Tenant-owned queries always filter on tenant_id. */
export function createTenancyRepository() {
  return {
    // ---- tenants (platform scope) ----
    async insertTenant(q: Q, t: { name: string; slug: string; settings: Record<string, unknown> }): Promise<TenantRow | undefined> {
      // ON CONFLICT DO NOTHING: a taken slug is an expected outcome (409), not an exception.
      return queryOne<TenantRow>(
        q,
        sql`INSERT INTO tenants (id, name, slug, settings) VALUES (${newId()}, ${t.name}, ${t.slug}, ${JSON.stringify(t.settings)}::jsonb)
            ON CONFLICT (slug) DO NOTHING RETURNING ${TENANT}`,
      );
    },
    getTenant: (q: Q, id: string) => queryOne<TenantRow>(q, sql`SELECT ${TENANT} FROM tenants WHERE id = ${id}`),
    getTenantBySlug: (q: Q, slug: string) => queryOne<TenantRow>(q, sql`SELECT ${TENANT} FROM tenants WHERE slug = ${slug}`),
    listTenants: (qr: Q, f: { status?: string | undefined; q?: string | undefined; cursor?: string | undefined; limit: number }) => {
      const conds = [sql`true`];
      if (f.status) conds.push(sql`status = ${f.status}`);
      if (f.q)
        conds.push(
          sql`(name ILIKE ${'%' + f.q.replace(/[%_\\]/g, '\\$&') + '%'} OR slug ILIKE ${'%' + f.q.replace(/[%_\\]/g, '\\$&') + '%'})`,
        );
      if (f.cursor) conds.push(sql`id < ${f.cursor}`);
      return queryRows<TenantRow>(
        qr,
        sql`SELECT ${TENANT} FROM tenants WHERE ${sql.join(conds, sql` AND `)} ORDER BY id DESC LIMIT ${f.limit}`,
      );
    },
    async updateTenant(
      q: Q,
      id: string,
      patch: {
        name?: string | undefined;
        slug?: string | undefined;
        settings?: Record<string, unknown> | undefined;
        status?: string | undefined;
      },
    ) {
      return queryOne<TenantRow>(
        q,
        sql`UPDATE tenants SET name = coalesce(${patch.name ?? null}, name), slug = coalesce(${patch.slug ?? null}, slug),
               settings = CASE WHEN ${patch.settings ? JSON.stringify(patch.settings) : null}::jsonb IS NULL THEN settings
                               ELSE settings || ${patch.settings ? JSON.stringify(patch.settings) : null}::jsonb END,
               status = coalesce(${patch.status ?? null}, status), updated_at = now()
            WHERE id = ${id} RETURNING ${TENANT}`,
      );
    },
    slugTaken: async (q: Q, slug: string, exceptId?: string) =>
      !!(await queryOne(q, sql`SELECT 1 FROM tenants WHERE slug = ${slug} AND id IS DISTINCT FROM ${exceptId ?? null}::uuid`)),

    // ---- users ----
    async insertUser(
      q: Q,
      u: {
        email: string;
        name: string | null;
        passwordHash: string;
        isPlatformAdmin: boolean;
      },
    ): Promise<UserRow | undefined> {
      return queryOne<UserRow>(
        q,
        sql`INSERT INTO users (id, email, name, password_hash, is_platform_admin) VALUES (${newId()}, ${u.email}, ${u.name}, ${u.passwordHash}, ${u.isPlatformAdmin})
            ON CONFLICT (email) DO NOTHING RETURNING ${USER}`,
      );
    },
    getUser: (q: Q, id: string) => queryOne<UserRow>(q, sql`SELECT ${USER} FROM users WHERE id = ${id}`),
    getUserByEmail: (q: Q, email: string) => queryOne<UserRow>(q, sql`SELECT ${USER} FROM users WHERE email = ${email}`),
    countPlatformAdmins: async (q: Q) =>
      Number((await queryOne<{ n: string }>(q, sql`SELECT count(*)::text AS n FROM users WHERE is_platform_admin`))!.n),
    async recordLoginSuccess(q: Q, userId: string) {
      await q.execute(
        sql`UPDATE users SET failed_login_count = 0, locked_until = NULL, last_login_at = now(), updated_at = now() WHERE id = ${userId}`,
      );
    },

    // ---- memberships (tenant-owned) ----
    async upsertMembership(q: Q, tenantId: string, userId: string, role: Role) {
      await q.execute(sql`INSERT INTO memberships (tenant_id, user_id, role) VALUES (${tenantId}, ${userId}, ${role})
                           ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role`);
    },
    /**
     * Invites an existing account: the membership exists but grants nothing until the user accepts it.
     * An existing membership keeps its status (an active member just gets the new role). Returns the status.
     */
    async inviteMembership(q: Q, tenantId: string, userId: string, role: Role, invitedBy: string | null) {
      return (await queryOne<{ status: 'active' | 'invited' }>(
        q,
        sql`INSERT INTO memberships (tenant_id, user_id, role, status, invited_by) VALUES (${tenantId}, ${userId}, ${role}, 'invited', ${invitedBy})
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role RETURNING status`,
      ))!.status;
    },
    /** The role of an ACTIVE membership (an invitation not yet accepted grants nothing). */
    getRole: async (q: Q, tenantId: string, userId: string) =>
      (
        await queryOne<{ role: Role }>(
          q,
          sql`SELECT role FROM memberships WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND status = 'active'`,
        )
      )?.role,
    /** The tenant a user acts in by default: their own chosen default when still a member, else their first active tenant. */
    firstTenantOf: async (q: Q, userId: string) =>
      (
        await queryOne<{ tenantId: string }>(
          q,
          sql`SELECT m.tenant_id AS "tenantId" FROM memberships m JOIN tenants t ON t.id = m.tenant_id JOIN users u ON u.id = m.user_id
              WHERE m.user_id = ${userId} AND m.status = 'active'
              ORDER BY coalesce(m.tenant_id = u.default_tenant_id, false) DESC, (t.status = 'active') DESC, m.created_at LIMIT 1`,
        )
      )?.tenantId,
    tenantsOfUser: (q: Q, userId: string) =>
      queryRows<{ id: string; name: string; slug: string; status: string; role: Role }>(
        q,
        sql`SELECT t.id, t.name, t.slug, t.status, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.user_id = ${userId} AND m.status = 'active' ORDER BY m.created_at`,
      ),
    invitationsOf: (q: Q, userId: string) =>
      queryRows<InvitationRow>(
        q,
        sql`SELECT t.id AS "tenantId", t.name AS "tenantName", t.slug AS "tenantSlug", m.role, i.email AS "invitedByEmail", m.created_at AS "createdAt"
            FROM memberships m JOIN tenants t ON t.id = m.tenant_id LEFT JOIN users i ON i.id = m.invited_by
            WHERE m.user_id = ${userId} AND m.status = 'invited' ORDER BY m.created_at`,
      ),
    acceptInvitation: async (q: Q, tenantId: string, userId: string) =>
      (
        await queryOne<{ role: Role }>(
          q,
          sql`UPDATE memberships SET status = 'active' WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND status = 'invited' RETURNING role`,
        )
      )?.role,
    declineInvitation: async (q: Q, tenantId: string, userId: string) =>
      (
        await queryRows(
          q,
          sql`DELETE FROM memberships WHERE tenant_id = ${tenantId} AND user_id = ${userId} AND status = 'invited' RETURNING user_id`,
        )
      ).length > 0,
    async setDefaultTenant(q: Q, userId: string, tenantId: string | null) {
      await q.execute(sql`UPDATE users SET default_tenant_id = ${tenantId}, updated_at = now() WHERE id = ${userId}`);
    },
    membersOfTenant: (q: Q, tenantId: string) =>
      queryRows<{
        userId: string;
        email: string;
        name: string | null;
        role: Role;
        status: string;
        membershipStatus: 'active' | 'invited';
        createdAt: Date;
        lastLoginAt: Date | null;
      }>(
        q,
        // An invited account's last sign-in is not the inviter's business until the user accepts.
        sql`SELECT u.id AS "userId", u.email, u.name, m.role, u.status, m.status AS "membershipStatus", m.created_at AS "createdAt",
                   CASE WHEN m.status = 'active' THEN u.last_login_at END AS "lastLoginAt"
            FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = ${tenantId} ORDER BY m.created_at`,
      ),
    /** Any membership, invited or active (removing an invited one withdraws the invitation). */
    getMembership: (q: Q, tenantId: string, userId: string) =>
      queryOne<{ role: Role; status: 'active' | 'invited' }>(
        q,
        sql`SELECT role, status FROM memberships WHERE tenant_id = ${tenantId} AND user_id = ${userId}`,
      ),
    deleteMembership: async (q: Q, tenantId: string, userId: string) =>
      (await queryRows(q, sql`DELETE FROM memberships WHERE tenant_id = ${tenantId} AND user_id = ${userId} RETURNING user_id`)).length > 0,
    countOwners: async (q: Q, tenantId: string) =>
      Number(
        (await queryOne<{ n: string }>(
          q,
          sql`SELECT count(*)::text AS n FROM memberships WHERE tenant_id = ${tenantId} AND role = 'owner' AND status = 'active'`,
        ))!.n,
      ),

    // ---- sessions and refresh tokens ----
    async insertSession(
      q: Q,
      s: {
        userId: string;
        tenantId: string | null;
        ip: string | null;
        userAgent: string | null;
        expiresAt: Date;
        ssoTenantId?: string | null;
      },
    ): Promise<string> {
      const id = newId();
      await q.execute(sql`INSERT INTO sessions (id, user_id, tenant_id, ip, user_agent, expires_at, sso_tenant_id)
                           VALUES (${id}, ${s.userId}, ${s.tenantId}, ${s.ip}, ${s.userAgent}, ${s.expiresAt.toISOString()}, ${s.ssoTenantId ?? null})`);
      return id;
    },
    getSessionWithUser: (q: Q, sessionId: string) =>
      queryOne<{
        revokedAt: Date | null;
        expiresAt: Date;
        userStatus: string;
        isPlatformAdmin: boolean;
        userId: string;
        twoFactor: boolean;
        ssoTenantId: string | null;
      }>(
        q,
        sql`SELECT s.revoked_at AS "revokedAt", s.expires_at AS "expiresAt", u.status AS "userStatus", u.is_platform_admin AS "isPlatformAdmin", u.id AS "userId",
                   u.totp_enabled_at IS NOT NULL AS "twoFactor", s.sso_tenant_id AS "ssoTenantId"
            FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ${sessionId}`,
      ),
    getSession: (q: Q, sessionId: string) =>
      queryOne<SessionRow>(
        q,
        sql`SELECT id, user_id AS "userId", tenant_id AS "tenantId", created_at AS "createdAt", expires_at AS "expiresAt", revoked_at AS "revokedAt" FROM sessions WHERE id = ${sessionId}`,
      ),
    async revokeSession(q: Q, sessionId: string, reason: string) {
      await q.execute(
        sql`UPDATE sessions SET revoked_at = coalesce(revoked_at, now()), revoked_reason = coalesce(revoked_reason, ${reason}) WHERE id = ${sessionId}`,
      );
    },
    async insertRefreshToken(q: Q, sessionId: string, tokenHash: string, expiresAt: Date) {
      await q.execute(
        sql`INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at) VALUES (${newId()}, ${sessionId}, ${tokenHash}, ${expiresAt.toISOString()})`,
      );
    },
    /**
     * Marks a refresh token used, atomically: exactly one of two racing refreshes wins. Returns the token
     * state so the caller can tell "unknown" from "already used" (reuse: the family must be revoked unless
     * it is the grace-window race): for an already used token, when it was first used and whether a
     * later token of the same family has been used since.
     */
    async useRefreshToken(
      q: Q,
      tokenHash: string,
      now: Date,
    ): Promise<{ sessionId: string; firstUse: boolean; expiresAt: Date; usedAt: Date | null; newerUsed: boolean } | undefined> {
      const won = await queryOne<{ sessionId: string; expiresAt: Date }>(
        q,
        sql`UPDATE refresh_tokens SET used_at = ${now.toISOString()} WHERE token_hash = ${tokenHash} AND used_at IS NULL RETURNING session_id AS "sessionId", expires_at AS "expiresAt"`,
      );
      if (won) return { ...won, firstUse: true, usedAt: now, newerUsed: false };
      const seen = await queryOne<{ sessionId: string; expiresAt: Date; usedAt: Date | null; newerUsed: boolean }>(
        q,
        sql`SELECT r.session_id AS "sessionId", r.expires_at AS "expiresAt", r.used_at AS "usedAt",
                   EXISTS (SELECT 1 FROM refresh_tokens o WHERE o.session_id = r.session_id AND o.id <> r.id
                             AND o.used_at IS NOT NULL AND o.created_at >= r.created_at AND o.used_at >= r.used_at) AS "newerUsed"
            FROM refresh_tokens r WHERE r.token_hash = ${tokenHash}`,
      );
      return seen ? { ...seen, usedAt: seen.usedAt ? new Date(seen.usedAt) : null, firstUse: false } : undefined;
    },
    async touchSession(q: Q, sessionId: string) {
      await q.execute(sql`UPDATE sessions SET last_used_at = now() WHERE id = ${sessionId}`);
    },

    // ---- API keys (tenant-owned) ----
    async insertApiKey(
      q: Q,
      k: {
        tenantId: string;
        name: string;
        keyPrefix: string;
        keyHash: string;
        scopes: string[];
        kind: ApiKeyKind;
        publishableKey: string | null;
        allowedOrigins: string[];
        rateLimitPerMinute: number | null;
        createdBy: string | null;
        expiresAt: Date | null;
      },
    ) {
      return (await queryOne<ApiKeyRow>(
        q,
        sql`INSERT INTO api_keys (tenant_id, id, name, key_prefix, key_hash, scopes, kind, publishable_key, allowed_origins, rate_limit_per_minute, created_by, expires_at)
            VALUES (${k.tenantId}, ${newId()}, ${k.name}, ${k.keyPrefix}, ${k.keyHash}, ${sql.param(k.scopes)}::text[], ${k.kind}, ${k.publishableKey},
                    ${sql.param(k.allowedOrigins)}::text[], ${k.rateLimitPerMinute}, ${k.createdBy}, ${k.expiresAt?.toISOString() ?? null})
            RETURNING ${KEY}`,
      ))!;
    },
    /** Changes a live key's browser settings (origins, rate limit); undefined fields stay. */
    updateApiKey: (
      q: Q,
      tenantId: string,
      id: string,
      c: { allowedOrigins?: string[] | undefined; rateLimitPerMinute?: number | null | undefined },
    ) =>
      queryOne<ApiKeyRow>(
        q,
        sql`UPDATE api_keys SET
              allowed_origins = ${c.allowedOrigins === undefined ? sql`allowed_origins` : sql`${sql.param(c.allowedOrigins)}::text[]`},
              rate_limit_per_minute = ${c.rateLimitPerMinute === undefined ? sql`rate_limit_per_minute` : sql`${c.rateLimitPerMinute}`}
            WHERE tenant_id = ${tenantId} AND id = ${id} AND revoked_at IS NULL RETURNING ${KEY}`,
      ),
    /** Sets when a rotated key stops working (never later than an expiry it already had). */
    expireApiKey: (q: Q, tenantId: string, id: string, at: Date) =>
      queryOne<ApiKeyRow>(
        q,
        sql`UPDATE api_keys SET expires_at = LEAST(coalesce(expires_at, ${at.toISOString()}::timestamptz), ${at.toISOString()}::timestamptz)
            WHERE tenant_id = ${tenantId} AND id = ${id} AND revoked_at IS NULL RETURNING ${KEY}`,
      ),
    findApiKeyByHash: (q: Q, keyHash: string) => queryOne<ApiKeyRow>(q, sql`SELECT ${KEY} FROM api_keys WHERE key_hash = ${keyHash}`),
    listApiKeys: (q: Q, tenantId: string, includeRevoked: boolean) =>
      queryRows<ApiKeyListRow>(
        q,
        sql`SELECT ${KEY_K}, u.email AS "creatorEmail", u.name AS "creatorName"
            FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
            WHERE k.tenant_id = ${tenantId} ${includeRevoked ? sql`` : sql`AND k.revoked_at IS NULL`} ORDER BY k.id DESC`,
      ),
    /**
     * Removes a membership and, in the same statement (atomic on both targets), revokes the live keys
     * its user created in this tenant. Returns whether a membership was removed and the revoked keys.
     */
    async removeMemberRevokingKeys(q: Q, tenantId: string, userId: string): Promise<{ removed: boolean; keys: ApiKeyRow[] }> {
      const rows = await queryRows<ApiKeyRow & { removed: boolean }>(
        q,
        sql`WITH removed AS (DELETE FROM memberships WHERE tenant_id = ${tenantId} AND user_id = ${userId} RETURNING user_id),
                 revoked AS (UPDATE api_keys SET revoked_at = now()
                             WHERE tenant_id = ${tenantId} AND created_by = ${userId} AND revoked_at IS NULL
                               AND EXISTS (SELECT 1 FROM removed) RETURNING ${KEY})
            SELECT (SELECT count(*) FROM removed) > 0 AS removed, r.* FROM (SELECT 1) one LEFT JOIN revoked r ON true`,
      );
      return { removed: !!rows[0]?.removed, keys: rows.filter((r) => r.id) };
    },
    /** Removes a membership and hands the live keys its user created to another member (one statement). */
    async removeMemberReassigningKeys(
      q: Q,
      tenantId: string,
      userId: string,
      toUserId: string,
    ): Promise<{ removed: boolean; keys: ApiKeyRow[] }> {
      const rows = await queryRows<ApiKeyRow & { removed: boolean }>(
        q,
        sql`WITH removed AS (DELETE FROM memberships WHERE tenant_id = ${tenantId} AND user_id = ${userId} RETURNING user_id),
                 moved AS (UPDATE api_keys SET created_by = ${toUserId}
                           WHERE tenant_id = ${tenantId} AND created_by = ${userId} AND revoked_at IS NULL
                             AND EXISTS (SELECT 1 FROM removed) RETURNING ${KEY})
            SELECT (SELECT count(*) FROM removed) > 0 AS removed, r.* FROM (SELECT 1) one LEFT JOIN moved r ON true`,
      );
      return { removed: !!rows[0]?.removed, keys: rows.filter((r) => r.id) };
    },
    revokeApiKey: (q: Q, tenantId: string, id: string) =>
      queryOne<ApiKeyRow>(
        q,
        sql`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${KEY}`,
      ),
    // ---- sign-in throttling by account and source ----
    getThrottle: (q: Q, subjectHash: string, source: string) =>
      queryOne<{ failedCount: number; lockedUntil: Date | null }>(
        q,
        sql`SELECT failed_count AS "failedCount", locked_until AS "lockedUntil" FROM login_throttle WHERE subject_hash = ${subjectHash} AND source = ${source}`,
      ),
    /** Counts one failure atomically (racing guesses each count) and returns the new count. */
    async countThrottleFailure(q: Q, subjectHash: string, source: string): Promise<number> {
      return (await queryOne<{ n: number }>(
        q,
        sql`INSERT INTO login_throttle (subject_hash, source, failed_count) VALUES (${subjectHash}, ${source}, 1)
            ON CONFLICT (subject_hash, source) DO UPDATE SET failed_count = login_throttle.failed_count + 1, updated_at = now()
            RETURNING failed_count AS n`,
      ))!.n;
    },
    async lockThrottle(q: Q, subjectHash: string, source: string, until: Date) {
      await q.execute(
        sql`UPDATE login_throttle SET locked_until = ${until.toISOString()}::timestamptz WHERE subject_hash = ${subjectHash} AND source = ${source}`,
      );
    },
    /** Deletes sign-in throttle rows untouched since `before` whose lock (if any) has ended by `now`. */
    async pruneThrottle(q: Q, before: Date, now: Date): Promise<number> {
      const rows = await queryRows<{ n: number }>(
        q,
        sql`DELETE FROM login_throttle WHERE updated_at < ${before.toISOString()}::timestamptz
              AND (locked_until IS NULL OR locked_until < ${now.toISOString()}::timestamptz) RETURNING 1 AS n`,
      );
      return rows.length;
    },
    async clearThrottle(q: Q, subjectHash: string, source: string) {
      await q.execute(sql`DELETE FROM login_throttle WHERE subject_hash = ${subjectHash} AND source = ${source}`);
    },

    async touchApiKey(q: Q, tenantId: string, id: string) {
      await q.execute(sql`UPDATE api_keys SET last_used_at = now() WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },
  };
}
export type TenancyRepository = ReturnType<typeof createTenancyRepository>;
