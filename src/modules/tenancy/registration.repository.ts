import { sql } from 'drizzle-orm';
import { type Q, newId, queryOne, queryRows } from '../../platform/index.ts';

/** A sign-up waiting for its e-mailed link (`pending_registrations`). */
export interface PendingRegistrationRow {
  id: string;
  email: string;
  name: string | null;
  passwordHash: string;
  tenantName: string | null;
  expiresAt: Date;
  usedAt: Date | null;
}

const ROW = sql`id, email, name, password_hash AS "passwordHash", tenant_name AS "tenantName", expires_at AS "expiresAt", used_at AS "usedAt"`;

/** SQL of verified registration. Global rows (no tenant exists yet); tokens are stored as sha-256 only. */
export function createRegistrationRepository() {
  return {
    async insert(
      q: Q,
      r: {
        email: string;
        name: string | null;
        passwordHash: string;
        tenantName: string | null;
        tokenHash: string;
        expiresAt: Date;
        now: Date;
      },
    ): Promise<void> {
      await q.execute(
        sql`INSERT INTO pending_registrations (id, email, name, password_hash, tenant_name, token_hash, expires_at, created_at)
            VALUES (${newId()}, ${r.email}, ${r.name}, ${r.passwordHash}, ${r.tenantName}, ${r.tokenHash}, ${r.expiresAt.toISOString()}, ${r.now.toISOString()})`,
      );
    },
    /** Uses a token, atomically: of two racing uses exactly one gets the row. Undefined when unknown, used or expired. */
    claim: (q: Q, tokenHash: string, now: Date) =>
      queryOne<PendingRegistrationRow>(
        q,
        sql`UPDATE pending_registrations SET used_at = ${now.toISOString()}
            WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${now.toISOString()} RETURNING ${ROW}`,
      ),
    byToken: (q: Q, tokenHash: string) =>
      queryOne<PendingRegistrationRow>(q, sql`SELECT ${ROW} FROM pending_registrations WHERE token_hash = ${tokenHash}`),
    /** Once an address has its account, its other pending links stop working (they would only answer "taken"). */
    async closeOthers(q: Q, email: string, now: Date): Promise<void> {
      // SKIP LOCKED: another link of this address being used right now is locked by its own claim. Waiting for it while
      // that verification waits for this one's new user row (the e-mail's unique key) was a deadlock (a 500 to one of
      // two racing links); skipped, that verification finds the account taken (409) and its link stays unused.
      await q.execute(
        sql`UPDATE pending_registrations SET used_at = ${now.toISOString()} WHERE id IN (
          SELECT id FROM pending_registrations WHERE email = ${email} AND used_at IS NULL FOR UPDATE SKIP LOCKED)`,
      );
    },
    /** Forgets sign-ups used or expired before `before`. Returns rows deleted. */
    prune: async (q: Q, before: Date): Promise<number> =>
      (
        await queryRows(
          q,
          sql`DELETE FROM pending_registrations WHERE expires_at < ${before.toISOString()} OR used_at < ${before.toISOString()} RETURNING id`,
        )
      ).length,
  };
}
export type RegistrationRepository = ReturnType<typeof createRegistrationRepository>;
