/**
 * Beyond-accuracy metrics of recommendation lists: catalog and distributional coverage, novelty, intra-list
 * diversity and serendipity, with the definitions of Microsoft Recommenders' `python_evaluation` (so its unit
 * test fixture reproduces exactly: see diversity.test.ts). Pure functions over parallel typed arrays of
 * (user, item) rows; item ids are non-negative integers. No I/O.
 *
 * Shapes: `train` = { users, items } of length n (one row per interaction; repeated pairs count once where a
 * set is meant); `reco` = { users, items, relevance? } of length m (one row per recommended item).
 */

import type { Csr } from './csr.ts';

export interface Pairs {
  users: Int32Array;
  items: Int32Array;
}
export interface Recommendations extends Pairs {
  /** Relevance of each recommended row (serendipity weights it); 1 when absent. */
  relevance?: Float64Array | undefined;
}

/** Similarity of two items in [0, 1]. */
export type ItemSimilarity = (a: number, b: number) => number;

function checkPairs(p: Pairs, name: string): void {
  if (p.users.length !== p.items.length) throw new RangeError(`${name}: users and items differ in length`);
}

/** Items of each user, as sets (insertion-ordered). O(n). */
function itemsByUser(p: Pairs): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  for (let k = 0; k < p.users.length; k++) {
    let s = out.get(p.users[k]!);
    if (!s) out.set(p.users[k]!, (s = new Set()));
    s.add(p.items[k]!);
  }
  return out;
}

/** Distinct recommended items over distinct training items. O(n + m). */
export function catalogCoverage(train: Pairs, reco: Pairs): number {
  checkPairs(train, 'train');
  checkPairs(reco, 'reco');
  const catalog = new Set(train.items);
  if (catalog.size === 0) return 0;
  return new Set(reco.items).size / catalog.size;
}

/** Shannon entropy (bits) of how often each item appears among all recommended rows. O(m). */
export function distributionalCoverage(reco: Pairs): number {
  checkPairs(reco, 'reco');
  const m = reco.items.length;
  if (m === 0) return 0;
  const counts = new Map<number, number>();
  for (const i of reco.items) counts.set(i, (counts.get(i) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / m;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Per item: -log2(share of training rows with that item). An item in every row has novelty 0. O(n). */
export function historicalItemNovelty(train: Pairs): Map<number, number> {
  checkPairs(train, 'train');
  const n = train.items.length;
  const counts = new Map<number, number>();
  for (const i of train.items) counts.set(i, (counts.get(i) ?? 0) + 1);
  const out = new Map<number, number>();
  for (const [i, c] of counts) out.set(i, c === n ? 0 : -Math.log2(c / n));
  return out;
}

/** Mean historical novelty over recommended rows (items never seen in training are skipped). O(n + m). */
export function novelty(train: Pairs, reco: Pairs): number {
  checkPairs(reco, 'reco');
  const nov = historicalItemNovelty(train);
  let sum = 0;
  let count = 0;
  for (const i of reco.items) {
    const v = nov.get(i);
    if (v === undefined) continue;
    sum += v;
    count += 1;
  }
  return count === 0 ? 0 : sum / count;
}

/**
 * Co-occurrence similarity from training data: users who have both items over sqrt(users with a) x
 * (users with b). O(sum over users of their item count squared) to build; O(1) per lookup.
 */
export function cooccurrenceSimilarity(train: Pairs): ItemSimilarity {
  checkPairs(train, 'train');
  const byUser = itemsByUser(train);
  const single = new Map<number, number>();
  const pair = new Map<string, number>();
  for (const items of byUser.values()) {
    const list = [...items];
    for (const a of list) single.set(a, (single.get(a) ?? 0) + 1);
    for (let x = 0; x < list.length; x++)
      for (let y = x + 1; y < list.length; y++) {
        const [a, b] = list[x]! < list[y]! ? [list[x]!, list[y]!] : [list[y]!, list[x]!];
        const key = `${a},${b}`;
        pair.set(key, (pair.get(key) ?? 0) + 1);
      }
  }
  return (a, b) => {
    if (a === b) return single.has(a) ? 1 : 0;
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    const c = pair.get(key);
    return c === undefined ? 0 : c / Math.sqrt(single.get(a)! * single.get(b)!);
  };
}

/**
 * The same co-occurrence similarity as `cooccurrenceSimilarity`, read from an item x user matrix (the transpose
 * of a binary user x item matrix: row i lists the users who have item i, ascending) without building every
 * pair: each lookup intersects two sorted rows. For data too large for the pair map (Yelp2018's 1.2 million
 * interactions have about 10^8 co-occurring pairs). O(nnz(a) + nnz(b)) per lookup, no memory beyond the matrix.
 */
export function cooccurrenceSimilarityFromItemUsers(itemUser: Csr): ItemSimilarity {
  const { indptr, indices, rows } = itemUser;
  return (a, b) => {
    if (a < 0 || b < 0 || a >= rows || b >= rows) return 0;
    const a0 = indptr[a]!;
    const a1 = indptr[a + 1]!;
    const b0 = indptr[b]!;
    const b1 = indptr[b + 1]!;
    if (a1 === a0 || b1 === b0) return 0;
    if (a === b) return 1;
    let x = a0;
    let y = b0;
    let both = 0;
    while (x < a1 && y < b1) {
      const u = indices[x]!;
      const v = indices[y]!;
      if (u === v) {
        both++;
        x++;
        y++;
      } else if (u < v) x++;
      else y++;
    }
    return both / Math.sqrt((a1 - a0) * (b1 - b0));
  };
}

/** Cosine similarity of item feature vectors (missing items or zero vectors: 0). */
export function featureCosineSimilarity(features: ReadonlyMap<number, Float64Array>): ItemSimilarity {
  const norms = new Map<number, number>();
  for (const [i, v] of features) {
    let s = 0;
    for (const x of v) s += x * x;
    norms.set(i, Math.sqrt(s));
  }
  return (a, b) => {
    const va = features.get(a);
    const vb = features.get(b);
    if (!va || !vb || va.length !== vb.length) return 0;
    const d = norms.get(a)! * norms.get(b)!;
    if (d === 0) return 0;
    let dot = 0;
    for (let k = 0; k < va.length; k++) dot += va[k]! * vb[k]!;
    return dot / d;
  };
}

/**
 * Intra-list diversity per user: 1 - mean similarity over the unordered pairs of the user's distinct
 * recommended items (users with fewer than two items are left out). Users in ascending id order. O(m k) for k items per list.
 */
export function userDiversity(reco: Pairs, sim: ItemSimilarity): Map<number, number> {
  checkPairs(reco, 'reco');
  const out = new Map<number, number>();
  const byUser = itemsByUser(reco);
  for (const u of [...byUser.keys()].sort((a, b) => a - b)) {
    const list = [...byUser.get(u)!];
    if (list.length < 2) continue;
    let s = 0;
    let n = 0;
    for (let x = 0; x < list.length; x++)
      for (let y = x + 1; y < list.length; y++) {
        s += sim(list[x]!, list[y]!);
        n += 1;
      }
    out.set(u, 1 - s / n);
  }
  return out;
}

/** Mean of `userDiversity` over users. */
export function diversity(reco: Pairs, sim: ItemSimilarity): number {
  const per = [...userDiversity(reco, sim).values()];
  return per.length === 0 ? 0 : per.reduce((a, b) => a + b, 0) / per.length;
}

/**
 * Serendipity of each recommended row: (1 - mean similarity of the item to the user's training items) x
 * relevance. Rows of users without training items score their relevance. Row order kept. O(m t) for t training items per user.
 */
export function userItemSerendipity(train: Pairs, reco: Recommendations, sim: ItemSimilarity): Float64Array {
  checkPairs(reco, 'reco');
  if (reco.relevance && reco.relevance.length !== reco.items.length) throw new RangeError('reco: relevance differs in length');
  const history = itemsByUser(train);
  const out = new Float64Array(reco.items.length);
  for (let k = 0; k < reco.items.length; k++) {
    const seen = history.get(reco.users[k]!);
    let meanSim = 0;
    if (seen && seen.size > 0) {
      let s = 0;
      for (const j of seen) s += sim(reco.items[k]!, j);
      meanSim = s / seen.size;
    }
    out[k] = (1 - meanSim) * (reco.relevance ? reco.relevance[k]! : 1);
  }
  return out;
}

/** Mean row serendipity per user (ascending user id). */
export function userSerendipity(train: Pairs, reco: Recommendations, sim: ItemSimilarity): Map<number, number> {
  const rows = userItemSerendipity(train, reco, sim);
  const sums = new Map<number, [number, number]>();
  for (let k = 0; k < rows.length; k++) {
    const acc = sums.get(reco.users[k]!) ?? [0, 0];
    acc[0] += rows[k]!;
    acc[1] += 1;
    sums.set(reco.users[k]!, acc);
  }
  return new Map([...sums.entries()].sort((a, b) => a[0] - b[0]).map(([u, [s, n]]) => [u, s / n]));
}

/** Mean of `userSerendipity` over users. */
export function serendipity(train: Pairs, reco: Recommendations, sim: ItemSimilarity): number {
  const per = [...userSerendipity(train, reco, sim).values()];
  return per.length === 0 ? 0 : per.reduce((a, b) => a + b, 0) / per.length;
}
