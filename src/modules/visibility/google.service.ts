import { randomBytes } from 'node:crypto';
import { AppError, type Db, isUuid, type SecretBox, sha256Hex, type TenantContext, validation, inTenant } from '../../platform/index.ts';
import { authorizationUrl, type OAuthClient, type OAuthEndpoints, pkcePair } from './google.oauth.client.ts';
import type { GoogleRepository, MerchantLinkRow } from './google.repository.ts';

export interface GoogleDeps {
  db: Db;
  repo: GoogleRepository;
  secrets: SecretBox;
  clock: () => Date;
  /** Undefined when no OAuth client is configured (GOOGLE_OAUTH_CLIENT_ID / _SECRET). */
  endpoints: OAuthEndpoints | undefined;
  oauth: OAuthClient | undefined;
  /** Default redirect URI (GOOGLE_OAUTH_REDIRECT_URI), else the caller's. */
  redirectUri: string | undefined;
}

/** Access tokens are refreshed when they expire within this margin (a push never starts on a dying token). */
const REFRESH_MARGIN_MS = 5 * 60_000;
const STATE_TTL_MS = 10 * 60_000;

const stateError = (code: string, message: string) => validation(code, message, [{ field: 'state', message }]);
const consentRevoked = () =>
  new AppError(
    'conflict',
    'GOOGLE_CONSENT_REVOKED',
    "Google no longer accepts Loupe's access to this account (access was removed in the Google account, or the grant expired). Link Google again from the Visibility page.",
  );
const notLinked = () =>
  new AppError('conflict', 'GOOGLE_NOT_LINKED', 'Google is not linked for this tenant. Link it first (POST /google/oauth/link).');

/** The Google OAuth link of a tenant: authorization with PKCE and state, sealed tokens, refresh, revocation. */
export function createGoogleService(deps: GoogleDeps) {
  const { db, repo, secrets } = deps;
  const contextOf = (tenantId: string, kind: string) => `google:${kind}:${tenantId}`;
  const seal = (tenantId: string, kind: string, v: string) => secrets.seal(v, contextOf(tenantId, kind));
  const open = (tenantId: string, kind: string, v: string) => secrets.open(v, contextOf(tenantId, kind));
  const configured = () => {
    if (!deps.endpoints || !deps.oauth)
      throw new AppError(
        'unavailable',
        'GOOGLE_NOT_CONFIGURED',
        'Linking Google is not configured on this server: set GOOGLE_OAUTH_CLIENT_ID and GOOGLE_OAUTH_CLIENT_SECRET.',
      );
    return { endpoints: deps.endpoints, oauth: deps.oauth };
  };

  async function storeTokens(tenantId: string, t: { accessToken: string; refreshToken: string | undefined; expiresInSeconds: number }) {
    const now = deps.clock();
    await repo.putTokens(db, tenantId, {
      accessTokenSealed: seal(tenantId, 'access', t.accessToken),
      refreshTokenSealed: t.refreshToken ? seal(tenantId, 'refresh', t.refreshToken) : null,
      expiresAt: new Date(now.getTime() + t.expiresInSeconds * 1000),
      now,
    });
  }

  async function refreshNow(tenantId: string): Promise<{ accessToken: string; expiresAt: Date }> {
    const { oauth } = configured();
    const row = await repo.getTokens(db, tenantId);
    if (!row) throw notLinked();
    if (!row.refreshTokenSealed) throw consentRevoked();
    const out = await oauth.refresh(open(tenantId, 'refresh', row.refreshTokenSealed));
    if (!out.ok) {
      if (out.kind === 'invalid_grant') {
        await repo.setAccountStatus(db, tenantId, 'consent_revoked', deps.clock());
        throw consentRevoked();
      }
      throw new AppError('unavailable', 'GOOGLE_TOKEN_REFRESH_FAILED', `Google's token endpoint answered ${out.error}; try again shortly.`);
    }
    await storeTokens(tenantId, out.tokens);
    return { accessToken: out.tokens.accessToken, expiresAt: new Date(deps.clock().getTime() + out.tokens.expiresInSeconds * 1000) };
  }

  return {
    /** Start-up step: seals stored OAuth tokens still under a previous key with the current one. */
    resealSecrets: () => repo.resealAll(db, secrets, contextOf),
    /** Starts linking: a single-use state (naming the tenant) and a PKCE verifier, kept 10 minutes. */
    async link(
      ctx: TenantContext,
      input: { redirectUri?: string | undefined; merchant?: MerchantLinkRow | undefined },
    ): Promise<{ authorizationUrl: string; state: string; expiresAt: Date }> {
      const { endpoints } = configured();
      const redirectUri = input.redirectUri ?? deps.redirectUri;
      if (!redirectUri)
        throw validation('GOOGLE_REDIRECT_URI_REQUIRED', 'Give redirect_uri (or set GOOGLE_OAUTH_REDIRECT_URI).', [
          { field: 'redirect_uri', message: 'required' },
        ]);
      const now = deps.clock();
      const state = `${ctx.tenantId}.${randomBytes(24).toString('base64url')}`;
      const { verifier, challenge } = pkcePair();
      const expiresAt = new Date(now.getTime() + STATE_TTL_MS);
      await repo.pruneStates(db, ctx.tenantId, now);
      await repo.insertState(db, ctx.tenantId, {
        stateHash: sha256Hex(state),
        verifierSealed: seal(ctx.tenantId, 'pkce', verifier),
        redirectUri,
        expiresAt,
        now,
      });
      if (input.merchant) await repo.putMerchantLink(db, ctx.tenantId, input.merchant, now);
      return { authorizationUrl: authorizationUrl(endpoints, { redirectUri, state, challenge }), state, expiresAt };
    },

    /**
     * Completes linking from Google's redirect. The state names the tenant and is used once: a wrong, expired
     * or replayed state is refused before any call to Google; a code Google refuses (replayed, expired) too.
     */
    async callback(q: {
      code?: string | undefined;
      state?: string | undefined;
      error?: string | undefined;
    }): Promise<{ tenantId: string; scopes: string }> {
      const { oauth } = configured();
      const state = q.state ?? '';
      const tenantId = state.split('.')[0] ?? '';
      if (!isUuid(tenantId) || state.length > 200) throw stateError('OAUTH_STATE_INVALID', 'state is not one Loupe issued.');
      const now = deps.clock();
      const stateHash = sha256Hex(state);
      const row = await repo.consumeState(db, tenantId, stateHash, now);
      if (!row) {
        const problem = await repo.stateProblem(db, tenantId, stateHash, now);
        if (problem === 'used')
          throw stateError('OAUTH_STATE_USED', 'This authorization was already completed (a replayed callback). Start linking again.');
        if (problem === 'expired') throw stateError('OAUTH_STATE_EXPIRED', 'This authorization expired (10 minutes). Start linking again.');
        throw stateError('OAUTH_STATE_INVALID', 'state is not one Loupe issued.');
      }
      if (q.error)
        throw validation(
          'OAUTH_ACCESS_DENIED',
          `Google answered ${q.error.slice(0, 60)}: access was not granted. Start linking again to retry.`,
        );
      if (!q.code) throw validation('OAUTH_CODE_MISSING', 'The callback carries no code.', [{ field: 'code', message: 'required' }]);
      const out = await oauth.exchangeCode({
        code: q.code,
        redirectUri: row.redirectUri,
        verifier: open(tenantId, 'pkce', row.verifierSealed),
      });
      if (!out.ok) {
        if (out.kind === 'unavailable')
          throw new AppError('unavailable', 'GOOGLE_UNAVAILABLE', 'Google did not answer; start linking again shortly.');
        throw validation(
          'OAUTH_CODE_REJECTED',
          `Google refused the authorization code (${out.error}): it may have been used already. Start linking again.`,
        );
      }
      await storeTokens(tenantId, out.tokens);
      await repo.upsertAccount(db, tenantId, { googleAccount: accountOf(out.tokens.idToken), scopes: out.tokens.scope, now: deps.clock() });
      return { tenantId, scopes: out.tokens.scope };
    },

    /** Forces a refresh now (the push refreshes by itself before expiry). */
    async refresh(ctx: TenantContext): Promise<{ expiresAt: Date }> {
      const r = await refreshNow(ctx.tenantId);
      return { expiresAt: r.expiresAt };
    },

    /** Revokes the grant at Google (RFC 7009) and forgets the tokens; `revoked` says whether Google confirmed. */
    async unlink(ctx: TenantContext): Promise<{ revoked: boolean }> {
      const row = await repo.getTokens(db, ctx.tenantId);
      if (!row && !(await repo.getAccount(db, ctx.tenantId))) throw notLinked();
      let revoked = false;
      if (row && deps.oauth) {
        const token = row.refreshTokenSealed
          ? open(ctx.tenantId, 'refresh', row.refreshTokenSealed)
          : open(ctx.tenantId, 'access', row.accessTokenSealed);
        revoked = await deps.oauth.revoke(token);
      }
      await inTenant(db, ctx.tenantId, async (tx) => repo.deleteLink(tx, ctx.tenantId));
      return { revoked };
    },

    async status(ctx: TenantContext) {
      const [account, tokens, merchant] = await Promise.all([
        repo.getAccount(db, ctx.tenantId),
        repo.getTokens(db, ctx.tenantId),
        repo.getMerchantLink(db, ctx.tenantId),
      ]);
      return { configured: !!deps.endpoints, account, tokenExpiresAt: tokens?.expiresAt ?? null, merchant };
    },

    setMerchant: (ctx: TenantContext, m: MerchantLinkRow) => repo.putMerchantLink(db, ctx.tenantId, m, deps.clock()),
    merchantLink: (tenantId: string) => repo.getMerchantLink(db, tenantId),

    /** A valid access token, refreshed first when it expires within 5 minutes. */
    async accessToken(tenantId: string): Promise<string> {
      const account = await repo.getAccount(db, tenantId);
      if (!account) throw notLinked();
      if (account.status === 'consent_revoked') throw consentRevoked();
      const row = await repo.getTokens(db, tenantId);
      if (!row) throw notLinked();
      if (new Date(row.expiresAt).getTime() - deps.clock().getTime() > REFRESH_MARGIN_MS)
        return open(tenantId, 'access', row.accessTokenSealed);
      return (await refreshNow(tenantId)).accessToken;
    },
    /** After Google refused a token mid-push: refresh once; consent withdrawn marks the link revoked. */
    forceRefresh: async (tenantId: string) => (await refreshNow(tenantId)).accessToken,
  };
}
export type GoogleService = ReturnType<typeof createGoogleService>;

/** The e-mail (or subject) in an id_token's payload; the token came straight from Google's token endpoint over TLS. */
function accountOf(idToken: string | undefined): string | null {
  if (!idToken) return null;
  try {
    const payload = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      email?: unknown;
      sub?: unknown;
    };
    const v = typeof payload.email === 'string' ? payload.email : typeof payload.sub === 'string' ? payload.sub : null;
    return v ? v.slice(0, 320) : null;
  } catch {
    return null;
  }
}
