/**
 * Bounded top-k selection: the one kernel every ranking in Loupe uses (offline evaluation, item
 * neighbours, serving). A size-k min-heap over (score, index) whose root is the worst entry kept;
 * ties go to the lower index, so results equal a stable full sort by descending score. NaN and
 * -Infinity never rank (write -Infinity to mask an entry in place).
 */

/** Indices and scores of a ranked list, best first. */
export interface Ranked {
  readonly indices: Int32Array;
  readonly scores: Float32Array;
}

export interface TopKOptions {
  /** First position of the window of `scores` to rank (default 0). Indices are relative to it. */
  readonly offset?: number;
  /** Window length (default `scores.length - offset`). */
  readonly length?: number;
  /** Per window position: 0 = not allowed. Length at least the window's. */
  readonly mask?: Uint8Array;
  /** Window positions that must not be returned (e.g. the user's own items). */
  readonly exclude?: ArrayLike<number>;
  /** `scale * values[j]` is added to each score first (orders entries a model scores equally). */
  readonly prior?: { readonly values: Float32Array; readonly scale: number };
}

/** Exclusion lists longer than this become a byte mask; shorter ones are scanned only for entries that would enter. */
const SCAN_LIMIT = 16;

/**
 * The k best entries of a window of `scores`, best first, into `outIdx` (window-relative) and
 * `outVal` (the score plus prior); returns how many were written (at most min(k, window length)).
 * One pass that never writes `scores`: O(length + entered · log k) time, no allocation unless
 * `exclude` is long. `outIdx` and `outVal` must hold min(k, window length) entries.
 */
export function topKInto(scores: Float32Array, k: number, outIdx: Int32Array, outVal: Float64Array, options: TopKOptions = {}): number {
  const offset = options.offset ?? 0;
  const length = options.length ?? scores.length - offset;
  if (offset < 0 || length < 0 || offset + length > scores.length)
    throw new RangeError(`topK: window [${offset}, ${offset + length}) outside ${scores.length}`);
  const cap = Math.max(0, Math.min(k, length));
  if (outIdx.length < cap || outVal.length < cap) throw new RangeError('topK: output shorter than k');
  const mask = options.mask;
  if (mask !== undefined && mask.length < length) throw new RangeError(`topK: mask has ${mask.length}, window ${length}`);
  const prior = options.prior;
  const priorValues = prior?.values;
  const priorScale = prior?.scale ?? 0;
  if (priorValues !== undefined && priorValues.length < length) throw new RangeError('topK: prior shorter than the window');
  const exclude = options.exclude;
  let excludeList: ArrayLike<number> | null = null;
  let excludeMask: Uint8Array | null = null;
  if (exclude !== undefined && exclude.length > 0) {
    if (exclude.length <= SCAN_LIMIT) excludeList = exclude;
    else {
      excludeMask = new Uint8Array(length);
      for (let e = 0; e < exclude.length; e++) {
        const x = exclude[e]!;
        if (x >= 0 && x < length) excludeMask[x] = 1;
      }
    }
  }
  if (cap === 0) return 0;
  const idx = outIdx;
  const val = outVal;
  let size = 0;
  for (let j = 0; j < length; j++) {
    if (mask !== undefined && mask[j] === 0) continue;
    const v = priorValues !== undefined ? scores[offset + j]! + priorScale * priorValues[j]! : scores[offset + j]!;
    if (!(v > Number.NEGATIVE_INFINITY)) continue; // -Infinity (masked) and NaN
    if (size === cap && !(v > val[0]!)) continue; // an equal score keeps the lower index already held
    if (excludeMask !== null && excludeMask[j] === 1) continue;
    if (excludeList !== null && listHas(excludeList, j)) continue;
    size = topKPush(idx, val, size, cap, j, v);
  }
  topKDrain(idx, val, size);
  return size;
}

function listHas(list: ArrayLike<number>, j: number): boolean {
  for (let e = 0; e < list.length; e++) if (list[e] === j) return true;
  return false;
}

/** The k best entries of a window of `scores` as fresh arrays, best first (see `topKInto`). */
export function topK(scores: Float32Array, k: number, options: TopKOptions = {}): Ranked {
  const length = options.length ?? scores.length - (options.offset ?? 0);
  const cap = Math.max(0, Math.min(k, length));
  const idx = new Int32Array(cap);
  const val = new Float64Array(cap);
  const size = topKInto(scores, k, idx, val, options);
  return { indices: idx.slice(0, size), scores: Float32Array.from(val.subarray(0, size)) };
}

/** (va, ia) ranks below (vb, ib): lower score, or an equal score at a higher index. */
function worse(va: number, ia: number, vb: number, ib: number): boolean {
  return va < vb || (va === vb && ia > ib);
}

/**
 * Streaming form: offers entry (`j`, `v`) to a heap of `size` entries in `idx`/`val` holding at most
 * `cap`; returns the new size. Entries the heap would not keep are ignored. O(log cap).
 * Finish with `topKDrain` to get best-first order.
 */
export function topKPush(idx: Int32Array, val: Float64Array, size: number, cap: number, j: number, v: number): number {
  let pos: number;
  if (size < cap) {
    pos = size++;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (!worse(v, j, val[parent]!, idx[parent]!)) break;
      idx[pos] = idx[parent]!;
      val[pos] = val[parent]!;
      pos = parent;
    }
  } else {
    if (cap === 0 || !worse(val[0]!, idx[0]!, v, j)) return size;
    pos = siftHole(idx, val, size, v, j);
  }
  idx[pos] = j;
  val[pos] = v;
  return size;
}

/** Moves the root hole down to where (v, j) belongs in a heap of `size`; returns that position. */
function siftHole(idx: Int32Array, val: Float64Array, size: number, v: number, j: number): number {
  let pos = 0;
  for (;;) {
    let child = 2 * pos + 1;
    if (child >= size) break;
    if (child + 1 < size && worse(val[child + 1]!, idx[child + 1]!, val[child]!, idx[child]!)) child++;
    if (!worse(val[child]!, idx[child]!, v, j)) break;
    idx[pos] = idx[child]!;
    val[pos] = val[child]!;
    pos = child;
  }
  return pos;
}

/** Sorts a heap built by `topKPush` in place, best first. O(size log size). */
export function topKDrain(idx: Int32Array, val: Float64Array, size: number): void {
  for (let end = size - 1; end > 0; end--) {
    const wi = idx[0]!;
    const wv = val[0]!;
    const li = idx[end]!;
    const lv = val[end]!;
    idx[end] = wi;
    val[end] = wv;
    const pos = siftHole(idx, val, end, lv, li);
    idx[pos] = li;
    val[pos] = lv;
  }
}
