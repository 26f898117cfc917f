import { LRUCache } from 'lru-cache';
import * as oidc from 'openid-client';
import { AppError, sha256Hex } from '../../platform/index.ts';
import { isLoopbackHttp } from './sso.core.ts';

/**
 * The relying party's side of OpenID Connect, through the certified client `openid-client` (panva): issuer
 * discovery, the authorization URL with PKCE (S256), state and nonce, and the code exchange whose ID token is
 * validated there (signature against the provider's JWKS, iss, aud, exp/iat, nonce, state, RFC 9207 `iss`).
 * Every provider error becomes a typed domain error; nothing of the provider's answer reaches a client but its
 * OAuth error code.
 */
export interface OidcEndpoint {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface VerifiedIdentity {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
}

/** Discovery documents are kept this long per (issuer, client, secret); a change of any of them discovers anew. */
const DISCOVERY_TTL_MS = 10 * 60_000;
const REQUEST_TIMEOUT_SECONDS = 10;

const unavailable = (cause: unknown) =>
  new AppError(
    'unavailable',
    'SSO_PROVIDER_UNAVAILABLE',
    'The identity provider did not answer. Try again in a moment, or ask your administrator to check the single sign-on settings.',
    { cause, retryAfterSeconds: 30 },
  );

const isNetworkProblem = (err: unknown): boolean =>
  err instanceof TypeError ||
  (err instanceof oidc.ClientError &&
    ['OAUTH_TIMEOUT', 'OAUTH_ABORT', 'OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON'].includes(err.code ?? '')) ||
  (err instanceof Error && err.name === 'AbortError');

export function createOidcClient() {
  const configs = new LRUCache<string, oidc.Configuration>({ max: 1000, ttl: DISCOVERY_TTL_MS });

  async function configFor(p: OidcEndpoint): Promise<oidc.Configuration> {
    const key = `${p.issuer}\n${p.clientId}\n${sha256Hex(p.clientSecret)}`;
    const cached = configs.get(key);
    if (cached) return cached;
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(
        new URL(p.issuer),
        p.clientId,
        { client_secret: p.clientSecret },
        oidc.ClientSecretBasic(p.clientSecret),
        {
          timeout: REQUEST_TIMEOUT_SECONDS,
          // The ID token's signature is checked against the provider's JWKS even though it came straight from the
          // token endpoint (OIDC Core 3.1.3.7 lets a client rely on TLS instead; Loupe does not).
          execute: isLoopbackHttp(p.issuer)
            ? [oidc.enableNonRepudiationChecks, oidc.allowInsecureRequests]
            : [oidc.enableNonRepudiationChecks],
        },
      );
    } catch (err) {
      if (isNetworkProblem(err)) throw unavailable(err);
      throw new AppError(
        'unavailable',
        'SSO_DISCOVERY_FAILED',
        'The identity provider answered, but not with a valid OpenID Connect discovery document for this issuer. Check the issuer URL.',
        { cause: err },
      );
    }
    configs.set(key, config);
    return config;
  }

  return {
    /** Discovers the provider (cached) and answers what the settings page shows of it. */
    async check(p: OidcEndpoint) {
      const m = (await configFor(p)).serverMetadata();
      return {
        issuer: m.issuer,
        authorizationEndpoint: m.authorization_endpoint ?? null,
        tokenEndpoint: m.token_endpoint ?? null,
        jwksUri: m.jwks_uri ?? null,
        supportsPkceS256: m.supportsPKCE('S256'),
      };
    },

    /** The provider's authorization URL for this request (response_type=code, scope openid email profile, PKCE S256). */
    async authorizationUrl(
      p: OidcEndpoint,
      r: { redirectUri: string; state: string; nonce: string; codeVerifier: string },
    ): Promise<string> {
      const config = await configFor(p);
      return oidc
        .buildAuthorizationUrl(config, {
          redirect_uri: r.redirectUri,
          scope: 'openid email profile',
          response_type: 'code',
          state: r.state,
          nonce: r.nonce,
          code_challenge: await oidc.calculatePKCECodeChallenge(r.codeVerifier),
          code_challenge_method: 'S256',
        })
        .toString();
    },

    /**
     * Exchanges the code of the redirect back (`callbackUrl`: the redirect URI with the provider's query) and
     * validates the ID token. Throws SSO_PROVIDER_DENIED (the provider answered an error), SSO_CODE_REJECTED (the
     * token endpoint refused the code: used, expired, another verifier), SSO_ID_TOKEN_INVALID (signature, iss, aud,
     * exp, nonce or state wrong), SSO_PROVIDER_UNAVAILABLE.
     */
    async exchange(
      p: OidcEndpoint,
      callbackUrl: URL,
      checks: { state: string; nonce: string; codeVerifier: string },
    ): Promise<VerifiedIdentity> {
      const config = await configFor(p);
      let claims: oidc.IDToken | undefined;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce,
          idTokenExpected: true,
        });
        claims = tokens.claims();
      } catch (err) {
        if (err instanceof oidc.AuthorizationResponseError)
          throw new AppError('unauthenticated', 'SSO_PROVIDER_DENIED', `The identity provider did not sign you in (${err.error}).`, {
            cause: err,
          });
        if (err instanceof oidc.ResponseBodyError)
          throw new AppError(
            'unauthenticated',
            'SSO_CODE_REJECTED',
            `The identity provider refused the sign-in (${err.error}). Start again from the sign-in page.`,
            { cause: err },
          );
        if (isNetworkProblem(err)) throw unavailable(err);
        throw new AppError(
          'unauthenticated',
          'SSO_ID_TOKEN_INVALID',
          'The identity provider’s answer could not be verified, so it was not trusted. Start again from the sign-in page.',
          { cause: err },
        );
      }
      if (!claims || typeof claims.sub !== 'string' || !claims.sub)
        throw new AppError('unauthenticated', 'SSO_ID_TOKEN_INVALID', 'The identity provider’s answer had no subject.');
      return {
        subject: claims.sub,
        email: typeof claims.email === 'string' ? claims.email : undefined,
        // Only a literal true: a string "true" or a missing claim is not a verified address.
        emailVerified: claims.email_verified === true,
        name: typeof claims.name === 'string' ? claims.name.slice(0, 200) : undefined,
      };
    },

    /** Drops a provider's cached discovery (after its settings change). */
    forget(p: OidcEndpoint): void {
      configs.delete(`${p.issuer}\n${p.clientId}\n${sha256Hex(p.clientSecret)}`);
    },
  };
}
export type OidcClient = ReturnType<typeof createOidcClient>;
