/**
 * The learned pass's decisions, pure: which group each offer joins or which pairs wait for review, from the offers,
 * their blocking-key candidates and the scorer. Runs on the matching thread for large batches (`matching.thread.ts`)
 * and inline for small ones; both give the same answer.
 */
import { type MatchRecord, type Prepared, buildIdf, prepare } from './matcher.core.ts';
import { type LearnedMatcher, type OperatingPoints, scorePairs } from './matcher.model.ts';

export type Scorer = Pick<LearnedMatcher, 'model'> & { points: OperatingPoints };

/** What the learned matcher decided for one offer identifiers could not place. */
export interface LearnedVerdict {
  /** Join this group unasked (score at or above the auto threshold, group not pinned). */
  joinGroupId: string | null;
  /** Candidate groups in the uncertain band (or pinned above it), for the review queue, best first, at most 3. */
  review: { groupId: string; offerId: string; score: number }[];
}

/** One store's offers to place (their blocking keys and match records) and the grouped offers sharing a key. */
export interface VerdictInput {
  offers: { id: string; keys: string[]; rec: MatchRecord }[];
  /** One row per (key, candidate offer): a candidate sharing two keys appears twice. */
  candidates: { key: string; id: string; rec: MatchRecord; groupId: string; pinned: boolean }[];
}

/** Candidate offers scored per offer at most: those sharing the most blocking keys with it. */
const MAX_CANDIDATES = 12;

/**
 * Scores each offer against at most MAX_CANDIDATES candidates (those sharing the most keys with it; ties by id), takes
 * the best score per candidate group, and decides: join the best group when the score reaches `points.auto` and the
 * group is not pinned, else queue up to 3 groups scoring at least `points.review`. Document frequencies come from the
 * records at hand (the offers and their candidates). O(pairs × features + trees) time; deterministic.
 */
export function learnedVerdicts(input: VerdictInput, scorer: Scorer): Map<string, LearnedVerdict> {
  const out = new Map<string, LearnedVerdict>();
  if (!input.offers.length || !input.candidates.length) return out;
  const candByKey = new Map<string, VerdictInput['candidates']>();
  const candById = new Map<string, VerdictInput['candidates'][number]>();
  for (const c of input.candidates) {
    const l = candByKey.get(c.key);
    if (l) l.push(c);
    else candByKey.set(c.key, [c]);
    candById.set(c.id, c);
  }
  const prepOffer = new Map<string, Prepared>(input.offers.map((o) => [o.id, prepare(o.rec)]));
  const prepCand = new Map<string, Prepared>([...candById.values()].map((c) => [c.id, prepare(c.rec)]));
  const idf = buildIdf([...prepOffer.values(), ...prepCand.values()]);
  const pairs: [Prepared, Prepared][] = [];
  const meta: { offerId: string; candId: string }[] = [];
  for (const o of input.offers) {
    const shared = new Map<string, number>();
    for (const k of o.keys) for (const c of candByKey.get(k) ?? []) shared.set(c.id, (shared.get(c.id) ?? 0) + 1);
    const top = [...shared].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_CANDIDATES);
    for (const [candId] of top) {
      pairs.push([prepOffer.get(o.id)!, prepCand.get(candId)!]);
      meta.push({ offerId: o.id, candId });
    }
  }
  const p = scorePairs(scorer, pairs, idf);
  const best = new Map<string, Map<string, { score: number; offerId: string; pinned: boolean }>>();
  meta.forEach((m, i) => {
    const c = candById.get(m.candId)!;
    const groups = best.get(m.offerId) ?? new Map<string, { score: number; offerId: string; pinned: boolean }>();
    const cur = groups.get(c.groupId);
    if (!cur || p[i]! > cur.score) groups.set(c.groupId, { score: p[i]!, offerId: c.id, pinned: c.pinned });
    best.set(m.offerId, groups);
  });
  for (const [offerId, groups] of best) {
    const ranked = [...groups]
      .map(([groupId, v]) => ({ groupId, ...v }))
      .sort((a, b) => b.score - a.score || (a.groupId < b.groupId ? -1 : 1));
    const top = ranked[0]!;
    const join = top.score >= scorer.points.auto && !top.pinned ? top.groupId : null;
    out.set(offerId, {
      joinGroupId: join,
      review: join
        ? []
        : ranked
            .filter((r) => r.score >= scorer.points.review)
            .slice(0, 3)
            .map((r) => ({ groupId: r.groupId, offerId: r.offerId, score: r.score })),
    });
  }
  return out;
}
