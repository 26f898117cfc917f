/**
 * Pure catalog rules: category paths, cursors, search text normalization. No I/O.
 */

export const PATH_SEPARATOR = ' > ';

/** Splits 'Electronics>Audio >  Headphones' into trimmed, non-empty segments with inner spaces collapsed. */
export function splitCategoryPath(input: string): string[] {
  return input
    .split('>')
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s.length > 0);
}

/** The canonical path text of segments: 'Electronics > Audio > Headphones'. */
export const joinCategoryPath = (segments: readonly string[]): string => segments.join(PATH_SEPARATOR);

export interface CategoryNodeSpec {
  path: string;
  name: string;
  parentPath: string | null;
  depth: number;
}

/**
 * Every category node a set of paths needs, ancestors included, deduplicated, parents before children.
 * Single-segment inputs are returned separately: they are names, resolved against existing categories first.
 */
export function categoryNodesFor(paths: Iterable<string>): CategoryNodeSpec[] {
  const seen = new Map<string, CategoryNodeSpec>();
  for (const p of paths) {
    const segs = splitCategoryPath(p);
    for (let i = 0; i < segs.length; i++) {
      const path = joinCategoryPath(segs.slice(0, i + 1));
      if (!seen.has(path))
        seen.set(path, { path, name: segs[i]!, parentPath: i === 0 ? null : joinCategoryPath(segs.slice(0, i)), depth: i });
    }
  }
  return [...seen.values()].sort((a, b) => a.depth - b.depth);
}

/** Lower case, accents removed, spaces collapsed: the form autocomplete and typo matching compare. */
export function normalizeSearchText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Opaque cursors: base64url of a small JSON value. Returns undefined for anything malformed. */
export function encodeCursor(v: unknown): string {
  return Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
}
export function decodeCursor<T>(cursor: string, check: (v: unknown) => v is T): T | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return check(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Price bands of the search facet, in major units: [from, to). */
export const PRICE_BANDS: readonly { key: string; from: number; to: number | null }[] = [
  { key: '0-25', from: 0, to: 25 },
  { key: '25-50', from: 25, to: 50 },
  { key: '50-100', from: 50, to: 100 },
  { key: '100-250', from: 100, to: 250 },
  { key: '250-500', from: 250, to: 500 },
  { key: '500+', from: 500, to: null },
];

/** Deduplicates rows by key, keeping each key's LAST occurrence at the position of its last occurrence. */
export function lastWins<T>(rows: readonly T[], key: (r: T) => string): T[] {
  const last = new Map<string, number>();
  rows.forEach((r, i) => last.set(key(r), i));
  return rows.filter((r, i) => last.get(key(r)) === i);
}
