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
  /** Quantities with a unit in the title ("16 gb" and "16gb" -> 16gb, 24 ' -> 24in), by unit. */
  quantities: Map<string, Set<string>>;
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

/** Units a title's quantities are read in, and the spellings that mean them. */
const UNIT_OF: Record<string, string> = {
  gb: 'gb',
  tb: 'tb',
  mb: 'mb',
  ghz: 'ghz',
  mhz: 'mhz',
  hz: 'hz',
  mp: 'mp',
  megapixel: 'mp',
  megapixels: 'mp',
  inch: 'in',
  inches: 'in',
  in: 'in',
  '"': 'in',
  "''": 'in',
  "'": 'in',
  mm: 'mm',
  cm: 'cm',
  w: 'w',
  watt: 'w',
  watts: 'w',
  v: 'v',
  volt: 'v',
  mah: 'mah',
  oz: 'oz',
  lb: 'lb',
  lbs: 'lb',
  ft: 'ft',
  feet: 'ft',
  x: 'x',
  ppm: 'ppm',
  dpi: 'dpi',
  rpm: 'rpm',
  ms: 'ms',
  db: 'db',
  kw: 'kw',
  qt: 'qt',
  cup: 'cup',
  pack: 'pack',
  pk: 'pack',
};
const QUANTITY =
  /(\d+(?:\.\d+)?)\s?-?\s?(megapixels?|inch(?:es)?|watts?|volt|feet|lbs?|mah|ghz|mhz|ppm|dpi|rpm|pack|cup|gb|tb|mb|hz|mp|in|mm|cm|oz|ft|ms|db|kw|qt|pk|''|[wvx"'])(?![\p{L}\p{N}])/gu;

/**
 * Quantities with a unit of a text, by unit: "1 tb usb 3.0" -> {tb: {1}}; "15.6 '' display" -> {in: {15.6}}.
 * Numbers are normalized (16.0 = 16), so "16gb" and "16 gb" agree. O(length).
 */
export function quantitiesOf(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of text.toLowerCase().matchAll(QUANTITY)) {
    const unit = UNIT_OF[m[2]!];
    const v = Number.parseFloat(m[1]!);
    if (!unit || !Number.isFinite(v)) continue;
    const set = out.get(unit) ?? new Set<string>();
    set.add(String(v));
    out.set(unit, set);
  }
  return out;
}

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
    quantities: quantitiesOf(rec.title),
  };
}

/** Where a model code's document frequency is kept in `Idf.df` (apart from the title tokens). */
const CODE_KEY = '\u0001code:';

/** Document frequencies of title tokens, and of model codes (under CODE_KEY), over a corpus of prepared records. */
export function buildIdf(records: readonly Prepared[]): Idf {
  const df = new Map<string, number>();
  for (const r of records) {
    for (const t of r.titleSet) df.set(t, (df.get(t) ?? 0) + 1);
    for (const c of r.codes) df.set(CODE_KEY + c, (df.get(CODE_KEY + c) ?? 0) + 1);
  }
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

// ---- the learned (gradient-boosted) matcher's richer features ----

const charGrams = (s: string, n: number): Set<string> => {
  const out = new Set<string>();
  for (let i = 0; i + n <= s.length; i++) out.add(s.slice(i, i + n));
  return out;
};

/** Levenshtein distance, two rows. O(|a| × |b|); codes are short. */
function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** Share of x's tokens (IDF-weighted) found in the set `inside`. */
function weightedCover(x: Set<string>, inside: (t: string) => boolean, idf: Idf): number {
  let tot = 0;
  let hit = 0;
  for (const t of x) {
    const w = idfOf(idf, t);
    tot += w;
    if (inside(t)) hit += w;
  }
  return tot ? hit / tot : 0;
}

/** Sum of the IDF of x's tokens missing from y: how much rare, unexplained text one side carries. */
function missingIdf(x: Set<string>, y: Set<string>, idf: Idf): number {
  let s = 0;
  for (const t of x) if (!y.has(t)) s += idfOf(idf, t);
  return s;
}

/** Monge-Elkan over tokens with character-trigram Jaccard as the inner similarity (typos, plurals, joined words). */
function mongeElkan(a: readonly string[], b: readonly string[], grams: Map<string, Set<string>>): number {
  if (!a.length || !b.length) return 0;
  const g = (t: string) => {
    let s = grams.get(t);
    if (!s) grams.set(t, (s = trigramsOf(t)));
    return s;
  };
  let sum = 0;
  for (const x of a) {
    let best = 0;
    for (const y of b) {
      if (x === y) {
        best = 1;
        break;
      }
      best = Math.max(best, jaccard(g(x), g(y)));
    }
    sum += best;
  }
  return sum / a.length;
}

export const RICH_FEATURE_NAMES = [
  ...FEATURE_NAMES,
  'title_char3_squashed_jaccard',
  'title_char4_squashed_jaccard',
  'cover_min',
  'cover_max',
  'cover_in_full_text_min',
  'cover_in_full_text_max',
  'missing_idf_min',
  'missing_idf_max',
  'monge_elkan_min',
  'monge_elkan_max',
  'model_field_in_other_text',
  'brand_in_other_title',
  'first_token_equal',
  'title_length_ratio',
  'code_best_edit_similarity',
  'codes_unexplained',
  'codes_shared_count',
  'description_tfidf_cosine',
  'category_jaccard',
  'price_log_min',
  'numbers_shared_count',
  'quantity_shared_count',
  'quantity_conflict',
  'code_shared_max_idf',
  'code_unexplained_max_idf',
] as const;

const MONGE_CACHE_LIMIT = 50_000;
const gramCache = new Map<string, Set<string>>();

/**
 * The pair features of the gradient-boosted matcher, in RICH_FEATURE_NAMES order: the 19 of `pairFeatures`
 * plus character n-gram, IDF-weighted coverage, soft token (Monge-Elkan), model-number edit distance,
 * description, category and price-level features. Trees need no scaling or products of features.
 */
export function richPairFeatures(a: Prepared, b: Prepared, idf: Idf): number[] {
  if (gramCache.size > MONGE_CACHE_LIMIT) gramCache.clear();
  const base = pairFeatures(a, b, idf);
  const sa = squash(a.titleTokens.join(''));
  const sb = squash(b.titleTokens.join(''));
  const cab = weightedCover(a.titleSet, (t) => b.titleSet.has(t), idf);
  const cba = weightedCover(b.titleSet, (t) => a.titleSet.has(t), idf);
  const fab = weightedCover(a.titleSet, (t) => b.titleSet.has(t) || b.descSet.has(t), idf);
  const fba = weightedCover(b.titleSet, (t) => a.titleSet.has(t) || a.descSet.has(t), idf);
  const mab = missingIdf(a.titleSet, b.titleSet, idf);
  const mba = missingIdf(b.titleSet, a.titleSet, idf);
  const meab = mongeElkan(a.titleTokens, b.titleTokens, gramCache);
  const meba = mongeElkan(b.titleTokens, a.titleTokens, gramCache);
  let modelIn = 0;
  if (a.modelNorm && a.modelNorm.length >= 3) modelIn = b.squashed.includes(a.modelNorm) ? 1 : -1;
  if (b.modelNorm && b.modelNorm.length >= 3) modelIn = Math.max(modelIn, a.squashed.includes(b.modelNorm) ? 1 : -1);
  let brandIn = 0;
  const sqa = squash(a.titleTokens.join(' '));
  const sqb = squash(b.titleTokens.join(' '));
  if (a.brandNorm && a.brandNorm.length >= 2) brandIn = sqb.includes(a.brandNorm) ? 1 : -1;
  if (b.brandNorm && b.brandNorm.length >= 2) brandIn = Math.max(brandIn, sqa.includes(b.brandNorm) ? 1 : -1);
  let bestEdit = 0;
  for (const ca of a.codes)
    for (const cb of b.codes) bestEdit = Math.max(bestEdit, 1 - levenshtein(ca, cb) / Math.max(ca.length, cb.length));
  let unexplained = 0;
  let sharedCodes = 0;
  for (const c of a.codes) {
    if (b.codes.has(c)) sharedCodes++;
    else if (c.length >= 5 && !b.squashed.includes(c)) unexplained++;
  }
  for (const c of b.codes) if (!a.codes.has(c) && c.length >= 5 && !a.squashed.includes(c)) unexplained++;
  let numShared = 0;
  for (const n of a.numbers) if (b.numbers.has(n)) numShared++;
  const catA = a.rec.category ? new Set(tokenize(a.rec.category)) : null;
  const catB = b.rec.category ? new Set(tokenize(b.rec.category)) : null;
  const pa = a.rec.price;
  const pb = b.rec.price;
  const la = a.titleTokens.length;
  const lb = b.titleTokens.length;
  return [
    ...base,
    jaccard(charGrams(sa, 3), charGrams(sb, 3)),
    jaccard(charGrams(sa, 4), charGrams(sb, 4)),
    Math.min(cab, cba),
    Math.max(cab, cba),
    Math.min(fab, fba),
    Math.max(fab, fba),
    Math.min(mab, mba),
    Math.max(mab, mba),
    Math.min(meab, meba),
    Math.max(meab, meba),
    modelIn,
    brandIn,
    la && lb && a.titleTokens[0] === b.titleTokens[0] ? 1 : 0,
    la && lb ? Math.min(la, lb) / Math.max(la, lb) : 0,
    bestEdit,
    Math.min(unexplained, 6),
    Math.min(sharedCodes, 6),
    a.descSet.size && b.descSet.size ? tfidfCosine(a.descSet, b.descSet, idf) : Number.NaN,
    catA && catB ? jaccard(catA, catB) : Number.NaN,
    pa && pb && pa > 0 && pb > 0 ? Math.log(Math.min(pa, pb)) : Number.NaN,
    Math.min(numShared, 6),
    ...quantityAgreement(a.quantities, b.quantities),
    ...codeRarity(a, b, idf),
  ];
}

/**
 * [quantities shared (at most 6), conflict]: a conflict is a unit both titles state with no value in common
 * ("16 gb" vs "32gb": a sibling model; "1 tb" vs "1tb" agrees).
 */
function quantityAgreement(a: Map<string, Set<string>>, b: Map<string, Set<string>>): [number, number] {
  let shared = 0;
  let conflict = 0;
  for (const [unit, va] of a) {
    const vb = b.get(unit);
    if (!vb) continue;
    let common = 0;
    for (const v of va) if (vb.has(v)) common++;
    shared += common;
    if (!common) conflict = 1;
  }
  return [Math.min(shared, 6), conflict];
}

/**
 * [highest IDF of a code both sides carry (or one carries in its text), highest IDF of a code of 5+ characters
 * the other side does not explain], 0 when none: sharing a rare code ("dvd3800bdci") says more than sharing a
 * common one ("1080p", "usb2.0"), and a rare unexplained code says "another model".
 */
function codeRarity(a: Prepared, b: Prepared, idf: Idf): [number, number] {
  const codeIdf = (c: string) => Math.log((idf.docs + 1) / ((idf.df.get(CODE_KEY + c) ?? 0) + 1)) + 1;
  let shared = 0;
  let unexplained = 0;
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const)
    for (const c of x.codes) {
      if (y.codes.has(c) || (c.length >= 5 && y.squashed.includes(c))) shared = Math.max(shared, codeIdf(c));
      else if (c.length >= 5) unexplained = Math.max(unexplained, codeIdf(c));
    }
  return [shared, unexplained];
}

/** The blocking keys an offer is stored under: its model-number candidates (title and MPN), at most 20. */
export function offerBlockKeys(title: string, mpn: string | null): string[] {
  const keys = [...modelCodes(`${title} ${mpn ?? ''}`)];
  const m = mpn ? squash(mpn.toLowerCase()) : '';
  if (m.length >= 3 && !keys.includes(m)) keys.unshift(m);
  return keys.slice(0, 20);
}
