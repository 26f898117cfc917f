/**
 * What a tenant is served before its first model (or when its model cannot answer): never an empty list while
 * the catalog has a servable item. Recommendations rank the catalog by what recent shoppers touched (trending:
 * each recent user's latest interactions, weighted by type and by recency within the user), or, with no
 * interactions at all, in catalog order. Similar items are content neighbours (category, brand, name: TF-IDF
 * cosine of `ml/content`), the rest filled with trending items of the same category, then any trending item.
 * Pure functions over the catalog snapshot; `serving.service.ts` caches the result per tenant.
 */
import { buildContentIndex, contentRow, type ContentIndex, scoreContentVector } from '../../../ml/content.ts';
import { interactionWeight } from '../recs.core.ts';
export type { Strategy } from '../recs.core.ts';
import { type CatalogSnapshot, isPresent } from './catalog.snapshot.ts';

export interface ColdStart {
  /** The snapshot (and its revision) the scores are aligned with, by position. */
  readonly snapshot: CatalogSnapshot;
  readonly revision: number;
  /** Per snapshot position: trending score (0 for items nobody touched recently). */
  readonly scores: Float32Array;
  /** 'trending' when some recent interaction names a catalog item, else 'catalog'. */
  readonly source: 'trending' | 'catalog';
  /** Built on first use (similar items only). */
  content?: ContentIndex;
}

/**
 * Trending scores by snapshot position from recent histories (`rows`: per user, newest first, as
 * `userHistories` returns them): each interaction adds its type's weight, halved every 10 positions back in its
 * user's history, so a shopper's latest interest counts most and no single shopper dominates. O(rows + items).
 */
export function coldStartOf(
  snapshot: CatalogSnapshot,
  rows: readonly { userId: string; itemId: string; type: string }[],
  weights: Record<string, number>,
): ColdStart {
  const scores = new Float32Array(snapshot.ids.length);
  let any = false;
  let user = '';
  let rank = 0;
  for (const r of rows) {
    if (r.userId !== user) {
      user = r.userId;
      rank = 0;
    }
    const w = interactionWeight(r.type, weights) * 0.5 ** (rank++ / 10);
    const p = snapshot.index.get(r.itemId);
    if (p === undefined || !(w > 0)) continue;
    scores[p]! += w;
    any = true;
  }
  return { snapshot, revision: snapshot.revision, scores, source: any ? 'trending' : 'catalog' };
}

/** The content index of the snapshot (built once per cold start). O(catalog tokens). */
export function contentOf(cold: ColdStart): ContentIndex {
  if (!cold.content) {
    const s = cold.snapshot;
    cold.content = buildContentIndex(
      s.ids.map((_, p) => (isPresent(s, p) ? { category: s.category[p], brand: s.brand[p], text: s.name[p] } : {})),
    );
  }
  return cold.content;
}

/** Content similarity of every snapshot position to position `at` (the item itself -Infinity). */
export function contentScores(cold: ColdStart, at: number): Float32Array {
  const index = contentOf(cold);
  const out = scoreContentVector(index.postings, contentRow(index.vectors, at), new Float32Array(index.vectors.rows));
  out[at] = Number.NEGATIVE_INFINITY;
  return out;
}
