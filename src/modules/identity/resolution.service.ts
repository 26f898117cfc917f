import { newId, sha256Hex, type Db } from '../../platform/index.ts';
import {
  confidenceOf,
  normalizeIdentifiers,
  planResolution,
  profileStrength,
  type CandidateProfile,
  type IdentifierMatch,
  type IdentitySettings,
  type NormalizedIdentifier,
} from './identity.core.ts';
import type { IdentityRepository, Q } from './identity.repository.ts';
import type { ProfileActivity, ResolveInput } from './identity.types.ts';

export interface ResolutionDeps {
  db: Db;
  /** Independent groups of a batch resolved at once (PostgreSQL: a few; PGlite: 1). */
  concurrency?: number;
  repo: IdentityRepository;
  settings: (tenantId: string) => Promise<IdentitySettings>;
}

/** Postgres errors worth retrying the whole resolution for (deadlock, serialization, a lost unique race). */
function isRetryable(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (code === '40P01' || code === '40001' || code === '23505') return true;
  }
  return false;
}

class ProfileMovedError extends Error {}

/** Connected components of items linked by shared keys, each in input order; components ordered by first item. */
export function groupByKeys(items: readonly number[], keysOf: (n: number) => readonly string[]): number[][] {
  const parent = new Map<number, number>();
  const find = (x: number): number => {
    let r = x;
    while (parent.get(r)! !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const owner = new Map<string, number>();
  for (const n of items) {
    parent.set(n, n);
    for (const k of keysOf(n)) {
      const o = owner.get(k);
      if (o === undefined) owner.set(k, n);
      else {
        const a = find(o);
        const b = find(n);
        if (a !== b) parent.set(Math.max(a, b), Math.min(a, b));
      }
    }
  }
  const groups = new Map<number, number[]>();
  for (const n of items) {
    const r = find(n);
    const g = groups.get(r) ?? [];
    g.push(n);
    groups.set(r, g);
  }
  return [...groups.values()];
}

const hashIdentifier = (tenantId: string, value: string): string => sha256Hex(`${tenantId}|${value}`).slice(0, 32);

/** Merges `mergeIds` into `survivorId`, one log row each. */
export async function mergeInto(
  repo: IdentityRepository,
  q: Q,
  tenantId: string,
  survivorId: string,
  mergeIds: readonly string[],
  meta: { rule: string; actor: string; eventRef: string | null; via?: Record<string, { type: string; value: string }> },
): Promise<void> {
  for (const mergedId of mergeIds) {
    const via = meta.via?.[mergedId];
    await repo.merge(q, tenantId, {
      id: newId(),
      survivorId,
      mergedId,
      rule: meta.rule,
      identifierType: via?.type ?? null,
      identifierHash: via ? hashIdentifier(tenantId, via.value) : null,
      eventRef: meta.eventRef,
      actor: meta.actor,
    });
  }
}

/** Recomputes order aggregates and profile_strength (the formula lives in identity.core.ts). */
export async function refreshAggregates(repo: IdentityRepository, q: Q, tenantId: string, ids: readonly string[], orders = true): Promise<void> {
  const uniq = [...new Set(ids)];
  if (!uniq.length) return;
  if (orders) await repo.recomputeOrders(q, tenantId, uniq);
  const inputs = await repo.strengthInputs(q, tenantId, uniq);
  await repo.setStrength(
    q,
    tenantId,
    inputs.map((r) => ({
      id: r.id,
      strength: profileStrength({ identifierConfidences: r.idents ?? [], totalOrders: r.totalOrders, eventCount: r.eventCount, channelCount: r.channelCount }),
    })),
  );
}

/**
 * Identity resolution per event. Each input runs in its own transaction that takes advisory locks on the
 * event's blocking keys (so two events of one person serialize, on PostgreSQL; PGlite serializes all
 * transactions anyway), then locks the matched profiles FOR UPDATE and re-checks they are still active.
 * The unique index on (tenant, type, value) backs both up; a lost race is retried.
 */
export function createResolutionService(deps: ResolutionDeps) {
  const { db, repo } = deps;

  async function resolveOne(tenantId: string, input: ResolveInput, settings: IdentitySettings, identifiers: NormalizedIdentifier[]): Promise<string> {
    const keys = [...new Set(identifiers.map((i) => i.matchKey))];
    return db.transaction(async (tx) => {
      await repo.lockKeys(tx, tenantId, keys);
      const found = await repo.identifiersByMatchKeys(tx, tenantId, keys);
      const profileIds = [...new Set(found.map((f) => f.profileId))];
      const locked = await repo.lockProfiles(tx, tenantId, profileIds);
      if (locked.some((p) => p.status !== 'active') || locked.length !== profileIds.length) throw new ProfileMovedError();
      const stats = await repo.candidateStats(tx, tenantId, profileIds);
      const candidates: CandidateProfile[] = profileIds.map((id) => {
        const counts: Record<string, number> = {};
        let userIds: string[] = [];
        for (const s of stats.filter((x) => x.profileId === id)) {
          counts[s.type] = s.n;
          if (s.type === 'user_id') userIds = s.userIds ?? [];
        }
        return { id, createdRank: id, userIds, counts };
      });
      // A stored identifier matches through its blocking key; its confidence is the event identifier's.
      const byKey = new Map(identifiers.map((i) => [i.matchKey, i]));
      const matches: IdentifierMatch[] = found.map((f) => ({
        type: f.type,
        value: f.value,
        matchKey: f.matchKey,
        profileId: f.profileId,
        confidence: byKey.get(f.matchKey)?.confidence ?? f.confidence,
      }));
      // Event identifiers whose exact (type, value) is already stored are "matched"; variants (same key) are new rows.
      const plan = planResolution(identifiers, matches, candidates, settings);
      const at = input.occurredAt;
      let targetId: string;
      if (plan.kind === 'create') {
        targetId = newId();
        const strength = profileStrength({ identifierConfidences: plan.attach, totalOrders: 0, eventCount: 0, channelCount: 1 });
        await repo.createProfile(tx, tenantId, { id: targetId, traits: input.traits ?? {}, at, channel: input.channel, strength });
      } else {
        targetId = plan.targetId;
        if (plan.mergeIds.length) {
          await mergeInto(repo, tx, tenantId, targetId, plan.mergeIds, { rule: 'auto:shared_identifier', actor: 'system:identity', eventRef: input.eventRef ?? null, via: plan.mergeVia });
        }
        if (input.traits && Object.keys(input.traits).length) await repo.mergeTraits(tx, tenantId, targetId, input.traits);
      }
      if (plan.review) {
        const ids = [...new Set([...plan.review.profileIds, targetId])].sort();
        await repo.upsertReview(tx, tenantId, { id: newId(), caseKey: `${plan.review.reason}:${ids.join(',')}`, reason: plan.review.reason, profileIds: ids, eventRef: input.eventRef ?? null });
      }
      // New identifiers are inserted; the event's identifiers already stored get their last_seen_at touched.
      const exact = identifiers.filter((i) => found.some((f) => f.type === i.type && f.value === i.value));
      const inserted = await repo.attachIdentifiers(tx, tenantId, targetId, [...plan.attach, ...exact], at, input.channel);
      if (plan.kind === 'attach' && plan.mergeIds.length) await refreshAggregates(repo, tx, tenantId, [targetId], true);
      else if (plan.kind === 'attach' && inserted > 0) {
        // Strength from what is known in memory: the target's identifier counts plus the new ones.
        const p = locked.find((l) => l.id === targetId)!;
        const confidences = Object.entries(candidates.find((c) => c.id === targetId)!.counts).map(([type]) => ({ type, confidence: confidenceOf(type, settings) }));
        const strength = profileStrength({ identifierConfidences: [...confidences, ...plan.attach], totalOrders: p.totalOrders, eventCount: p.eventCount, channelCount: p.channelCount });
        if (strength !== p.profileStrength) await repo.setStrength(tx, tenantId, [{ id: targetId, strength }]);
      }
      return targetId;
    });
  }

  async function resolveWithRetry(tenantId: string, input: ResolveInput, settings: IdentitySettings, ids: NormalizedIdentifier[]): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await resolveOne(tenantId, input, settings, ids);
      } catch (err) {
        if ((err instanceof ProfileMovedError || isRetryable(err)) && attempt < 8) {
          await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
          continue;
        }
        throw err;
      }
    }
  }

  return {
    /** See IdentityApi.resolveMany. */
    async resolveMany(tenantId: string, inputs: ResolveInput[]): Promise<(string | null)[]> {
      if (!inputs.length) return [];
      const settings = await deps.settings(tenantId);
      const normalized = inputs.map((i) => normalizeIdentifiers(i.identifiers, settings).identifiers);
      // Fast path: every identifier of the event is already stored, exactly, on one active profile.
      const allKeys = [...new Set(normalized.flat().map((i) => i.matchKey))];
      const known = await repo.identifiersByMatchKeys(db, tenantId, allKeys);
      const byKey = new Map<string, { profileId: string; exact: Set<string> }[]>();
      for (const k of known) {
        const list = byKey.get(k.matchKey) ?? [];
        list.push({ profileId: k.profileId, exact: new Set([`${k.type}\u0000${k.value}`]) });
        byKey.set(k.matchKey, list);
      }
      const out: (string | null)[] = new Array<string | null>(inputs.length).fill(null);
      const dirty = new Set<string>(); // keys a slow input of this batch may change
      const slow: number[] = [];
      for (let n = 0; n < inputs.length; n++) {
        const ids = normalized[n]!;
        if (!ids.length) continue;
        const owners = new Set<string>();
        let allExact = true;
        for (const i of ids) {
          if (dirty.has(i.matchKey)) allExact = false;
          const rows = byKey.get(i.matchKey) ?? [];
          if (!rows.some((r) => r.exact.has(`${i.type}\u0000${i.value}`))) allExact = false;
          for (const r of rows) owners.add(r.profileId);
        }
        const hasTraits = !!inputs[n]!.traits && Object.keys(inputs[n]!.traits!).length > 0;
        if (allExact && owners.size === 1 && !hasTraits) {
          out[n] = [...owners][0]!;
          continue;
        }
        slow.push(n);
        for (const i of ids) dirty.add(i.matchKey);
      }
      // Inputs sharing a blocking key (directly or through others) run in order; unrelated groups run side by side
      // on PostgreSQL (PGlite has one connection, so there they simply run one after the other).
      const groups = groupByKeys(slow, (n) => normalized[n]!.map((i) => i.matchKey));
      const runGroup = async (group: number[]) => {
        for (const n of group) out[n] = await resolveWithRetry(tenantId, inputs[n]!, settings, normalized[n]!);
      };
      const width = deps.concurrency ?? 1;
      for (let g = 0; g < groups.length; g += width) await Promise.all(groups.slice(g, g + width).map(runGroup));
      // The fast path may have read a profile a concurrent merge just retired: point to its survivor.
      const seen = [...new Set(out.filter((x): x is string => x !== null))];
      if (!seen.length) return out;
      const survivors = await repo.survivorsOf(db, tenantId, seen);
      return out.map((id) => (id === null ? null : (survivors.get(id) ?? id)));
    },

    /** See IdentityApi.recordActivity. Activity on a merged-away id is counted on (and its events moved to) the survivor. */
    async recordActivity(tenantId: string, activity: ProfileActivity[]): Promise<void> {
      if (!activity.length) return;
      await db.transaction(async (tx) => {
        const survivors = await repo.survivorsOf(tx, tenantId, [...new Set(activity.map((a) => a.profileId))]);
        const relink: { from: string; to: string }[] = [];
        for (const [from, to] of survivors) if (from !== to) relink.push({ from, to });
        await repo.relinkInteractions(tx, tenantId, relink);
        const perProfile = new Map<string, { n: number; firstAt: Date; lastAt: Date; channels: Set<string> }>();
        const orders = new Map<string, { orderId: string; profileId: string; revenueMinor: bigint; refundedMinor: bigint; currency: string | null; at: Date }>();
        for (const a of activity) {
          const pid = survivors.get(a.profileId);
          if (!pid) continue; // unknown or erased profile
          const agg = perProfile.get(pid) ?? { n: 0, firstAt: a.occurredAt, lastAt: a.occurredAt, channels: new Set<string>() };
          agg.n++;
          if (a.occurredAt < agg.firstAt) agg.firstAt = a.occurredAt;
          if (a.occurredAt > agg.lastAt) agg.lastAt = a.occurredAt;
          agg.channels.add(a.channel);
          perProfile.set(pid, agg);
          const amount = a.revenueMinor != null && a.revenueMinor > 0n ? a.revenueMinor : 0n;
          if (a.type === 'purchase' || a.type === 'refund') {
            const orderId = a.orderId ?? `~${newId()}`;
            const o = orders.get(orderId) ?? { orderId, profileId: pid, revenueMinor: 0n, refundedMinor: 0n, currency: a.currency?.toUpperCase() ?? null, at: a.occurredAt };
            // Line items of one order add up; the order counts once.
            if (a.type === 'purchase') o.revenueMinor += amount;
            else o.refundedMinor += amount;
            orders.set(orderId, o);
          }
        }
        await repo.addActivity(
          tx,
          tenantId,
          [...perProfile].map(([profileId, a]) => ({ profileId, n: a.n, firstAt: a.firstAt, lastAt: a.lastAt, channels: [...a.channels].map((c) => c.replace(/,/g, ' ')) })),
        );
        await repo.upsertOrders(tx, tenantId, [...orders.values()]);
        await refreshAggregates(repo, tx, tenantId, [...perProfile.keys()], orders.size > 0);
      });
    },
  };
}
export type ResolutionService = ReturnType<typeof createResolutionService>;

