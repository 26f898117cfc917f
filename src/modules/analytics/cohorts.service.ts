import { AppError, conflict, type Db, isUuid, newId, notFound, type TenantContext } from '../../platform/index.ts';
import type { ProfileChangesPort, ProfileLookupPort } from './analytics.types.ts';
import { createCohortMembershipCache } from './cohorts.cache.ts';
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

/** How often, at most, a tenant's change markers are read before a membership answer is served from the cache (shared). */
const MARKER_MS = 1_000;
/** How far before the previous marker look the next one reaches (longer than any profile-writing transaction). */
const MARKER_OVERLAP_MS = 5_000;
/** Changed profiles read per marker look; more means a bulk change: every answer of the tenant is read again. */
const MARKER_LIMIT = 5_000;

export interface CohortsServiceDeps {
  db: Db;
  repo: CohortsRepository;
  clock: () => Date;
  /** Identity's profile changes (announcements, change marker); default: none. */
  profileChanges?: ProfileChangesPort | undefined;
  /** Identity's read-only lookup (a user id -> its profile), for `userIn`; default: none (no user is in any cohort). */
  profileLookup?: ProfileLookupPort | undefined;
  /**
   * True when other processes may write the same database (PostgreSQL): before a cached membership answer is used,
   * the tenant's change markers are read (at most every MARKER_MS).
   */
  shared?: boolean | undefined;
  /** The membership cache's TTL (default MEMBERSHIP_TTL_MS; 0: no cache) and settle window (tests). */
  membershipTtlMs?: number | undefined;
  membershipSettleMs?: number | undefined;
  /** Monotonic milliseconds for the cache (default performance.now). */
  now?: (() => number) | undefined;
}

/**
 * Saved cohorts: CRUD, preview counts and members, for the API (tenant context first) and, through `forModules`, for
 * other modules (experiments' targeting, predictions, sponsored audiences), which pass a tenant id they hold.
 */
export function createCohortsService(deps: CohortsServiceDeps) {
  const { db, repo } = deps;
  const now = deps.now ?? (() => performance.now());
  const cache = createCohortMembershipCache<CohortRow>({
    now,
    ttlMs: deps.membershipTtlMs,
    settleMs: deps.membershipSettleMs,
  });
  deps.profileChanges?.onProfilesChanged((tenantId, ids) => cache.profilesChanged(tenantId, ids));

  // Shared databases: per tenant, the last marker look (when it started, the cohorts' marker it read), one at a time.
  const markers = new Map<string, { checkedAt: number; cohorts: string | undefined; syncing: Promise<void> | undefined }>();
  async function syncOnce(tenantId: string, m: { checkedAt: number; cohorts: string | undefined }): Promise<void> {
    const started = now();
    const since = new Date(Date.now() - (started - m.checkedAt) - MARKER_OVERLAP_MS);
    const [cohorts, profiles] = await Promise.all([
      repo.marker(db, tenantId),
      deps.profileChanges ? deps.profileChanges.changedSince(tenantId, since, MARKER_LIMIT) : Promise.resolve([]),
    ]);
    if ((m.cohorts !== undefined && cohorts !== m.cohorts) || profiles.length >= MARKER_LIMIT) cache.tenantChanged(tenantId);
    else if (profiles.length) cache.profilesChanged(tenantId, profiles, true);
    m.cohorts = cohorts;
    m.checkedAt = started;
  }
  /** Shared: what another process changed is noted before a kept answer is used (markers at most every MARKER_MS). */
  async function synced(tenantId: string): Promise<void> {
    if (!deps.shared) return;
    let m = markers.get(tenantId);
    if (!m) {
      // the first look: nothing of the tenant is kept yet, its answers are read anyway
      markers.set(tenantId, (m = { checkedAt: now(), cohorts: undefined, syncing: undefined }));
      if (markers.size > 10_000) markers.delete(markers.keys().next().value!);
    }
    if (now() - m.checkedAt < MARKER_MS && m.cohorts !== undefined) return;
    const mm = m;
    mm.syncing ??= syncOnce(tenantId, mm).finally(() => {
      mm.syncing = undefined;
    });
    await mm.syncing;
  }

  /**
   * Of `ids` (uuids), the cohorts holding the profile, from the membership cache where it answers (after `synced`). A
   * miss costs two statements per cohort (its definition, kept too, then the membership).
   */
  async function membership(tenantId: string, profileId: string, ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const startedAt = now();
    const at = deps.clock();
    for (const id of ids) {
      const kept = cache.member(tenantId, id, profileId);
      if (kept !== undefined) {
        if (kept) out.add(id);
        continue;
      }
      let def = cache.definition(tenantId, id)?.value;
      if (def === undefined) {
        def = (await repo.get(db, tenantId, id)) ?? null;
        cache.keepDefinition(tenantId, id, def, startedAt);
      }
      const inside = def !== null && (await repo.membersAmong(db, tenantId, def.definition, at, [profileId])).has(profileId);
      cache.keepMember(tenantId, id, profileId, inside, startedAt);
      if (inside) out.add(id);
    }
    return out;
  }

  /** The kept (or looked up and kept) profile of a user id, after `synced`; a malformed id from the lookup is none. */
  async function personOf(tenantId: string, userId: string): Promise<string | null> {
    const kept = cache.person(tenantId, userId);
    if (kept) return kept.value;
    const startedAt = now();
    const [found] = (await deps.profileLookup?.lookupProfiles(tenantId, [{ type: 'user_id', value: userId }])) ?? [];
    const profileId = found && isUuid(found) ? found : null;
    cache.keepPerson(tenantId, userId, profileId, startedAt);
    return profileId;
  }

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
      cache.cohortChanged(ctx.tenantId, id);
      if (out === 'missing') throw missing();
      if (out === 'name_taken') throw taken();
      return out;
    },

    async remove(ctx: TenantContext, id: string): Promise<void> {
      const removed = await repo.remove(db, ctx.tenantId, id);
      cache.cohortChanged(ctx.tenantId, id);
      if (!removed) throw missing();
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
       * Of `cohortIds`, those the profile is in (a cohort deleted meanwhile, or another tenant's, holds nobody). What
       * targeting asks on a serving path (only the cohorts it targets), so answered from the membership cache
       * (cohorts.cache.ts): at most MEMBERSHIP_TTL_MS old, read again at once after a change of the cohort in this
       * process or of the profile announced by identity, and (PostgreSQL) after the tenant's change markers moved.
       * A miss costs two statements per cohort (its definition, kept too, then the membership).
       */
      async profileIn(tenantId: string, profileId: string, cohortIds: readonly string[]): Promise<Set<string>> {
        const ids = [...new Set(cohortIds)].filter(isUuid);
        if (!isUuid(profileId) || ids.length === 0) return new Set();
        await synced(tenantId);
        return membership(tenantId, profileId, ids);
      },
      /**
       * The profile holding a user id (the shopper id a feed page or placement names), or null: identity's read-only
       * lookup, whose answer is kept beside the memberships (cohorts.cache.ts `person`) and dropped when identity
       * changes that profile in this process; "no profile" is kept until the TTL. The change markers are not read here
       * (a feed page asking its shopper's segments, most often with no cohort in play): another process's change shows
       * when a membership question next reads them (`userIn`, `profileIn`), else within the TTL. A miss is one
       * statement. Serving paths ask this before `profileIn`, so a page looks its shopper up once.
       */
      async profileOfUser(tenantId: string, userId: string): Promise<string | null> {
        if (!deps.profileLookup || !userId) return null;
        return personOf(tenantId, userId);
      },
      /**
       * Of `cohortIds`, those holding the person behind a user id: `profileOfUser`, then `profileIn`. A returning
       * shopper's decision reads neither identity nor the cohort until one of them changes or the TTL passes. A user id
       * no profile holds is in no cohort.
       */
      async userIn(tenantId: string, userId: string, cohortIds: readonly string[]): Promise<Set<string>> {
        const ids = [...new Set(cohortIds)].filter(isUuid);
        if (!deps.profileLookup || !userId || ids.length === 0) return new Set();
        await synced(tenantId);
        const profileId = await personOf(tenantId, userId);
        return profileId !== null ? membership(tenantId, profileId, ids) : new Set();
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
