import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/** The claims an account of the local provider asserts (besides `sub`). */
export interface FakeAccount {
  email?: string;
  email_verified?: boolean | string;
  name?: string;
}

export interface LocalOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who is signed in at the provider: the next authorization request completes as this account (no login page). */
  signInAs(sub: string, claims: FakeAccount): void;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const closeServer = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/**
 * A real OpenID provider on a local port: `oidc-provider` (panva, OpenID Certified) with one confidential client
 * (authorization code, PKCE required), its own RS256 key, e-mail claims in the ID token, and an interaction
 * step that completes at once as the account the test chose (login and consent), so a browser or a fetch loop
 * goes through the real redirects.
 */
export async function startLocalOidcProvider(opts: {
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
}): Promise<LocalOidcProvider> {
  const clientId = opts.clientId ?? 'loupe-test-client';
  const clientSecret = opts.clientSecret ?? 'loupe-test-secret-0123456789abcdef';
  const accounts = new Map<string, FakeAccount>();
  let current: string | undefined;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', use: 'sig', alg: 'RS256' };
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url?.startsWith('/interaction/')) {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'login') {
          if (!current) return res.writeHead(400).end('no account chosen');
          return provider.interactionFinished(req, res, { login: { accountId: current } }, { mergeWithLastSubmission: false });
        }
        const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id });
        if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
        if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
        return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
      }
      return provider.callback()(req, res);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  const issuer = await listen(server);
  // Requests arrive only after the issuer URL is known, so the handler above never runs before this line.
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['local-oidc-provider-cookie-key'] },
    pkce: { required: () => true },
    // Scope claims in the ID token itself (not only at the userinfo endpoint), as most providers do.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, sub: string) {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...claims }) };
    },
  });
  provider.on('server_error', () => undefined);
  return {
    issuer,
    clientId,
    clientSecret,
    signInAs(sub, claims) {
      accounts.set(sub, claims);
      current = sub;
    },
    close: () => closeServer(server),
  };
}

/**
 * Follows the provider's redirects with a cookie jar, as a browser would, from the authorization URL until the
 * redirect back to `redirectUri`; returns that URL's query (`?code=…&state=…&iss=…`).
 */
export async function followToCallback(authorizationUrl: string, redirectUri: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = authorizationUrl;
  for (let hop = 0; hop < 12; hop++) {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      jar.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`the provider stopped at ${url} with ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const next = new URL(location, url).toString();
    if (next.startsWith(redirectUri)) return new URL(next).search;
    url = next;
  }
  throw new Error('too many redirects at the provider');
}

export interface TokenForger {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The ID token the token endpoint answers next: default claims are right; `tamper` changes claims or the key. */
  nextIdToken(tamper: (claims: Record<string, unknown>) => { claims: Record<string, unknown>; foreignKey?: boolean; alg?: string }): void;
  /** The nonce of the authorization URL the relying party made (the forger has no authorization endpoint). */
  expectNonce(nonce: string): void;
  close(): Promise<void>;
}

/**
 * A minimal OpenID provider speaking discovery, JWKS and the token endpoint, whose ID tokens the test shapes
 * (wrong audience, nonce, issuer, expired, signed with a key not in its JWKS): the bad answers a certified
 * provider never gives, to show the relying party refuses them. The nonce comes from the authorization URL.
 */
export async function startTokenForger(): Promise<TokenForger> {
  const clientId = 'forger-client';
  const clientSecret = 'forger-secret-0123456789';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256', { extractable: true });
  const pub = { ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig', alg: 'RS256' };
  let tamper: Parameters<TokenForger['nextIdToken']>[0] = (c) => ({ claims: c });
  let nonce = '';
  let issuer = '';
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', issuer);
      const json = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (url.pathname === '/.well-known/openid-configuration')
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      if (url.pathname === '/jwks') return json(200, { keys: [pub] });
      if (url.pathname === '/token' && req.method === 'POST') {
        // RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        const [id, secret] = Buffer.from(basic ?? '', 'base64')
          .toString('utf8')
          .split(':')
          .map((x) => decodeURIComponent(x.replace(/\+/g, ' ')));
        if (id !== clientId || secret !== clientSecret) return json(401, { error: 'invalid_client' });
        const now = Math.floor(Date.now() / 1000);
        const t = tamper({
          iss: issuer,
          sub: 'forged-subject',
          aud: clientId,
          iat: now,
          exp: now + 300,
          nonce,
          email: 'someone@acme.test',
          email_verified: true,
        });
        const idToken = await new SignJWT(t.claims)
          .setProtectedHeader({ alg: t.alg ?? 'RS256', kid: 'k1' })
          .sign(t.foreignKey ? foreign.privateKey : privateKey);
        return json(200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      return json(404, { error: 'not_found' });
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  issuer = await listen(server);
  return {
    issuer,
    clientId,
    clientSecret,
    nextIdToken(fn) {
      tamper = fn;
    },
    expectNonce(v) {
      nonce = v;
    },
    close: () => closeServer(server),
  };
}
