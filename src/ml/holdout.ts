/**
 * Validation hold-outs carved from training interactions (never from the test set): the tuning search's and
 * LightGCN's early stopping's. Pure.
 */
import { csrFromCoo, type Csr } from './csr.ts';
import { rngMulberry32 } from './random.ts';

/** Users with at least this many items take part in the validation hold-out; at least MIN_VALIDATION_USERS of them. */
const MIN_ITEMS_TO_HOLD_OUT = 2;
export const MIN_VALIDATION_USERS = 5;

/**
 * Splits `m` (users x items) per user: each item of a user with 2+ items goes to validation with probability
 * `fraction` (seeded), but every user keeps at least one training item. Values are kept. O(nnz).
 */
export function validationSplit(m: Csr, fraction: number, seed: number): { train: Csr; validation: Csr; heldOut: number } {
  const rng = rngMulberry32(seed);
  const tr: [number[], number[], number[]] = [[], [], []];
  const va: [number[], number[], number[]] = [[], [], []];
  for (let r = 0; r < m.rows; r++) {
    const s = m.indptr[r]!;
    const e = m.indptr[r + 1]!;
    let kept = 0;
    for (let p = s; p < e; p++) {
      const out = e - s >= MIN_ITEMS_TO_HOLD_OUT && !(kept === 0 && p === e - 1) && rng() < fraction ? va : tr;
      if (out === tr) kept++;
      out[0].push(r);
      out[1].push(m.indices[p]!);
      out[2].push(m.data[p]!);
    }
  }
  return {
    train: csrFromCoo(m.rows, m.cols, tr[0], tr[1], tr[2]),
    validation: csrFromCoo(m.rows, m.cols, va[0], va[1], va[2]),
    heldOut: va[0].length,
  };
}

/** Why `m` cannot give a validation hold-out, or null when it can. */
export function tooSmallToTune(m: Csr): string | null {
  if (m.cols < 2) return `only ${m.cols} item: nothing to rank, no validation possible`;
  let eligible = 0;
  for (let r = 0; r < m.rows; r++) if (m.indptr[r + 1]! - m.indptr[r]! >= MIN_ITEMS_TO_HOLD_OUT) eligible++;
  if (eligible < MIN_VALIDATION_USERS)
    return `only ${eligible} user(s) with ${MIN_ITEMS_TO_HOLD_OUT}+ items (${MIN_VALIDATION_USERS} needed for a validation hold-out)`;
  return null;
}
