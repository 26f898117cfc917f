import { sql } from 'drizzle-orm';
import type { Role } from '../../platform/index.ts';
import { type Q, type SecretBox, newId, queryOne, queryRows, resealColumn } from '../../platform/index.ts';
import type { SsoProvisioning } from './sso.core.ts';

export interface SsoProviderRow {
  tenantId: string;
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  /** Sealed with the secret box (context `sso:<tenant>:<provider>`). */
  clientSecret: string;
  allowedDomains: string[];
  defaultRole: Role;
  provisioning: SsoProvisioning;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}
export interface SsoLoginRow {
  tenantId: string;
  providerId: string;
  browserKeyHash: string;
  nonce: string;
  codeVerifier: string;
  nextPath: string | null;
  expiresAt: Date;
}

const PROVIDER = sql`tenant_id AS "tenantId", id, name, issuer, client_id AS "clientId", client_secret AS "clientSecret",
  allowed_domains AS "allowedDomains", default_role AS "defaultRole", provisioning, enabled, created_at AS "createdAt", updated_at AS "updatedAt"`;
const textArray = (xs: readonly string[]) => `{${xs.map((x) => `"${x.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;

/** SQL of single sign-on: `sso_providers` and `sso_identities` (tenant-owned), `sso_logins` (flows in flight). */
/** The context a sign-in in flight seals its PKCE verifier with (see `SecretBox`). */
export const ssoLoginContext = (stateHash: string): string => `sso-login:${stateHash}`;

export function createSsoRepository() {
  return {
    /**
     * Seals the providers' client secrets not sealed with the current key (a key rotation), across tenants (a
     * start-up step); `context` is the one they were sealed with. Compare-and-set per row: an update wins.
     */
    async resealAll(q: Q, secrets: SecretBox, context: (tenantId: string, id: string) => string) {
      const a = await resealColumn(q, secrets, {
        table: 'sso_providers',
        column: 'client_secret',
        rowKey: 'id',
        context: (t, id) => context(t, id!),
      });
      // Sign-ins in flight (10 minutes) too: their PKCE verifier must open after the previous key is dropped.
      const b = await resealColumn(q, secrets, {
        table: 'sso_logins',
        column: 'code_verifier',
        rowKey: 'state_hash',
        context: (_t, stateHash) => ssoLoginContext(stateHash!),
      });
      return { resealed: a.resealed + b.resealed, unreadable: a.unreadable + b.unreadable };
    },

    listProviders: (q: Q, tenantId: string) =>
      queryRows<SsoProviderRow>(q, sql`SELECT ${PROVIDER} FROM sso_providers WHERE tenant_id = ${tenantId} ORDER BY created_at, id`),
    getProvider: (q: Q, tenantId: string, id: string) =>
      queryOne<SsoProviderRow>(q, sql`SELECT ${PROVIDER} FROM sso_providers WHERE tenant_id = ${tenantId} AND id = ${id}`),
    async insertProvider(
      q: Q,
      tenantId: string,
      p: Omit<SsoProviderRow, 'tenantId' | 'createdAt' | 'updatedAt' | 'id'>,
      id = newId(),
    ): Promise<SsoProviderRow> {
      return (await queryOne<SsoProviderRow>(
        q,
        sql`INSERT INTO sso_providers (tenant_id, id, name, issuer, client_id, client_secret, allowed_domains, default_role, provisioning, enabled)
            VALUES (${tenantId}, ${id}, ${p.name}, ${p.issuer}, ${p.clientId}, ${p.clientSecret}, ${textArray(p.allowedDomains)}::text[],
                    ${p.defaultRole}, ${p.provisioning}, ${p.enabled})
            RETURNING ${PROVIDER}`,
      ))!;
    },
    async updateProvider(
      q: Q,
      tenantId: string,
      id: string,
      p: Omit<SsoProviderRow, 'tenantId' | 'createdAt' | 'updatedAt' | 'id' | 'clientSecret'> & { clientSecret: string | null },
    ) {
      return queryOne<SsoProviderRow>(
        q,
        sql`UPDATE sso_providers SET name = ${p.name}, issuer = ${p.issuer}, client_id = ${p.clientId},
               client_secret = coalesce(${p.clientSecret}, client_secret), allowed_domains = ${textArray(p.allowedDomains)}::text[],
               default_role = ${p.defaultRole}, provisioning = ${p.provisioning}, enabled = ${p.enabled}, updated_at = now()
            WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${PROVIDER}`,
      );
    },
    /** Deletes the provider and the identities linked through it. */
    async deleteProvider(q: Q, tenantId: string, id: string): Promise<boolean> {
      await q.execute(sql`DELETE FROM sso_identities WHERE tenant_id = ${tenantId} AND provider_id = ${id}`);
      return (await queryRows(q, sql`DELETE FROM sso_providers WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`)).length > 0;
    },

    // ---- identities ----
    identityUser: async (q: Q, tenantId: string, providerId: string, subject: string) =>
      (
        await queryOne<{ userId: string }>(
          q,
          sql`SELECT user_id AS "userId" FROM sso_identities WHERE tenant_id = ${tenantId} AND provider_id = ${providerId} AND subject = ${subject}`,
        )
      )?.userId,
    /** Links (provider, sub) to the account; false when either is already linked otherwise (a race, or another account). */
    async link(q: Q, tenantId: string, providerId: string, subject: string, userId: string, email: string): Promise<boolean> {
      const row = await queryOne(
        q,
        sql`INSERT INTO sso_identities (tenant_id, provider_id, subject, user_id, email) VALUES (${tenantId}, ${providerId}, ${subject}, ${userId}, ${email})
            ON CONFLICT DO NOTHING RETURNING user_id`,
      );
      if (row) return true;
      return (await this.identityUser(q, tenantId, providerId, subject)) === userId;
    },
    async touchIdentity(q: Q, tenantId: string, providerId: string, subject: string, now: Date) {
      await q.execute(
        sql`UPDATE sso_identities SET last_login_at = ${now.toISOString()} WHERE tenant_id = ${tenantId} AND provider_id = ${providerId} AND subject = ${subject}`,
      );
    },
    /** The account's linked identities in a tenant (for the account's settings and the provider list). */
    identitiesOfUser: (q: Q, tenantId: string, userId: string) =>
      queryRows<{ providerId: string; email: string; createdAt: Date; lastLoginAt: Date | null }>(
        q,
        sql`SELECT provider_id AS "providerId", email, created_at AS "createdAt", last_login_at AS "lastLoginAt"
            FROM sso_identities WHERE tenant_id = ${tenantId} AND user_id = ${userId} ORDER BY created_at`,
      ),
    countIdentities: async (q: Q, tenantId: string, providerId: string) =>
      Number(
        (await queryOne<{ n: string }>(
          q,
          sql`SELECT count(*)::text AS n FROM sso_identities WHERE tenant_id = ${tenantId} AND provider_id = ${providerId}`,
        ))!.n,
      ),

    // ---- flows in flight ----
    async insertLogin(q: Q, stateHash: string, l: SsoLoginRow) {
      await q.execute(
        sql`INSERT INTO sso_logins (state_hash, tenant_id, provider_id, browser_key_hash, nonce, code_verifier, next_path, expires_at)
            VALUES (${stateHash}, ${l.tenantId}, ${l.providerId}, ${l.browserKeyHash}, ${l.nonce}, ${l.codeVerifier}, ${l.nextPath}, ${l.expiresAt.toISOString()})`,
      );
    },
    /**
     * Uses the flow of this state, atomically and once: of two racing callbacks exactly one gets the row; a used,
     * expired or unknown state gets undefined. The browser key must match (the browser that started it).
     */
    useLogin: (q: Q, stateHash: string, browserKeyHash: string, now: Date) =>
      queryOne<SsoLoginRow>(
        q,
        sql`UPDATE sso_logins SET used_at = ${now.toISOString()}
            WHERE state_hash = ${stateHash} AND browser_key_hash = ${browserKeyHash} AND used_at IS NULL AND expires_at > ${now.toISOString()}
            RETURNING tenant_id AS "tenantId", provider_id AS "providerId", browser_key_hash AS "browserKeyHash", nonce,
                      code_verifier AS "codeVerifier", next_path AS "nextPath", expires_at AS "expiresAt"`,
      ),
    /** Forgets flows that ended (used or expired) before `before`. Returns rows deleted. */
    pruneLogins: async (q: Q, before: Date) =>
      (await queryRows(q, sql`DELETE FROM sso_logins WHERE expires_at < ${before.toISOString()} RETURNING state_hash`)).length,
  };
}
export type SsoRepository = ReturnType<typeof createSsoRepository>;
