import { readFileSync } from 'node:fs';
import { currencyExponent, newId } from '../../platform/index.ts';
import { type MatchRecord, type Prepared, buildIdf, offerBlockKeys, prepare } from './matcher.core.ts';
import { type LearnedMatcher, type OperatingPoints, type SerializedMatcher, deserializeMatcher, scorePairs } from './matcher.model.ts';
import { type MatchCandidate, type Q, pricingRepository as repo } from './pricing.repository.ts';

type Scorer = Pick<LearnedMatcher, 'model'> & { points: OperatingPoints };
let shipped: Scorer | undefined;
/** The model `npm run train:matcher` wrote, read once. */
export function shippedMatcher(): Scorer {
  shipped ??= deserializeMatcher(JSON.parse(readFileSync(new URL('./matcher.model.json', import.meta.url), 'utf8')) as SerializedMatcher);
  return shipped;
}

const major = (minor: string, currency: string) => Number(minor) / 10 ** currencyExponent(currency);
const recordOf = (o: { title: string; brand: string | null; mpn: string | null; priceMinor: string; currency: string }): MatchRecord => ({
  title: o.title,
  brand: o.brand,
  model: o.mpn,
  description: null,
  category: null,
  price: major(o.priceMinor, o.currency),
});

/** What the learned matcher decided for one offer identifiers could not place. */
interface LearnedVerdict {
  /** Join this group unasked (score at or above the auto threshold, group not pinned). */
  joinGroupId: string | null;
  score: number;
  /** Candidate groups in the uncertain band (or pinned above it), for the review queue, best first, at most 3. */
  review: { groupId: string; offerId: string; score: number }[];
}

/**
 * Scores offers that no identifier placed against grouped offers of other stores sharing a blocking key
 * (never all pairs). Best score per candidate group; the group with the best score decides. Pure of writes.
 */
async function learnedVerdicts(
  q: Q,
  tenantId: string,
  offers: readonly MatchCandidate[],
  scorer: Scorer,
): Promise<Map<string, LearnedVerdict>> {
  const out = new Map<string, LearnedVerdict>();
  if (!offers.length) return out;
  const byStore = new Map<string, MatchCandidate[]>();
  for (const o of offers) byStore.set(o.storeId, [...(byStore.get(o.storeId) ?? []), o]);
  for (const [storeId, list] of byStore) {
    const keysOf = new Map(list.map((o) => [o.id, offerBlockKeys(o.title, o.mpn)]));
    const allKeys = [...new Set([...keysOf.values()].flat())];
    if (!allKeys.length) continue;
    const cands = await repo.blockCandidates(q, tenantId, allKeys, storeId);
    if (!cands.length) continue;
    const candByKey = new Map<string, typeof cands>();
    for (const c of cands) candByKey.set(c.key, [...(candByKey.get(c.key) ?? []), c]);
    const prepOffer = new Map(list.map((o) => [o.id, prepare(recordOf(o))]));
    const prepCand = new Map<string, Prepared>();
    for (const c of cands) if (!prepCand.has(c.id)) prepCand.set(c.id, prepare(recordOf(c)));
    // Document frequencies over the records at hand: the batch and its candidates.
    const idf = buildIdf([...prepOffer.values(), ...prepCand.values()]);
    const pairs: [Prepared, Prepared][] = [];
    const meta: { offerId: string; cand: (typeof cands)[number] }[] = [];
    for (const o of list) {
      const seen = new Set<string>();
      for (const k of keysOf.get(o.id)!)
        for (const c of candByKey.get(k) ?? []) {
          if (seen.has(c.id)) continue;
          seen.add(c.id);
          pairs.push([prepOffer.get(o.id)!, prepCand.get(c.id)!]);
          meta.push({ offerId: o.id, cand: c });
        }
    }
    const p = scorePairs(scorer, pairs, idf);
    const best = new Map<string, Map<string, { score: number; offerId: string; pinned: boolean }>>();
    meta.forEach((m, i) => {
      const groups = best.get(m.offerId) ?? new Map();
      const cur = groups.get(m.cand.matchGroupId);
      if (!cur || p[i]! > cur.score) groups.set(m.cand.matchGroupId, { score: p[i]!, offerId: m.cand.id, pinned: m.cand.pinned });
      best.set(m.offerId, groups);
    });
    for (const [offerId, groups] of best) {
      const ranked = [...groups]
        .map(([groupId, v]) => ({ groupId, ...v }))
        .sort((a, b) => b.score - a.score || a.groupId.localeCompare(b.groupId));
      const top = ranked[0]!;
      const join = top.score >= scorer.points.auto && !top.pinned ? top.groupId : null;
      out.set(offerId, {
        joinGroupId: join,
        score: top.score,
        review: join
          ? []
          : ranked
              .filter((r) => r.score >= scorer.points.review)
              .slice(0, 3)
              .map((r) => ({ groupId: r.groupId, offerId: r.offerId, score: r.score })),
      });
    }
  }
  return out;
}

export interface MatchActor {
  type: string;
  id: string;
}

export interface MatchOutcome {
  byGtin: number;
  byBrandMpn: number;
  /** Joined a group on the learned matcher's high-confidence score. */
  byModel: number;
  newGroups: number;
  /** Pairs queued for review (uncertain band). */
  queued: number;
}

/**
 * Puts offers without a group into groups by identifiers: the same GTIN-14 first, then the same brand and
 * normalized MPN; an offer matching neither starts its own group. Existing groups are only joined, never
 * renumbered (their ids are stable); the oldest group wins when an identifier sits in several. Every
 * assignment is written to the match log, with the group the offer left when its identifiers changed.
 * Runs inside the caller's transaction `q`.
 */
export async function matchByIdentifiers(
  q: Q,
  tenantId: string,
  offerIds: readonly string[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
  learned?: Scorer,
): Promise<MatchOutcome> {
  const out: MatchOutcome = { byGtin: 0, byBrandMpn: 0, byModel: 0, newGroups: 0, queued: 0 };
  const candidates = offerIds.length ? await repo.unmatched(q, tenantId, offerIds) : [];
  if (!candidates.length) return out;
  const gtins = [...new Set(candidates.flatMap((c) => (c.gtin ? [c.gtin] : [])))];
  const byGtin = new Map((gtins.length ? await repo.groupsByGtin(q, tenantId, gtins) : []).map((r) => [r.gtin, r.groupId]));
  const pairs = candidates.flatMap((c) => (c.brandId && c.mpnNorm ? [{ brandId: c.brandId, mpnNorm: c.mpnNorm }] : []));
  const pairKey = (brandId: string, mpnNorm: string) => `${brandId}\u0001${mpnNorm}`;
  const byMpn = new Map(
    (pairs.length ? await repo.groupsByBrandMpn(q, tenantId, pairs) : []).map((r) => [pairKey(r.brandId, r.mpnNorm), r.groupId]),
  );
  const placedById = (c: MatchCandidate) =>
    (c.gtin && byGtin.has(c.gtin)) || (c.brandId && c.mpnNorm && byMpn.has(pairKey(c.brandId, c.mpnNorm)));
  const verdicts = learned
    ? await learnedVerdicts(
        q,
        tenantId,
        candidates.filter((c) => !placedById(c)),
        learned,
      )
    : new Map<string, LearnedVerdict>();
  const reviews: { offerId: string; candidateGroupId: string; candidateOfferId: string; score: number }[] = [];
  const newGroups: { id: string; name: string; brandId: string | null; gtin: string | null; mpn: string | null }[] = [];
  const moves: { offerId: string; groupId: string; method: string }[] = [];
  for (const c of candidates) {
    const key = c.brandId && c.mpnNorm ? pairKey(c.brandId, c.mpnNorm) : null;
    let groupId = c.gtin ? byGtin.get(c.gtin) : undefined;
    let method = 'gtin';
    if (!groupId && key) {
      groupId = byMpn.get(key);
      method = 'brand_mpn';
    }
    const verdict = verdicts.get(c.id);
    if (!groupId && verdict?.joinGroupId) {
      groupId = verdict.joinGroupId;
      method = 'model';
    }
    if (!groupId) {
      for (const r of verdict?.review ?? [])
        reviews.push({ offerId: c.id, candidateGroupId: r.groupId, candidateOfferId: r.offerId, score: r.score });
      groupId = newId();
      method = 'new';
      newGroups.push({ id: groupId, name: c.title, brandId: c.brandId, gtin: c.gtin, mpn: c.mpn });
      out.newGroups++;
    } else if (method === 'gtin') out.byGtin++;
    else if (method === 'model') out.byModel++;
    else out.byBrandMpn++;
    // Later offers of this batch with the same identifiers join the same group.
    if (c.gtin && !byGtin.has(c.gtin)) byGtin.set(c.gtin, groupId);
    if (key && !byMpn.has(key)) byMpn.set(key, groupId);
    moves.push({ offerId: c.id, groupId, method });
  }
  await repo.insertGroups(q, tenantId, newGroups, now);
  await repo.assignOffers(q, tenantId, moves);
  out.queued = await repo.insertReviews(q, tenantId, reviews, now);
  // One log entry per (from, to, method): a 10,000-offer import writes a handful of rows, not 10,000.
  const entries = new Map<string, { fromGroupId: string | null; toGroupId: string; method: string; offerIds: string[] }>();
  for (const m of moves) {
    const from = previousGroups.get(m.offerId) ?? null;
    const k = `${from}\u0001${m.groupId}\u0001${m.method}`;
    const e = entries.get(k) ?? { fromGroupId: from, toGroupId: m.groupId, method: m.method, offerIds: [] };
    e.offerIds.push(m.offerId);
    entries.set(k, e);
  }
  await repo.insertLog(
    q,
    tenantId,
    [...entries.values()].map((e) => ({
      action: 'assign',
      fromGroupId: e.fromGroupId,
      toGroupId: e.toGroupId,
      offerIds: e.offerIds,
      reason:
        e.method === 'new'
          ? 'no offer shares its identifiers'
          : e.method === 'model'
            ? 'the learned matcher scored it the same product (high confidence)'
            : `same ${e.method === 'gtin' ? 'GTIN' : 'brand and MPN'}`,
      actorType: actor.type,
      actorId: actor.id,
    })),
    now,
  );
  return out;
}
