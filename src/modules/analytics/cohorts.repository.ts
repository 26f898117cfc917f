import { type SQL, sql } from 'drizzle-orm';
import { type Q, arrayParam, queryOne, queryRows } from '../../platform/index.ts';
import type { CohortDefinition, CohortRule, CompareOp } from './cohorts.core.ts';
import type { CohortSources } from './analytics.types.ts';

export interface CohortRow {
  id: string;
  name: string;
  description: string;
  definition: CohortDefinition;
  createdAt: Date;
  updatedAt: Date;
}

export interface CohortMemberRow {
  profile_id: string;
  total_orders: number;
  event_count: number;
  revenue_minor: string;
  last_seen_at: Date | null;
}

// Whitelisted operators: the only SQL text a definition chooses (every value is a bound parameter).
const SQL_OP: Record<CompareOp, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
const op = (o: CompareOp): SQL => sql.raw(SQL_OP[o]);
const SCALAR = sql`('string', 'number', 'boolean')`;

function ruleSql(rule: CohortRule, eventAlias: string | null, now: string): SQL {
  switch (rule.kind) {
    case 'trait': {
      const k = rule.key;
      const v = rule.value === undefined ? '' : String(rule.value);
      switch (rule.op) {
        case 'exists':
          return sql`coalesce(jsonb_typeof(p.traits -> ${k}::text), 'null') <> 'null'`;
        case 'not_exists':
          return sql`coalesce(jsonb_typeof(p.traits -> ${k}::text), 'null') = 'null'`;
        case 'eq':
          return sql`(CASE WHEN jsonb_typeof(p.traits -> ${k}::text) IN ${SCALAR} THEN p.traits ->> ${k}::text = ${v}::text ELSE false END)`;
        case 'neq':
          return sql`NOT (CASE WHEN jsonb_typeof(p.traits -> ${k}::text) IN ${SCALAR} THEN p.traits ->> ${k}::text = ${v}::text ELSE false END)`;
        case 'contains':
          // strpos, not LIKE: the rule's value is text to find, never a pattern.
          return sql`(CASE WHEN jsonb_typeof(p.traits -> ${k}::text) IN ${SCALAR}
                      THEN strpos(lower(p.traits ->> ${k}::text), lower(${v}::text)) > 0 ELSE false END)`;
        default:
          if (typeof rule.value !== 'number') return sql`false`;
          // CASE orders the evaluation: the cast runs only on JSON numbers.
          return sql`(CASE WHEN jsonb_typeof(p.traits -> ${k}::text) = 'number'
                      THEN (p.traits ->> ${k}::text)::numeric ${op(rule.op)} ${String(rule.value)}::numeric ELSE false END)`;
      }
    }
    case 'profile':
      switch (rule.field) {
        case 'last_seen_days':
          return sql`(extract(epoch FROM (${now}::timestamptz - p.last_seen_at))::float8 / 86400.0) ${op(rule.op)} ${rule.value}::float8`;
        case 'revenue_minor':
          return sql`p.revenue_minor ${op(rule.op)} ${String(rule.value)}::int8`;
        case 'total_orders':
          return sql`p.total_orders ${op(rule.op)} ${rule.value}::float8`;
        case 'event_count':
          return sql`p.event_count ${op(rule.op)} ${rule.value}::float8`;
      }
      break;
    case 'event':
      return sql`coalesce(${sql.raw(`${eventAlias}.n`)}, 0) ${op(rule.op)} ${rule.count}::int`;
    case 'segment':
      return sql`s.segment IN (${sql.join(
        rule.segments.map((x) => sql`${x}::text`),
        sql`, `,
      )})`;
    case 'score':
      return sql`${sql.raw(`s.${rule.score}`)} ${op(rule.op)} ${rule.value}::float8`;
  }
  return sql`false`;
}

/**
 * The one SQL builder of a cohort: `SELECT p.* FROM <profiles> p [LEFT JOIN <scores> s] [LEFT JOIN <event counts> eN]
 * WHERE <rules>` over the owners' pieces (identity's profiles, predictions' scores, events' counts per profile), each
 * rule two-valued (coalesce(..., false)) so `neq` and `any` treat missing facts as the pure `inCohort` does.
 */
export function cohortFromSql(sources: CohortSources, tenantId: string, def: CohortDefinition, at: Date): { from: SQL; where: SQL } {
  // `at` is bound (the service's clock), not SQL's now(): SQL and the pure core agree on the instant.
  const now = at.toISOString();
  const joins: SQL[] = [];
  if (def.rules.some((r) => r.kind === 'segment' || r.kind === 'score')) {
    joins.push(sql`LEFT JOIN (${sources.scoresSql(tenantId)}) s ON s.profile_id = p.profile_id`);
  }
  const conds = def.rules.map((rule, i) => {
    let alias: string | null = null;
    if (rule.kind === 'event') {
      alias = `e${i}`;
      const since = new Date(at.getTime() - rule.within_days * 86_400_000);
      joins.push(
        sql`LEFT JOIN (${sources.eventCountsSql(tenantId, rule.event, since, at)}) ${sql.raw(alias)} ON ${sql.raw(alias)}.profile_id = p.profile_id`,
      );
    }
    return sql`coalesce(${ruleSql(rule, alias, now)}, false)`;
  });
  const where = conds.length === 0 ? sql`true` : sql.join(conds, def.match === 'all' ? sql` AND ` : sql` OR `);
  return { from: sql`(${sources.profilesSql(tenantId)}) p ${sql.join(joins, sql` `)}`, where: sql`(${where})` };
}

/** Saved cohorts (`analytics_cohorts`) and their members. Every statement filters on the tenant. */
export function createCohortsRepository(sources: CohortSources) {
  const cols = sql`id::text AS id, name, description, definition, created_at AS "createdAt", updated_at AS "updatedAt"`;
  return {
    list: (q: Q, tenantId: string) =>
      queryRows<CohortRow>(q, sql`SELECT ${cols} FROM analytics_cohorts WHERE tenant_id = ${tenantId} ORDER BY name, id LIMIT 1000`),

    countSaved: async (q: Q, tenantId: string) =>
      (await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM analytics_cohorts WHERE tenant_id = ${tenantId}`))?.n ?? 0,

    /** Of `ids` (UUIDs), those that are this tenant's saved cohorts (one statement). */
    async known(q: Q, tenantId: string, ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await queryRows<{ id: string }>(
        q,
        sql`SELECT id::text AS id FROM analytics_cohorts WHERE tenant_id = ${tenantId} AND id = ANY(${arrayParam(ids)}::uuid[])`,
      );
      return new Set(rows.map((r) => r.id));
    },

    /**
     * Change marker of the tenant's saved cohorts: their count and newest `updated_at` (one probe of
     * analytics_cohorts_updated_idx); a save moves the second, a delete the first.
     */
    async marker(q: Q, tenantId: string): Promise<string> {
      const row = await queryOne<{ m: string }>(
        q,
        sql`SELECT count(*)::text || '|' || coalesce(max(updated_at)::text, '') AS m FROM analytics_cohorts WHERE tenant_id = ${tenantId}`,
      );
      return row?.m ?? '';
    },

    get: (q: Q, tenantId: string, id: string) =>
      queryOne<CohortRow>(q, sql`SELECT ${cols} FROM analytics_cohorts WHERE tenant_id = ${tenantId} AND id = ${id}`),

    /** Inserts a cohort; null when the tenant has one of that name already. */
    insert: (q: Q, tenantId: string, id: string, c: { name: string; description: string; definition: CohortDefinition }) =>
      queryOne<CohortRow>(
        q,
        sql`INSERT INTO analytics_cohorts (tenant_id, id, name, description, definition)
            VALUES (${tenantId}, ${id}, ${c.name}, ${c.description}, ${JSON.stringify(c.definition)}::jsonb)
            ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${cols}`,
      ),

    /** Updates a cohort; 'missing' when there is none, 'name_taken' when another cohort has the new name. */
    async update(
      q: Q,
      tenantId: string,
      id: string,
      c: { name: string; description: string; definition: CohortDefinition },
    ): Promise<CohortRow | 'missing' | 'name_taken'> {
      const clash = await queryOne<{ id: string }>(
        q,
        sql`SELECT id::text AS id FROM analytics_cohorts WHERE tenant_id = ${tenantId} AND name = ${c.name} AND id <> ${id}`,
      );
      if (clash) return 'name_taken';
      const row = await queryOne<CohortRow>(
        q,
        sql`UPDATE analytics_cohorts SET name = ${c.name}, description = ${c.description},
                   definition = ${JSON.stringify(c.definition)}::jsonb, updated_at = now()
             WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING ${cols}`,
      );
      return row ?? 'missing';
    },

    remove: async (q: Q, tenantId: string, id: string) =>
      (await queryRows(q, sql`DELETE FROM analytics_cohorts WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`)).length > 0,

    async countMembers(q: Q, tenantId: string, def: CohortDefinition, at: Date): Promise<number> {
      const c = cohortFromSql(sources, tenantId, def, at);
      return (await queryOne<{ n: number }>(q, sql`SELECT count(*)::int AS n FROM ${c.from} WHERE ${c.where}`))?.n ?? 0;
    },

    /** Members in profile id order after `after` (keyset), at most `limit`. */
    members(q: Q, tenantId: string, def: CohortDefinition, at: Date, page: { after?: string | undefined; limit: number }) {
      const c = cohortFromSql(sources, tenantId, def, at);
      const after = page.after ? sql` AND p.profile_id > ${page.after}::uuid` : sql``;
      return queryRows<CohortMemberRow>(
        q,
        sql`SELECT p.profile_id::text AS profile_id, p.total_orders, p.event_count, p.revenue_minor::text AS revenue_minor, p.last_seen_at
              FROM ${c.from} WHERE ${c.where}${after} ORDER BY p.profile_id LIMIT ${page.limit}`,
      );
    },

    /** Which of `profileIds` are members (one statement). */
    async membersAmong(q: Q, tenantId: string, def: CohortDefinition, at: Date, profileIds: readonly string[]): Promise<Set<string>> {
      if (profileIds.length === 0) return new Set();
      const c = cohortFromSql(sources, tenantId, def, at);
      const ids = sql.join(
        profileIds.map((x) => sql`${x}::uuid`),
        sql`, `,
      );
      const rows = await queryRows<{ profile_id: string }>(
        q,
        sql`SELECT p.profile_id::text AS profile_id FROM ${c.from} WHERE ${c.where} AND p.profile_id IN (${ids})`,
      );
      return new Set(rows.map((r) => r.profile_id));
    },
  };
}
export type CohortsRepository = ReturnType<typeof createCohortsRepository>;
