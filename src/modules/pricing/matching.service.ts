import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Db, currencyExponent, newId, inTenant } from '../../platform/index.ts';
import { type MatchRecord, type Prepared, buildIdf, offerBlockKeys, prepare } from './matcher.core.ts';
import { type LearnedMatcher, type OperatingPoints, type SerializedMatcher, deserializeMatcher, scorePairs } from './matcher.model.ts';
import { type MatchCandidate, type Q, pricingRepository as repo } from './pricing.repository.ts';

export type Scorer = Pick<LearnedMatcher, 'model'> & { points: OperatingPoints };
let shipped: Scorer | undefined;
/** The model `npm run train:matcher` wrote, read once per process. */
export function shippedMatcher(): Scorer {
  shipped ??= deserializeMatcher(JSON.parse(readFileSync(new URL('./matcher.model.json', import.meta.url), 'utf8')) as SerializedMatcher);
  return shipped;
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

const emptyOutcome = (): MatchOutcome => ({ byGtin: 0, byBrandMpn: 0, byModel: 0, newGroups: 0, queued: 0 });

/** Offers scored per write transaction of the learned pass (its reads and CPU run outside any transaction). */
const LEARNED_CHUNK = 500;
/** Candidate offers scored per offer at most: those sharing the most blocking keys with it. */
const MAX_CANDIDATES = 12;
/** Pairs scored between two yields to the event loop (a long import never stalls HTTP for more than a few ms). */
const SCORE_SLICE = 256;

const major = (minor: string, currency: string) => Number(minor) / 10 ** currencyExponent(currency);
const recordOf = (o: { title: string; brand: string | null; mpn: string | null; priceMinor: string; currency: string }): MatchRecord => ({
  title: o.title,
  brand: o.brand,
  model: o.mpn,
  description: null,
  category: null,
  price: major(o.priceMinor, o.currency),
});

type Move = { offerId: string; groupId: string; method: string };
type NewGroup = { id: string; name: string; brandId: string | null; gtin: string | null; mpn: string | null };

const REASONS: Record<string, string> = {
  new: 'no offer shares its identifiers',
  gtin: 'same GTIN',
  brand_mpn: 'same brand and MPN',
  model: 'the learned matcher scored it the same product (high confidence)',
};

/** Writes groups, assignments and one log entry per (from, to, method): 10,000 offers write a handful of log rows. */
async function writeMoves(
  q: Q,
  tenantId: string,
  newGroups: readonly NewGroup[],
  moves: readonly Move[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
): Promise<void> {
  await repo.insertGroups(q, tenantId, newGroups, now);
  await repo.assignOffers(q, tenantId, moves);
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
      reason: REASONS[e.method] ?? e.method,
      actorType: actor.type,
      actorId: actor.id,
    })),
    now,
  );
}

/**
 * Puts offers without a group into groups by identifiers: the same GTIN-14 first, then the same brand and
 * normalized MPN; then, when the learned pass gave `verdicts`, the group the model is sure of. An offer placed by
 * none starts its own group (its uncertain pairs queued for review), or, with `defer`, is left without one for
 * the learned pass and returned in `unplaced`. Existing groups are only joined, never renumbered (their ids are
 * stable); the oldest group wins when an identifier sits in several; later offers of the batch with the same
 * identifiers join the group the first one got. Every assignment is logged, with the group the offer left when
 * its identifiers changed. Runs in `q`.
 */
async function place(
  q: Q,
  tenantId: string,
  candidates: readonly MatchCandidate[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
  opts: { defer: boolean; verdicts?: ReadonlyMap<string, LearnedVerdict> },
): Promise<MatchOutcome & { unplaced: string[] }> {
  const out = { ...emptyOutcome(), unplaced: [] as string[] };
  if (!candidates.length) return out;
  const gtins = [...new Set(candidates.flatMap((c) => (c.gtin ? [c.gtin] : [])))];
  const byGtin = new Map((gtins.length ? await repo.groupsByGtin(q, tenantId, gtins) : []).map((r) => [r.gtin, r.groupId]));
  const pairs = candidates.flatMap((c) => (c.brandId && c.mpnNorm ? [{ brandId: c.brandId, mpnNorm: c.mpnNorm }] : []));
  const pairKey = (brandId: string, mpnNorm: string) => `${brandId}\u0001${mpnNorm}`;
  const byMpn = new Map(
    (pairs.length ? await repo.groupsByBrandMpn(q, tenantId, pairs) : []).map((r) => [pairKey(r.brandId, r.mpnNorm), r.groupId]),
  );
  const newGroups: NewGroup[] = [];
  const moves: Move[] = [];
  const reviews: { offerId: string; candidateGroupId: string; candidateOfferId: string; score: number }[] = [];
  for (const c of candidates) {
    const key = c.brandId && c.mpnNorm ? pairKey(c.brandId, c.mpnNorm) : null;
    let groupId = c.gtin ? byGtin.get(c.gtin) : undefined;
    let method = 'gtin';
    if (!groupId && key) {
      groupId = byMpn.get(key);
      method = 'brand_mpn';
    }
    if (!groupId && opts.defer) {
      out.unplaced.push(c.id);
      continue;
    }
    const verdict = opts.verdicts?.get(c.id);
    if (!groupId && verdict?.joinGroupId) {
      groupId = verdict.joinGroupId;
      method = 'model';
    }
    if (!groupId) {
      groupId = newId();
      method = 'new';
      newGroups.push({ id: groupId, name: c.title, brandId: c.brandId, gtin: c.gtin, mpn: c.mpn });
      for (const r of verdict?.review ?? [])
        reviews.push({ offerId: c.id, candidateGroupId: r.groupId, candidateOfferId: r.offerId, score: r.score });
      out.newGroups++;
    } else if (method === 'gtin') out.byGtin++;
    else if (method === 'model') out.byModel++;
    else out.byBrandMpn++;
    if (c.gtin && !byGtin.has(c.gtin)) byGtin.set(c.gtin, groupId);
    if (key && !byMpn.has(key)) byMpn.set(key, groupId);
    moves.push({ offerId: c.id, groupId, method });
  }
  await writeMoves(q, tenantId, newGroups, moves, previousGroups, now, actor);
  out.queued = await repo.insertReviews(q, tenantId, reviews, now);
  return out;
}

/**
 * Identifier matching of these offers (those that already have a group are skipped, so a retried import
 * re-places only what a failed run left unplaced). With `deferUnplaced`, offers no identifier places stay
 * without a group for `matchLearned` (and are returned); else each starts its own group. Runs in `q`.
 */
export async function matchByIdentifiers(
  q: Q,
  tenantId: string,
  offerIds: readonly string[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
  deferUnplaced = false,
): Promise<MatchOutcome & { unplaced: string[] }> {
  const candidates = offerIds.length ? await repo.unmatched(q, tenantId, offerIds) : [];
  return place(q, tenantId, candidates, previousGroups, now, actor, { defer: deferUnplaced });
}

/** What the learned matcher decided for one offer identifiers could not place. */
interface LearnedVerdict {
  /** Join this group unasked (score at or above the auto threshold, group not pinned). */
  joinGroupId: string | null;
  /** Candidate groups in the uncertain band (or pinned above it), for the review queue, best first, at most 3. */
  review: { groupId: string; offerId: string; score: number }[];
}

/**
 * Scores offers against grouped offers of other stores sharing a blocking key (never all pairs: at most
 * MAX_CANDIDATES per offer, those sharing the most keys), yielding to the event loop every SCORE_SLICE pairs.
 * Best score per candidate group; the best group decides. Reads only.
 */
async function learnedVerdicts(
  q: Q,
  tenantId: string,
  offers: readonly MatchCandidate[],
  scorer: Scorer,
): Promise<Map<string, LearnedVerdict>> {
  const out = new Map<string, LearnedVerdict>();
  const byStore = new Map<string, MatchCandidate[]>();
  for (const o of offers) {
    const list = byStore.get(o.storeId);
    if (list) list.push(o);
    else byStore.set(o.storeId, [o]);
  }
  for (const [storeId, list] of byStore) {
    const keysOf = new Map(list.map((o) => [o.id, offerBlockKeys(o.title, o.mpn)]));
    await nextTurn();
    const allKeys = [...new Set([...keysOf.values()].flat())];
    if (!allKeys.length) continue;
    const cands = await repo.blockCandidates(q, tenantId, allKeys, storeId);
    await nextTurn();
    if (!cands.length) continue;
    const candByKey = new Map<string, typeof cands>();
    const candById = new Map<string, (typeof cands)[number]>();
    for (const c of cands) {
      const l = candByKey.get(c.key);
      if (l) l.push(c);
      else candByKey.set(c.key, [c]);
      candById.set(c.id, c);
    }
    const prepOffer = new Map<string, Prepared>();
    for (const o of list) {
      prepOffer.set(o.id, prepare(recordOf(o)));
      if (prepOffer.size % SCORE_SLICE === 0) await nextTurn();
    }
    const prepCand = new Map<string, Prepared>();
    for (const c of candById.values()) {
      prepCand.set(c.id, prepare(recordOf(c)));
      if (prepCand.size % SCORE_SLICE === 0) await nextTurn();
    }
    // Document frequencies over the records at hand: the batch and its candidates.
    const idf = buildIdf([...prepOffer.values(), ...prepCand.values()]);
    await nextTurn();
    const pairs: [Prepared, Prepared][] = [];
    const meta: { offerId: string; cand: (typeof cands)[number] }[] = [];
    for (const o of list) {
      const shared = new Map<string, number>();
      for (const k of keysOf.get(o.id)!) for (const c of candByKey.get(k) ?? []) shared.set(c.id, (shared.get(c.id) ?? 0) + 1);
      const top = [...shared].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_CANDIDATES);
      for (const [candId] of top) {
        pairs.push([prepOffer.get(o.id)!, prepCand.get(candId)!]);
        meta.push({ offerId: o.id, cand: candById.get(candId)! });
      }
    }
    const p = new Float64Array(pairs.length);
    for (let s = 0; s < pairs.length; s += SCORE_SLICE) {
      p.set(scorePairs(scorer, pairs.slice(s, s + SCORE_SLICE), idf), s);
      await nextTurn();
    }
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
  }
  return out;
}

/**
 * The learned pass over offers identifiers left without a group: each joins the best-scoring group of another
 * store when the model is sure (auto threshold, group not pinned), else starts its own group, and its pairs in the
 * uncertain band wait in the review queue (once per pair: a re-import queues nothing twice). Chunks of
 * LEARNED_CHUNK offers: scoring reads outside any transaction; each chunk's writes are one short transaction that
 * re-reads which offers are still without a group (an operator or a retry may have placed some meanwhile).
 */
export async function matchLearned(
  db: Db,
  tenantId: string,
  offerIds: readonly string[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
  scorer: Scorer | null,
): Promise<MatchOutcome> {
  const out = emptyOutcome();
  for (let s = 0; s < offerIds.length; s += LEARNED_CHUNK) {
    const ids = offerIds.slice(s, s + LEARNED_CHUNK);
    const first = await repo.unmatched(db, tenantId, ids);
    await nextTurn();
    const verdicts = scorer && first.length ? await learnedVerdicts(db, tenantId, first, scorer) : new Map<string, LearnedVerdict>();
    await inTenant(db, tenantId, async (tx) => {
      const r = await place(tx, tenantId, await repo.unmatched(tx, tenantId, ids), previousGroups, now, actor, { defer: false, verdicts });
      for (const k of ['byGtin', 'byBrandMpn', 'byModel', 'newGroups', 'queued'] as const) out[k] += r[k];
    });
    await nextTurn();
  }
  return out;
}
