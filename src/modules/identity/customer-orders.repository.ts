import { sql } from 'drizzle-orm';
import { arrayParam, type Q, queryRows } from '../../platform/index.ts';

/** One order of an active profile: revenue and refunds in minor units of `currency`. */
export interface CustomerOrderRow {
  profileId: string;
  occurredAt: Date;
  revenueMinor: string;
  refundedMinor: string;
  currency: string | null;
}

/**
 * Read-only view of active profiles' orders for the predictions module (identity owns profiles and
 * profile_orders; predictions reads them only through identity's public entry). Merged-away and erased profiles
 * are never returned.
 */
export function createCustomerOrdersRepository() {
  return {
    /** Orders of the tenant's active profiles (or of `profileIds`), by profile then time. */
    orders(q: Q, tenantId: string, profileIds?: readonly string[]): Promise<CustomerOrderRow[]> {
      const only = profileIds ? sql`AND o.profile_id = ANY(${arrayParam(profileIds)}::uuid[])` : sql``;
      return queryRows<CustomerOrderRow>(
        q,
        sql`SELECT o.profile_id AS "profileId", o.occurred_at AS "occurredAt", o.revenue_minor::text AS "revenueMinor",
                   o.refunded_minor::text AS "refundedMinor", o.currency
            FROM profile_orders o JOIN profiles p ON p.tenant_id = o.tenant_id AND p.id = o.profile_id AND p.status = 'active'
            WHERE o.tenant_id = ${tenantId} ${only}
            ORDER BY o.profile_id, o.occurred_at`,
      );
    },
  };
}
export type CustomerOrdersRepository = ReturnType<typeof createCustomerOrdersRepository>;
