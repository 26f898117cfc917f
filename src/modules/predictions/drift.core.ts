/**
 * Population stability (PSI) of features and scores between a model's training population and now (pure).
 * A numeric column is binned at the training deciles (missing values in a bin of their own); a categorical column
 * (the segment) by its values. PSI = sum over bins of (actual - expected) * ln(actual / expected), with empty bins
 * floored at `PSI_FLOOR` so that a bin appearing or vanishing counts without dividing by zero.
 * Usual reading: below 0.1 stable, 0.1 to 0.25 moderate shift, 0.25 and above significant (retrain).
 */

export const PSI_FLOOR = 1e-4;
export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.25;

/** A column's training distribution: numeric (bin edges and shares, the last share is "missing") or categorical. */
export type ColumnReference =
  | { name: string; kind: 'numeric'; edges: number[]; expected: number[] }
  | { name: string; kind: 'categorical'; categories: string[]; expected: number[] };

/** What a model version keeps of its training population for drift checks. */
export interface DriftReference {
  customers: number;
  columns: ColumnReference[];
}

export type DriftStatus = 'stable' | 'moderate' | 'significant';
export const driftStatus = (psi: number): DriftStatus =>
  psi >= PSI_SIGNIFICANT ? 'significant' : psi >= PSI_MODERATE ? 'moderate' : 'stable';

/**
 * Up to `bins - 1` ascending, distinct inner cut points at the quantiles of the finite values; bin b holds
 * values v with edges[b-1] < v <= edges[b]. Each cut sits halfway between the quantile and the next larger value
 * seen, never on a value: a group of customers sharing one value (one import, one day) would otherwise sit on the
 * cut, and an age-like feature growing by seconds would move all of them to the next bin. O(n log n).
 */
export function quantileEdges(values: ArrayLike<number>, bins = 10): number[] {
  const s = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (s.length === 0) return [];
  const edges: number[] = [];
  for (let q = 1; q < bins; q++) {
    let i = Math.min(s.length - 1, Math.ceil((q / bins) * s.length) - 1);
    const v = s[i]!;
    if (v >= s[s.length - 1]! || (edges.length > 0 && v <= edges[edges.length - 1]!)) continue;
    while (s[i]! === v) i++;
    edges.push(v + (s[i]! - v) / 2);
  }
  return edges;
}

/** Shares of `values` in the bins of `edges` (edges.length + 1 bins) and, last, the share of non-finite values. */
export function binShares(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 2).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      counts[edges.length + 1]!++;
      continue;
    }
    // binary search: the first edge >= v
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! >= v) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]!++;
  }
  const n = values.length || 1;
  return counts.map((c) => c / n);
}

/** Shares of each category (in `categories` order); values outside them are ignored. */
export function categoryShares(values: readonly string[], categories: readonly string[]): number[] {
  const at = new Map(categories.map((c, i) => [c, i]));
  const counts = new Array<number>(categories.length).fill(0);
  for (const v of values) {
    const i = at.get(v);
    if (i !== undefined) counts[i]!++;
  }
  const n = values.length || 1;
  return counts.map((c) => c / n);
}

/** PSI of two share vectors of the same bins; symmetric, non-negative, 0 when equal. O(bins). */
export function populationStability(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new RangeError('populationStability: bins differ');
  let psi = 0;
  for (let b = 0; b < expected.length; b++) {
    const e = Math.max(PSI_FLOOR, expected[b]!);
    const a = Math.max(PSI_FLOOR, actual[b]!);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

export type DriftColumns = Record<string, ArrayLike<number> | readonly string[]>;

/** The training distribution of the named columns of `data` (numeric arrays are binned at their deciles). */
export function driftReference(data: DriftColumns, names: readonly string[], customers: number): DriftReference {
  const columns: ColumnReference[] = [];
  for (const name of names) {
    const v = data[name];
    if (!v) continue;
    if (v.length > 0 && typeof v[0] === 'string') {
      const values = v as readonly string[];
      const categories = [...new Set(values)].sort();
      columns.push({ name, kind: 'categorical', categories, expected: categoryShares(values, categories) });
    } else {
      const values = v as ArrayLike<number>;
      const edges = quantileEdges(values);
      columns.push({ name, kind: 'numeric', edges, expected: binShares(values, edges) });
    }
  }
  return { customers, columns };
}

export interface ColumnDrift {
  name: string;
  psi: number;
  status: DriftStatus;
}

/**
 * PSI of every reference column against the same column of `now` (a column missing now is skipped). A category
 * unseen at training counts as an extra bin with expected share 0.
 */
export function driftReport(ref: DriftReference, now: DriftColumns): ColumnDrift[] {
  const out: ColumnDrift[] = [];
  for (const c of ref.columns) {
    const v = now[c.name];
    if (!v) continue;
    let psi: number;
    if (c.kind === 'numeric') psi = populationStability(c.expected, binShares(v as ArrayLike<number>, c.edges));
    else {
      const values = v as readonly string[];
      const known = categoryShares(values, c.categories);
      const unseen = 1 - known.reduce((s, x) => s + x, 0);
      psi = populationStability([...c.expected, 0], [...known, values.length ? Math.max(0, unseen) : 0]);
    }
    out.push({ name: c.name, psi, status: driftStatus(psi) });
  }
  return out;
}
