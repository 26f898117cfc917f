import { sql } from 'drizzle-orm';
import { type Q, queryRows } from '../../platform/index.ts';

/** A half-open instant range and the IANA zone local buckets are cut in. */
export interface OrderStatsWindow {
  from: Date;
  to: Date;
  tz: string;
}
export type OrderStatsGranularity = 'hour' | 'day' | 'week' | 'month';

/** Orders and money per group and currency (minor units as text). */
export interface OrderMoneyRow {
  key: string;
  currency: string | null;
  orders: number;
  revenueMinor: string;
  refundedMinor: string;
}
/** Customers per group: distinct profiles ordering, first-time buyers (first order ever in the group), repeat buyers. */
export interface OrderPeopleRow {
  key: string;
  customers: number;
  newCustomers: number;
  repeatCustomers: number;
}

/**
 * Commerce figures over profile_orders for analytics' KPIs (orders with revenue; refunds net out). Identity owns
 * the table; analytics calls this through identity's public entry. Keys: '' for the total, or the local bucket
 * label ('YYYY-MM-DD', 'YYYY-MM-DDTHH:00') of the order time in the window's zone.
 */
export function createOrderStatsRepository() {
  const key = (w: OrderStatsWindow, g: OrderStatsGranularity | null, col: ReturnType<typeof sql>) =>
    g === null
      ? sql`''`
      : sql`to_char(date_trunc(${g}, ${col} AT TIME ZONE ${w.tz}), ${g === 'hour' ? 'YYYY-MM-DD"T"HH24:00' : 'YYYY-MM-DD'})`;
  return {
    orderMoney: (q: Q, tenantId: string, w: OrderStatsWindow, g: OrderStatsGranularity | null) =>
      queryRows<OrderMoneyRow>(
        q,
        sql`SELECT ${key(w, g, sql`occurred_at`)} AS key, currency, count(*)::int AS orders,
                   sum(revenue_minor)::text AS "revenueMinor", sum(refunded_minor)::text AS "refundedMinor"
            FROM profile_orders
            WHERE tenant_id = ${tenantId} AND occurred_at >= ${w.from.toISOString()} AND occurred_at < ${w.to.toISOString()} AND revenue_minor > 0
            GROUP BY 1, 2 ORDER BY 1, 3 DESC`,
      ),

    orderPeople: (q: Q, tenantId: string, w: OrderStatsWindow, g: OrderStatsGranularity | null) =>
      queryRows<OrderPeopleRow>(
        q,
        sql`WITH o AS (
              SELECT ${key(w, g, sql`occurred_at`)} AS key, profile_id FROM profile_orders
              WHERE tenant_id = ${tenantId} AND occurred_at >= ${w.from.toISOString()} AND occurred_at < ${w.to.toISOString()} AND revenue_minor > 0
            ), per AS (SELECT key, profile_id, count(*) AS n FROM o GROUP BY key, profile_id),
            first AS (
              SELECT profile_id, min(occurred_at) AS first_at FROM profile_orders
              WHERE tenant_id = ${tenantId} AND revenue_minor > 0 AND profile_id IN (SELECT profile_id FROM o) GROUP BY profile_id
            )
            SELECT per.key, count(*)::int AS customers,
                   count(*) FILTER (WHERE f.first_at >= ${w.from.toISOString()} AND ${key(w, g, sql`f.first_at`)} = per.key)::int AS "newCustomers",
                   count(*) FILTER (WHERE per.n >= 2)::int AS "repeatCustomers"
            FROM per JOIN first f ON f.profile_id = per.profile_id GROUP BY per.key ORDER BY per.key`,
      ),
  };
}
export type OrderStatsRepository = ReturnType<typeof createOrderStatsRepository>;
