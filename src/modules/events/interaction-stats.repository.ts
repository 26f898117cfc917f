import { sql } from 'drizzle-orm';
import { type Q, queryOne } from '../../platform/index.ts';

/** Read-only statistics over a tenant's interactions, for other modules' dashboards. */
export function createInteractionStatsRepository() {
  return {
    /** When the tenant's newest interaction happened (null when it has none). */
    async lastInteractionAt(q: Q, tenantId: string): Promise<Date | null> {
      const row = await queryOne<{ at: Date | null }>(
        q,
        sql`SELECT max(occurred_at) AS at FROM interactions WHERE tenant_id = ${tenantId}`,
      );
      return row?.at ?? null;
    },
  };
}
