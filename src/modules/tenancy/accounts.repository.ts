import { sql } from 'drizzle-orm';
import type { Role } from '../../platform/index.ts';
import { type Q, newId, queryOne, queryRows } from '../../platform/index.ts';

/** An invitation by e-mail link (tenant-owned). */
export interface EmailInvitationRow {
  tenantId: string;
  id: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  invitedByEmail: string | null;
  sentCount: number;
  lastSentAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

const INV = sql`i.tenant_id AS "tenantId", i.id, i.email, i.role, i.invited_by AS "invitedBy", u.email AS "invitedByEmail",
  i.sent_count AS "sentCount", i.last_sent_at AS "lastSentAt", i.expires_at AS "expiresAt", i.accepted_at AS "acceptedAt",
  i.revoked_at AS "revokedAt", i.created_at AS "createdAt"`;

/** SQL of e-mail invitations and password resets. Invitation queries always filter on tenant_id, but the token lookup. */
export function createAccountsRepository() {
  const invitationById = (q: Q, tenantId: string, id: string) =>
    queryOne<EmailInvitationRow>(
      q,
      sql`SELECT ${INV} FROM member_invitations i LEFT JOIN users u ON u.id = i.invited_by WHERE i.tenant_id = ${tenantId} AND i.id = ${id}`,
    );
  return {
    /**
     * Creates the open invitation of (tenant, e-mail), or refreshes the open one (new token, role and expiry,
     * one more send): one row however often, or however concurrently, the same address is invited.
     */
    async upsertInvitation(
      q: Q,
      tenantId: string,
      i: { email: string; role: Role; tokenHash: string; invitedBy: string | null; expiresAt: Date; now: Date; sentBefore: Date },
    ): Promise<EmailInvitationRow | undefined> {
      const row = await queryOne<{ id: string }>(
        q,
        sql`INSERT INTO member_invitations (tenant_id, id, email, role, token_hash, invited_by, expires_at, last_sent_at, created_at)
            VALUES (${tenantId}, ${newId()}, ${i.email}, ${i.role}, ${i.tokenHash}, ${i.invitedBy}, ${i.expiresAt.toISOString()}, ${i.now.toISOString()}, ${i.now.toISOString()})
            ON CONFLICT (tenant_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL
            DO UPDATE SET token_hash = excluded.token_hash, role = excluded.role, invited_by = excluded.invited_by,
                          expires_at = excluded.expires_at, last_sent_at = excluded.last_sent_at,
                          sent_count = member_invitations.sent_count + 1
            WHERE member_invitations.last_sent_at <= ${i.sentBefore.toISOString()}
            RETURNING id`,
      );
      return row ? invitationById(q, tenantId, row.id) : undefined;
    },
    invitation: invitationById,
    /**
     * A new token and expiry for an open invitation last sent at or before `sentBefore` (resend). Undefined when it
     * is not open (accepted, withdrawn, unknown) or was sent since: of racing resends exactly one renews it.
     */
    async renewInvitation(q: Q, tenantId: string, id: string, tokenHash: string, expiresAt: Date, now: Date, sentBefore: Date) {
      const row = await queryOne<{ id: string }>(
        q,
        sql`UPDATE member_invitations SET token_hash = ${tokenHash}, expires_at = ${expiresAt.toISOString()}, last_sent_at = ${now.toISOString()},
                   sent_count = sent_count + 1
            WHERE tenant_id = ${tenantId} AND id = ${id} AND accepted_at IS NULL AND revoked_at IS NULL
              AND last_sent_at <= ${sentBefore.toISOString()} RETURNING id`,
      );
      return row ? invitationById(q, tenantId, row.id) : undefined;
    },
    async withdrawInvitation(q: Q, tenantId: string, id: string, now: Date): Promise<boolean> {
      return !!(await queryOne(
        q,
        sql`UPDATE member_invitations SET revoked_at = ${now.toISOString()}
            WHERE tenant_id = ${tenantId} AND id = ${id} AND accepted_at IS NULL AND revoked_at IS NULL RETURNING id`,
      ));
    },
    /** Open invitations of the tenant, expired ones included (they can be resent), newest first. */
    openInvitations: (q: Q, tenantId: string) =>
      queryRows<EmailInvitationRow>(
        q,
        sql`SELECT ${INV} FROM member_invitations i LEFT JOIN users u ON u.id = i.invited_by
            WHERE i.tenant_id = ${tenantId} AND i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.created_at DESC, i.id LIMIT 500`,
      ),
    /** The invitation a link's token names, with its tenant's name (any state: the caller tells why it cannot be used). */
    invitationByToken: (q: Q, tokenHash: string) =>
      queryOne<EmailInvitationRow & { tenantName: string; tenantStatus: string }>(
        q,
        sql`SELECT ${INV}, t.name AS "tenantName", t.status AS "tenantStatus" FROM member_invitations i
            JOIN tenants t ON t.id = i.tenant_id LEFT JOIN users u ON u.id = i.invited_by
            WHERE i.token_hash = ${tokenHash}`,
      ),
    /** When the open invitation of this address (expired or not) was last sent, if there is one. */
    openInvitationSentAt: async (q: Q, tenantId: string, email: string) =>
      (
        await queryOne<{ lastSentAt: Date }>(
          q,
          sql`SELECT last_sent_at AS "lastSentAt" FROM member_invitations
              WHERE tenant_id = ${tenantId} AND email = ${email} AND accepted_at IS NULL AND revoked_at IS NULL`,
        )
      )?.lastSentAt,
    /** The open, unexpired invitation of this address to the tenant, if any (single sign-on accepts it). */
    openInvitationFor: (q: Q, tenantId: string, email: string, now: Date) =>
      queryOne<EmailInvitationRow>(
        q,
        sql`SELECT ${INV} FROM member_invitations i LEFT JOIN users u ON u.id = i.invited_by
            WHERE i.tenant_id = ${tenantId} AND i.email = ${email} AND i.accepted_at IS NULL AND i.revoked_at IS NULL
              AND i.expires_at > ${now.toISOString()}`,
      ),
    /** Marks the invitation accepted, atomically: of two racing accepts exactly one gets true. */
    async claimInvitation(q: Q, tenantId: string, id: string, userId: string, now: Date): Promise<boolean> {
      return !!(await queryOne(
        q,
        sql`UPDATE member_invitations SET accepted_at = ${now.toISOString()}, accepted_user_id = ${userId}
            WHERE tenant_id = ${tenantId} AND id = ${id} AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ${now.toISOString()}
            RETURNING id`,
      ));
    },
    /** Makes the user an active member with the role (an earlier pending membership becomes active). */
    async activateMembership(q: Q, tenantId: string, userId: string, role: Role, invitedBy: string | null) {
      await q.execute(sql`INSERT INTO memberships (tenant_id, user_id, role, status, invited_by) VALUES (${tenantId}, ${userId}, ${role}, 'active', ${invitedBy})
                           ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role, status = 'active'`);
    },

    // ---- password resets (global, like users) ----
    async insertReset(q: Q, userId: string, tokenHash: string, expiresAt: Date, now: Date) {
      await q.execute(
        sql`INSERT INTO password_resets (id, user_id, token_hash, expires_at, created_at) VALUES (${newId()}, ${userId}, ${tokenHash}, ${expiresAt.toISOString()}, ${now.toISOString()})`,
      );
    },
    /** Resets requested for the user since `since` (the per-account limit). */
    recentResets: async (q: Q, userId: string, since: Date) =>
      Number(
        (await queryOne<{ n: string }>(
          q,
          sql`SELECT count(*)::text AS n FROM password_resets WHERE user_id = ${userId} AND created_at > ${since.toISOString()}`,
        ))!.n,
      ),
    /** Uses a reset token, atomically (single use). Returns its user, or undefined when unknown, used or expired. */
    useReset: (q: Q, tokenHash: string, now: Date) =>
      queryOne<{ userId: string }>(
        q,
        sql`UPDATE password_resets SET used_at = ${now.toISOString()}
            WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now.toISOString()} RETURNING user_id AS "userId"`,
      ),
    resetByToken: (q: Q, tokenHash: string) =>
      queryOne<{ userId: string; usedAt: Date | null; expiresAt: Date }>(
        q,
        sql`SELECT user_id AS "userId", used_at AS "usedAt", expires_at AS "expiresAt" FROM password_resets WHERE token_hash = ${tokenHash}`,
      ),
    /** Sets a new password; every other reset token of the user and every session (refresh family) ends. */
    async replacePassword(q: Q, userId: string, passwordHash: string, now: Date) {
      await q.execute(
        sql`UPDATE users SET password_hash = ${passwordHash}, failed_login_count = 0, locked_until = NULL, updated_at = now() WHERE id = ${userId}`,
      );
      await q.execute(sql`UPDATE password_resets SET used_at = ${now.toISOString()} WHERE user_id = ${userId} AND used_at IS NULL`);
      await q.execute(
        sql`UPDATE sessions SET revoked_at = ${now.toISOString()}, revoked_reason = 'password_reset' WHERE user_id = ${userId} AND revoked_at IS NULL`,
      );
    },
  };
}
export type AccountsRepository = ReturnType<typeof createAccountsRepository>;
