import { LRUCache } from 'lru-cache';
import { type Db, AppError, type Mailer, type SecurityEventRepository, conflict, randomToken, sha256Hex } from '../../platform/index.ts';
import {
  REGISTRATION_MAILS_PER_HOUR,
  REGISTRATION_TOKEN_PREFIX,
  REGISTRATION_TTL_MS,
  accountLink,
  alreadyRegisteredMail,
  plausibleToken,
  registrationMail,
  tokenProblem,
} from './accounts.core.ts';
import { normalizeEmail, slugify } from './auth.core.ts';
import { type AuthService, type ClientMeta, hashPassword } from './auth.service.ts';
import type { RegistrationRepository } from './registration.repository.ts';
import type { TenancyRepository } from './tenancy.repository.ts';

export interface RegistrationServiceDeps {
  db: Db;
  repo: TenancyRepository;
  registrations: RegistrationRepository;
  mailer: Mailer;
  /** Where links in e-mails point (PUBLIC_URL, else this server's local address). */
  linkBase: string;
  security: SecurityEventRepository;
  clock: () => Date;
  auth: Pick<AuthService, 'signInVerified'>;
  /** Logs a failed background send. */
  warn: (obj: Record<string, unknown>, msg: string) => void;
}

const LINK_ERRORS = {
  invalid: ['REGISTRATION_TOKEN_INVALID', 'not_found', 'This link is not valid. Check that it was copied whole, or sign up again.'],
  used: ['REGISTRATION_TOKEN_USED', 'gone', 'This link was already used. Sign in with your e-mail and password.'],
  expired: ['REGISTRATION_TOKEN_EXPIRED', 'gone', 'This link has expired. Sign up again to get a new one.'],
  withdrawn: ['REGISTRATION_TOKEN_INVALID', 'not_found', 'This link is not valid. Sign up again.'],
} as const;

/**
 * Verified self-service sign-up. `request` answers the same for every address (the caller learns nothing about
 * which e-mails have accounts): it hashes the password either way, and sends, in the background, a single-use
 * link to an unknown address or a "you already have an account" mail to a known one. The account (and the tenant
 * it owns) is created only by `verify`, when the link comes back.
 */
export function createRegistrationService(deps: RegistrationServiceDeps) {
  const { db, repo, registrations, mailer, clock, security } = deps;
  // Mails per address hash in the last hour, per process: no flooding someone's inbox through the sign-up form.
  const sent = new LRUCache<string, number>({ max: 50_000, ttl: 60 * 60_000 });
  const send = (to: string, message: { subject: string; text: string }, what: string) =>
    void mailer
      .send({ to, ...message })
      .catch((err: unknown) => deps.warn({ err: err instanceof Error ? err.message : String(err) }, what));

  return {
    /** Starts a sign-up. Resolves the same way (nothing) whether or not the address has an account. */
    async request(
      input: { email: string; password: string; name?: string | undefined; tenantName?: string | undefined },
      meta: ClientMeta,
    ): Promise<void> {
      const email = normalizeEmail(input.email);
      const subjectHash = sha256Hex(email);
      // Hashed for a known address too: the answer takes the same time either way.
      const passwordHash = await hashPassword(input.password);
      const user = await repo.getUserByEmail(db, email);
      const now = clock();
      await security.record({ type: 'registration_requested', userId: user?.id ?? null, subjectHash, ...meta });
      const count = sent.get(subjectHash) ?? 0;
      if (count >= REGISTRATION_MAILS_PER_HOUR) return;
      sent.set(subjectHash, count + 1, { noUpdateTTL: count > 0 });
      if (user) {
        const base = deps.linkBase.replace(/\/+$/, '');
        send(email, alreadyRegisteredMail({ signInLink: `${base}/sign-in`, resetLink: `${base}/reset-password` }), 'sign-up e-mail failed');
        return;
      }
      const token = `${REGISTRATION_TOKEN_PREFIX}${randomToken(43)}`;
      await registrations.insert(db, {
        email,
        name: input.name ?? null,
        passwordHash,
        tenantName: input.tenantName ?? null,
        tokenHash: sha256Hex(token),
        expiresAt: new Date(now.getTime() + REGISTRATION_TTL_MS),
        now,
      });
      send(
        email,
        registrationMail({ link: accountLink(deps.linkBase, 'verify-registration', token), tenantName: input.tenantName ?? null }),
        'sign-up e-mail failed',
      );
    },

    /**
     * Completes a sign-up from its e-mailed link (single use): creates the account with the password chosen at
     * sign-up and, when a store name was given, the tenant it owns, in one transaction; then signs it in.
     */
    async verify(token: string, meta: ClientMeta) {
      const now = clock();
      const hash = sha256Hex(token);
      const plausible = plausibleToken(token, REGISTRATION_TOKEN_PREFIX);
      const created = plausible
        ? await db.transaction(async (tx) => {
            const reg = await registrations.claim(tx, hash, now);
            if (!reg) return undefined;
            const user = await repo.insertUser(tx, {
              email: reg.email,
              name: reg.name,
              passwordHash: reg.passwordHash,
              isPlatformAdmin: false,
            });
            // An account made for this address meanwhile (another link, an invitation, an administrator).
            if (!user)
              throw conflict('USER_EMAIL_TAKEN', `${reg.email} already has an account. Sign in, or reset its password if you forgot it.`);
            await registrations.closeOthers(tx, reg.email, now);
            let tenantId: string | null = null;
            if (reg.tenantName) {
              const base = slugify(reg.tenantName);
              let tenant = await repo.insertTenant(tx, { name: reg.tenantName, slug: base, settings: {} });
              for (let i = 2; !tenant && i < 50; i++)
                tenant = await repo.insertTenant(tx, { name: reg.tenantName, slug: `${base.slice(0, 44)}-${i}`, settings: {} });
              if (!tenant) throw conflict('TENANT_SLUG_TAKEN', 'No free address for this store name. Sign up again with another name.');
              await repo.upsertMembership(tx, tenant.id, user.id, 'owner');
              tenantId = tenant.id;
            }
            return { user, tenantId };
          })
        : undefined;
      if (!created) {
        const row = plausible ? await registrations.byToken(db, hash) : undefined;
        const [code, kind, text] = LINK_ERRORS[tokenProblem(row, now) ?? 'used'];
        throw new AppError(kind, code, text);
      }
      await security.record({
        type: 'registration_completed',
        userId: created.user.id,
        subjectHash: sha256Hex(created.user.email),
        ...meta,
        details: created.tenantId ? { tenant_id: created.tenantId } : {},
      });
      return { ...(await deps.auth.signInVerified(created.user, meta)), tenantId: created.tenantId };
    },

    prune: () => registrations.prune(db, new Date(clock().getTime() - 24 * 60 * 60_000)),
  };
}
export type RegistrationService = ReturnType<typeof createRegistrationService>;
