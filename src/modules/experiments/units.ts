/**
 * Units of assignment: the person behind a user or anonymous id when identity resolution links them (so a
 * person keeps one variant across devices), else the id itself. Lookups are cached for a minute.
 */
import { LRUCache } from 'lru-cache';
import { outsideTenantScope } from '../../platform/index.ts';

/** identity's read-only lookup (IdentityModule.lookupProfiles), declared here as the port this module needs. */
export type ProfileLookup = (tenantId: string, identifiers: readonly { type: string; value: string }[]) => Promise<(string | null)[]>;

export interface ResolvedUnit {
  /** The unit assignments and metric events are keyed by: `p:<profile>`, `u:<user id>` or `a:<anonymous id>`. */
  primary: string;
  /** Every id the request names, primary first (sticky lookups try them in order). */
  candidates: string[];
  /**
   * The value hashed to pick a variant: the raw user id when given, else the raw anonymous id. It is what a
   * GrowthBook SDK hashes when its `id` attribute holds the same id, so an SDK evaluating the flags payload
   * locally gets the variant the server assigns. Stickiness across devices comes from the stored assignment
   * of the person (`candidates`), not from the hash.
   */
  hashKey: string;
}

export interface UnitResolver {
  resolve(tenantId: string, userId: string | undefined, anonymousId: string | undefined): Promise<ResolvedUnit>;
}

/**
 * Resolves units. Lookups missing from the cache are gathered for one turn of the event loop and sent as one
 * query per tenant (at 50 concurrent clients that is one query for dozens of requests instead of one each:
 * on the embedded database every query runs on the request thread, so fewer, larger ones keep latency flat).
 */
export function createUnitResolver(lookup: ProfileLookup): UnitResolver {
  const cache = new LRUCache<string, { profile: string | null }>({ max: 200_000, ttl: 60_000 });
  type Waiter = { resolve: (p: string | null) => void; reject: (e: unknown) => void };
  // tenant -> unit -> identifier and the requests waiting for it
  let queued = new Map<string, Map<string, { type: string; value: string; waiters: Waiter[] }>>();
  let scheduled = false;

  async function send(tenantId: string, wanted: Map<string, { type: string; value: string; waiters: Waiter[] }>): Promise<void> {
    const entries = [...wanted.entries()];
    try {
      const found = await lookup(
        tenantId,
        entries.map(([, w]) => ({ type: w.type, value: w.value })),
      );
      entries.forEach(([unit, w], j) => {
        const profile = found[j] ?? null;
        cache.set(`${tenantId}|${unit}`, { profile });
        for (const x of w.waiters) x.resolve(profile);
      });
    } catch (err) {
      for (const [, w] of entries) for (const x of w.waiters) x.reject(err);
    }
  }

  function drain(): void {
    scheduled = false;
    const batch = queued;
    queued = new Map();
    for (const [tenantId, wanted] of batch) void send(tenantId, wanted);
  }

  function lookupOne(tenantId: string, id: { type: string; value: string; unit: string }): Promise<string | null> {
    return new Promise((resolve, reject) => {
      let t = queued.get(tenantId);
      if (!t) queued.set(tenantId, (t = new Map()));
      const w = t.get(id.unit);
      if (w) w.waiters.push({ resolve, reject });
      else t.set(id.unit, { type: id.type, value: id.value, waiters: [{ resolve, reject }] });
      if (!scheduled) {
        scheduled = true;
        // The drain looks up every tenant's queued units: not in the scope of the request that queued first.
        setImmediate(() => outsideTenantScope(drain));
      }
    });
  }

  return {
    async resolve(tenantId, userId, anonymousId) {
      const ids: { type: string; value: string; unit: string }[] = [];
      if (userId !== undefined) ids.push({ type: 'user_id', value: userId, unit: `u:${userId}` });
      if (anonymousId !== undefined) ids.push({ type: 'anonymous_id', value: anonymousId, unit: `a:${anonymousId}` });
      const profiles = await Promise.all(
        ids.map((id) => {
          const hit = cache.get(`${tenantId}|${id.unit}`);
          return hit ? hit.profile : lookupOne(tenantId, id);
        }),
      );
      const profile = profiles.find((p) => p !== null) ?? null;
      const direct = ids.map((i) => i.unit);
      const hashKey = (ids[0] as { value: string }).value;
      if (profile) return { primary: `p:${profile}`, candidates: [`p:${profile}`, ...direct], hashKey };
      return { primary: direct[0] as string, candidates: direct, hashKey };
    },
  };
}
