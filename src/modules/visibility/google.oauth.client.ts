/**
 * OAuth 2.0 with Google: authorization code grant with PKCE (RFC 6749 4.1, RFC 7636 S256), refresh
 * (RFC 6749 6) and revocation (RFC 7009). The token endpoint's answers are outcomes, never throws;
 * `invalid_grant` means the code or refresh token is no longer good (replayed code, consent withdrawn).
 */
import { createHash, randomBytes } from 'node:crypto';

export interface OAuthEndpoints {
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl: string;
}

/** The Merchant API's scope (Content API and Merchant API share it). */
export const MERCHANT_SCOPE = 'https://www.googleapis.com/auth/content';
/** Business Profile's scope (Business Information and Performance APIs). */
export const BUSINESS_SCOPE = 'https://www.googleapis.com/auth/business.manage';

export interface TokenSet {
  accessToken: string;
  refreshToken: string | undefined;
  expiresInSeconds: number;
  scope: string;
  idToken: string | undefined;
}

export type TokenOutcome =
  | { ok: true; tokens: TokenSet }
  | { ok: false; kind: 'invalid_grant' | 'rejected' | 'unavailable'; status: number; error: string; description: string };

/** A PKCE pair: a 43-character verifier (32 random bytes, base64url) and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: codeChallenge(verifier) };
}

/** RFC 7636 4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export const codeChallenge = (verifier: string): string => createHash('sha256').update(verifier, 'ascii').digest('base64url');

/** The URL the merchant's browser opens to grant access (offline: a refresh token; consent: always re-asked). */
export function authorizationUrl(e: OAuthEndpoints, p: { redirectUri: string; state: string; challenge: string }): string {
  const u = new URL(e.authorizeUrl);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', e.clientId);
  u.searchParams.set('redirect_uri', p.redirectUri);
  u.searchParams.set('scope', `${MERCHANT_SCOPE} ${BUSINESS_SCOPE}`);
  u.searchParams.set('state', p.state);
  u.searchParams.set('code_challenge', p.challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  u.searchParams.set('access_type', 'offline');
  u.searchParams.set('prompt', 'consent');
  return u.toString();
}

export function createOAuthClient(e: OAuthEndpoints, fetchImpl: typeof fetch = fetch) {
  async function token(form: Record<string, string>): Promise<TokenOutcome> {
    let res: Response;
    try {
      res = await fetchImpl(e.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ ...form, client_id: e.clientId, client_secret: e.clientSecret }).toString(),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      return { ok: false, kind: 'unavailable', status: 0, error: 'network', description: (err as Error).message.slice(0, 200) };
    }
    let body: Record<string, unknown> = {};
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const error = typeof body.error === 'string' ? body.error.slice(0, 100) : `http_${res.status}`;
      const description = typeof body.error_description === 'string' ? body.error_description.slice(0, 300) : '';
      const kind = error === 'invalid_grant' ? 'invalid_grant' : res.status >= 500 ? 'unavailable' : 'rejected';
      return { ok: false, kind, status: res.status, error, description };
    }
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      return { ok: false, kind: 'rejected', status: res.status, error: 'invalid_response', description: 'no access_token or expires_in' };
    }
    return {
      ok: true,
      tokens: {
        accessToken: body.access_token,
        refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
        expiresInSeconds: body.expires_in,
        scope: typeof body.scope === 'string' ? body.scope : '',
        idToken: typeof body.id_token === 'string' ? body.id_token : undefined,
      },
    };
  }

  return {
    exchangeCode: (p: { code: string; redirectUri: string; verifier: string }) =>
      token({ grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri, code_verifier: p.verifier }),
    refresh: (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    /** RFC 7009: revoking a refresh token revokes its access tokens too. True when the server confirmed. */
    async revoke(tokenValue: string): Promise<boolean> {
      try {
        const res = await fetchImpl(e.revokeUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: tokenValue }).toString(),
          signal: AbortSignal.timeout(15_000),
        });
        // Google answers 400 invalid_token for a token already revoked: it is revoked either way.
        return res.ok || res.status === 400;
      } catch {
        return false;
      }
    },
  };
}
export type OAuthClient = ReturnType<typeof createOAuthClient>;
