import { sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { FlagPrerequisite, FlagRule, FlagValueType } from './flags.core.ts';

export interface FlagRow {
  id: string;
  key: string;
  description: string;
  valueType: FlagValueType;
  defaultValue: unknown;
  rules: FlagRule[];
  prerequisites: FlagPrerequisite[];
  environments: string[];
  archived: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const FLAG_COLUMNS = sql`id, key, description, value_type AS "valueType", default_value AS "defaultValue", rules, prerequisites, environments,
  archived, version, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Feature flags, their SDK client keys and their exposure counts. Every method takes the query handle, then the tenant. */
export function createFlagsRepository() {
  return {
    /** Inserts a flag; false when the key is taken (unique per tenant). */
    async insertFlag(q: Q, tenantId: string, f: FlagRow): Promise<boolean> {
      const rows = await queryRows(
        q,
        sql`INSERT INTO feature_flags (tenant_id, id, key, description, value_type, default_value, rules, prerequisites, environments, archived, version, created_at, updated_at)
          VALUES (${tenantId}, ${f.id}, ${f.key}, ${f.description}, ${f.valueType}, ${JSON.stringify(f.defaultValue)}::jsonb, ${JSON.stringify(f.rules)}::jsonb,
            ${JSON.stringify(f.prerequisites)}::jsonb, ${arrayParam(f.environments)}::text[], false, 1, ${f.createdAt}, ${f.updatedAt})
          ON CONFLICT (tenant_id, key) DO NOTHING RETURNING id`,
      );
      return rows.length > 0;
    },

    getFlag(q: Q, tenantId: string, id: string): Promise<FlagRow | undefined> {
      return queryOne<FlagRow>(q, sql`SELECT ${FLAG_COLUMNS} FROM feature_flags WHERE tenant_id = ${tenantId} AND id = ${id}`);
    },

    /** Every flag of the tenant (archived too: the payload leaves those out), by key. */
    listFlags(q: Q, tenantId: string): Promise<FlagRow[]> {
      return queryRows<FlagRow>(q, sql`SELECT ${FLAG_COLUMNS} FROM feature_flags WHERE tenant_id = ${tenantId} ORDER BY key LIMIT 5000`);
    },

    /** Replaces a flag's definition when its version is still `expectedVersion`; false when another change came first. */
    async updateFlag(q: Q, tenantId: string, f: FlagRow, expectedVersion: number): Promise<boolean> {
      const rows = await queryRows(
        q,
        sql`UPDATE feature_flags SET description = ${f.description}, default_value = ${JSON.stringify(f.defaultValue)}::jsonb,
              rules = ${JSON.stringify(f.rules)}::jsonb, prerequisites = ${JSON.stringify(f.prerequisites)}::jsonb,
              environments = ${arrayParam(f.environments)}::text[], archived = ${f.archived}, version = version + 1, updated_at = ${f.updatedAt}
            WHERE tenant_id = ${tenantId} AND id = ${f.id} AND version = ${expectedVersion} RETURNING id`,
      );
      return rows.length > 0;
    },

    async insertClientKey(q: Q, tenantId: string, key: string, environment: string, now: Date): Promise<void> {
      await q.execute(
        sql`INSERT INTO flag_client_keys (key, tenant_id, environment, created_at) VALUES (${key}, ${tenantId}, ${environment}, ${now})`,
      );
    },

    listClientKeys(q: Q, tenantId: string): Promise<{ key: string; environment: string; createdAt: Date }[]> {
      return queryRows(
        q,
        sql`SELECT key, environment, created_at AS "createdAt" FROM flag_client_keys WHERE tenant_id = ${tenantId} ORDER BY created_at, key LIMIT 1000`,
      );
    },

    /** The tenant and environment of a client key (the public payload endpoint's only lookup). Not tenant-scoped: the key names the tenant. */
    clientKey(q: Q, key: string): Promise<{ tenantId: string; environment: string } | undefined> {
      return queryOne(q, sql`SELECT tenant_id AS "tenantId", environment FROM flag_client_keys WHERE key = ${key}`);
    },

    /** Adds evaluation counts (one statement; repeats of a (flag, day, value) within the batch are summed). */
    async addExposureCounts(
      q: Q,
      tenantId: string,
      rows: readonly { flagKey: string; day: string; value: string; count: number }[],
    ): Promise<void> {
      if (!rows.length) return;
      await q.execute(sql`INSERT INTO flag_exposure_counts AS c (tenant_id, flag_key, day, value, count)
        SELECT ${tenantId}, e.flag_key, e.day, e.value, sum(e.n)::int
        FROM unnest(${arrayParam(rows.map((r) => r.flagKey))}::text[], ${arrayParam(rows.map((r) => r.day))}::date[],
                    ${arrayParam(rows.map((r) => r.value))}::text[], ${arrayParam(rows.map((r) => r.count))}::int[]) AS e(flag_key, day, value, n)
        GROUP BY e.flag_key, e.day, e.value
        ON CONFLICT (tenant_id, flag_key, day, value) DO UPDATE SET count = c.count + excluded.count`);
    },

    /** Evaluations of a flag per day and value over the last `days` days. */
    exposureCounts(q: Q, tenantId: string, flagKey: string, since: string): Promise<{ day: string; value: string; count: number }[]> {
      return queryRows(
        q,
        sql`SELECT to_char(day, 'YYYY-MM-DD') AS day, value, count FROM flag_exposure_counts
            WHERE tenant_id = ${tenantId} AND flag_key = ${flagKey} AND day >= ${since}::date ORDER BY day, value LIMIT 5000`,
      );
    },
  };
}
export type FlagsRepository = ReturnType<typeof createFlagsRepository>;
