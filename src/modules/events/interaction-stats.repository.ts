import { sql } from 'drizzle-orm';
import { queryOne, type Db } from '../../platform/index.ts';

/** Read-only statistics over a tenant's interactions, for other modules' dashboards. */
export function createInteractionStatsRepository(db: Db) {
  return {
    /** When the tenant's newest interaction happened (null when it has none). */
    async lastInteractionAt(tenantId: string): Promise<Date | null> {
      const row = await queryOne<{ at: Date | null }>(
        db,
        sql`SELECT max(occurred_at) AS at FROM interactions WHERE tenant_id = ${tenantId}`,
      );
      return row?.at ?? null;
    },
  };
}
