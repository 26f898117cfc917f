import {
  type Db,
  AppError,
  type Mailer,
  type Role,
  type SecurityEventRepository,
  type TenantContext,
  conflict,
  notFound,
  randomToken,
  requirePermission,
  sha256Hex,
} from '../../platform/index.ts';
import {
  INVITATION_RESEND_COOLDOWN_MS,
  INVITATION_TOKEN_PREFIX,
  INVITATION_TTL_MS,
  RESET_TOKEN_PREFIX,
  RESET_TTL_MS,
  RESETS_PER_HOUR,
  type TokenProblem,
  accountLink,
  invitationMail,
  plausibleToken,
  resendWaitSeconds,
  resetMail,
  tokenProblem,
} from './accounts.core.ts';
import type { AccountsRepository, EmailInvitationRow } from './accounts.repository.ts';
import { normalizeEmail } from './auth.core.ts';
import { type AuthService, hashPassword, type ClientMeta } from './auth.service.ts';
import { weakPasswordReason } from './password-policy.core.ts';
import type { TenancyRepository } from './tenancy.repository.ts';

export interface AccountsServiceDeps {
  db: Db;
  repo: TenancyRepository;
  accounts: AccountsRepository;
  mailer: Mailer;
  /** Where links in e-mails point (PUBLIC_URL, else this server's local address). */
  linkBase: string;
  security: SecurityEventRepository;
  clock: () => Date;
  invalidate: (what: { membership?: { userId: string; tenantId: string } }) => void;
  /** Checks an existing account's password under the sign-in lockout (auth's `checkPassword`). */
  checkPassword: AuthService['checkPassword'];
  /** Logs a failed background send (password reset mails are sent after the answer). */
  warn: (obj: Record<string, unknown>, msg: string) => void;
}

/** How a link reached its recipient: by e-mail, or handed to the administrator because e-mail is off or failed. */
export type Delivery = 'sent' | 'not_configured' | 'failed';

const PROBLEM_TEXT: Record<TokenProblem, [code: string, kind: 'not_found' | 'gone' | 'conflict', text: string]> = {
  invalid: ['TOKEN_INVALID', 'not_found', 'This link is not valid. Check that it was copied whole, or ask for a new one.'],
  used: ['TOKEN_USED', 'gone', 'This link was already used. Ask for a new one if you still need it.'],
  expired: ['TOKEN_EXPIRED', 'gone', 'This link has expired. Ask for a new one.'],
  withdrawn: ['TOKEN_WITHDRAWN', 'gone', 'This invitation was withdrawn by the store. Ask them for a new one.'],
};
const linkError = (what: 'INVITATION' | 'RESET', p: TokenProblem): AppError => {
  const [code, kind, text] = PROBLEM_TEXT[p];
  return new AppError(kind, `${what}_${code}`, text);
};

/**
 * Accounts by e-mail: invitations by single-use link for addresses with or without an account, and password
 * reset. Tokens are stored as sha-256 only; every use is a single conditional UPDATE (exactly one of two racing
 * uses wins).
 */
export function createAccountsService(deps: AccountsServiceDeps) {
  const { db, repo, accounts, mailer, clock, security } = deps;
  const newToken = (prefix: string) => `${prefix}${randomToken(43)}`;

  async function deliverInvitation(inv: EmailInvitationRow, tenantName: string, token: string) {
    const link = accountLink(deps.linkBase, 'accept-invite', token);
    if (!mailer.configured) return { link, delivery: 'not_configured' as Delivery };
    try {
      await mailer.send({
        to: inv.email,
        ...invitationMail({ tenantName, inviter: inv.invitedByEmail, role: inv.role, link, expiresAt: inv.expiresAt }),
      });
      return { link: null, delivery: 'sent' as Delivery };
    } catch (err) {
      deps.warn({ err: err instanceof Error ? err.message : String(err) }, 'invitation e-mail failed');
      return { link, delivery: 'failed' as Delivery };
    }
  }

  async function tenantName(tenantId: string) {
    return (await repo.getTenant(db, tenantId))?.name ?? 'a store';
  }

  return {
    mailConfigured: mailer.configured,

    /**
     * Invites an address by e-mail link with a role. Inviting an address with an open invitation refreshes it
     * (new link, role and expiry), at most once per INVITATION_RESEND_COOLDOWN_MS like a resend (429
     * INVITATION_RESEND_TOO_SOON: inviting again is no way around the resend cooldown to flood an inbox);
     * an address that is already an active member is a conflict. The link is
     * returned only when it was not e-mailed (the inviter passes it on).
     */
    async invite(ctx: TenantContext, input: { email: string; role: Role }) {
      requirePermission(ctx, 'members:manage');
      if (input.role === 'owner' && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can invite another owner.');
      const email = normalizeEmail(input.email);
      const existing = await repo.getUserByEmail(db, email);
      if (existing) {
        const m = await repo.getMembership(db, ctx.tenantId, existing.id);
        if (m?.status === 'active') throw conflict('ALREADY_MEMBER', `${email} is already a member of this store.`);
      }
      const token = newToken(INVITATION_TOKEN_PREFIX);
      const now = clock();
      const inv = await accounts.upsertInvitation(db, ctx.tenantId, {
        email,
        role: input.role,
        tokenHash: sha256Hex(token),
        invitedBy: ctx.actor.type === 'user' ? ctx.actor.id : null,
        expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
        now,
        sentBefore: new Date(now.getTime() - INVITATION_RESEND_COOLDOWN_MS),
      });
      if (!inv) {
        // The open invitation was sent within the cooldown (just now, or by a concurrent request): nothing replaced.
        const sentAt = await accounts.openInvitationSentAt(db, ctx.tenantId, email);
        const wait = Math.max(1, sentAt ? resendWaitSeconds(sentAt, now) : INVITATION_RESEND_COOLDOWN_MS / 1000);
        throw new AppError('rate_limited', 'INVITATION_RESEND_TOO_SOON', `${email} was just invited. Invite again in ${wait} s.`, {
          retryAfterSeconds: wait,
        });
      }
      return { invitation: inv, ...(await deliverInvitation(inv, await tenantName(ctx.tenantId), token)) };
    },

    listInvitations(ctx: TenantContext) {
      requirePermission(ctx, 'members:manage');
      return accounts.openInvitations(db, ctx.tenantId);
    },

    /** A new link (the old one stops working) and a new expiry for an open invitation, sent again. */
    async resendInvitation(ctx: TenantContext, id: string) {
      requirePermission(ctx, 'members:manage');
      const now = clock();
      const open = (i: EmailInvitationRow | undefined): i is EmailInvitationRow => !!i && !i.acceptedAt && !i.revokedAt;
      const current = await accounts.invitation(db, ctx.tenantId, id);
      if (!open(current)) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
      // Checked before renewing: a refused resend must not replace the link already sent.
      if (current.role === 'owner' && ctx.role !== 'owner')
        throw new AppError('forbidden', 'OWNER_REQUIRED', 'Only an owner can invite another owner.');
      const tooSoon = (wait: number) =>
        new AppError('rate_limited', 'INVITATION_RESEND_TOO_SOON', `This invitation was just sent. Send it again in ${wait} s.`, {
          retryAfterSeconds: wait,
        });
      const wait = resendWaitSeconds(current.lastSentAt, now);
      if (wait) throw tooSoon(wait);
      const token = newToken(INVITATION_TOKEN_PREFIX);
      const sentBefore = new Date(now.getTime() - INVITATION_RESEND_COOLDOWN_MS);
      const inv = await accounts.renewInvitation(
        db,
        ctx.tenantId,
        id,
        sha256Hex(token),
        new Date(now.getTime() + INVITATION_TTL_MS),
        now,
        sentBefore,
      );
      if (!inv) {
        // Resent (or accepted, withdrawn) meanwhile by a concurrent request.
        const again = await accounts.invitation(db, ctx.tenantId, id);
        if (!open(again)) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
        throw tooSoon(Math.max(1, resendWaitSeconds(again.lastSentAt, now)));
      }
      return { invitation: inv, ...(await deliverInvitation(inv, await tenantName(ctx.tenantId), token)) };
    },

    async withdrawInvitation(ctx: TenantContext, id: string): Promise<void> {
      requirePermission(ctx, 'members:manage');
      if (!(await accounts.withdrawInvitation(db, ctx.tenantId, id, clock()))) throw notFound('INVITATION_NOT_FOUND', 'Invitation');
    },

    /** What an invitation link offers (public: whoever holds the link). Clear errors for unusable links. */
    async previewInvitation(token: string) {
      const inv = plausibleToken(token, INVITATION_TOKEN_PREFIX) ? await accounts.invitationByToken(db, sha256Hex(token)) : undefined;
      const problem = tokenProblem(inv && { usedAt: inv.acceptedAt, revokedAt: inv.revokedAt, expiresAt: inv.expiresAt }, clock());
      if (problem || !inv) throw linkError('INVITATION', problem ?? 'invalid');
      if (inv.tenantStatus !== 'active') throw linkError('INVITATION', 'withdrawn');
      const user = await repo.getUserByEmail(db, inv.email);
      return { invitation: inv, tenantName: inv.tenantName, accountExists: !!user };
    },

    /**
     * Accepts an invitation link. An address without an account chooses its password here (the policy applies);
     * one with an account proves it with its current password. The membership becomes active with the
     * invitation's role. Returns the e-mail and password to sign in with.
     */
    async acceptInvitation(token: string, input: { password: string; name?: string | undefined }, meta: ClientMeta) {
      const { invitation: inv } = await this.previewInvitation(token);
      const now = clock();
      let user = await repo.getUserByEmail(db, inv.email);
      if (user) {
        // Counted by the sign-in lockout: a link must not be a way around it to guess the account's password.
        if (!(await deps.checkPassword(user, input.password, meta, 'invitation_accept')))
          throw new AppError('unauthenticated', 'INVALID_CREDENTIALS', `${inv.email} already has an account: enter its current password.`);
      } else {
        const weak = weakPasswordReason(input.password);
        if (input.password.length < 8 || weak) {
          throw new AppError('validation', 'VALIDATION_ERROR', weak ?? 'The password must be at least 8 characters.', {
            details: [{ field: 'password', message: weak ?? 'must be at least 8 characters' }],
          });
        }
      }
      const passwordHash = user ? null : await hashPassword(input.password);
      const userId = await db.transaction(async (tx) => {
        let id = user?.id;
        if (!id) {
          const created = await repo.insertUser(tx, {
            email: inv.email,
            name: input.name ?? null,
            passwordHash: passwordHash!,
            isPlatformAdmin: false,
          });
          // An account made for this address meanwhile (registration, another invitation): the link does not set its password.
          if (!created) throw conflict('USER_EMAIL_TAKEN', `${inv.email} now has an account: open the link again and enter its password.`);
          id = created.id;
        }
        if (!(await accounts.claimInvitation(tx, inv.tenantId, inv.id, id, now))) {
          const again = await accounts.invitationByToken(tx, sha256Hex(token));
          throw linkError(
            'INVITATION',
            tokenProblem(again && { usedAt: again.acceptedAt, revokedAt: again.revokedAt, expiresAt: again.expiresAt }, now) ?? 'used',
          );
        }
        await accounts.activateMembership(tx, inv.tenantId, id, inv.role, inv.invitedBy);
        return id;
      });
      deps.invalidate({ membership: { userId, tenantId: inv.tenantId } });
      await security.record({
        type: 'invitation_accepted',
        userId,
        subjectHash: sha256Hex(inv.email),
        ...meta,
        details: { tenant_id: inv.tenantId, invitation_id: inv.id, role: inv.role, new_account: !user },
      });
      user = await repo.getUser(db, userId);
      return { userId, email: user!.email, tenantId: inv.tenantId, role: inv.role };
    },

    /**
     * Starts a password reset. Always the same outcome for the caller (no account enumeration): the e-mail, when
     * the account exists and is active and has asked fewer than RESETS_PER_HOUR times this hour, is sent in the
     * background so the answer takes the same time either way.
     */
    async requestReset(emailIn: string, meta: ClientMeta): Promise<void> {
      const email = normalizeEmail(emailIn);
      const now = clock();
      const user = await repo.getUserByEmail(db, email);
      await security.record({ type: 'password_reset_requested', userId: user?.id ?? null, subjectHash: sha256Hex(email), ...meta });
      if (!user || user.status !== 'active' || !mailer.configured) return;
      if ((await accounts.recentResets(db, user.id, new Date(now.getTime() - 60 * 60_000))) >= RESETS_PER_HOUR) return;
      const token = newToken(RESET_TOKEN_PREFIX);
      await accounts.insertReset(db, user.id, sha256Hex(token), new Date(now.getTime() + RESET_TTL_MS), now);
      const link = accountLink(deps.linkBase, 'reset-password', token);
      void mailer
        .send({ to: user.email, ...resetMail({ link }) })
        .catch((err: unknown) => deps.warn({ err: err instanceof Error ? err.message : String(err) }, 'password reset e-mail failed'));
    },

    /** A reset link for a user, made by a platform administrator (the way to reset when e-mail is not configured). */
    async adminResetLink(userId: string) {
      const user = await repo.getUser(db, userId);
      if (!user) throw notFound('USER_NOT_FOUND', 'User');
      const token = newToken(RESET_TOKEN_PREFIX);
      const now = clock();
      const expiresAt = new Date(now.getTime() + RESET_TTL_MS);
      await accounts.insertReset(db, user.id, sha256Hex(token), expiresAt, now);
      return { link: accountLink(deps.linkBase, 'reset-password', token), expiresAt, email: user.email };
    },

    /** Sets a new password with a reset token (single use); every session of the account ends. */
    async confirmReset(token: string, password: string, meta: ClientMeta): Promise<{ userId: string }> {
      const hash = sha256Hex(token);
      const now = clock();
      const newHash = await hashPassword(password);
      const used = plausibleToken(token, RESET_TOKEN_PREFIX)
        ? await db.transaction(async (tx) => {
            const u = await accounts.useReset(tx, hash, now);
            if (u) await accounts.replacePassword(tx, u.userId, newHash, now);
            return u;
          })
        : undefined;
      if (!used) {
        const row = plausibleToken(token, RESET_TOKEN_PREFIX) ? await accounts.resetByToken(db, hash) : undefined;
        await security.record({ type: 'password_reset_failed', userId: row?.userId ?? null, subjectHash: null, ...meta });
        throw linkError('RESET', tokenProblem(row, now) ?? 'used');
      }
      await security.record({ type: 'password_reset_completed', userId: used.userId, subjectHash: null, ...meta });
      return used;
    },
  };
}
export type AccountsService = ReturnType<typeof createAccountsService>;
