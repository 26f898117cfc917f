/**
 * What a tenant's serving state costs in memory, estimated from its shapes (pure). Typed arrays are counted
 * exactly (byteLength); JavaScript strings, arrays, objects and Map entries by V8's layout on 64-bit builds with
 * pointer compression off, calibrated against `process.memoryUsage().heapUsed` after a full GC (the test holds the
 * estimate of a catalog snapshot and of histories to the measured heap growth within 25%).
 * Strings shared with the catalog snapshot (a history's item ids, interaction type names) count as a slot only.
 */
import type { CatalogSnapshot } from './catalog.snapshot.ts';

/** A pointer or a double in an array's backing store. */
const SLOT = 8;
/** An entry of a Map (key, value, chain) with its share of the hash buckets. */
export const MAP_ENTRY_BYTES = 32;
/** 2 when any character is outside Latin-1 (V8 then stores two bytes per character), else 1. */
function charBytes(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return 2;
  return 1;
}
const align8 = (n: number) => Math.ceil(n / 8) * 8;

/** A sequential string: 16 bytes of header, then one byte per character (two when any is outside Latin-1). */
export function stringBytes(s: string | null | undefined): number {
  if (s === null || s === undefined) return 0;
  return align8(16 + s.length * charBytes(s));
}

/** A JavaScript array grown by `push` to `n` elements (the backing store grows by half plus 16 slots). */
export function pushedArrayBytes(n: number): number {
  let capacity = 0;
  while (capacity < n) capacity = capacity + (capacity >> 1) + 16;
  return 32 + SLOT * capacity;
}

/** A plain object of `fields` properties. */
export const objectBytes = (fields: number) => 24 + 12 * fields;

/** Every slot of the snapshot's parallel arrays, its strings (each row read is its own copy) and its id index. */
export function snapshotBytes(s: CatalogSnapshot): number {
  const n = s.ids.length;
  const columns = [s.ids, s.name, s.category, s.categoryKey, s.brand, s.brandKey, s.currency, s.imageUrl, s.availability];
  let bytes = (columns.length + 2) * pushedArrayBytes(n) + n * MAP_ENTRY_BYTES; // + priceMinor, flags; the index
  for (const column of columns) for (const v of column) bytes += stringBytes(v);
  return bytes;
}

/** A cached user history: its Map entry, key, record, newest id, and one slot per item and per type. */
export function historyBytes(userId: string, h: { itemIds: readonly string[]; types: readonly string[]; newestId: string }): number {
  return (
    MAP_ENTRY_BYTES +
    stringBytes(userId) +
    objectBytes(5) +
    stringBytes(h.newestId) +
    pushedArrayBytes(h.itemIds.length) +
    pushedArrayBytes(h.types.length)
  );
}

/** A loaded model's item id table (its own strings, parsed from the artifact) and its id -> index Map. */
export function itemTableBytes(itemIds: readonly string[]): number {
  let bytes = 32 + SLOT * itemIds.length + itemIds.length * MAP_ENTRY_BYTES;
  for (const id of itemIds) bytes += stringBytes(id);
  return bytes;
}

/** What serving holds for one tenant in this process, in bytes. */
export interface TenantServingMemory {
  /** Per loaded model version: its arrays, what its scorer built, its item table, score buffer and filter masks. */
  models: { versionId: string; version: string; bytes: number }[];
  catalogBytes: number;
  catalogItems: number;
  historyBytes: number;
  historyUsers: number;
  /** Cached responses (their keys and item lists; catalog strings are shared with the snapshot). */
  responseBytes: number;
  responses: number;
  /** The cold-start (trending) scores, when built. */
  coldStartBytes: number;
  totalBytes: number;
}
