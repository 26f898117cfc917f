/**
 * Pure rules of the recommender: hyperparameter validation per model, the held-out split of a tenant's
 * snapshot, the compact artifact codec, canary bucketing and the promotion rule. No I/O, no clock.
 */
import { createHash } from 'node:crypto';
import { checkParams, type ModelType } from '../../ml/models.ts';

export { MODEL_TYPES, type ModelType } from '../../ml/models.ts';

export type ParamsResult = { ok: true; params: Record<string, unknown> } | { ok: false; details: { field: string; message: string }[] };

/** Validates `raw` for `type`; every bad field is named (`hyperparameters.<name>`). */
export function validateHyperparameters(type: ModelType, raw: unknown): ParamsResult {
  return checkParams(type, raw);
}

/** Implicit-feedback weight of an interaction type (unknown types carry no signal). */
/** How a recommendation or similar-items response was made (its `metadata.strategy`; see `serving/cold-start.ts`). */
export const STRATEGIES = [
  'personalized',
  'popularity',
  'trending',
  'catalog',
  'item_similarity',
  'content_similarity',
  'category_popularity',
] as const;
export type Strategy = (typeof STRATEGIES)[number];

export function interactionWeight(type: string, weights: Readonly<Record<string, number>>): number {
  const w = weights[type];
  return typeof w === 'number' && Number.isFinite(w) && w > 0 ? w : 0;
}

/** A tenant's snapshot as dense indices: user u interacted with item i with weight w, last at time t (ms). */
export interface Snapshot {
  users: number;
  items: number;
  u: Int32Array;
  i: Int32Array;
  w: Float32Array;
  t: Float64Array;
}

/**
 * Leave-latest-out split: for every user with at least two distinct items, the item they touched last
 * goes to test; everything else stays in train. Returns index arrays into the snapshot's pairs.
 * O(pairs).
 */
export function latestHoldout(s: Snapshot): { train: Int32Array; test: Int32Array } {
  const n = s.u.length;
  const count = new Int32Array(s.users);
  const latest = new Int32Array(s.users).fill(-1);
  for (let p = 0; p < n; p++) {
    const u = s.u[p]!;
    count[u]!++;
    const l = latest[u]!;
    if (l < 0 || s.t[p]! > s.t[l]! || (s.t[p] === s.t[l] && p > l)) latest[u] = p;
  }
  const test: number[] = [];
  const isTest = new Uint8Array(n);
  for (let u = 0; u < s.users; u++) {
    if (count[u]! >= 2) {
      isTest[latest[u]!] = 1;
      test.push(latest[u]!);
    }
  }
  const train: number[] = [];
  for (let p = 0; p < n; p++) if (!isTest[p]) train.push(p);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/** Sticky canary bucket of a user in [0, 100): the same user always lands in the same bucket. */
export function canaryBucket(tenantId: string, userKey: string): number {
  const h = createHash('sha1').update(`${tenantId}\u0000${userKey}`).digest();
  return h.readUInt32BE(0) % 100;
}

export interface ArmStats {
  served: number;
  conversions: number;
}

/** Minimum responses served by the canary before it can be promoted. */
export const CANARY_MIN_SERVED = 200;

/**
 * Promotion rule: the canary wins when it has served at least `CANARY_MIN_SERVED` responses and its
 * conversion rate (purchases citing its recommendation ids / responses) is at least the incumbent's, with a
 * one-sided two-proportion z-test above 1.0 (about 84% confidence) or an exact tie at zero conversions
 * for both but a higher offline NDCG. Returns 'promote', 'rollback' (clearly worse, z < -1.64) or 'wait'.
 */
export function canaryDecision(canary: ArmStats, incumbent: ArmStats, offlineBetter: boolean): 'promote' | 'rollback' | 'wait' {
  if (canary.served < CANARY_MIN_SERVED || incumbent.served < CANARY_MIN_SERVED) return 'wait';
  const p1 = canary.conversions / canary.served;
  const p0 = incumbent.conversions / incumbent.served;
  const pooled = (canary.conversions + incumbent.conversions) / (canary.served + incumbent.served);
  if (pooled === 0) return offlineBetter ? 'promote' : 'wait';
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / canary.served + 1 / incumbent.served));
  const z = se > 0 ? (p1 - p0) / se : 0;
  if (z >= 1) return 'promote';
  if (z <= -1.64) return 'rollback';
  return 'wait';
}

// ---------------------------------------------------------------- artifact codec

type Typed = Float32Array | Float64Array | Int32Array;
const DTYPES = { f32: Float32Array, f64: Float64Array, i32: Int32Array } as const;
type DType = keyof typeof DTYPES;
const dtypeOf = (a: Typed): DType => (a instanceof Float32Array ? 'f32' : a instanceof Float64Array ? 'f64' : 'i32');

/**
 * Encodes a model artifact: magic `LRM1`, a u32 JSON header length, the JSON header (metadata and a table
 * of arrays), then every typed array's raw little-endian bytes, each aligned to 8 bytes. No per-number text.
 */
export function encodeArtifact(meta: Record<string, unknown>, arrays: Record<string, Typed>): Buffer {
  const table: { name: string; dtype: DType; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    table.push({ name, dtype: dtypeOf(a), offset, length: a.length });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = Buffer.from(JSON.stringify({ meta, arrays: table }), 'utf8');
  const headLen = Math.ceil((8 + header.length) / 8) * 8;
  const out = Buffer.alloc(headLen + offset);
  out.write('LRM1', 0, 'ascii');
  out.writeUInt32LE(header.length, 4);
  header.copy(out, 8);
  for (const entry of table) {
    const a = arrays[entry.name]!;
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, headLen + entry.offset);
  }
  return out;
}

interface ArtifactLayout {
  readonly meta: Record<string, unknown>;
  readonly arrays: readonly { name: string; dtype: DType; offset: number; length: number }[];
  /** Where the array bytes start. */
  readonly base: number;
}

function artifactLayout(buf: Buffer): ArtifactLayout {
  if (buf.length < 8 || buf.toString('ascii', 0, 4) !== 'LRM1') throw new Error('not a Loupe model artifact');
  const len = buf.readUInt32LE(4);
  const head = JSON.parse(buf.toString('utf8', 8, 8 + len)) as { meta: Record<string, unknown>; arrays: ArtifactLayout['arrays'] };
  const base = Math.ceil((8 + len) / 8) * 8;
  for (const e of head.arrays) {
    if (!Object.hasOwn(DTYPES, e.dtype)) throw new Error(`model artifact: unknown dtype of ${e.name}`);
    if (!(base + e.offset + e.length * DTYPES[e.dtype].BYTES_PER_ELEMENT <= buf.length)) throw new Error('model artifact is truncated');
  }
  return { meta: head.meta, arrays: head.arrays, base };
}

export function decodeArtifact(buf: Buffer): { meta: Record<string, unknown>; arrays: Record<string, Typed> } {
  const { meta, arrays: table, base } = artifactLayout(buf);
  const arrays: Record<string, Typed> = {};
  for (const e of table) {
    const C = DTYPES[e.dtype];
    const bytes = e.length * C.BYTES_PER_ELEMENT;
    // copy into an aligned buffer of its own: typed views need aligned offsets
    const copy = new ArrayBuffer(bytes);
    buf.copy(Buffer.from(copy), 0, base + e.offset, base + e.offset + bytes);
    arrays[e.name] = new C(copy);
  }
  return { meta, arrays };
}

/** Bytes copied between two pauses of `unpackVersionChunked`: a few milliseconds of memcpy. */
export const DECODE_CHUNK_BYTES = 4 << 20;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * `unpackVersion` that gives the event loop back every `chunkBytes` copied (a model of hundreds of MB decoded
 * in one go blocked a server for seconds): the same result, the copy in slices with `pause()` between them.
 */
export async function unpackVersionChunked(
  buf: Buffer,
  options: { chunkBytes?: number; pause?: () => Promise<void> } = {},
): Promise<{ itemIds: string[]; meta: Record<string, unknown>; arrays: Record<string, Typed> }> {
  const chunk = Math.max(8, options.chunkBytes ?? DECODE_CHUNK_BYTES);
  const pause = options.pause ?? nextTurn;
  if (buf.length < 4) throw new Error('not a Loupe model version');
  const idsLen = buf.readUInt32LE(0);
  const itemIds = JSON.parse(buf.toString('utf8', 4, 4 + idsLen)) as string[];
  const art = buf.subarray(4 + idsLen);
  const { meta, arrays: table, base } = artifactLayout(art);
  const arrays: Record<string, Typed> = {};
  let sincePause = 0;
  for (const e of table) {
    const C = DTYPES[e.dtype];
    const bytes = e.length * C.BYTES_PER_ELEMENT;
    const copy = Buffer.from(new ArrayBuffer(bytes));
    for (let at = 0; at < bytes; ) {
      const n = Math.min(bytes - at, chunk - sincePause);
      art.copy(copy, at, base + e.offset + at, base + e.offset + at + n);
      at += n;
      sincePause += n;
      if (sincePause >= chunk) {
        await pause();
        sincePause = 0;
      }
    }
    arrays[e.name] = new C(copy.buffer);
  }
  return { itemIds, meta, arrays };
}

/**
 * A stored model version: a u32 length, the item id table as JSON (a version is self-contained: index i of
 * every array is the item `itemIds[i]`), then the artifact.
 */
export function packVersion(itemIds: readonly string[], artifact: Buffer): Buffer {
  const ids = Buffer.from(JSON.stringify(itemIds), 'utf8');
  return Buffer.concat([Buffer.from(Uint32Array.of(ids.length).buffer), ids, artifact]);
}

export function unpackVersion(buf: Buffer): { itemIds: string[]; meta: Record<string, unknown>; arrays: Record<string, Typed> } {
  if (buf.length < 4) throw new Error('not a Loupe model version');
  const idsLen = buf.readUInt32LE(0);
  const itemIds = JSON.parse(buf.toString('utf8', 4, 4 + idsLen)) as string[];
  return { itemIds, ...decodeArtifact(buf.subarray(4 + idsLen)) };
}

/**
 * Rows of a previous model's item matrix (`prev`, one row of `dim` floats per id of `prevIds`) re-indexed to
 * today's items: known items keep their learned row, new items get `fresh(i)` (a small random start).
 * Returns the matrix and how many rows were carried over.
 */
export function alignItemRows(
  prevIds: readonly string[],
  prev: Float32Array,
  dim: number,
  currentIds: readonly string[],
  fresh: (row: Float32Array) => void,
): { rows: Float32Array; carried: number } {
  if (prev.length !== prevIds.length * dim) throw new RangeError('alignItemRows: the previous matrix does not match its ids');
  const at = new Map(prevIds.map((id, i) => [id, i]));
  const rows = new Float32Array(currentIds.length * dim);
  let carried = 0;
  currentIds.forEach((id, i) => {
    const p = at.get(id);
    const row = rows.subarray(i * dim, (i + 1) * dim);
    if (p === undefined) fresh(row);
    else {
      row.set(prev.subarray(p * dim, (p + 1) * dim));
      carried++;
    }
  });
  return { rows, carried };
}

/** The human reason attached to a recommended item. */
export function reasonFor(r: {
  anchorName?: string | null;
  anchorType?: string | null;
  category?: string | null;
  personalized: boolean;
  trending?: boolean;
}): string {
  if (r.personalized && r.anchorName) {
    const verb = r.anchorType === 'purchase' ? 'bought' : r.anchorType === 'add_to_cart' ? 'added' : 'viewed';
    return `Because you ${verb} ${r.anchorName}`;
  }
  if (r.personalized) return 'Popular with customers like you';
  if (r.trending) return 'Trending';
  return r.category ? `Popular in ${r.category}` : 'Popular right now';
}
