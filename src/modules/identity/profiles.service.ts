import type { ErasureListener } from './identity.types.ts';
import {
  AppError,
  conflict,
  isUuid,
  newId,
  notFound,
  requirePermission,
  validation,
  type Db,
  type TenantContext,
  inTenant,
} from '../../platform/index.ts';
import { candidateKeys, canonicalType, normalizeIdentifier, type IdentitySettings } from './identity.core.ts';
import type {
  EventRow,
  IdentifierRow,
  IdentityRepository,
  MergeRow,
  ProfileFilters,
  ProfileRow,
  ReviewRow,
} from './identity.repository.ts';
import type { ProfileSort } from './identity.schemas.ts';
import { mergeInto, refreshAggregates } from './resolution.service.ts';
import type { IdentitySettingsBody, SettingsStore } from './settings.ts';

export interface ProfilesDeps {
  db: Db;
  repo: IdentityRepository;
  settings: SettingsStore;
  /** Other modules' erasure steps, run in the erasure's transaction. */
  erasureListeners: readonly ErasureListener[];
  /** Other modules' in-memory write buffers, drained before the erasure's transaction. */
  erasureHolds?: readonly ErasureHold[];
}

/**
 * Before an erasure: drains a module's buffered writes, or holds its background writer for the tenant (then returns
 * the release, called after the erasure's transaction ends).
 */
export type ErasureHold = (tenantId: string) => Promise<void | (() => void)>;

export interface ProfileView {
  profile: ProfileRow;
  identifiers: IdentifierRow[];
  /** For a search with no identifier type: what matched (`user_id`, `email`, `phone`, ..., `profile_id`, `name`). */
  matchedBy?: string[];
}
export interface ProfileDetail extends ProfileView {
  requestedId: string;
  recentEvents: EventRow[];
  merges: MergeRow[];
}

const actorName = (ctx: TenantContext): string => `${ctx.actor.type}:${ctx.actor.id}`;
const profileNotFound = () => notFound('PROFILE_NOT_FOUND', 'Profile');

/** Customer 360 reads, privacy (export, erasure), merge history, unmerge and the review queue. */
export function createProfilesService(deps: ProfilesDeps) {
  const { db, repo } = deps;

  /** The active profile an id designates (a merged-away id redirects to its survivor); 404 otherwise. */
  async function resolveActive(tenantId: string, id: string): Promise<ProfileRow> {
    if (!isUuid(id)) throw profileNotFound();
    const p = await repo.resolveSurvivor(db, tenantId, id);
    if (!p || p.status !== 'active') throw profileNotFound();
    return p;
  }

  /** Blocking key of an identifier given in a query, or null when it can never match (invalid, blocked). */
  async function matchKeyOf(tenantId: string, type: string, value: string): Promise<string | null> {
    const settings = await deps.settings.get(tenantId);
    const n = normalizeIdentifier(canonicalType(type), value, settings);
    return 'dropped' in n ? null : n.matchKey;
  }

  return {
    matchKeyOf,

    async list(
      ctx: TenantContext,
      f: {
        identifier?: { type: string; value: string };
        /** Search by any identifier, the profile id or the name: the type is not given. */
        anyIdentifier?: string;
        minStrength?: number;
        channel?: string;
        minOrders?: number;
        seenSince?: Date;
        cursor?: string;
        sort?: ProfileSort;
        offset?: number;
        limit: number;
      },
    ): Promise<{ data: ProfileView[]; nextCursor: string | null; total: number }> {
      requirePermission(ctx, 'profiles:read');
      let matchKey: string | undefined;
      if (f.identifier) {
        const k = await matchKeyOf(ctx.tenantId, f.identifier.type, f.identifier.value);
        if (k === null) return { data: [], nextCursor: null, total: 0 };
        matchKey = k;
      }
      let anyOf: { matchKeys: { type: string; matchKey: string }[]; profileId?: string; nameContains?: string } | undefined;
      if (f.anyIdentifier !== undefined) {
        const value = f.anyIdentifier.normalize('NFKC').trim();
        if (!value) throw validation('IDENTIFIER_EMPTY', 'identifier is empty: give an e-mail, phone, customer id, profile id or name.');
        const survivor = isUuid(value) ? await repo.resolveSurvivor(db, ctx.tenantId, value) : undefined;
        anyOf = {
          matchKeys: candidateKeys(value, await deps.settings.get(ctx.tenantId)),
          ...(survivor ? { profileId: survivor.id } : {}),
          ...(value.length >= 2 && /\p{L}/u.test(value) ? { nameContains: value } : {}),
        };
      }
      if (f.cursor !== undefined && !isUuid(f.cursor)) throw validation('INVALID_CURSOR', 'cursor is not one this API returned.');
      const filters: ProfileFilters = {
        ...(matchKey !== undefined ? { matchKey } : {}),
        ...(anyOf ? { anyOf: { ...anyOf, matchKeys: anyOf.matchKeys.map((k) => k.matchKey) } } : {}),
        ...(f.minStrength !== undefined ? { minStrength: f.minStrength } : {}),
        ...(f.channel !== undefined ? { channel: f.channel } : {}),
        ...(f.minOrders !== undefined ? { minOrders: f.minOrders } : {}),
        ...(f.seenSince !== undefined ? { seenSince: f.seenSince } : {}),
      };
      const [rows, total] = await Promise.all([
        repo.listProfiles(deps.db, ctx.tenantId, {
          ...filters,
          limit: f.limit,
          ...(f.cursor !== undefined ? { cursor: f.cursor } : {}),
          ...(f.sort !== undefined ? { sort: f.sort } : {}),
          ...(f.offset !== undefined ? { offset: f.offset } : {}),
        }),
        repo.countProfiles(deps.db, ctx.tenantId, filters),
      ]);
      const page = rows.slice(0, f.limit);
      const idents = await repo.identifiersOf(
        db,
        ctx.tenantId,
        page.map((p) => p.id),
      );
      const matchedBy = (p: ProfileRow, own: IdentifierRow[]): string[] => {
        if (!anyOf) return [];
        const keys = new Map(anyOf.matchKeys.map((k) => [k.matchKey, k.type]));
        const out = new Set(own.filter((i) => keys.has(i.matchKey)).map((i) => i.type));
        if (anyOf.profileId === p.id) out.add('profile_id');
        const name = typeof p.traits.name === 'string' ? p.traits.name.toLowerCase() : '';
        if (anyOf.nameContains && name.includes(anyOf.nameContains.toLowerCase())) out.add('name');
        return [...out];
      };
      return {
        data: page.map((p) => {
          const own = idents.filter((i) => i.profileId === p.id);
          return { profile: p, identifiers: own, ...(anyOf ? { matchedBy: matchedBy(p, own) } : {}) };
        }),
        // Offset pages (a sorted table) move by offset; the cursor is for newest-first keyset paging only.
        nextCursor: rows.length > f.limit && f.sort === undefined && f.offset === undefined ? page[page.length - 1]!.id : null,
        total,
      };
    },

    async get(ctx: TenantContext, id: string, opts: { events: number } = { events: 20 }): Promise<ProfileDetail> {
      requirePermission(ctx, 'profiles:read');
      const profile = await resolveActive(ctx.tenantId, id);
      const family = await repo.family(db, ctx.tenantId, profile.id);
      const [identifiers, recentEvents, merges] = await Promise.all([
        repo.identifiersOf(db, ctx.tenantId, [profile.id]),
        repo.recentEvents(db, ctx.tenantId, [profile.id], opts.events),
        repo.mergesOf(db, ctx.tenantId, family, 50),
      ]);
      return { requestedId: id, profile, identifiers, recentEvents, merges };
    },

    async lookup(ctx: TenantContext, type: string, value: string): Promise<ProfileDetail> {
      requirePermission(ctx, 'profiles:read');
      const k = await matchKeyOf(ctx.tenantId, type, value);
      if (k === null) throw profileNotFound();
      const found = await repo.identifiersByMatchKeys(db, ctx.tenantId, [k]);
      // Prefer the exact identifier type asked for (a phone over a WhatsApp number sharing the key).
      const best = found.find((f) => f.type === canonicalType(type)) ?? found[0];
      if (!best) throw profileNotFound();
      return this.get(ctx, best.profileId);
    },

    async mergeHistory(ctx: TenantContext, id: string): Promise<{ profileId: string; merges: MergeRow[] }> {
      requirePermission(ctx, 'profiles:read');
      const profile = await resolveActive(ctx.tenantId, id);
      const family = await repo.family(db, ctx.tenantId, profile.id);
      return { profileId: profile.id, merges: await repo.mergesOf(db, ctx.tenantId, [...new Set([...family, id])], 500) };
    },

    /**
     * Splits a merge. `id` is the merged-away profile, or the survivor with `mergedProfileId`/`mergeId` naming
     * which merge to undo. The merged profile becomes active again with its own identifiers and events.
     */
    async unmerge(
      ctx: TenantContext,
      id: string,
      body: { mergeId?: string | undefined; profileId?: string | undefined },
    ): Promise<{ restored: ProfileRow; survivor: ProfileRow; mergeId: string }> {
      requirePermission(ctx, 'profiles:write');
      if (!isUuid(id)) throw profileNotFound();
      return inTenant(db, ctx.tenantId, async (tx) => {
        const start = await repo.getProfile(tx, ctx.tenantId, id);
        if (!start || start.status === 'erased') throw profileNotFound();
        let mergedId: string;
        if (start.status === 'merged') mergedId = start.id;
        else if (body.profileId !== undefined) mergedId = body.profileId;
        else if (body.mergeId !== undefined) {
          if (!isUuid(body.mergeId)) throw notFound('MERGE_NOT_FOUND', 'Merge');
          const m = await repo.getMerge(tx, ctx.tenantId, body.mergeId);
          if (!m || m.kind !== 'merge') throw notFound('MERGE_NOT_FOUND', 'Merge');
          mergedId = m.mergedId;
        } else
          throw validation(
            'UNMERGE_TARGET_REQUIRED',
            'This profile was not merged away: give merge_id or profile_id to name the merge to undo.',
          );
        if (!isUuid(mergedId)) throw notFound('MERGE_NOT_FOUND', 'Merge');
        const merged = await repo.getProfile(tx, ctx.tenantId, mergedId);
        if (!merged || merged.status === 'erased') throw profileNotFound();
        if (merged.status !== 'merged') throw conflict('PROFILE_NOT_MERGED', 'That profile is not merged into another one.');
        const merge = await repo.activeMergeOf(tx, ctx.tenantId, mergedId);
        if (!merge) throw conflict('PROFILE_NOT_MERGED', 'That profile is not merged into another one.');
        if (body.mergeId !== undefined && body.mergeId !== merge.id)
          throw conflict('MERGE_NOT_LATEST', 'Only the latest merge of a profile can be undone.');
        const holder = await repo.resolveSurvivor(tx, ctx.tenantId, merge.survivorId);
        if (!holder || holder.status !== 'active')
          throw conflict('PROFILE_ERASED', 'The profile this one was merged into no longer exists.');
        // When `id` is a survivor, the merge must belong to it (directly or through a chain).
        if (start.status === 'active' && holder.id !== start.id) throw notFound('MERGE_NOT_FOUND', 'Merge');
        await repo.lockProfiles(tx, ctx.tenantId, [holder.id, mergedId]);
        const familyIds = await repo.family(tx, ctx.tenantId, mergedId);
        const unmergeId = newId();
        await repo.unmerge(tx, ctx.tenantId, { id: unmergeId, merge, holderId: holder.id, familyIds, actor: actorName(ctx) });
        await repo.recomputeActivity(tx, ctx.tenantId, [holder.id, mergedId]);
        await refreshAggregates(repo, tx, ctx.tenantId, [holder.id, mergedId], true);
        return {
          restored: (await repo.getProfile(tx, ctx.tenantId, mergedId))!,
          survivor: (await repo.getProfile(tx, ctx.tenantId, holder.id))!,
          mergeId: merge.id,
        };
      });
    },

    async listReviews(
      ctx: TenantContext,
      f: { status?: string; cursor?: string; limit: number },
    ): Promise<{ data: ReviewRow[]; nextCursor: string | null }> {
      requirePermission(ctx, 'profiles:read');
      if (f.cursor !== undefined && !isUuid(f.cursor)) throw validation('INVALID_CURSOR', 'cursor is not one this API returned.');
      const rows = await repo.listReviews(deps.db, ctx.tenantId, f);
      const page = rows.slice(0, f.limit);
      return { data: page, nextCursor: rows.length > f.limit ? page[page.length - 1]!.id : null };
    },

    /** Approves a case: every still-active profile it names is merged (a human may join two user ids). */
    async approveReview(ctx: TenantContext, id: string): Promise<{ review: ReviewRow; survivorId: string | null }> {
      requirePermission(ctx, 'profiles:write');
      if (!isUuid(id)) throw notFound('REVIEW_NOT_FOUND', 'Review case');
      return inTenant(db, ctx.tenantId, async (tx) => {
        const r = await repo.getReviewForUpdate(tx, ctx.tenantId, id);
        if (!r) throw notFound('REVIEW_NOT_FOUND', 'Review case');
        if (r.status !== 'pending') throw conflict('REVIEW_ALREADY_DECIDED', `This case was already ${r.status}.`);
        const survivors = await repo.survivorsOf(tx, ctx.tenantId, r.profileIds);
        const active = [...new Set(r.profileIds.map((p) => survivors.get(p)).filter((x): x is string => !!x))];
        await repo.lockProfiles(tx, ctx.tenantId, active);
        let survivorId: string | null = active[0] ?? null;
        if (active.length >= 2) {
          const stats = await repo.candidateStats(tx, ctx.tenantId, active);
          const withUser = new Set(stats.filter((s) => s.type === 'user_id').map((s) => s.profileId));
          const ordered = [...active].sort((a, b) => (withUser.has(a) ? 0 : 1) - (withUser.has(b) ? 0 : 1) || (a < b ? -1 : 1));
          survivorId = ordered[0]!;
          await mergeInto(repo, tx, ctx.tenantId, survivorId, ordered.slice(1), {
            rule: 'manual:review_approved',
            actor: actorName(ctx),
            eventRef: r.eventRef,
          });
          await refreshAggregates(repo, tx, ctx.tenantId, [survivorId], true);
        }
        await repo.decideReview(tx, ctx.tenantId, id, 'approved', actorName(ctx));
        return { review: (await repo.getReviewForUpdate(tx, ctx.tenantId, id))!, survivorId };
      });
    },

    async rejectReview(ctx: TenantContext, id: string): Promise<ReviewRow> {
      requirePermission(ctx, 'profiles:write');
      if (!isUuid(id)) throw notFound('REVIEW_NOT_FOUND', 'Review case');
      return inTenant(db, ctx.tenantId, async (tx) => {
        const r = await repo.getReviewForUpdate(tx, ctx.tenantId, id);
        if (!r) throw notFound('REVIEW_NOT_FOUND', 'Review case');
        if (r.status !== 'pending') throw conflict('REVIEW_ALREADY_DECIDED', `This case was already ${r.status}.`);
        await repo.decideReview(tx, ctx.tenantId, id, 'rejected', actorName(ctx));
        return (await repo.getReviewForUpdate(tx, ctx.tenantId, id))!;
      });
    },

    /**
     * The person's orders, newest first, a page at a time (`cursor` from the previous page), with totals per
     * currency over all of them. A merged-away id answers with its survivor's orders.
     */
    async orders(ctx: TenantContext, id: string, page: { limit: number; cursor?: string | undefined }) {
      requirePermission(ctx, 'profiles:read');
      const after = page.cursor === undefined ? null : decodeOrdersCursor(page.cursor);
      const profile = await resolveActive(ctx.tenantId, id);
      const family = await repo.family(db, ctx.tenantId, profile.id);
      const [rows, totals] = await Promise.all([
        repo.ordersPage(db, ctx.tenantId, family, page.limit, after),
        repo.orderTotals(db, ctx.tenantId, family),
      ]);
      const more = rows.length > page.limit;
      const data = more ? rows.slice(0, page.limit) : rows;
      const last = data[data.length - 1];
      return { profileId: profile.id, data, totals, nextCursor: more && last ? encodeOrdersCursor(last.at, last.orderId) : null };
    },

    /** Everything stored about the person: profile, identifiers in clear, orders, events, merges, review cases. */
    async exportProfile(ctx: TenantContext, id: string) {
      requirePermission(ctx, 'profiles:read');
      const profile = await resolveActive(ctx.tenantId, id);
      const family = await repo.family(db, ctx.tenantId, profile.id);
      const [identifiers, orders, events, merges, reviews] = await Promise.all([
        repo.identifiersOf(db, ctx.tenantId, family),
        repo.ordersOf(db, ctx.tenantId, family),
        repo.allEvents(db, ctx.tenantId, family, 100_000),
        repo.mergesOf(db, ctx.tenantId, family, 10_000),
        repo.reviewsOf(db, ctx.tenantId, family),
      ]);
      return { profile, profileIds: family, identifiers, orders, events, merges, reviews };
    },

    /** Erasure (right to be forgotten) of the person behind `id`, including profiles merged into it. */
    async erase(
      ctx: TenantContext,
      id: string,
    ): Promise<{ profileId: string; profilesErased: number; identifiersDeleted: number; eventsAnonymized: number }> {
      requirePermission(ctx, 'profiles:write');
      requirePermission(ctx, 'data:delete');
      const profile = await resolveActive(ctx.tenantId, id);
      // Rows about the person still held in memory are written first, so the erasure below reaches them too.
      const held = await Promise.allSettled((deps.erasureHolds ?? []).map((hold) => hold(ctx.tenantId)));
      const releases = held.map((h) => (h.status === 'fulfilled' ? h.value : undefined));
      try {
        const failed = held.find((h) => h.status === 'rejected');
        if (failed) throw failed.reason;
        return await inTenant(db, ctx.tenantId, async (tx) => {
          await repo.lockProfiles(tx, ctx.tenantId, [profile.id]);
          const family = await repo.family(tx, ctx.tenantId, profile.id);
          const idents = await repo.identifiersOf(tx, ctx.tenantId, family);
          const userIds = idents.filter((i) => i.type === 'user_id').map((i) => i.value);
          const anonIds = idents.filter((i) => i.type === 'anonymous_id').map((i) => i.value);
          const emails = idents.filter((i) => i.type === 'email').map((i) => i.value);
          const out = await repo.erase(tx, ctx.tenantId, family, userIds, anonIds);
          const person = { profileIds: family, userIds, anonymousIds: anonIds, emails };
          for (const l of deps.erasureListeners) await l(tx, ctx.tenantId, person);
          return {
            profileId: profile.id,
            profilesErased: family.length,
            identifiersDeleted: out.identifiers,
            eventsAnonymized: out.events,
          };
        });
      } finally {
        for (const release of releases) release?.();
      }
    },

    async getSettings(ctx: TenantContext): Promise<IdentitySettings> {
      requirePermission(ctx, 'profiles:read');
      return deps.settings.get(ctx.tenantId);
    },
    async putSettings(ctx: TenantContext, body: IdentitySettingsBody): Promise<IdentitySettings> {
      requirePermission(ctx, 'profiles:write');
      if (JSON.stringify(body).length > 64_000)
        throw new AppError('payload_too_large', 'SETTINGS_TOO_LARGE', 'Identity settings must be under 64 kB.');
      return deps.settings.put(ctx.tenantId, body);
    },
  };
}
export type ProfilesService = ReturnType<typeof createProfilesService>;

/** Orders page cursor: base64url of JSON [occurred_at as PostgreSQL prints it, order id]. */
const encodeOrdersCursor = (at: string, orderId: string) => Buffer.from(JSON.stringify([at, orderId])).toString('base64url');
function decodeOrdersCursor(cursor: string): { at: string; orderId: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0])))
      return { at: v[0], orderId: v[1] };
  } catch {
    // falls through to the error below
  }
  throw validation('INVALID_CURSOR', 'cursor is not one this API returned: start again without it.');
}
