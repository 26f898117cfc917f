/**
 * The learned product matcher's pure half: records, similarity features of a pair, blocking keys, and the
 * benchmark file format. The model itself is `src/ml/logistic.ts`; the features and threshold were chosen on
 * the train and valid files of Abt-Buy and Walmart-Amazon only (see `bench/matching`).
 */

/** What the matcher compares of an offer. */
export interface MatchRecord {
  title: string;
  brand: string | null;
  model: string | null;
  description: string | null;
  category: string | null;
  price: number | null;
}

/** A record with its token sets computed once (pairs are many, records few). */
export interface Prepared {
  rec: MatchRecord;
  titleTokens: string[];
  titleSet: Set<string>;
  trigrams: Set<string>;
  /** Model-number candidates: alphanumeric codes with a digit, separators removed, plus joined neighbours. */
  codes: Set<string>;
  numbers: Set<string>;
  descSet: Set<string>;
  /** Title, model and description with every non-alphanumeric removed: codes are looked up in it. */
  squashed: string;
  brandNorm: string | null;
  colours: Set<string>;
  modelNorm: string | null;
}

const COLOURS = new Set(
  'black white red blue green yellow pink purple orange brown gray grey silver gold beige navy cyan magenta titanium bisque stainless smoke clear teal'.split(
    ' ',
  ),
);

export interface Idf {
  df: Map<string, number>;
  docs: number;
}

const tokenize = (s: string): string[] =>
  s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .split(/[^\p{L}\p{N}\-/.]+/u)
    .flatMap((t) => t.replace(/^[-/.]+|[-/.]+$/g, '').split(/\//))
    .filter((t) => t.length > 0);

const squash = (s: string) => s.replace(/[^\p{L}\p{N}]+/gu, '');
const hasDigit = (s: string) => /\d/.test(s);
const hasLetter = (s: string) => /\p{L}/u.test(s);

/** Model-number candidates of a text: "WH-1000XM4" → wh1000xm4; "dvd 3800bdci" → 3800bdci and dvd3800bdci. */
export function modelCodes(text: string): Set<string> {
  const toks = tokenize(text);
  const out = new Set<string>();
  const isCode = (t: string) => t.length >= 4 && hasDigit(t) && (hasLetter(t) || t.length >= 5);
  for (let i = 0; i < toks.length; i++) {
    const t = squash(toks[i]!);
    if (isCode(t)) out.add(t);
    // "new-51644c", "hp-q6511x": the hyphenated parts are codes too.
    if (/[-.]/.test(toks[i]!)) for (const part of toks[i]!.split(/[-.]/)) if (isCode(part)) out.add(part);
    if (i + 1 < toks.length) {
      const j = squash(toks[i]! + toks[i + 1]!);
      if (j.length >= 5 && j.length <= 20 && hasDigit(j) && hasLetter(j) && (hasDigit(toks[i]!) || hasDigit(toks[i + 1]!))) out.add(j);
    }
  }
  return out;
}

const trigramsOf = (s: string): Set<string> => {
  const t = ` ${s} `;
  const out = new Set<string>();
  for (let i = 0; i + 3 <= t.length; i++) out.add(t.slice(i, i + 3));
  return out;
};

/** Computes a record's token sets once. */
export function prepare(rec: MatchRecord): Prepared {
  const titleTokens = tokenize(rec.title);
  const modelText = `${rec.title} ${rec.model ?? ''}`;
  const codes = modelCodes(modelText);
  const desc = rec.description ? tokenize(rec.description) : [];
  return {
    rec,
    titleTokens,
    titleSet: new Set(titleTokens),
    trigrams: trigramsOf(titleTokens.join(' ')),
    codes,
    numbers: new Set(titleTokens.filter((t) => /^\d+(\.\d+)?$/.test(t))),
    descSet: new Set(desc),
    squashed: squash(`${rec.title} ${rec.model ?? ''} ${rec.description ?? ''}`.toLowerCase()),
    brandNorm: rec.brand ? squash(rec.brand.toLowerCase()) || null : null,
    colours: new Set(titleTokens.filter((t) => COLOURS.has(t))),
    modelNorm: rec.model ? squash(rec.model.toLowerCase()) || null : null,
  };
}

/** Document frequencies of title tokens over a corpus of prepared records. */
export function buildIdf(records: readonly Prepared[]): Idf {
  const df = new Map<string, number>();
  for (const r of records) for (const t of r.titleSet) df.set(t, (df.get(t) ?? 0) + 1);
  return { df, docs: records.length };
}

const idfOf = (idf: Idf, t: string) => Math.log((idf.docs + 1) / ((idf.df.get(t) ?? 0) + 1)) + 1;

function jaccard<T>(a: Set<T>, b: Set<T>): number {
  if (!a.size && !b.size) return 0;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

function tfidfCosine(a: Set<string>, b: Set<string>, idf: Idf): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (const t of a) {
    const w = idfOf(idf, t) ** 2;
    na += w;
    if (b.has(t)) dot += w;
  }
  for (const t of b) nb += idfOf(idf, t) ** 2;
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** Share of the rarer-weighted tokens of the shorter title found in the other. */
function containment(a: Set<string>, b: Set<string>, idf: Idf): number {
  const [s, l] = a.size <= b.size ? [a, b] : [b, a];
  let tot = 0;
  let hit = 0;
  for (const t of s) {
    const w = idfOf(idf, t);
    tot += w;
    if (l.has(t)) hit += w;
  }
  return tot ? hit / tot : 0;
}

export const FEATURE_NAMES = [
  'title_tfidf_cosine',
  'title_jaccard',
  'title_trigram_jaccard',
  'title_containment',
  'code_shared',
  'code_in_other_text',
  'code_conflict',
  'code_longest_shared',
  'code_stem_in_other_text',
  'code_prefix_ratio',
  'numbers_jaccard',
  'numbers_conflict',
  'colour_conflict',
  'model_field_equal',
  'brand_equal',
  'brand_missing',
  'price_log_ratio',
  'price_missing',
  'description_jaccard',
] as const;

/** The features of a pair, in FEATURE_NAMES order. Symmetric except where noted. O(tokens). */
export function pairFeatures(a: Prepared, b: Prepared, idf: Idf): number[] {
  let shared = 0;
  let longest = 0;
  for (const c of a.codes)
    if (b.codes.has(c)) {
      shared++;
      longest = Math.max(longest, c.length);
    }
  let inOther = 0;
  for (const c of a.codes) if (c.length >= 5 && b.squashed.includes(c)) inOther = 1;
  for (const c of b.codes) if (c.length >= 5 && a.squashed.includes(c)) inOther = 1;
  // A retailer's code often carries a colour or region suffix ("coolpixs550cb" vs "coolpix s550"): the stem
  // (one or two last letters dropped, at least 5 characters left) found in the other's text.
  // Only letters are dropped (colour and region suffixes): "s560" minus its digit is another model's stem.
  let stemIn = 0;
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    for (const c of x.codes) {
      for (const cut of [1, 2]) {
        if (c.length - cut >= 5 && /^\p{L}+$/u.test(c.slice(-cut)) && y.squashed.includes(c.slice(0, c.length - cut))) stemIn = 1;
      }
    }
  }
  let prefix = 0;
  for (const ca of a.codes)
    for (const cb of b.codes) {
      let k = 0;
      while (k < ca.length && k < cb.length && ca[k] === cb[k]) k++;
      if (k >= 4) prefix = Math.max(prefix, k / Math.max(ca.length, cb.length));
    }
  const conflict = a.codes.size && b.codes.size && !shared && !inOther ? 1 : 0;
  let numShared = 0;
  for (const n of a.numbers) if (b.numbers.has(n)) numShared++;
  const numConflict = a.numbers.size && b.numbers.size && !numShared ? 1 : 0;
  const brandKnown = a.brandNorm !== null && b.brandNorm !== null;
  const brandEq = brandKnown && (a.brandNorm!.startsWith(b.brandNorm!) || b.brandNorm!.startsWith(a.brandNorm!)) ? 1 : 0;
  const pa = a.rec.price;
  const pb = b.rec.price;
  const priced = pa !== null && pb !== null && pa > 0 && pb > 0;
  return [
    tfidfCosine(a.titleSet, b.titleSet, idf),
    jaccard(a.titleSet, b.titleSet),
    jaccard(a.trigrams, b.trigrams),
    containment(a.titleSet, b.titleSet, idf),
    shared ? 1 : 0,
    inOther,
    conflict,
    Math.min(longest, 12) / 12,
    stemIn,
    prefix,
    jaccard(a.numbers, b.numbers),
    numConflict,
    a.colours.size && b.colours.size && ![...a.colours].some((c) => b.colours.has(c)) ? 1 : 0,
    a.modelNorm && b.modelNorm ? (a.modelNorm === b.modelNorm ? 1 : -1) : 0,
    brandEq,
    brandKnown ? 0 : 1,
    priced ? Math.min(Math.abs(Math.log(pa / pb)), 3) : 0,
    priced ? 0 : 1,
    a.descSet.size && b.descSet.size ? jaccard(a.descSet, b.descSet) : 0,
  ];
}

/**
 * Blocking keys of a record: its model codes and its two rarest title tokens. Two offers are compared only
 * when they share a key, so matching n new offers costs O(n × block size), never all pairs.
 */
export function blockingKeys(p: Prepared, idf: Idf, rare = 2): string[] {
  const keys = [...p.codes].map((c) => `c:${c}`);
  const byRarity = [...p.titleSet].filter((t) => t.length > 2).sort((x, y) => idfOf(idf, y) - idfOf(idf, x) || x.localeCompare(y));
  for (const t of byRarity.slice(0, rare)) keys.push(`t:${t}`);
  return keys;
}

// ---- the ER-Magellan / Ditto benchmark format ----

/** One serialized record: `COL <attr> VAL <value> COL <attr> VAL <value> ...`. */
export function parseMagellanRecord(s: string): MatchRecord {
  const attrs = new Map<string, string>();
  for (const part of s.split(/(?:^|\s)COL\s+/).slice(1)) {
    const m = /^(\S+)\s+VAL\s?(.*)$/s.exec(part);
    if (m) attrs.set(m[1]!, m[2]!.trim());
  }
  const price = Number.parseFloat(attrs.get('price') ?? '');
  const get = (k: string) => attrs.get(k) || null;
  return {
    title: get('title') ?? get('name') ?? '',
    brand: get('brand') ?? get('manufacturer'),
    model: get('modelno'),
    description: get('description'),
    category: get('category'),
    price: Number.isFinite(price) && price > 0 ? price : null,
  };
}

export interface LabeledPair {
  left: MatchRecord;
  right: MatchRecord;
  label: 0 | 1;
}

/** A benchmark file's text: one `left \t right \t label` line per candidate pair. Malformed lines are skipped and counted. */
export function parseMagellanPairs(text: string): { pairs: LabeledPair[]; skipped: number } {
  const pairs: LabeledPair[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split('\t');
    const label = f[2]?.trim();
    if (f.length !== 3 || (label !== '0' && label !== '1')) {
      skipped++;
      continue;
    }
    pairs.push({ left: parseMagellanRecord(f[0]!), right: parseMagellanRecord(f[1]!), label: label === '1' ? 1 : 0 });
  }
  return { pairs, skipped };
}

/** Precision, recall and F1 of the positive class. */
export function prf(
  predicted: ArrayLike<number>,
  labels: ArrayLike<number>,
): { precision: number; recall: number; f1: number; tp: number; fp: number; fn: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    if (predicted[i] && labels[i]) tp++;
    else if (predicted[i]) fp++;
    else if (labels[i]) fn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0, tp, fp, fn };
}
