/**
 * Batch identity resolution, the pure part: the inputs of a batch are planned one after the other against an
 * in-memory view of the store (identifier -> profile, per-profile counts and user ids, merged-away profiles),
 * so each input sees what the earlier ones did exactly as if they had been written one by one; the writes are
 * collected so the service can apply them set-wise. No I/O, ids come from the caller.
 */
import {
  planResolution,
  profileStrength,
  type CandidateProfile,
  type IdentifierMatch,
  type IdentitySettings,
  type NormalizedIdentifier,
} from './identity.core.ts';

export interface BatchInput {
  /** Normalized identifiers (at least one). */
  identifiers: readonly NormalizedIdentifier[];
  channel: string;
  occurredAt: Date;
  traits?: Record<string, unknown> | undefined;
  eventRef?: string | undefined;
}

/** What the store holds for a batch, read under the batch's locks. */
export interface BatchView {
  /** Stored identifiers sharing a blocking key with some input of the batch. */
  identifiers: readonly IdentifierMatch[];
  /** Every profile those identifiers belong to: identifier counts per type and user ids (sorted). */
  profiles: readonly { id: string; counts: Readonly<Record<string, number>>; userIds: readonly string[] }[];
}

/** An identifier to insert, or (when already stored) whose last_seen_at to raise. Unique on (type, value). */
export interface IdentifierWrite {
  type: string;
  value: string;
  matchKey: string;
  confidence: number;
  /** Holder after the batch's merges. */
  profileId: string;
  /** The profile it first joined (unmerge gives it back to that profile). */
  originProfileId: string;
  channel: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export interface MergeWrite {
  survivorId: string;
  mergedId: string;
  /** The identifier linking the merged profile to the event. */
  via: { type: string; value: string } | null;
  eventRef: string | null;
}

export interface ReviewWrite {
  caseKey: string;
  reason: string;
  profileIds: string[];
  /** The first event of the batch that raised the case. */
  eventRef: string | null;
  /** Events of the batch that raised it. */
  occurrences: number;
}

export interface BatchPlan {
  /** Per input, its profile once the batch's merges are done. */
  profileIds: string[];
  newProfiles: { id: string; traits: Record<string, unknown>; at: Date; channel: string; strength: number }[];
  /**
   * Traits merged into existing profiles, to apply BEFORE the merges: a merge keeps the survivor's traits over
   * the merged profile's, and since jsonb `||` is associative this order gives what event-by-event order gives.
   */
  traitPatches: { profileId: string; traits: Record<string, unknown> }[];
  /** In event order; `mergeRounds` says which may run together. */
  merges: MergeWrite[];
  identifiers: IdentifierWrite[];
  reviews: ReviewWrite[];
  /** Active profiles whose strength to recompute once everything is written (gained identifiers or merged). */
  refresh: string[];
  /** Active merge survivors, whose order aggregates to rebuild. */
  survivors: string[];
}

interface ProfileState {
  counts: Record<string, number>;
  userIds: string[];
  mergedInto: string | null;
}

/**
 * Plans a batch. Applied in the order "new profiles, trait patches, merges (by rounds), identifiers, reviews,
 * order aggregates of survivors, strength", the writes leave the store as resolving the inputs one by one
 * (each in its own transaction, against the store as the previous ones left it) would.
 */
export function planBatch(
  inputs: readonly BatchInput[],
  view: BatchView,
  settings: Pick<IdentitySettings, 'limits' | 'maxAutoMerge' | 'customTypes'> & Partial<Pick<IdentitySettings, 'protectWeakLinks'>>,
  newId: () => string,
): BatchPlan {
  const byKey = new Map<string, IdentifierMatch[]>();
  for (const i of view.identifiers) {
    const list = byKey.get(i.matchKey);
    if (list) list.push({ ...i });
    else byKey.set(i.matchKey, [{ ...i }]);
  }
  const profiles = new Map<string, ProfileState>(
    view.profiles.map((p) => [p.id, { counts: { ...p.counts }, userIds: [...p.userIds], mergedInto: null }]),
  );
  /** The active profile an id ended in (identifiers keep the id they were read or written with). */
  const alive = (id: string): string => {
    let cur = id;
    for (let next = profiles.get(cur)?.mergedInto; next; next = profiles.get(cur)?.mergedInto) cur = next;
    return cur;
  };

  const newProfiles = new Map<string, BatchPlan['newProfiles'][number]>();
  const patches = new Map<string, Record<string, unknown>>();
  const merges: MergeWrite[] = [];
  const writes = new Map<string, IdentifierWrite>();
  const reviews = new Map<string, ReviewWrite>();
  const refresh = new Set<string>();
  const survivors = new Set<string>();
  const out: string[] = [];

  for (const input of inputs) {
    const ids = input.identifiers;
    const at = input.occurredAt;
    const found = [...new Set(ids.map((i) => i.matchKey))].flatMap((k) =>
      (byKey.get(k) ?? []).map((f) => ({ ...f, profileId: alive(f.profileId) })),
    );
    const candidates: CandidateProfile[] = [...new Set(found.map((f) => f.profileId))].map((id) => {
      const p = profiles.get(id)!;
      return { id, createdRank: id, userIds: p.userIds, counts: p.counts };
    });
    // A stored identifier matches through its blocking key; its confidence is the event identifier's.
    const confidence = new Map(ids.map((i) => [i.matchKey, i.confidence]));
    const matches = found.map((f) => ({ ...f, confidence: confidence.get(f.matchKey) ?? f.confidence }));
    const plan = planResolution(ids, matches, candidates, settings);
    const exact = ids.filter((i) => found.some((f) => f.type === i.type && f.value === i.value));
    const hasTraits = !!input.traits && Object.keys(input.traits).length > 0;

    let target: string;
    if (plan.kind === 'create') {
      target = newId();
      profiles.set(target, { counts: {}, userIds: [], mergedInto: null });
      const strength = profileStrength({ identifierConfidences: plan.attach, totalOrders: 0, eventCount: 0, channelCount: 1 });
      newProfiles.set(target, { id: target, traits: { ...(input.traits ?? {}) }, at, channel: input.channel, strength });
    } else {
      target = plan.targetId;
      const t = profiles.get(target)!;
      for (const m of plan.mergeIds) {
        const p = profiles.get(m)!;
        for (const [type, n] of Object.entries(p.counts)) t.counts[type] = (t.counts[type] ?? 0) + n;
        t.userIds = [...new Set([...t.userIds, ...p.userIds])].sort();
        p.mergedInto = target;
        merges.push({ survivorId: target, mergedId: m, via: plan.mergeVia[m] ?? null, eventRef: input.eventRef ?? null });
        survivors.add(target);
      }
      if (plan.mergeIds.length || plan.attach.length) refresh.add(target);
      if (hasTraits) {
        const fresh = newProfiles.get(target);
        if (fresh) Object.assign(fresh.traits, input.traits);
        else patches.set(target, { ...patches.get(target), ...input.traits });
      }
    }
    if (plan.review) {
      const profileIds = [...new Set([...plan.review.profileIds, target])].sort();
      const caseKey = `${plan.review.reason}:${profileIds.join(',')}`;
      const r = reviews.get(caseKey);
      if (r) r.occurrences++;
      else reviews.set(caseKey, { caseKey, reason: plan.review.reason, profileIds, eventRef: input.eventRef ?? null, occurrences: 1 });
    }
    // New identifiers join the target; the event's identifiers already stored only get their last_seen_at raised.
    const p = profiles.get(target)!;
    for (const i of plan.attach) {
      const entry = { type: i.type, value: i.value, matchKey: i.matchKey, profileId: target, confidence: i.confidence };
      const list = byKey.get(i.matchKey);
      if (list) list.push(entry);
      else byKey.set(i.matchKey, [entry]);
      p.counts[i.type] = (p.counts[i.type] ?? 0) + 1;
      if (i.type === 'user_id') p.userIds = [...p.userIds, i.value].sort();
    }
    for (const i of [...plan.attach, ...exact]) {
      const key = `${i.type}\u0000${i.value}`;
      const w = writes.get(key);
      if (w) {
        if (at > w.lastSeenAt) w.lastSeenAt = at;
      } else {
        writes.set(key, {
          type: i.type,
          value: i.value,
          matchKey: i.matchKey,
          confidence: i.confidence,
          profileId: target,
          originProfileId: target,
          channel: input.channel,
          firstSeenAt: at,
          lastSeenAt: at,
        });
      }
    }
    out.push(target);
  }

  const active = (id: string) => !profiles.get(id)!.mergedInto;
  return {
    profileIds: out.map(alive),
    newProfiles: [...newProfiles.values()],
    traitPatches: [...patches].map(([profileId, traits]) => ({ profileId, traits })),
    merges,
    identifiers: [...writes.values()].map((w) => ({ ...w, profileId: alive(w.profileId) })),
    reviews: [...reviews.values()],
    refresh: [...refresh].filter(active),
    survivors: [...survivors].filter(active),
  };
}

/**
 * Splits merges into rounds in which no profile appears twice, each merge after every earlier merge that
 * shares a profile with it: merges within a round touch disjoint rows, so a round runs as one set of statements.
 */
export function mergeRounds<T extends { survivorId: string; mergedId: string }>(merges: readonly T[]): T[][] {
  const roundOf = new Map<string, number>();
  const rounds: T[][] = [];
  for (const m of merges) {
    const r = Math.max(roundOf.get(m.survivorId) ?? -1, roundOf.get(m.mergedId) ?? -1) + 1;
    (rounds[r] ??= []).push(m);
    roundOf.set(m.survivorId, r);
    roundOf.set(m.mergedId, r);
  }
  return rounds;
}

/**
 * Splits a batch, in order, into runs whose inputs hold at most `maxKeys` distinct blocking keys (an input with more
 * forms a run of its own): each run locks its keys in one transaction, and advisory locks live in a shared table of
 * fixed size.
 */
export function chunkByKeys<T extends { identifiers: readonly { matchKey: string }[] }>(inputs: readonly T[], maxKeys: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let keys = new Set<string>();
  for (const input of inputs) {
    const fresh = new Set(input.identifiers.map((i) => i.matchKey).filter((k) => !keys.has(k)));
    if (current.length && keys.size + fresh.size > maxKeys) {
      chunks.push(current);
      current = [];
      keys = new Set();
    }
    current.push(input);
    for (const i of input.identifiers) keys.add(i.matchKey);
  }
  if (current.length) chunks.push(current);
  return chunks;
}
