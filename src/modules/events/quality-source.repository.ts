import { sql } from 'drizzle-orm';
import { type Q, queryOne } from '../../platform/index.ts';
import { uuidV7Floor } from './warehouse-source.repository.ts';

/**
 * The warehouse's data-quality facts about the interactions this module owns (its `EventQualitySource` port, wired
 * in src/app.ts): counts over the events received since `since` (a range scan of the primary key: ids are UUIDv7
 * minted at insert), the newest received time, and the distinct item and profile ids they cite (capped).
 */
export function createEventsQualitySource() {
  return {
    async facts(q: Q, tenantId: string, since: Date, now: Date, maxIds: number) {
      const row = await queryOne<{
        total: number;
        withoutPerson: number;
        futureOccurred: number;
        negativePrice: number;
        newestReceivedAt: Date | null;
        itemIds: string[] | null;
        profileIds: string[] | null;
      }>(
        q,
        sql`WITH w AS (
              SELECT item_id, profile_id, user_id, anonymous_id, occurred_at, price_minor FROM interactions
               WHERE tenant_id = ${tenantId} AND id >= ${uuidV7Floor(since)}::uuid
            )
            SELECT (SELECT count(*)::int FROM w) AS total,
                   (SELECT count(*)::int FROM w WHERE user_id IS NULL AND anonymous_id IS NULL AND profile_id IS NULL) AS "withoutPerson",
                   (SELECT count(*)::int FROM w WHERE occurred_at > ${now.toISOString()}::timestamptz + interval '5 minutes') AS "futureOccurred",
                   (SELECT count(*)::int FROM w WHERE price_minor < 0) AS "negativePrice",
                   (SELECT received_at FROM interactions WHERE tenant_id = ${tenantId} ORDER BY id DESC LIMIT 1) AS "newestReceivedAt",
                   (SELECT array_agg(x) FROM (SELECT DISTINCT item_id AS x FROM w WHERE item_id IS NOT NULL ORDER BY 1 LIMIT ${maxIds + 1}) i) AS "itemIds",
                   (SELECT array_agg(x) FROM (SELECT DISTINCT profile_id::text AS x FROM w WHERE profile_id IS NOT NULL ORDER BY 1 LIMIT ${maxIds + 1}) p) AS "profileIds"`,
      );
      const items = row?.itemIds ?? [];
      const profiles = row?.profileIds ?? [];
      return {
        total: row?.total ?? 0,
        newestReceivedAt: row?.newestReceivedAt ? new Date(row.newestReceivedAt) : null,
        withoutPerson: row?.withoutPerson ?? 0,
        futureOccurred: row?.futureOccurred ?? 0,
        negativePrice: row?.negativePrice ?? 0,
        itemIds: items.slice(0, maxIds),
        profileIds: profiles.slice(0, maxIds),
        idsTruncated: items.length > maxIds || profiles.length > maxIds,
      };
    },
  };
}
