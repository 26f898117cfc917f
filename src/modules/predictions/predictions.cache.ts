/**
 * The serving cache of `/predict/*`: per tenant, the profile a reference (a profile id or an identifier) leads to
 * and that profile's orders, so a repeated prediction reads no SQL (scoring itself is pure and cheap).
 *
 * Freshness, within this process: identity announces every write that changes a profile's orders, status or merge
 * chain (orders recorded or reconciled, merges, unmerges, erasure; `identity.onProfilesChanged`). The announcement
 * runs inside the write's transaction, before it commits, so it drops the profile's entries AND remembers the
 * change for SETTLE_MS: a read that starts in that window (it might still see the rows before the commit) answers
 * but is not kept. In-flight reads are forgotten too, so a request that starts after the announcement never joins
 * one that started before it. Unknown references (404) are never kept: a new identifier is found at once.
 *
 * Across processes (`shared`: PostgreSQL, where an API replica or a worker may write): each tenant's change marker
 * (`identity.customerOrders.changedSince`: profiles whose `updated_at` moved, one index range scan) is read at most
 * every CHECK_AHEAD_MS under load (in the background) and before any request when the last read is older than
 * MAX_AGE_MS, over the last OVERLAP_MS before the previous read (`updated_at` is its transaction's start). A write
 * in another process is thus served within about a second; one whose transaction ran longer than OVERLAP_MS could
 * slip, and entries older than RESYNC_MS are read again to bound that. PGlite is single-process: no marker is read.
 *
 * Activity (sessions, categories, identifiers: the churn model's activity inputs) is not announced by identity: an
 * entry older than `maxAgeMs` (default ACTIVITY_MAX_AGE_MS) is read again, so a new session shows within a minute.
 *
 * Bounds: `maxProfiles` references per tenant and `maxTenants` tenants, least recently used dropped first; a
 * tenant's traffic only ever evicts its own entries (and, past `maxTenants`, the least recently served tenant).
 */
import { LRUCache } from 'lru-cache';
import type { CustomerOrders } from './features.core.ts';
import type { IdentifierInput } from '../identity/index.ts';

export type ProfileRef = { profileId: string } | { identifier: IdentifierInput };

/** The cache key of a reference: a profile id, or an identifier's type and value as given. */
export const refKeyOf = (ref: ProfileRef): string =>
  'profileId' in ref ? `p:${ref.profileId}` : `i:${ref.identifier.type}\u0000${ref.identifier.value}`;

/** Defaults of the two windows below (LOUPE_PREDICTIONS_CACHE_SETTLE_MS, LOUPE_PREDICTIONS_CACHE_OVERLAP_MS). */
export const SETTLE_MS = 2000;
const CHECK_AHEAD_MS = 400;
const MAX_AGE_MS = 1000;
const OVERLAP_MS = 5000;
const RESYNC_MS = 5 * 60_000;
/** Default age past which an entry is read again in any mode: its activity columns are not announced. */
export const ACTIVITY_MAX_AGE_MS = 60_000;
/** Changed profiles read per marker look; more means a bulk change: the tenant's entries are all dropped. */
const MARKER_LIMIT = 5000;

/** What a reference leads to: the active profile (after merges) and its orders, grouped for scoring. */
export interface CachedProfile {
  profileId: string;
  orders: CustomerOrders;
  currency: string | null;
}

interface Entry extends CachedProfile {
  loadedAt: number;
}

interface TenantCache {
  byRef: LRUCache<string, Entry>;
  /** Reference keys per profile id they lead to (to drop them when the profile changes). */
  refsOf: Map<string, Set<string>>;
  /** Profiles announced as changed in the last SETTLE_MS (oldest first). */
  changedAt: Map<string, number>;
  loads: Map<string, Promise<CachedProfile | null>>;
  checkedAt: number;
  syncing: Promise<void> | undefined;
}

export interface PredictionsCacheDeps {
  /** Reads the active profile a reference leads to and its orders (SQL), or null when unknown, erased or not usable. */
  load(tenantId: string, ref: ProfileRef): Promise<CachedProfile | null>;
  /** Change marker: profiles changed at or after `since` (at most `limit`). Read only when `shared`. */
  changedSince(tenantId: string, since: Date, limit: number): Promise<string[]>;
  /** True when other processes may write the same database (PostgreSQL): change markers are read. */
  shared: boolean;
  /** References kept per tenant; 0 keeps nothing (every request reads). */
  maxProfiles: number;
  maxTenants: number;
  log: { warn(obj: unknown, msg: string): void };
  now?: () => number;
  /** Reads that start this soon after a change of their profile are answered but not kept (default SETTLE_MS). */
  settleMs?: number;
  /** How far before the previous marker look the next one reaches (default OVERLAP_MS): longer than any write transaction. */
  overlapMs?: number;
  /** Entries older than this are read again (default ACTIVITY_MAX_AGE_MS): activity changes are not announced. */
  maxAgeMs?: number;
}

export function createPredictionsCache(deps: PredictionsCacheDeps) {
  const now = deps.now ?? Date.now;
  const settleMs = deps.settleMs ?? SETTLE_MS;
  const overlapMs = deps.overlapMs ?? OVERLAP_MS;
  const maxAgeMs = Math.min(deps.maxAgeMs ?? ACTIVITY_MAX_AGE_MS, deps.shared ? RESYNC_MS : Number.POSITIVE_INFINITY);
  const enabled = deps.maxProfiles > 0;
  const tenants = new LRUCache<string, TenantCache>({ max: Math.max(1, deps.maxTenants) });
  const stats = { hits: 0, misses: 0 };

  function tenant(tenantId: string): TenantCache {
    let t = tenants.get(tenantId);
    if (t) return t;
    const refsOf = new Map<string, Set<string>>();
    t = {
      byRef: new LRUCache<string, Entry>({
        max: Math.max(1, deps.maxProfiles),
        // keeps the reverse index exact whether an entry is deleted, replaced or evicted
        dispose: (e, key) => {
          const refs = refsOf.get(e.profileId);
          refs?.delete(key);
          if (refs && !refs.size) refsOf.delete(e.profileId);
        },
      }),
      refsOf,
      changedAt: new Map(),
      loads: new Map(),
      // nothing is cached yet: what changed before now is read by the first loads anyway
      checkedAt: now(),
      syncing: undefined,
    };
    tenants.set(tenantId, t);
    return t;
  }

  function drop(t: TenantCache, profileId: string): void {
    const refs = t.refsOf.get(profileId);
    if (refs) for (const k of [...refs]) t.byRef.delete(k);
  }

  async function syncOnce(tenantId: string, t: TenantCache): Promise<void> {
    const started = now();
    const ids = await deps.changedSince(tenantId, new Date(t.checkedAt - overlapMs), MARKER_LIMIT);
    if (ids.length >= MARKER_LIMIT) t.byRef.clear();
    else for (const id of ids) drop(t, id);
    if (ids.length) t.loads.clear();
    t.checkedAt = started;
  }

  function sync(tenantId: string, t: TenantCache): Promise<void> {
    t.syncing ??= syncOnce(tenantId, t).finally(() => {
      t.syncing = undefined;
    });
    return t.syncing;
  }

  /** Reads the marker first when it must (shared), ahead in the background when it soon must. */
  async function fresh(tenantId: string, t: TenantCache): Promise<void> {
    if (!deps.shared) return;
    if (now() - t.checkedAt > MAX_AGE_MS) await sync(tenantId, t);
    else if (now() - t.checkedAt > CHECK_AHEAD_MS && !t.syncing)
      sync(tenantId, t).catch((err: unknown) => deps.log.warn({ err, tenantId }, 'predictions cache marker read failed; retried'));
  }

  /** Whether a read that started at `startedAt` may be kept: no change of its profile announced since just before. */
  function keepable(t: TenantCache, profileId: string, startedAt: number): boolean {
    const at = t.changedAt.get(profileId);
    return at === undefined || at < startedAt - settleMs;
  }

  return {
    /**
     * The profile `refKey` leads to, with its orders: from memory when kept, else read (concurrent requests for
     * one reference share the read). Null for unknown, erased or another tenant's references (never kept).
     */
    async get(tenantId: string, ref: ProfileRef): Promise<CachedProfile | null> {
      if (!enabled) return deps.load(tenantId, ref);
      const refKey = refKeyOf(ref);
      const t = tenant(tenantId);
      await fresh(tenantId, t);
      const hit = t.byRef.get(refKey);
      if (hit && !(now() - hit.loadedAt > maxAgeMs)) {
        stats.hits++;
        return hit;
      }
      stats.misses++;
      let load = t.loads.get(refKey);
      if (!load) {
        const startedAt = now();
        const p: Promise<CachedProfile | null> = deps.load(tenantId, ref).then((found) => {
          // an announcement while this read ran cleared `loads`: then it is answered, not kept
          if (t.loads.get(refKey) === p) {
            t.loads.delete(refKey);
            if (found && keepable(t, found.profileId, startedAt) && tenants.peek(tenantId) === t) {
              t.byRef.set(refKey, { ...found, loadedAt: startedAt });
              let refs = t.refsOf.get(found.profileId);
              if (!refs) t.refsOf.set(found.profileId, (refs = new Set()));
              refs.add(refKey);
            }
          }
          return found;
        });
        p.catch(() => t.loads.get(refKey) === p && t.loads.delete(refKey));
        t.loads.set(refKey, p);
        load = p;
      }
      return load;
    },

    /** Identity's announcement: these profiles' orders, status or merge chain are changing (maybe not committed yet). */
    profilesChanged(tenantId: string, profileIds: readonly string[]): void {
      const t = tenants.peek(tenantId);
      if (!t) return;
      const at = now();
      for (const id of profileIds) {
        drop(t, id);
        t.changedAt.delete(id);
        t.changedAt.set(id, at);
      }
      t.loads.clear();
      // forget announcements older than the settle window (the map is in announcement order)
      for (const [id, when] of t.changedAt) {
        if (when >= at - settleMs) break;
        t.changedAt.delete(id);
      }
    },

    /** Drops a tenant's entries (model deploys change scores, not orders: they need no drop). */
    forgetTenant(tenantId: string): void {
      tenants.delete(tenantId);
    },

    /** References kept for a tenant, and hits/misses since start (tests and benches). */
    size: (tenantId: string): number => tenants.peek(tenantId)?.byRef.size ?? 0,
    stats: () => ({ ...stats }),
  };
}
