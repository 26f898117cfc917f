import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Db, currencyExponent, newId, inTenant } from '../../platform/index.ts';
import { type MatchRecord, offerBlockKeys } from './matcher.core.ts';
import { type SerializedMatcher, deserializeMatcher } from './matcher.model.ts';
import { type LearnedVerdict, type Scorer, type VerdictInput, learnedVerdicts } from './matching.core.ts';
import type { MatchingThread } from './matching.thread.ts';
import { type MatchCandidate, type Q, pricingRepository as repo } from './pricing.repository.ts';
import { refreshGroupSummaries } from './summary.service.ts';

export type { Scorer } from './matching.core.ts';
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
): Promise<MatchOutcome & { unplaced: string[]; touched: string[] }> {
  const out = { ...emptyOutcome(), unplaced: [] as string[], touched: [] as string[] };
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
  out.touched = [...new Set(moves.map((m) => m.groupId))];
  out.queued = await repo.insertReviews(q, tenantId, reviews, now);
  return out;
}

/**
 * Identifier matching of these offers (those that already have a group are skipped, so a retried import
 * re-places only what a failed run left unplaced). With `deferUnplaced`, offers no identifier places stay
 * without a group for `matchLearned` (and are returned); else each starts its own group. Runs in `q`; `touched`
 * are the groups offers joined (the caller refreshes their summaries before its transaction ends).
 */
export async function matchByIdentifiers(
  q: Q,
  tenantId: string,
  offerIds: readonly string[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
  deferUnplaced = false,
): Promise<MatchOutcome & { unplaced: string[]; touched: string[] }> {
  const candidates = offerIds.length ? await repo.unmatched(q, tenantId, offerIds) : [];
  return place(q, tenantId, candidates, previousGroups, now, actor, { defer: deferUnplaced });
}

/** Where the learned pass computes its verdicts: batches of at least `minOffers` offers go to the thread. */
export interface MatchOffload {
  thread: MatchingThread;
  minOffers: number;
}

/**
 * Reads, per store of the offers, the grouped offers of other stores sharing a blocking key (never all pairs), then
 * decides with `learnedVerdicts` (matching.core.ts): on the matching thread when the batch has `offload.minOffers`
 * offers or more (a large feed's CPU never holds the event loop), inline for a small one (a thread's start costs
 * more than a few dozen pairs). Reads only.
 */
async function verdictsOf(
  q: Q,
  tenantId: string,
  offers: readonly MatchCandidate[],
  scorer: Scorer,
  offload: MatchOffload | null,
): Promise<Map<string, LearnedVerdict>> {
  const out = new Map<string, LearnedVerdict>();
  const byStore = new Map<string, MatchCandidate[]>();
  for (const o of offers) {
    const list = byStore.get(o.storeId);
    if (list) list.push(o);
    else byStore.set(o.storeId, [o]);
  }
  for (const [storeId, list] of byStore) {
    const withKeys = list.map((o) => ({ id: o.id, keys: offerBlockKeys(o.title, o.mpn), rec: recordOf(o) }));
    await nextTurn();
    const allKeys = [...new Set(withKeys.flatMap((o) => o.keys))];
    if (!allKeys.length) continue;
    const cands = await repo.blockCandidates(q, tenantId, allKeys, storeId);
    await nextTurn();
    if (!cands.length) continue;
    const input: VerdictInput = {
      offers: withKeys,
      candidates: cands.map((c) => ({ key: c.key, id: c.id, rec: recordOf(c), groupId: c.matchGroupId, pinned: c.pinned })),
    };
    const verdicts =
      offload && list.length >= offload.minOffers ? await offload.thread.verdicts(input, scorer) : learnedVerdicts(input, scorer);
    for (const [id, v] of verdicts) out.set(id, v);
    await nextTurn();
  }
  return out;
}

/**
 * The learned pass over offers identifiers left without a group: each joins the best-scoring group of another
 * store when the model is sure (auto threshold, group not pinned), else starts its own group, and its pairs in the
 * uncertain band wait in the review queue (once per pair: a re-import queues nothing twice). Chunks of
 * LEARNED_CHUNK offers: scoring reads outside any transaction; each chunk's writes are one short transaction that
 * re-reads which offers are still without a group (an operator or a retry may have placed some meanwhile) and
 * refreshes the summaries of the groups it filled.
 */
export async function matchLearned(
  db: Db,
  tenantId: string,
  offerIds: readonly string[],
  previousGroups: ReadonlyMap<string, string | null>,
  now: Date,
  actor: MatchActor,
  scorer: Scorer | null,
  offload: MatchOffload | null = null,
): Promise<MatchOutcome> {
  const out = emptyOutcome();
  for (let s = 0; s < offerIds.length; s += LEARNED_CHUNK) {
    const ids = offerIds.slice(s, s + LEARNED_CHUNK);
    const first = await repo.unmatched(db, tenantId, ids);
    await nextTurn();
    const verdicts = scorer && first.length ? await verdictsOf(db, tenantId, first, scorer, offload) : new Map<string, LearnedVerdict>();
    await inTenant(db, tenantId, async (tx) => {
      const r = await place(tx, tenantId, await repo.unmatched(tx, tenantId, ids), previousGroups, now, actor, { defer: false, verdicts });
      await refreshGroupSummaries(tx, tenantId, r.touched, now);
      for (const k of ['byGtin', 'byBrandMpn', 'byModel', 'newGroups', 'queued'] as const) out[k] += r[k];
    });
    await nextTurn();
  }
  return out;
}
