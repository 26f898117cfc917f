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

/**
 * The spellings of `word` with one letter dropped or two neighbours swapped: a typo that doubled a letter
 * ("lanttern") or swapped two ("lantren") has the intended word among them. Replacements and insertions
 * (36 per position) made the tsquery slow (bench/search: typo p50 2 s on 20,000 items); the trigram pass
 * still answers those.
 */
export function oneEditVariants(word: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i < word.length; i++) {
    out.add(word.slice(0, i) + word.slice(i + 1));
    if (i + 1 < word.length) out.add(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
  }
  out.delete(word);
  return [...out];
}

/** Words shorter than this get no typo variants: too many real words are one edit apart. */
const TYPO_MIN_WORD = 4;
const TYPO_MAX_WORD = 20;
const TYPO_MAX_WORDS = 4;

/**
 * The typo-tolerant tsquery text of a search: every word, or for words of 4 to 20 letters any spelling one
 * edit away, the words AND-ed. Only [a-z0-9] words reach the text (nothing of tsquery syntax). Null when
 * no word can take a variant or the query has more than 4 words (the trigram fallback answers those).
 */
export function typoTsquery(q: string): string | null {
  const words = normalizeSearchText(q)
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
  if (words.length === 0 || words.length > TYPO_MAX_WORDS) return null;
  if (!words.some((w) => w.length >= TYPO_MIN_WORD && w.length <= TYPO_MAX_WORD)) return null;
  return words
    .map((w) => (w.length >= TYPO_MIN_WORD && w.length <= TYPO_MAX_WORD ? `(${[w, ...oneEditVariants(w)].join(' | ')})` : w))
    .join(' & ');
}
