/**
 * Interactions as experiment metric events (implements experiments' `ConnectorMetricEvents` port, wired in
 * src/app.ts): purchases from Shopify, Segment tracks, storefront and API events count in an experiment's report
 * without a second call to /experiments/track. A piece of the caller's own statement, so the report still reads
 * in one round trip and the interactions table stays this module's.
 */
import { type SQL, sql } from 'drizzle-orm';
import { arrayParam } from '../../platform/index.ts';

export function createExperimentMetricSource() {
  return {
    /**
     * A subquery of the tenant's interactions of `types` that arrived through `sources` (the `source` an
     * interaction was written with: shopify, segment, api, web, stripe ...) since `since` (a timestamptz SQL
     * expression), one row per order (a purchase's lines summed) or per other interaction, under each unit id an
     * experiment may have assigned it to (`p:<profile>`, `u:<user id>`, `a:<anonymous id>`). Columns: `unit_id`,
     * `event` (the interaction type), `value` (revenue in minor units, price × quantity; 0 without a price),
     * `currency`, `occurred_at`.
     */
    metricEventsSql(tenantId: string, o: { types: readonly string[]; sources: readonly string[]; since: SQL }): SQL {
      return sql`(SELECT u.unit_id, i.type AS event, sum(coalesce(i.price_minor, 0) * coalesce(i.quantity, 1))::float8 AS value,
                         min(i.currency) AS currency, min(i.occurred_at) AS occurred_at
                  FROM interactions i
                  CROSS JOIN LATERAL (VALUES ('p:' || i.profile_id::text), ('u:' || i.user_id), ('a:' || i.anonymous_id)) AS u(unit_id)
                  WHERE i.tenant_id = ${tenantId} AND i.type = ANY(${arrayParam(o.types)}::text[]) AND i.source = ANY(${arrayParam(o.sources)}::text[])
                    AND i.occurred_at >= ${o.since} AND u.unit_id IS NOT NULL
                  GROUP BY u.unit_id, i.type, coalesce(i.order_id, i.id::text))`;
    },
  };
}
