import { sql } from 'drizzle-orm';
import { type Q, arrayParam } from '../../platform/index.ts';

/**
 * Erasure of whom recommendations were served to (recs_served.user_id), in identity's erasure transaction. The
 * served rows stay (their ids attribute clicks and revenue to a model version, counted anonymously); only the
 * user id goes. Callers pass the user id they know, which may be the store's user id, an anonymous id or a
 * profile id.
 */
export async function eraseServedUsers(
  q: Q,
  tenantId: string,
  who: { profileIds: readonly string[]; userIds: readonly string[]; anonymousIds: readonly string[] },
): Promise<void> {
  const ids = [...new Set([...who.userIds, ...who.anonymousIds, ...who.profileIds])];
  if (!ids.length) return;
  await q.execute(sql`UPDATE recs_served SET user_id = NULL WHERE tenant_id = ${tenantId} AND user_id = ANY(${arrayParam(ids)}::text[])`);
}
