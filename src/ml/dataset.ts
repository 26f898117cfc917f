import { csrFromCoo, type Csr } from './csr.ts';
import { rngMulberry32 } from './random.ts';

/** A user x item interaction matrix with its shape: `csr` is users x items, value 1 per pair. */
export interface InteractionMatrix {
  readonly users: number;
  readonly items: number;
  readonly csr: Csr;
}

/** Known shape to impose, e.g. the train split's item count when parsing its test split. */
export interface InteractionShape {
  readonly users?: number;
  readonly items?: number;
}

const SPACE = 32;
const TAB = 9;
const CR = 13;
const ZERO = 48;
const NINE = 57;

/**
 * Parses the LightGCN text format: one line per user, `uid item item ...`, whitespace separated,
 * 0-based non-negative integer ids. A line with a uid and no items is a user without interactions.
 * Shape is `max id + 1` unless `shape` gives a larger one. Duplicate pairs collapse to value 1.
 * O(characters + nnz log nnz_row). Throws a RangeError naming the line on a malformed token.
 */
export function parseUserItemText(input: string | Iterable<string>, shape: InteractionShape = {}): InteractionMatrix {
  const rowIds: number[] = [];
  const colIds: number[] = [];
  let maxUser = -1;
  let maxItem = -1;
  let lineNo = 0;
  const parseLine = (s: string, start: number, end: number): void => {
    lineNo++;
    let p = start;
    let uid = -1;
    while (p < end) {
      const c = s.charCodeAt(p);
      if (c === SPACE || c === TAB || c === CR) {
        p++;
        continue;
      }
      let v = 0;
      let digits = 0;
      while (p < end) {
        const d = s.charCodeAt(p);
        if (d >= ZERO && d <= NINE) {
          v = v * 10 + (d - ZERO);
          digits++;
          p++;
        } else if (d === SPACE || d === TAB || d === CR) {
          break;
        } else {
          throw new RangeError(`parseUserItemText: line ${lineNo}: unexpected character '${s[p]}'`);
        }
      }
      if (digits === 0 || v > 0x7fffffff) throw new RangeError(`parseUserItemText: line ${lineNo}: bad id`);
      if (uid < 0) {
        uid = v;
        if (uid > maxUser) maxUser = uid;
      } else {
        rowIds.push(uid);
        colIds.push(v);
        if (v > maxItem) maxItem = v;
      }
    }
  };
  if (typeof input === 'string') {
    let start = 0;
    const n = input.length;
    while (start < n) {
      let end = input.indexOf('\n', start);
      if (end < 0) end = n;
      parseLine(input, start, end);
      start = end + 1;
    }
  } else {
    for (const line of input) parseLine(line, 0, line.length);
  }
  const users = Math.max(maxUser + 1, shape.users ?? 0);
  const items = Math.max(maxItem + 1, shape.items ?? 0);
  const csr = csrFromCoo(users, items, rowIds, colIds);
  csr.data.fill(1);
  return { users, items, csr };
}

/** Interactions of many users as parallel arrays (one entry per event). */
export interface TimedInteractions {
  readonly users: number;
  readonly items: number;
  readonly userIds: ArrayLike<number>;
  readonly itemIds: ArrayLike<number>;
  /** Any increasing time unit (epoch ms, seconds); only the order matters. */
  readonly timestamps: ArrayLike<number>;
}

export interface TrainTestSplit {
  readonly train: Csr;
  readonly test: Csr;
}

/**
 * Leave-latest-out split for tenant data: each (user, item) pair is kept once at its latest time;
 * then, per user, the latest `ceil(testFraction * n_u)` distinct items go to test, keeping at least
 * `minTrain` items in train (a user with `n_u <= minTrain` stays wholly in train). Ties in time break
 * by item id, so the split is deterministic. Both outputs are users x items with value 1.
 * O(n log n).
 */
export function splitLatestPerUser(data: TimedInteractions, options: { testFraction?: number; minTrain?: number } = {}): TrainTestSplit {
  const testFraction = options.testFraction ?? 0.2;
  const minTrain = options.minTrain ?? 1;
  const n = data.userIds.length;
  if (data.itemIds.length !== n || data.timestamps.length !== n) {
    throw new RangeError('splitLatestPerUser: userIds, itemIds and timestamps differ in length');
  }
  if (!(testFraction >= 0 && testFraction <= 1)) throw new RangeError('splitLatestPerUser: testFraction outside [0, 1]');
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  const u = data.userIds;
  const it = data.itemIds;
  const ts = data.timestamps;
  // user, then item, then time descending: the first event of each (user, item) run is its latest
  order.sort((a, b) => u[a]! - u[b]! || it[a]! - it[b]! || ts[b]! - ts[a]!);
  const pairs: number[] = [];
  for (let k = 0; k < n; k++) {
    const e = order[k]!;
    const prev = k > 0 ? order[k - 1]! : -1;
    if (prev >= 0 && u[prev] === u[e] && it[prev] === it[e]) continue;
    pairs.push(e);
  }
  // per user, time ascending (ties by item id)
  pairs.sort((a, b) => u[a]! - u[b]! || ts[a]! - ts[b]! || it[a]! - it[b]!);
  const trR: number[] = [];
  const trC: number[] = [];
  const teR: number[] = [];
  const teC: number[] = [];
  let s = 0;
  while (s < pairs.length) {
    const user = u[pairs[s]!]!;
    let e = s;
    while (e < pairs.length && u[pairs[e]!] === user) e++;
    const count = e - s;
    const nTest = count <= minTrain ? 0 : Math.min(count - minTrain, Math.ceil(testFraction * count));
    for (let k = s; k < e; k++) {
      const item = it[pairs[k]!]!;
      if (k >= e - nTest) {
        teR.push(user);
        teC.push(item);
      } else {
        trR.push(user);
        trC.push(item);
      }
    }
    s = e;
  }
  return {
    train: csrFromCoo(data.users, data.items, trR, trC),
    test: csrFromCoo(data.users, data.items, teR, teC),
  };
}

/**
 * Random hold-out of a binary matrix's entries, for tuning on a validation split carved from train:
 * each stored entry goes to `test` with probability `fraction`, but a row never loses its last entry.
 * Deterministic for a given seed. O(nnz).
 */
export function splitRandomHoldout(m: Csr, fraction: number, seed: number): TrainTestSplit {
  const rng = rngMulberry32(seed);
  const trR: number[] = [];
  const trC: number[] = [];
  const teR: number[] = [];
  const teC: number[] = [];
  for (let r = 0; r < m.rows; r++) {
    const start = m.indptr[r]!;
    const end = m.indptr[r + 1]!;
    let kept = 0;
    for (let p = start; p < end; p++) {
      const c = m.indices[p]!;
      const lastChance = kept === 0 && p === end - 1;
      if (!lastChance && rng() < fraction) {
        teR.push(r);
        teC.push(c);
      } else {
        trR.push(r);
        trC.push(c);
        kept++;
      }
    }
  }
  return { train: csrFromCoo(m.rows, m.cols, trR, trC), test: csrFromCoo(m.rows, m.cols, teR, teC) };
}
