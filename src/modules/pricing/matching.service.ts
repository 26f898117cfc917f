import { newId } from '../../platform/index.ts';
import { type Q, pricingRepository as repo } from './pricing.repository.ts';

export interface MatchActor {
  type: string;
  id: string;
}

export interface MatchOutcome {
  byGtin: number;
  byBrandMpn: number;
  newGroups: number;
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
): Promise<MatchOutcome> {
  const out: MatchOutcome = { byGtin: 0, byBrandMpn: 0, newGroups: 0 };
  const candidates = offerIds.length ? await repo.unmatched(q, tenantId, offerIds) : [];
  if (!candidates.length) return out;
  const gtins = [...new Set(candidates.flatMap((c) => (c.gtin ? [c.gtin] : [])))];
  const byGtin = new Map((gtins.length ? await repo.groupsByGtin(q, tenantId, gtins) : []).map((r) => [r.gtin, r.groupId]));
  const pairs = candidates.flatMap((c) => (c.brandId && c.mpnNorm ? [{ brandId: c.brandId, mpnNorm: c.mpnNorm }] : []));
  const pairKey = (brandId: string, mpnNorm: string) => `${brandId}\u0001${mpnNorm}`;
  const byMpn = new Map(
    (pairs.length ? await repo.groupsByBrandMpn(q, tenantId, pairs) : []).map((r) => [pairKey(r.brandId, r.mpnNorm), r.groupId]),
  );
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
    if (!groupId) {
      groupId = newId();
      method = 'new';
      newGroups.push({ id: groupId, name: c.title, brandId: c.brandId, gtin: c.gtin, mpn: c.mpn });
      out.newGroups++;
    } else if (method === 'gtin') out.byGtin++;
    else out.byBrandMpn++;
    // Later offers of this batch with the same identifiers join the same group.
    if (c.gtin && !byGtin.has(c.gtin)) byGtin.set(c.gtin, groupId);
    if (key && !byMpn.has(key)) byMpn.set(key, groupId);
    moves.push({ offerId: c.id, groupId, method });
  }
  await repo.insertGroups(q, tenantId, newGroups, now);
  await repo.assignOffers(q, tenantId, moves);
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
      reason: e.method === 'new' ? 'no offer shares its identifiers' : `same ${e.method === 'gtin' ? 'GTIN' : 'brand and MPN'}`,
      actorType: actor.type,
      actorId: actor.id,
    })),
    now,
  );
  return out;
}
