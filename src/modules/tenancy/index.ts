/**
 * Tenancy: tenants, users, memberships and roles, sessions and tokens, API keys and scopes.
 * Public entry: the module factory (its routes and the platform Authenticator) and bootstrap helpers.
 */
import type { FastifyInstance } from 'fastify';
import { type Config, type Db, type SecurityEventRepository, isUuid, randomToken } from '../../platform/index.ts';
import { createApiKeysService } from './api-keys.service.ts';
import { createAuthService } from './auth.service.ts';
import { createTenancyRepository } from './tenancy.repository.ts';
import { regionalRoutes } from './regional.routes.ts';
import { tenancyRoutes } from './tenancy.routes.ts';
import { createTenantsService } from './tenants.service.ts';
import { createTokenSigner } from './tokens.ts';

export interface TenancyModuleDeps {
  db: Db;
  config: Config;
  jwtSecret: string;
  security: SecurityEventRepository;
  clock: () => Date;
}

/** Sign-in failures of an (account, source) pair are forgotten after a day without new ones (and no running lock). */
const THROTTLE_IDLE_MS = 24 * 60 * 60_000;

export function createTenancyModule(deps: TenancyModuleDeps) {
  const repo = createTenancyRepository();
  const { clock } = deps;
  const auth = createAuthService({
    db: deps.db,
    repo,
    security: deps.security,
    tokens: createTokenSigner(deps.jwtSecret),
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
  const pruneLoginThrottle = async (): Promise<number> => {
    const now = clock();
    return repo.pruneThrottle(deps.db, new Date(now.getTime() - THROTTLE_IDLE_MS), now);
  };
  return {
    authenticator: auth.authenticator,
    tenants,
    apiKeys,
    auth,
    async routes(app: FastifyInstance): Promise<void> {
      await tenancyRoutes(app, { db: deps.db, auth, tenants, apiKeys, repo, registration: deps.config.registration });
      await regionalRoutes(app, { tenants });
    },
    /**
     * Forgets sign-in failures of (account, source) pairs idle for THROTTLE_IDLE_MS whose lock has ended, so
     * `login_throttle` does not grow with every address that ever mistyped a password. Returns rows deleted.
     */
    pruneLoginThrottle,
    /** Runs `pruneLoginThrottle` every `everyMs` (default hourly) until the returned stop function is called. */
    startMaintenance(log: { warn(obj: unknown, msg: string): void }, everyMs = 60 * 60_000): () => void {
      const timer = setInterval(() => {
        pruneLoginThrottle().catch((err: unknown) =>
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'login_throttle clean-up failed'),
        );
      }, everyMs);
      timer.unref();
      return () => clearInterval(timer);
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
