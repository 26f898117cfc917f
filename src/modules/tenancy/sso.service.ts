import { randomNonce, randomPKCECodeVerifier, randomState } from 'openid-client';
import {
  type Db,
  AppError,
  type Role,
  type SecretBox,
  type SecurityEventRepository,
  type TenantContext,
  conflict,
  isUuid,
  newId,
  notFound,
  randomToken,
  requirePermission,
  sha256Hex,
} from '../../platform/index.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import { normalizeEmail } from './auth.core.ts';
import { type AuthService, type ClientMeta, hashPassword } from './auth.service.ts';
import type { OidcClient } from './sso.client.ts';
import {
  SSO_LINK_TOKEN_SECONDS,
  SSO_LOGIN_TTL_MS,
  type SsoProvisioning,
  decideIdentity,
  decideMembership,
  isDomain,
  issuerProblem,
  normalizeDomains,
  policyProblem,
  safeNextPath,
} from './sso.core.ts';
import { type SsoProviderRow, type SsoRepository, ssoLoginContext } from './sso.repository.ts';
import type { TenancyRepository, UserRow } from './tenancy.repository.ts';
import type { TenantsService } from './tenants.service.ts';
import type { TokenSigner } from './tokens.ts';

export interface SsoServiceDeps {
  db: Db;
  repo: TenancyRepository;
  sso: SsoRepository;
  accounts: AccountsRepository;
  oidc: OidcClient;
  auth: AuthService;
  tenants: TenantsService;
  tokens: TokenSigner;
  secrets: SecretBox;
  security: SecurityEventRepository;
  clock: () => Date;
  /** Where the provider sends the browser back: the dashboard's /sso/callback under the public address. */
  redirectUri: string;
  invalidate: (what: { membership?: { userId: string; tenantId: string } }) => void;
}

export interface ProviderInput {
  name: string;
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  allowedDomains: string[];
  defaultRole: Exclude<Role, 'owner'>;
  provisioning: SsoProvisioning;
  enabled: boolean;
}

const providerNotFound = () => notFound('SSO_PROVIDER_NOT_FOUND', 'The identity provider');
const stateInvalid = () =>
  new AppError(
    'unauthenticated',
    'SSO_STATE_INVALID',
    'This sign-in attempt is not valid any more (already used, expired, or started in another browser). Start again from the sign-in page.',
  );
const REFUSED_TEXT: Record<string, string> = {
  SSO_EMAIL_MISSING: 'The identity provider did not share your e-mail address, so Loupe cannot tell who you are.',
  SSO_EMAIL_UNVERIFIED: 'The identity provider says your e-mail address is not verified. Verify it there, then try again.',
  SSO_EMAIL_DOMAIN_NOT_ALLOWED: 'Your e-mail address is not in a domain this store accepts for single sign-on.',
  SSO_NOT_INVITED: 'This store admits members by invitation only. Ask an administrator of the store to invite you.',
};
const refused = (code: string) => new AppError('forbidden', code, REFUSED_TEXT[code] ?? 'Single sign-on was refused.');

/**
 * Single sign-on with OpenID Connect: a tenant's providers (client secret sealed with the secret box), the
 * authorization code flow with PKCE, state and nonce (one-use flows bound to the browser that started them),
 * and what a verified identity may do: sign in its linked account, become a new account and member (invitation
 * or just-in-time), or wait for the consent of the account its e-mail names (that account's password).
 */
export function createSsoService(deps: SsoServiceDeps) {
  const { db, repo, sso, accounts, oidc, secrets, security, clock, tokens } = deps;
  const secretContext = (tenantId: string, id: string) => `sso:${tenantId}:${id}`;
  const endpoint = (p: SsoProviderRow) => ({
    issuer: p.issuer,
    clientId: p.clientId,
    clientSecret: secrets.open(p.clientSecret, secretContext(p.tenantId, p.id)),
  });

  function validate(input: ProviderInput, creating: boolean): ProviderInput {
    const details: { field: string; message: string }[] = [];
    const issuer = input.issuer.trim().replace(/\/+$/, '');
    const ip = issuerProblem(issuer);
    if (ip) details.push({ field: 'issuer', message: ip });
    if (creating && !input.clientSecret) details.push({ field: 'client_secret', message: 'required' });
    const allowedDomains = normalizeDomains(input.allowedDomains);
    const bad = allowedDomains.find((d) => !isDomain(d));
    if (bad) details.push({ field: 'allowed_domains', message: `"${bad.slice(0, 100)}" is not a domain such as example.com` });
    const pp = policyProblem({ provisioning: input.provisioning, allowedDomains });
    if (pp) details.push({ field: 'allowed_domains', message: pp });
    if (details.length) throw new AppError('validation', 'VALIDATION_ERROR', details[0]!.message, { details });
    return { ...input, issuer, allowedDomains, name: input.name.trim(), clientId: input.clientId.trim() };
  }

  async function providerOf(tenantId: string, id: string) {
    const p = isUuid(id) ? await sso.getProvider(db, tenantId, id) : undefined;
    if (!p) throw providerNotFound();
    return p;
  }

  /** Whether the user may act in the tenant after SSO, adding the membership the policy allows. */
  async function admit(p: SsoProviderRow, user: { id: string; email: string } | undefined, email: string | undefined) {
    const now = clock();
    const membership = user ? await repo.getMembership(db, p.tenantId, user.id) : undefined;
    const inv = email ? await accounts.openInvitationFor(db, p.tenantId, email, now) : undefined;
    const d = decideMembership({
      membership,
      invitation: inv && { id: inv.id, role: inv.role },
      provisioning: p.provisioning,
      defaultRole: p.defaultRole,
    });
    if (d.kind === 'refused') throw refused(d.code);
    return { decision: d, invitedBy: inv?.invitedBy ?? null };
  }

  async function join(p: SsoProviderRow, userId: string, admitted: Awaited<ReturnType<typeof admit>>) {
    const d = admitted.decision;
    if (d.kind !== 'add') return;
    await db.transaction(async (tx) => {
      if (d.invitationId) await accounts.claimInvitation(tx, p.tenantId, d.invitationId, userId, clock());
      await accounts.activateMembership(tx, p.tenantId, userId, d.role, admitted.invitedBy);
    });
    deps.invalidate({ membership: { userId, tenantId: p.tenantId } });
  }

  async function failed(meta: ClientMeta, code: string, details: Record<string, unknown>) {
    await security.record({ type: 'sso_failed', userId: null, subjectHash: null, ...meta, details: { code, ...details } });
  }

  async function signIn(p: SsoProviderRow, user: UserRow, subject: string, meta: ClientMeta) {
    await sso.touchIdentity(db, p.tenantId, p.id, subject, clock());
    return deps.auth.signInWithSso(user, p.tenantId, meta);
  }

  return {
    /** Start-up step: seals providers' client secrets still under a previous key with the current one. */
    resealSecrets: () => sso.resealAll(db, secrets, secretContext),
    redirectUri: deps.redirectUri,

    async list(ctx: TenantContext) {
      requirePermission(ctx, 'tenant:manage');
      const rows = await sso.listProviders(db, ctx.tenantId);
      const settings = await deps.tenants.settingsOf(ctx.tenantId);
      return {
        providers: await Promise.all(rows.map(async (p) => ({ ...p, linkedAccounts: await sso.countIdentities(db, ctx.tenantId, p.id) }))),
        requireSso: settings.require_sso === true,
      };
    },

    async create(ctx: TenantContext, input: ProviderInput) {
      requirePermission(ctx, 'tenant:manage');
      const v = validate(input, true);
      const id = newId();
      return sso.insertProvider(
        db,
        ctx.tenantId,
        { ...v, clientSecret: secrets.seal(v.clientSecret!, secretContext(ctx.tenantId, id)) },
        id,
      );
    },

    async update(ctx: TenantContext, id: string, input: ProviderInput) {
      requirePermission(ctx, 'tenant:manage');
      const before = await providerOf(ctx.tenantId, id);
      const v = validate(input, false);
      const out = await sso.updateProvider(db, ctx.tenantId, id, {
        ...v,
        clientSecret: v.clientSecret ? secrets.seal(v.clientSecret, secretContext(ctx.tenantId, id)) : null,
      });
      if (!out) throw providerNotFound();
      oidc.forget(endpoint(before));
      return out;
    },

    async remove(ctx: TenantContext, id: string) {
      requirePermission(ctx, 'tenant:manage');
      const p = await providerOf(ctx.tenantId, id);
      const left = (await sso.listProviders(db, ctx.tenantId)).filter((x) => x.enabled && x.id !== id);
      if ((await deps.tenants.settingsOf(ctx.tenantId)).require_sso === true && left.length === 0)
        throw conflict(
          'SSO_REQUIRED_NEEDS_PROVIDER',
          'This store requires single sign-on: turn that off before removing its last provider.',
        );
      await sso.deleteProvider(db, ctx.tenantId, id);
      oidc.forget(endpoint(p));
    },

    /** "Test connection": discovers the provider with its stored settings. */
    async test(ctx: TenantContext, id: string) {
      requirePermission(ctx, 'tenant:manage');
      return oidc.check(endpoint(await providerOf(ctx.tenantId, id)));
    },

    async setRequireSso(ctx: TenantContext, requireSso: boolean) {
      requirePermission(ctx, 'tenant:manage');
      if (requireSso && !(await sso.listProviders(db, ctx.tenantId)).some((p) => p.enabled))
        throw conflict('SSO_PROVIDER_REQUIRED', 'Add and enable an identity provider before requiring single sign-on.');
      await deps.tenants.updateTenant(ctx.tenantId, { settings: { require_sso: requireSso } });
      return requireSso;
    },

    /** The enabled providers of a store, by its slug, for the sign-in page (an unknown store has none). */
    async publicProviders(tenantSlug: string) {
      const t = await repo.getTenantBySlug(db, tenantSlug.trim().toLowerCase());
      if (!t || t.status !== 'active') return [];
      return (await sso.listProviders(db, t.id)).filter((p) => p.enabled).map((p) => ({ id: p.id, name: p.name }));
    },

    /**
     * Starts an authorization request: state, nonce and PKCE verifier (kept server side, the verifier sealed), and
     * a browser key the caller keeps and sends back with the callback (the flow completes only in that browser).
     */
    async start(input: { tenant: string; providerId: string; next?: string | undefined }) {
      const t = await repo.getTenantBySlug(db, input.tenant.trim().toLowerCase());
      const p = t && isUuid(input.providerId) ? await sso.getProvider(db, t.id, input.providerId) : undefined;
      if (!t || !p || !p.enabled) throw providerNotFound();
      const state = randomState();
      const nonce = randomNonce();
      const codeVerifier = randomPKCECodeVerifier();
      const browserKey = randomToken(32);
      const stateHash = sha256Hex(state);
      const url = await oidc.authorizationUrl(endpoint(p), { redirectUri: deps.redirectUri, state, nonce, codeVerifier });
      await sso.insertLogin(db, stateHash, {
        tenantId: p.tenantId,
        providerId: p.id,
        browserKeyHash: sha256Hex(browserKey),
        nonce,
        codeVerifier: secrets.seal(codeVerifier, ssoLoginContext(stateHash)),
        nextPath: safeNextPath(input.next) ?? null,
        expiresAt: new Date(clock().getTime() + SSO_LOGIN_TTL_MS),
      });
      return { authorizationUrl: url, browserKey, state };
    },

    /**
     * Completes the flow from the redirect back: uses the state once (in the browser that started it), exchanges
     * the code (the ID token validated by openid-client), then signs in, creates and admits, or asks for the
     * consent of the account the e-mail names.
     */
    async callback(input: { state: string; browserKey: string; query: string }, meta: ClientMeta) {
      const stateHash = sha256Hex(input.state);
      const login = await sso.useLogin(db, stateHash, sha256Hex(input.browserKey), clock());
      if (!login) {
        await failed(meta, 'SSO_STATE_INVALID', {});
        throw stateInvalid();
      }
      const p = await sso.getProvider(db, login.tenantId, login.providerId);
      if (!p || !p.enabled) throw providerNotFound();
      const callbackUrl = new URL(deps.redirectUri);
      callbackUrl.search = input.query.startsWith('?') ? input.query.slice(1) : input.query;
      let id;
      try {
        id = await oidc.exchange(endpoint(p), callbackUrl, {
          state: input.state,
          nonce: login.nonce,
          codeVerifier: secrets.open(login.codeVerifier, ssoLoginContext(stateHash)),
        });
      } catch (err) {
        if (err instanceof AppError) await failed(meta, err.code, { tenant_id: p.tenantId, provider_id: p.id });
        throw err;
      }
      const email = id.email ? normalizeEmail(id.email) : undefined;
      const linkedUserId = await sso.identityUser(db, p.tenantId, p.id, id.subject);
      const account = !linkedUserId && email ? await repo.getUserByEmail(db, email) : undefined;
      const outcome = decideIdentity({
        linkedUserId,
        email,
        emailVerified: id.emailVerified,
        accountUserId: account?.id,
        allowedDomains: p.allowedDomains,
      });
      const next = login.nextPath;
      if (outcome.kind === 'refused') {
        await failed(meta, outcome.code, { tenant_id: p.tenantId, provider_id: p.id });
        throw refused(outcome.code);
      }
      if (outcome.kind === 'linked') {
        const user = await repo.getUser(db, outcome.userId);
        if (!user) throw stateInvalid();
        await join(p, user.id, await admit(p, user, user.email));
        return { kind: 'signed_in' as const, next, out: await signIn(p, user, id.subject, meta) };
      }
      if (outcome.kind === 'link_required') {
        await admit(p, account, outcome.email); // refused now rather than after the password
        const now = Math.floor(clock().getTime() / 1000);
        const linkToken = await tokens.signSsoLink(
          { userId: outcome.userId, tenantId: p.tenantId, providerId: p.id, subject: id.subject, email: outcome.email },
          now,
          SSO_LINK_TOKEN_SECONDS,
        );
        return { kind: 'link_required' as const, next, email: outcome.email, providerName: p.name, linkToken };
      }
      // A new account: admitted first (invite-only without an invitation creates nothing).
      const admitted = await admit(p, undefined, outcome.email);
      const created = await repo.insertUser(db, {
        email: outcome.email,
        name: id.name ?? null,
        // No password: an unguessable one nobody knows (a password reset sets one if ever wanted).
        passwordHash: await hashPassword(randomToken(32)),
        isPlatformAdmin: false,
      });
      if (!created) throw conflict('USER_EMAIL_TAKEN', 'An account with this e-mail was just created. Sign in with your provider again.');
      if (!(await sso.link(db, p.tenantId, p.id, id.subject, created.id, outcome.email)))
        throw conflict('SSO_ALREADY_LINKED', 'This identity was just linked to another account. Sign in with your provider again.');
      await join(p, created.id, admitted);
      await security.record({
        type: 'sso_account_created',
        userId: created.id,
        subjectHash: sha256Hex(outcome.email),
        ...meta,
        details: { tenant_id: p.tenantId, provider_id: p.id },
      });
      return { kind: 'signed_in' as const, next, out: await signIn(p, created, id.subject, meta) };
    },

    /**
     * Links a pending identity to the account its e-mail names, with that account's consent: its password,
     * checked under the sign-in lockout. Then signs in (with the account's second factor when on).
     */
    async link(input: { linkToken: string; password: string }, meta: ClientMeta) {
      const c = await tokens.verifySsoLink(input.linkToken);
      const user = await repo.getUser(db, c.userId);
      const p = await sso.getProvider(db, c.tenantId, c.providerId);
      if (!user || !p || !p.enabled || normalizeEmail(user.email) !== c.email) throw stateInvalid();
      if (!(await deps.auth.checkPassword(user, input.password, meta, 'sso_link')))
        throw new AppError('unauthenticated', 'INVALID_CREDENTIALS', `The password of ${user.email} is not right.`);
      const admitted = await admit(p, user, user.email);
      if (!(await sso.link(db, c.tenantId, c.providerId, c.subject, user.id, c.email)))
        throw conflict('SSO_ALREADY_LINKED', `${user.email} is already linked to another identity at ${p.name}.`);
      await join(p, user.id, admitted);
      await security.record({
        type: 'sso_linked',
        userId: user.id,
        subjectHash: sha256Hex(c.email),
        ...meta,
        details: { tenant_id: c.tenantId, provider_id: c.providerId },
      });
      return signIn(p, user, c.subject, meta);
    },

    /** Forgets authorization requests that ended more than an hour ago. */
    prune: () => sso.pruneLogins(db, new Date(clock().getTime() - 60 * 60_000)),
  };
}
export type SsoService = ReturnType<typeof createSsoService>;
