import { sql } from 'drizzle-orm';
import { type Q, type SecretBox, queryOne, resealColumn } from '../../platform/index.ts';

export interface GoogleAccountRow {
  googleAccount: string | null;
  scopes: string;
  status: 'linked' | 'consent_revoked';
  linkedAt: Date;
  updatedAt: Date;
}
export interface GoogleTokenRow {
  accessTokenSealed: string;
  refreshTokenSealed: string | null;
  expiresAt: Date;
}
export interface MerchantLinkRow {
  merchantId: string;
  dataSourceId: string;
  feedLabel: string;
  contentLanguage: string;
}

/** The tenant's Google link: pending authorization states, the account, its sealed tokens, the Merchant Center target. */
export function createGoogleRepository() {
  return {
    /**
     * Seals the stored OAuth tokens not sealed with the current key (a key rotation), across tenants (a start-up
     * step); `context` is the one they were sealed with. Compare-and-set per value: a token refresh wins.
     */
    async resealAll(
      q: Q,
      secrets: SecretBox,
      context: (tenantId: string, kind: 'access' | 'refresh' | 'pkce') => string,
    ): Promise<{ resealed: number; unreadable: number }> {
      const a = await resealColumn(q, secrets, {
        table: 'google_oauth_tokens',
        column: 'access_token_sealed',
        context: (t) => context(t, 'access'),
      });
      const b = await resealColumn(q, secrets, {
        table: 'google_oauth_tokens',
        column: 'refresh_token_sealed',
        context: (t) => context(t, 'refresh'),
      });
      // Links in flight (10 minutes) too: their PKCE verifier must open after the previous key is dropped.
      const c = await resealColumn(q, secrets, {
        table: 'google_oauth_states',
        column: 'code_verifier_sealed',
        rowKey: 'state_hash',
        context: (t) => context(t, 'pkce'),
      });
      return { resealed: a.resealed + b.resealed + c.resealed, unreadable: a.unreadable + b.unreadable + c.unreadable };
    },

    insertState: (
      q: Q,
      tenantId: string,
      s: { stateHash: string; verifierSealed: string; redirectUri: string; expiresAt: Date; now: Date },
    ) =>
      q.execute(
        sql`INSERT INTO google_oauth_states (tenant_id, state_hash, code_verifier_sealed, redirect_uri, expires_at, created_at)
            VALUES (${tenantId}, ${s.stateHash}, ${s.verifierSealed}, ${s.redirectUri}, ${s.expiresAt.toISOString()}, ${s.now.toISOString()})`,
      ),
    /** Marks a state used and returns it, once: a second call (a replay) gets undefined, as does an expired state. */
    consumeState: (q: Q, tenantId: string, stateHash: string, now: Date) =>
      queryOne<{ verifierSealed: string; redirectUri: string }>(
        q,
        sql`UPDATE google_oauth_states SET used_at = ${now.toISOString()}
            WHERE tenant_id = ${tenantId} AND state_hash = ${stateHash} AND used_at IS NULL AND expires_at > ${now.toISOString()}
            RETURNING code_verifier_sealed AS "verifierSealed", redirect_uri AS "redirectUri"`,
      ),
    /** Why a state cannot be used: 'used', 'expired', or undefined when unknown. */
    stateProblem: async (q: Q, tenantId: string, stateHash: string, now: Date): Promise<'used' | 'expired' | undefined> => {
      const row = await queryOne<{ used: boolean; expired: boolean }>(
        q,
        sql`SELECT used_at IS NOT NULL AS used, expires_at <= ${now.toISOString()} AS expired
            FROM google_oauth_states WHERE tenant_id = ${tenantId} AND state_hash = ${stateHash}`,
      );
      return row ? (row.used ? 'used' : 'expired') : undefined;
    },
    /** Forgets states older than a day (they can no longer be used anyway). */
    pruneStates: (q: Q, tenantId: string, now: Date) =>
      q.execute(
        sql`DELETE FROM google_oauth_states WHERE tenant_id = ${tenantId} AND expires_at < ${new Date(now.getTime() - 86_400_000).toISOString()}`,
      ),

    getAccount: (q: Q, tenantId: string) =>
      queryOne<GoogleAccountRow>(
        q,
        sql`SELECT google_account AS "googleAccount", scopes, status, linked_at AS "linkedAt", updated_at AS "updatedAt"
            FROM google_oauth_accounts WHERE tenant_id = ${tenantId}`,
      ),
    upsertAccount: (q: Q, tenantId: string, a: { googleAccount: string | null; scopes: string; now: Date }) =>
      q.execute(
        sql`INSERT INTO google_oauth_accounts (tenant_id, google_account, scopes, status, linked_at, updated_at)
            VALUES (${tenantId}, ${a.googleAccount}, ${a.scopes}, 'linked', ${a.now.toISOString()}, ${a.now.toISOString()})
            ON CONFLICT (tenant_id) DO UPDATE SET google_account = EXCLUDED.google_account, scopes = EXCLUDED.scopes, status = 'linked',
              linked_at = EXCLUDED.linked_at, updated_at = EXCLUDED.updated_at`,
      ),
    setAccountStatus: (q: Q, tenantId: string, status: 'linked' | 'consent_revoked', now: Date) =>
      q.execute(sql`UPDATE google_oauth_accounts SET status = ${status}, updated_at = ${now.toISOString()} WHERE tenant_id = ${tenantId}`),

    getTokens: (q: Q, tenantId: string) =>
      queryOne<GoogleTokenRow>(
        q,
        sql`SELECT access_token_sealed AS "accessTokenSealed", refresh_token_sealed AS "refreshTokenSealed", expires_at AS "expiresAt"
            FROM google_oauth_tokens WHERE tenant_id = ${tenantId}`,
      ),
    /** Stores tokens; a refresh that returns no new refresh token keeps the stored one. */
    putTokens: (q: Q, tenantId: string, t: { accessTokenSealed: string; refreshTokenSealed: string | null; expiresAt: Date; now: Date }) =>
      q.execute(
        sql`INSERT INTO google_oauth_tokens (tenant_id, access_token_sealed, refresh_token_sealed, expires_at, updated_at)
            VALUES (${tenantId}, ${t.accessTokenSealed}, ${t.refreshTokenSealed}, ${t.expiresAt.toISOString()}, ${t.now.toISOString()})
            ON CONFLICT (tenant_id) DO UPDATE SET access_token_sealed = EXCLUDED.access_token_sealed,
              refresh_token_sealed = COALESCE(EXCLUDED.refresh_token_sealed, google_oauth_tokens.refresh_token_sealed),
              expires_at = EXCLUDED.expires_at, updated_at = EXCLUDED.updated_at`,
      ),

    getMerchantLink: (q: Q, tenantId: string) =>
      queryOne<MerchantLinkRow>(
        q,
        sql`SELECT merchant_id AS "merchantId", data_source_id AS "dataSourceId", feed_label AS "feedLabel", content_language AS "contentLanguage"
            FROM google_merchant_links WHERE tenant_id = ${tenantId}`,
      ),
    putMerchantLink: (q: Q, tenantId: string, m: MerchantLinkRow, now: Date) =>
      q.execute(
        sql`INSERT INTO google_merchant_links (tenant_id, merchant_id, data_source_id, feed_label, content_language, created_at, updated_at)
            VALUES (${tenantId}, ${m.merchantId}, ${m.dataSourceId}, ${m.feedLabel}, ${m.contentLanguage}, ${now.toISOString()}, ${now.toISOString()})
            ON CONFLICT (tenant_id) DO UPDATE SET merchant_id = EXCLUDED.merchant_id, data_source_id = EXCLUDED.data_source_id,
              feed_label = EXCLUDED.feed_label, content_language = EXCLUDED.content_language, updated_at = EXCLUDED.updated_at`,
      ),

    /** Unlink: every Google row of the tenant goes (the Merchant Center target stays: relinking reuses it). */
    async deleteLink(q: Q, tenantId: string): Promise<void> {
      await q.execute(sql`DELETE FROM google_oauth_tokens WHERE tenant_id = ${tenantId}`);
      await q.execute(sql`DELETE FROM google_oauth_accounts WHERE tenant_id = ${tenantId}`);
      await q.execute(sql`DELETE FROM google_oauth_states WHERE tenant_id = ${tenantId}`);
    },
  };
}
export type GoogleRepository = ReturnType<typeof createGoogleRepository>;
