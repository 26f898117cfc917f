/**
 * Cohort membership answers for serving paths (sponsored `cohort:<id>` segments, campaign and experiment audiences):
 * per tenant and cohort, the saved definition (or "no such cohort") and, per profile, whether it is in the cohort,
 * each answer reused for at most `ttlMs` (a cohort's rules read aggregates and traits, not the request: a shopper's
 * membership moving a few seconds late only changes which campaign wins). Without it, every feed page whose campaigns
 * name a cohort sent two statements per named cohort (the definition, then the membership).
 *
 * An answer is kept with the instant its read started, and is used only while no change of what it read was noted
 * since (with `settleMs` to spare: identity announces a profile change inside the write's transaction, before it
 * commits, so a read that starts just after the announcement may still see the old rows). Changes noted:
 * - a cohort saved or deleted in this process (`cohortChanged`: analytics' own writes);
 * - profiles whose orders, status or merge chain change in this process (`profilesChanged`: identity's announcement);
 * - the whole tenant (`tenantChanged`): on PostgreSQL, when the change markers (the tenant's saved cohorts, identity's
 *   changed profiles) say another process wrote, read at most every `markerMs` by the caller (cohorts.service.ts).
 * Trait edits and events are not announced: the TTL bounds how late they show.
 *
 * Also kept, for callers that hold a shopper's external id rather than a profile (sponsored audiences, `userIn`): the
 * profile identity's lookup found behind a user id, or that none holds it. A found profile's answer is dropped when
 * that profile changes (merges, unmerges and erasure move or remove identifiers, and identity announces them) or the
 * tenant does; "no profile" is dropped with the tenant only: a shopper's first identified event (not announced) shows
 * within the TTL, as events do in memberships.
 * No I/O: the clock is passed in; bounded (least recently used answers dropped first).
 */
import { LRUCache } from 'lru-cache';

/** How long a membership answer (and a cohort's definition) is reused. */
export const MEMBERSHIP_TTL_MS = 10_000;
/** Reads that start this soon after a noted change are answered but not kept. */
export const MEMBERSHIP_SETTLE_MS = 2_000;

export interface CohortCacheOptions {
  now: () => number;
  ttlMs?: number;
  settleMs?: number;
  /** Membership answers kept (tenant, cohort, profile), least recently used dropped first. */
  maxAnswers?: number;
}

interface Kept<T> {
  value: T;
  startedAt: number;
}

export function createCohortMembershipCache<Def>(opts: CohortCacheOptions) {
  const ttl = opts.ttlMs ?? MEMBERSHIP_TTL_MS;
  const settle = opts.settleMs ?? MEMBERSHIP_SETTLE_MS;
  const max = Math.max(1, opts.maxAnswers ?? 200_000);
  const enabled = ttl > 0;
  const answers = new LRUCache<string, Kept<boolean>>({ max, ttl: Math.max(1, ttl) });
  const definitions = new LRUCache<string, Kept<Def | null>>({ max: 10_000, ttl: Math.max(1, ttl) });
  const people = new LRUCache<string, Kept<string | null>>({ max, ttl: Math.max(1, ttl) });
  // When something an answer read last changed (`t|tenant`, `c|tenant|cohort`, `p|tenant|profile`), and until when a
  // read that starts may still see the rows before the change (`until`: later than `at` for a change announced before
  // its commit). A note older than the TTL plus the settle window can no longer invalidate a kept answer: it ages out.
  const changed = new LRUCache<string, { until: number }>({ max: 100_000, ttl: Math.max(1, ttl + settle) });
  const stats = { hits: 0, misses: 0 };

  /** Whether a read that started at `startedAt` is still good: it started after every change of what it read was visible. */
  function fresh(startedAt: number, keys: readonly string[]): boolean {
    for (const k of keys) {
      const c = changed.get(k);
      if (c !== undefined && startedAt <= c.until) return false;
    }
    return true;
  }
  /** `committed`: the change is visible already (a saved cohort, a marker read); else it may commit within the settle window. */
  const note = (key: string, committed: boolean) => {
    const until = opts.now() + (committed ? 0 : settle);
    const c = changed.get(key);
    changed.set(key, { until: c && c.until > until ? c.until : until });
  };

  /** What a user id's answer read: the tenant, and the profile found (its identifiers move only with a change of it). */
  const personKeys = (tenantId: string, profileId: string | null) =>
    profileId === null ? [`t|${tenantId}`] : [`t|${tenantId}`, `p|${tenantId}|${profileId}`];

  return {
    /** The kept definition of a cohort (`null`: the tenant has no such cohort), or undefined when it must be read. */
    definition(tenantId: string, cohortId: string): { value: Def | null } | undefined {
      if (!enabled) return undefined;
      const k = definitions.get(`${tenantId}|${cohortId}`);
      if (k && opts.now() - k.startedAt < ttl && fresh(k.startedAt, [`t|${tenantId}`, `c|${tenantId}|${cohortId}`]))
        return { value: k.value };
      return undefined;
    },
    keepDefinition(tenantId: string, cohortId: string, def: Def | null, startedAt: number): void {
      if (enabled && fresh(startedAt, [`t|${tenantId}`, `c|${tenantId}|${cohortId}`]))
        definitions.set(`${tenantId}|${cohortId}`, { value: def, startedAt });
    },
    /** The kept answer (is `profileId` in the cohort), or undefined when it must be read. */
    member(tenantId: string, cohortId: string, profileId: string): boolean | undefined {
      if (!enabled) return undefined;
      const k = answers.get(`${tenantId}|${cohortId}|${profileId}`);
      if (
        k &&
        opts.now() - k.startedAt < ttl &&
        fresh(k.startedAt, [`t|${tenantId}`, `c|${tenantId}|${cohortId}`, `p|${tenantId}|${profileId}`])
      ) {
        stats.hits++;
        return k.value;
      }
      stats.misses++;
      return undefined;
    },
    keepMember(tenantId: string, cohortId: string, profileId: string, inside: boolean, startedAt: number): void {
      if (enabled && fresh(startedAt, [`t|${tenantId}`, `c|${tenantId}|${cohortId}`, `p|${tenantId}|${profileId}`]))
        answers.set(`${tenantId}|${cohortId}|${profileId}`, { value: inside, startedAt });
    },
    /**
     * The profile kept for a user id (`value` null: no profile holds it), or undefined when identity must be asked.
     * `userId` is the identifier as the caller got it (the lookup normalizes it; one key per spelling).
     */
    person(tenantId: string, userId: string): { value: string | null } | undefined {
      if (!enabled) return undefined;
      const k = people.get(`${tenantId}|${userId}`);
      if (k && opts.now() - k.startedAt < ttl && fresh(k.startedAt, personKeys(tenantId, k.value))) return { value: k.value };
      return undefined;
    },
    keepPerson(tenantId: string, userId: string, profileId: string | null, startedAt: number): void {
      if (enabled && fresh(startedAt, personKeys(tenantId, profileId)))
        people.set(`${tenantId}|${userId}`, { value: profileId, startedAt });
    },
    /** A cohort of the tenant was saved or deleted: its definition and every answer about it are read again. */
    cohortChanged(tenantId: string, cohortId: string): void {
      note(`c|${tenantId}|${cohortId}`, true);
    },
    /**
     * These profiles changed: their answers are read again. `committed` false (identity's announcement, made before
     * the write commits): answers read within the settle window after it are not kept either.
     */
    profilesChanged(tenantId: string, profileIds: readonly string[], committed = false): void {
      for (const id of profileIds) note(`p|${tenantId}|${id}`, committed);
    },
    /** Anything of the tenant may have changed (another process wrote, committed): everything of it is read again. */
    tenantChanged(tenantId: string): void {
      note(`t|${tenantId}`, true);
    },
    /** Hits and misses of membership answers since start (tests, benches). */
    stats: () => ({ ...stats }),
  };
}
