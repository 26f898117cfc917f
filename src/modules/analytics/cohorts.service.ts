import { AppError, conflict, type Db, isUuid, newId, notFound, type TenantContext } from '../../platform/index.ts';
import type { CohortDefinition } from './cohorts.core.ts';
import type { CohortMemberRow, CohortRow, CohortsRepository } from './cohorts.repository.ts';

/** At most this many saved cohorts per tenant (each read evaluates one; the list stays one page). */
export const MAX_COHORTS = 200;
/** A CSV of members holds at most this many rows (the header `x-truncated` says when more exist). */
export const CSV_MAX_ROWS = 100_000;

interface CohortInput {
  name: string;
  description: string;
  definition: CohortDefinition;
}

const missing = () => notFound('ANALYTICS_COHORT_NOT_FOUND', 'The cohort');
const taken = () => conflict('ANALYTICS_COHORT_NAME_TAKEN', 'A cohort of this name exists already.');

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * Saved cohorts: CRUD, preview counts and members, for the API (tenant context first) and, through `forModules`, for
 * other modules (experiments' targeting, predictions, sponsored audiences), which pass a tenant id they hold.
 */
export function createCohortsService(deps: { db: Db; repo: CohortsRepository; clock: () => Date }) {
  const { db, repo } = deps;

  async function load(tenantId: string, id: string): Promise<CohortRow> {
    if (!isUuid(id)) throw missing();
    const row = await repo.get(db, tenantId, id);
    if (!row) throw missing();
    return row;
  }

  return {
    list: (ctx: TenantContext) => repo.list(db, ctx.tenantId),

    async get(ctx: TenantContext, id: string): Promise<CohortRow & { count: number }> {
      const row = await load(ctx.tenantId, id);
      return { ...row, count: await repo.countMembers(db, ctx.tenantId, row.definition, deps.clock()) };
    },

    async create(ctx: TenantContext, input: CohortInput): Promise<CohortRow> {
      if ((await repo.countSaved(db, ctx.tenantId)) >= MAX_COHORTS) {
        throw new AppError('conflict', 'ANALYTICS_COHORT_LIMIT', `A tenant keeps at most ${MAX_COHORTS} cohorts; delete one first.`);
      }
      const row = await repo.insert(db, ctx.tenantId, newId(), input);
      if (!row) throw taken();
      return row;
    },

    async update(ctx: TenantContext, id: string, input: CohortInput): Promise<CohortRow> {
      const out = await repo.update(db, ctx.tenantId, id, input);
      if (out === 'missing') throw missing();
      if (out === 'name_taken') throw taken();
      return out;
    },

    async remove(ctx: TenantContext, id: string): Promise<void> {
      if (!(await repo.remove(db, ctx.tenantId, id))) throw missing();
    },

    /** How many profiles a definition selects now (the dashboard's count while a cohort is built). */
    async preview(ctx: TenantContext, definition: CohortDefinition): Promise<{ count: number; asOf: Date }> {
      const asOf = deps.clock();
      return { count: await repo.countMembers(db, ctx.tenantId, definition, asOf), asOf };
    },

    /** A page of members in profile id order. */
    async members(
      ctx: TenantContext,
      id: string,
      page: { limit: number; cursor?: string | undefined },
    ): Promise<{ data: CohortMemberRow[]; nextCursor: string | null; asOf: Date }> {
      const row = await load(ctx.tenantId, id);
      const asOf = deps.clock();
      const rows = await repo.members(db, ctx.tenantId, row.definition, asOf, { after: page.cursor, limit: page.limit + 1 });
      const more = rows.length > page.limit;
      const data = more ? rows.slice(0, page.limit) : rows;
      return { data, nextCursor: more ? data[data.length - 1]!.profile_id : null, asOf };
    },

    /** Every member as CSV (at most CSV_MAX_ROWS), read in pages of one evaluation instant. */
    async membersCsv(ctx: TenantContext, id: string): Promise<{ body: string; rows: number; truncated: boolean; name: string }> {
      const row = await load(ctx.tenantId, id);
      const asOf = deps.clock();
      const lines = ['profile_id,total_orders,event_count,revenue_minor,last_seen_at'];
      let after: string | undefined;
      let n = 0;
      for (;;) {
        const page = await repo.members(db, ctx.tenantId, row.definition, asOf, { after, limit: 5_000 });
        for (const m of page) {
          if (n === CSV_MAX_ROWS) return { body: `${lines.join('\n')}\n`, rows: n, truncated: true, name: row.name };
          lines.push(
            [
              m.profile_id,
              String(m.total_orders),
              String(m.event_count),
              m.revenue_minor,
              m.last_seen_at ? new Date(m.last_seen_at).toISOString() : '',
            ]
              .map(csvCell)
              .join(','),
          );
          n++;
        }
        if (page.length < 5_000) break;
        after = page[page.length - 1]!.profile_id;
      }
      return { body: `${lines.join('\n')}\n`, rows: n, truncated: false, name: row.name };
    },

    /**
     * The interface other modules call (through analytics' public entry, with a tenant id they hold): whether
     * profiles are members of a saved cohort now, its members page by page, and the cohorts one profile is in.
     */
    forModules: {
      async membersAmong(tenantId: string, cohortId: string, profileIds: readonly string[]): Promise<Set<string>> {
        const row = await load(tenantId, cohortId);
        return repo.membersAmong(db, tenantId, row.definition, deps.clock(), profileIds.filter(isUuid));
      },
      async members(tenantId: string, cohortId: string, page: { after?: string | undefined; limit: number }): Promise<string[]> {
        const row = await load(tenantId, cohortId);
        const rows = await repo.members(db, tenantId, row.definition, deps.clock(), {
          after: page.after,
          limit: Math.min(page.limit, 10_000),
        });
        return rows.map((r) => r.profile_id);
      },
      /** Of `cohortIds`, those that are the tenant's saved cohorts (consumers check an audience when it is saved). */
      async known(tenantId: string, cohortIds: readonly string[]): Promise<Set<string>> {
        return repo.known(db, tenantId, [...new Set(cohortIds)].filter(isUuid));
      },
      /**
       * Of `cohortIds`, those the profile is in now (one statement per cohort; a cohort deleted meanwhile, or
       * another tenant's, holds nobody). What targeting asks on a serving path: only the cohorts it targets.
       */
      async profileIn(tenantId: string, profileId: string, cohortIds: readonly string[]): Promise<Set<string>> {
        const out = new Set<string>();
        if (!isUuid(profileId)) return out;
        const at = deps.clock();
        for (const id of new Set(cohortIds)) {
          const row = isUuid(id) ? await repo.get(db, tenantId, id) : undefined;
          if (row && (await repo.membersAmong(db, tenantId, row.definition, at, [profileId])).has(profileId)) out.add(id);
        }
        return out;
      },
      async cohortsOfProfile(tenantId: string, profileId: string): Promise<Array<{ id: string; name: string }>> {
        if (!isUuid(profileId)) return [];
        const at = deps.clock();
        const out: Array<{ id: string; name: string }> = [];
        for (const c of await repo.list(db, tenantId)) {
          if ((await repo.membersAmong(db, tenantId, c.definition, at, [profileId])).has(profileId)) out.push({ id: c.id, name: c.name });
        }
        return out;
      },
    },
  };
}
export type CohortsService = ReturnType<typeof createCohortsService>;
