/**
 * Tenancy: tenants, users, memberships and roles, sessions and tokens, API keys and scopes.
 * Public entry: the module factory (its routes and the platform Authenticator) and bootstrap helpers.
 */
import type { FastifyInstance } from 'fastify';
import {
  type Config,
  type Db,
  type SecretBox,
  type SecurityEventRepository,
  createMailer,
  isUuid,
  randomToken,
} from '../../platform/index.ts';
import { createAccountsRepository } from './accounts.repository.ts';
import { accountsRoutes } from './accounts.routes.ts';
import { createAccountsService } from './accounts.service.ts';
import { createApiKeysService } from './api-keys.service.ts';
import { createAuthService } from './auth.service.ts';
import { createTenancyRepository } from './tenancy.repository.ts';
import { regionalRoutes } from './regional.routes.ts';
import { createRegistrationRepository } from './registration.repository.ts';
import { registrationRoutes } from './registration.routes.ts';
import { createRegistrationService } from './registration.service.ts';
import { tenancyRoutes } from './tenancy.routes.ts';
import { createTenantsService } from './tenants.service.ts';
import { createTokenSigner } from './tokens.ts';
import { createTwoFactorRepository } from './two-factor.repository.ts';
import { createOidcClient } from './sso.client.ts';
import { createSsoRepository } from './sso.repository.ts';
import { ssoRoutes } from './sso.routes.ts';
import { createSsoService } from './sso.service.ts';
import { installRefreshCookie } from './refresh-cookie.ts';
import { twoFactorRoutes } from './two-factor.routes.ts';
import { createTwoFactorService } from './two-factor.service.ts';

export interface TenancyModuleDeps {
  db: Db;
  config: Config;
  jwtSecret: string;
  security: SecurityEventRepository;
  clock: () => Date;
  log: { info(obj: unknown, msg: string): void; warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
  /** Seals TOTP secrets at rest (the platform's secret box, as for integration secrets). */
  secrets: SecretBox;
}

/** Sign-in failures of an (account, source) pair are forgotten after a day without new ones (and no running lock). */
const THROTTLE_IDLE_MS = 24 * 60 * 60_000;

export function createTenancyModule(deps: TenancyModuleDeps) {
  const repo = createTenancyRepository();
  const { clock } = deps;
  const tokens = createTokenSigner(deps.jwtSecret);
  const auth = createAuthService({
    db: deps.db,
    repo,
    security: deps.security,
    tokens,
    clock,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  const tenants = createTenantsService({ db: deps.db, repo, security: deps.security, invalidate: (w) => auth.invalidate(w) });
  const apiKeys = createApiKeysService({
    db: deps.db,
    repo,
    security: deps.security,
    clock,
    invalidateKey: (h) => auth.invalidate({ apiKeyHash: h }),
  });
  const twoFactor = createTwoFactorService({
    db: deps.db,
    repo,
    twoFactor: createTwoFactorRepository(),
    secrets: deps.secrets,
    security: deps.security,
    clock,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  const linkBase = deps.config.publicUrl ?? `http://localhost:${deps.config.port}`;
  const accountsRepo = createAccountsRepository();
  const sso = createSsoService({
    db: deps.db,
    repo,
    sso: createSsoRepository(),
    accounts: accountsRepo,
    oidc: createOidcClient(),
    auth,
    tenants,
    tokens,
    secrets: deps.secrets,
    security: deps.security,
    clock,
    // The dashboard's page that hands the provider's answer to POST /api/v1/auth/sso/callback.
    redirectUri: `${linkBase.replace(/\/+$/, '')}/sso/callback`,
    invalidate: (w) => auth.invalidate(w),
  });
  const mailer = createMailer(deps.config.mail.smtpUrl, deps.config.mail.from);
  const accounts = createAccountsService({
    db: deps.db,
    repo,
    accounts: accountsRepo,
    mailer,
    // Links in e-mails point at the configured public address, never at a request's Host header.
    linkBase,
    security: deps.security,
    clock,
    invalidate: (w) => auth.invalidate(w),
    checkPassword: (user, password, meta, during) => auth.checkPassword(user, password, meta, during),
    warn: (obj, msg) => deps.log.warn(obj, msg),
  });
  const registration = createRegistrationService({
    db: deps.db,
    repo,
    registrations: createRegistrationRepository(),
    mailer,
    linkBase,
    security: deps.security,
    clock,
    auth,
    warn: (obj, msg) => deps.log.warn(obj, msg),
  });
  // Open sign-up is verified by an e-mailed link: without a mailer nobody could finish it, so it stays closed (said
  // once at start, rather than refusing to start a server that is otherwise fine).
  const registrationMode = deps.config.registration === 'open' && mailer.configured ? 'open' : 'closed';
  if (deps.config.registration === 'open' && !mailer.configured)
    deps.log.error(
      { LOUPE_REGISTRATION: 'open' },
      'LOUPE_REGISTRATION=open needs e-mail (LOUPE_SMTP_URL) to verify addresses: registration stays closed until it is set',
    );
  const pruneLoginThrottle = async (): Promise<number> => {
    const now = clock();
    await sso.prune();
    await registration.prune();
    return repo.pruneThrottle(deps.db, new Date(now.getTime() - THROTTLE_IDLE_MS), now);
  };
  return {
    authenticator: auth.authenticator,
    tenants,
    apiKeys,
    auth,
    accounts,
    twoFactor,
    sso,
    async routes(app: FastifyInstance): Promise<void> {
      await tenancyRoutes(app, {
        db: deps.db,
        auth,
        tenants,
        apiKeys,
        repo,
        twoFactor,
        publicUrl: deps.config.publicUrl,
      });
      await registrationRoutes(app, { registration, mode: registrationMode });
      installRefreshCookie(app);
      await accountsRoutes(app, { db: deps.db, auth, accounts, repo, clock });
      await twoFactorRoutes(app, { auth, twoFactor, tenants });
      await regionalRoutes(app, { tenants });
      await ssoRoutes(app, { sso });
    },
    /**
     * Forgets sign-in failures of (account, source) pairs idle for THROTTLE_IDLE_MS whose lock has ended, so
     * `login_throttle` does not grow with every address that ever mistyped a password. Returns rows deleted.
     */
    pruneLoginThrottle,
    /**
     * Start-up step: seals TOTP secrets and SSO client secrets still under a previous key (LOUPE_SECRETS_KEY_PREVIOUS)
     * with the current one.
     */
    async resealSecrets(): Promise<void> {
      const r = await twoFactor.resealSecrets();
      if (r.resealed) deps.log.info({ resealed: r.resealed }, 'two-factor secrets sealed with the current key');
      if (r.unreadable)
        deps.log.error(
          { unreadable: r.unreadable },
          'two-factor secrets that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or have those users enrol again',
        );
      const s = await sso.resealSecrets();
      if (s.resealed) deps.log.info({ resealed: s.resealed }, 'SSO client secrets sealed with the current key');
      if (s.unreadable)
        deps.log.error(
          { unreadable: s.unreadable },
          'SSO client secrets that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or enter them again in Settings',
        );
    },
    /** The id of the tenant with this slug or id (the command line names tenants by slug), or undefined. */
    async findTenantId(slugOrId: string): Promise<string | undefined> {
      const t = (await repo.getTenantBySlug(deps.db, slugOrId)) ?? (isUuid(slugOrId) ? await repo.getTenant(deps.db, slugOrId) : undefined);
      return t?.id;
    },
    /** Creates the first platform administrator when none exists. Returns the password only when generated. */
    async ensurePlatformAdmin(
      email: string | undefined,
      password: string | undefined,
    ): Promise<{ created: boolean; email: string; generatedPassword?: string }> {
      if ((await repo.countPlatformAdmins(deps.db)) > 0) return { created: false, email: email ?? '' };
      const pw = password ?? randomToken(20);
      const out = await tenants.createUser({
        email: email ?? 'admin@loupe.local',
        password: pw,
        name: 'Platform admin',
        isPlatformAdmin: true,
      });
      return { created: true, email: out.user.email, ...(password ? {} : { generatedPassword: pw }) };
    },
  };
}
export type TenancyModule = ReturnType<typeof createTenancyModule>;
