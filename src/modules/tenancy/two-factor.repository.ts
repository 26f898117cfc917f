import { sql } from 'drizzle-orm';
import { type Q, queryOne, queryRows } from '../../platform/index.ts';

export interface TotpState {
  email: string;
  totpSecret: string | null;
  totpEnabledAt: Date | null;
  totpLastStep: number | null;
}

/** SQL of two-factor sign-in: the TOTP columns of `users` and `user_recovery_codes` (both global, like users). */
export function createTwoFactorRepository() {
  return {
    getTotp: (q: Q, userId: string) =>
      queryOne<TotpState>(
        q,
        sql`SELECT email, totp_secret AS "totpSecret", totp_enabled_at AS "totpEnabledAt", totp_last_step AS "totpLastStep" FROM users WHERE id = ${userId}`,
      ),
    /** Stores a new, not yet confirmed secret; refused (false) while two-factor sign-in is enabled. */
    async setPendingSecret(q: Q, userId: string, sealed: string): Promise<boolean> {
      return !!(await queryOne(
        q,
        sql`UPDATE users SET totp_secret = ${sealed}, totp_last_step = NULL, updated_at = now() WHERE id = ${userId} AND totp_enabled_at IS NULL RETURNING id`,
      ));
    },
    /** Enables it with the confirming code's step (that code is used). False when already enabled or no secret. */
    async enable(q: Q, userId: string, step: number, now: Date): Promise<boolean> {
      return !!(await queryOne(
        q,
        sql`UPDATE users SET totp_enabled_at = ${now.toISOString()}, totp_last_step = ${step}, updated_at = now()
            WHERE id = ${userId} AND totp_enabled_at IS NULL AND totp_secret IS NOT NULL RETURNING id`,
      ));
    },
    /** Records a code's step as used, atomically: of two racing uses of one code exactly one gets true. */
    async useStep(q: Q, userId: string, step: number): Promise<boolean> {
      return !!(await queryOne(
        q,
        sql`UPDATE users SET totp_last_step = ${step} WHERE id = ${userId} AND (totp_last_step IS NULL OR totp_last_step < ${step}) RETURNING id`,
      ));
    },
    async disable(q: Q, userId: string) {
      await q.execute(
        sql`UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = now() WHERE id = ${userId}`,
      );
      await q.execute(sql`DELETE FROM user_recovery_codes WHERE user_id = ${userId}`);
    },
    async replaceRecoveryCodes(q: Q, userId: string, hashes: string[]) {
      await q.execute(sql`DELETE FROM user_recovery_codes WHERE user_id = ${userId}`);
      await q.execute(
        sql`INSERT INTO user_recovery_codes (user_id, code_hash) SELECT ${userId}, unnest(${`{${hashes.join(',')}}`}::text[])`,
      );
    },
    /** Uses a recovery code (single use, atomically). */
    async useRecoveryCode(q: Q, userId: string, hash: string, now: Date): Promise<boolean> {
      return !!(await queryOne(
        q,
        sql`UPDATE user_recovery_codes SET used_at = ${now.toISOString()} WHERE user_id = ${userId} AND code_hash = ${hash} AND used_at IS NULL RETURNING user_id`,
      ));
    },
    /** Users whose TOTP secret is not sealed with the key `keyId` (an old key, or clear text): a start-up scan. */
    secretsNotSealedWith: (q: Q, keyId: string) =>
      queryRows<{ userId: string; totpSecret: string }>(
        q,
        sql`SELECT id AS "userId", totp_secret AS "totpSecret" FROM users WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE ${`enc:v1:${keyId}:%`}`,
      ),
    /** Replaces a sealed secret, compare-and-set: false when it changed meanwhile (re-enrolment, turned off). */
    async replaceSealedSecret(q: Q, userId: string, from: string, to: string): Promise<boolean> {
      return !!(await queryOne(q, sql`UPDATE users SET totp_secret = ${to} WHERE id = ${userId} AND totp_secret = ${from} RETURNING id`));
    },
    recoveryCodesLeft: async (q: Q, userId: string) =>
      Number(
        (
          await queryRows<{ n: string }>(
            q,
            sql`SELECT count(*)::text AS n FROM user_recovery_codes WHERE user_id = ${userId} AND used_at IS NULL`,
          )
        )[0]!.n,
      ),
  };
}
export type TwoFactorRepository = ReturnType<typeof createTwoFactorRepository>;
