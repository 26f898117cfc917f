import { sql } from 'drizzle-orm';
import { type Db, queryRows } from './database.ts';
import { newId } from './ids.ts';

export type SecurityEventType =
  | 'login_succeeded'
  | 'login_failed'
  | 'login_locked'
  | 'account_locked'
  | 'refresh_reuse_detected'
  | 'step_up_succeeded'
  | 'step_up_failed'
  | 'logout'
  | 'api_key_created'
  | 'api_key_revoked'
  | 'api_key_reassigned'
  | 'password_reset_requested'
  | 'password_reset_completed'
  | 'password_reset_failed'
  | 'invitation_accepted'
  | 'two_factor_enabled'
  | 'two_factor_disabled'
  | 'two_factor_failed'
  | 'recovery_code_used'
  | 'login_password_ok'
  | 'login_sso_ok'
  | 'sso_failed'
  | 'sso_linked'
  | 'sso_account_created'
  | 'registration_requested'
  | 'registration_completed';

export interface SecurityEvent {
  type: SecurityEventType;
  userId: string | null;
  /** sha-256 of the normalized e-mail: correlates attempts without storing the address. */
  subjectHash: string | null;
  ip: string | null;
  userAgent: string | null;
  details?: Record<string, unknown>;
}

export function createSecurityEventRepository(db: Db) {
  return {
    async record(e: SecurityEvent): Promise<void> {
      await db.execute(sql`INSERT INTO security_events (id, type, user_id, subject_hash, ip, user_agent, details)
        VALUES (${newId()}, ${e.type}, ${e.userId}, ${e.subjectHash}, ${e.ip}, ${e.userAgent?.slice(0, 300) ?? null}, ${e.details ? JSON.stringify(e.details) : null}::jsonb)`);
    },
    listForUser: (userId: string, limit = 50) =>
      queryRows<{ id: string; type: SecurityEventType; ip: string | null; createdAt: Date; details: unknown }>(
        db,
        sql`SELECT id, type, ip, created_at AS "createdAt", details FROM security_events WHERE user_id = ${userId} ORDER BY id DESC LIMIT ${limit}`,
      ),
  };
}
export type SecurityEventRepository = ReturnType<typeof createSecurityEventRepository>;
