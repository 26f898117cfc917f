/**
 * The serving copy of a tenant's catalog: every item's display fields and the flags the filters need, held in
 * parallel arrays indexed by a stable position, so that ranking filters whole score vectors without SQL.
 * Pure: built from rows, changed by rows, read by masks.
 */
import { isCurrencyCode, parseMoney } from '../../../platform/index.ts';
import { type Ranked, topK } from '../../../ml/topk.ts';
import type { ServingItemRow } from '../../catalog/index.ts';

/** The catalog columns serving needs, as catalog's serving reads give them. */
export type { ServingItemRow };

export interface ItemFilters {
  category?: string | undefined;
  brand?: string | undefined;
  /** Price bounds in major units (19.99), compared in each item's own currency (USD when it has none). */
  minPrice?: number | undefined;
  maxPrice?: number | undefined;
  inStock?: boolean | undefined;
}

/**
 * A price filter's bounds in minor units of `currency`, exactly (platform money module): a minimum rounds up and
 * a maximum down to a whole minor unit (KWD min 5.9995 is 6.000), a bound past the stored range is unreachable
 * (min) or no bound (max), and an item in a currency ISO 4217 does not list matches no price filter (NaN).
 */
function priceBoundsIn(currency: string, f: ItemFilters): [min: number, max: number] {
  if (!isCurrencyCode(currency)) return [Number.NaN, Number.NaN];
  // `open` when there is no bound, `beyond` when the bound is past the stored range (it is non-negative: zod says so).
  const bound = (v: number | undefined, rounding: 'ceil' | 'floor', open: number, beyond: number) => {
    if (v === undefined) return open;
    const m = parseMoney(v, currency, { rounding });
    return m.ok ? Number(m.minor) : beyond;
  };
  const inf = Number.POSITIVE_INFINITY;
  return [bound(f.minPrice, 'ceil', -inf, inf), bound(f.maxPrice, 'floor', inf, inf)];
}

/** Flag bits per position. */
const PRESENT = 1;
/** Active, and neither out of stock nor discontinued: the only items ever served. */
const SERVABLE = 2;
/** In stock now (availability in_stock and stock unknown or positive): the `in_stock` filter. */
const IN_STOCK = 4;

/**
 * Positions never move: a new item is appended, a deleted one keeps its slot with no flags. `revision` grows
 * with every change, so anything derived from a snapshot (masks, cached responses) can be keyed on it.
 */
export interface CatalogSnapshot {
  readonly ids: string[];
  readonly index: Map<string, number>;
  readonly name: string[];
  readonly category: (string | null)[];
  /** Lower-cased category path, for the case-insensitive category filter. */
  readonly categoryKey: (string | null)[];
  readonly brand: (string | null)[];
  readonly brandKey: (string | null)[];
  /** Minor units; NaN when the item has no price (it then matches no price filter). */
  readonly priceMinor: number[];
  readonly currency: (string | null)[];
  readonly imageUrl: (string | null)[];
  readonly availability: string[];
  readonly flags: number[];
  revision: number;
  /** Items present (not deleted). */
  present: number;
  /** Newest `updated_at` seen (ms since epoch), the lower bound of the next delta read. */
  maxUpdatedAt: number;
}

export function emptySnapshot(): CatalogSnapshot {
  return {
    ids: [],
    index: new Map(),
    name: [],
    category: [],
    categoryKey: [],
    brand: [],
    brandKey: [],
    priceMinor: [],
    currency: [],
    imageUrl: [],
    availability: [],
    flags: [],
    revision: 0,
    present: 0,
    maxUpdatedAt: 0,
  };
}

function flagsOf(r: ServingItemRow): number {
  let f = PRESENT;
  if (r.isActive && r.availability !== 'out_of_stock' && r.availability !== 'discontinued') f |= SERVABLE;
  if (r.availability === 'in_stock' && (r.stock === null || r.stock > 0)) f |= IN_STOCK;
  return f;
}

function sameItem(s: CatalogSnapshot, p: number, r: ServingItemRow, flags: number): boolean {
  const price = r.priceMinor === null ? Number.NaN : Number(r.priceMinor);
  return (
    s.flags[p] === flags &&
    s.name[p] === r.name &&
    s.category[p] === r.categoryPath &&
    s.brand[p] === r.brand &&
    (s.priceMinor[p] === price || (Number.isNaN(price) && Number.isNaN(s.priceMinor[p]!))) &&
    s.currency[p] === r.currency &&
    s.imageUrl[p] === r.imageUrl &&
    s.availability[p] === r.availability
  );
}

/**
 * Writes `rows` into the snapshot (new items appended, known ones overwritten) and removes `deleted` item ids.
 * Returns true when anything visible changed (the revision then moved on); rows equal to what is held change
 * nothing, so re-reading an overlap window costs no cache invalidation.
 */
export function applyItemRows(s: CatalogSnapshot, rows: readonly ServingItemRow[], deleted: Iterable<string> = []): boolean {
  let changed = false;
  for (const r of rows) {
    const at = new Date(r.updatedAt).getTime();
    if (at > s.maxUpdatedAt) s.maxUpdatedAt = at;
    let p = s.index.get(r.itemId);
    if (p === undefined) {
      p = s.ids.length;
      s.ids.push(r.itemId);
      s.index.set(r.itemId, p);
      s.flags.push(0);
      s.name.push('');
      s.category.push(null);
      s.categoryKey.push(null);
      s.brand.push(null);
      s.brandKey.push(null);
      s.priceMinor.push(Number.NaN);
      s.currency.push(null);
      s.imageUrl.push(null);
      s.availability.push('');
    }
    const flags = flagsOf(r);
    if (sameItem(s, p, r, flags)) continue;
    if (!(s.flags[p]! & PRESENT)) s.present++;
    s.flags[p] = flags;
    s.name[p] = r.name;
    s.category[p] = r.categoryPath;
    s.categoryKey[p] = r.categoryPath?.toLowerCase() ?? null;
    s.brand[p] = r.brand;
    s.brandKey[p] = r.brand?.toLowerCase() ?? null;
    s.priceMinor[p] = r.priceMinor === null ? Number.NaN : Number(r.priceMinor);
    s.currency[p] = r.currency;
    s.imageUrl[p] = r.imageUrl;
    s.availability[p] = r.availability;
    changed = true;
  }
  for (const id of deleted) {
    const p = s.index.get(id);
    if (p === undefined || !(s.flags[p]! & PRESENT)) continue;
    s.flags[p] = 0;
    s.present--;
    changed = true;
  }
  if (changed) s.revision++;
  return changed;
}

export function snapshotOf(rows: readonly ServingItemRow[]): CatalogSnapshot {
  const s = emptySnapshot();
  applyItemRows(s, rows);
  return s;
}

export const isPresent = (s: CatalogSnapshot, p: number): boolean => (s.flags[p]! & PRESENT) !== 0;

/** Stable text key of the filters that shape a mask (exclusions are applied per request). */
export function filterKey(f: ItemFilters): string {
  return `${f.category?.toLowerCase() ?? ''}\u0001${f.brand?.toLowerCase() ?? ''}\u0001${f.minPrice ?? ''}\u0001${f.maxPrice ?? ''}\u0001${f.inStock ? 1 : 0}`;
}

/**
 * For each entry of `positions` (model index -> snapshot position, -1 when the item is not in the catalog),
 * 1 when that item may be served under `f`: present, servable, and matching category (the path itself or
 * anything under it, case-insensitive), brand (case-insensitive), price range (major units in each item's
 * currency; unpriced items never match a price filter) and `inStock`. O(positions).
 */
export function servableMask(
  s: CatalogSnapshot,
  positions: Int32Array,
  f: ItemFilters,
  out = new Uint8Array(positions.length),
): Uint8Array {
  const need = SERVABLE | (f.inStock ? IN_STOCK : 0);
  const cat = f.category?.toLowerCase();
  const catPrefix = cat === undefined ? undefined : `${cat} >`;
  const brand = f.brand?.toLowerCase();
  const priced = f.minPrice !== undefined || f.maxPrice !== undefined;
  const bounds = new Map<string, [number, number]>();
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    let ok = p >= 0 && (s.flags[p]! & need) === need;
    if (ok && cat !== undefined) {
      const c = s.categoryKey[p];
      ok = c != null && (c === cat || c.startsWith(catPrefix!));
    }
    if (ok && brand !== undefined) ok = s.brandKey[p] === brand;
    if (ok && priced) {
      const currency = s.currency[p] ?? 'USD';
      let b = bounds.get(currency);
      if (!b) bounds.set(currency, (b = priceBoundsIn(currency, f)));
      ok = s.priceMinor[p]! >= b[0] && s.priceMinor[p]! <= b[1];
    }
    out[i] = ok ? 1 : 0;
  }
  return out;
}

/** Snapshot position of every item id (-1 for ids the catalog does not hold). */
export function positionsOf(s: CatalogSnapshot, itemIds: readonly string[]): Int32Array {
  return Int32Array.from(itemIds, (id) => s.index.get(id) ?? -1);
}

/**
 * `positionsOf` a slice of `chunk` ids at a time, awaiting `pause()` between slices: a Yelp2018-size model (38k
 * items) aligned in one go held the event loop ~15 ms of CPU on the first request after a deploy or a reload.
 */
export async function positionsOfInTurns(
  s: CatalogSnapshot,
  itemIds: readonly string[],
  chunk: number,
  pause: () => Promise<void>,
): Promise<Int32Array> {
  const out = new Int32Array(itemIds.length);
  for (let at = 0; at < itemIds.length; at += chunk) {
    if (at > 0) await pause();
    const end = Math.min(itemIds.length, at + chunk);
    for (let i = at; i < end; i++) out[i] = s.index.get(itemIds[i]!) ?? -1;
  }
  return out;
}

/**
 * The `n` best entries of `scores` that `mask` allows and `exclude` does not name, best first, ties to the lower
 * index; `prior.scale * prior.values[i]` is added to each score first (to order items a model scores equally).
 * NaN and -Infinity are never returned. One pass of `ml/topk` without writing `scores`: O(length + kept · log n).
 */
export function topAllowed(
  scores: Float32Array,
  mask: Uint8Array,
  n: number,
  exclude: readonly number[] = [],
  prior?: { values: Float32Array; scale: number },
): Ranked {
  if (mask.length !== scores.length) throw new RangeError(`topAllowed: mask has ${mask.length}, scores ${scores.length}`);
  return topK(scores, n, prior ? { mask, exclude, prior } : { mask, exclude });
}
