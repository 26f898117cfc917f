/**
 * Pure column planning for imports: which source column (or constant) feeds which Loupe field, header
 * aliases, and CSV delimiter sniffing.
 */
import { createHash } from 'node:crypto';
export type ImportKind = 'items' | 'interactions';

export const ITEM_FIELDS = [
  'item_id',
  'name',
  'description',
  'category',
  'brand',
  'tags',
  'price',
  'sale_price',
  'currency',
  'image_url',
  'url',
  'availability',
  'stock',
  'gtin',
  'mpn',
] as const;
export const INTERACTION_FIELDS = [
  'user_id',
  'anonymous_id',
  'email',
  'phone',
  'loyalty_id',
  'item_id',
  'type',
  'timestamp',
  'value',
  'quantity',
  'price',
  'currency',
  'order_id',
  'session_id',
  'event_id',
  'recommendation_id',
] as const;
export type LoupeField = (typeof ITEM_FIELDS)[number] | (typeof INTERACTION_FIELDS)[number];

/** Header aliases in normalized form (lower case, letters and digits only), first match wins. */
const ALIASES: Record<ImportKind, Record<string, readonly string[]>> = {
  items: {
    item_id: ['itemid', 'sku', 'id', 'stockcode', 'productid', 'product', 'variantid'],
    name: ['name', 'title', 'productname', 'itemname'],
    description: ['description', 'body', 'bodyhtml', 'longdescription', 'details'],
    category: ['category', 'categorypath', 'producttype', 'categories'],
    brand: ['brand', 'vendor', 'manufacturer'],
    tags: ['tags', 'keywords', 'labels'],
    price: ['price', 'unitprice', 'amount', 'listprice', 'regularprice'],
    sale_price: ['saleprice', 'specialprice', 'discountprice'],
    currency: ['currency', 'currencycode'],
    image_url: ['imageurl', 'image', 'imagelink', 'img'],
    url: ['url', 'link', 'producturl'],
    availability: ['availability', 'status', 'instock'],
    stock: ['stock', 'quantity', 'inventory', 'qty', 'inventoryquantity'],
    gtin: ['gtin', 'ean', 'upc', 'barcode', 'isbn'],
    mpn: ['mpn'],
  },
  interactions: {
    user_id: ['userid', 'customerid', 'user', 'customer', 'clientid'],
    anonymous_id: ['anonymousid', 'visitorid', 'deviceid'],
    email: ['email', 'emailaddress', 'customeremail', 'mail', 'billingemail'],
    phone: ['phone', 'phonenumber', 'mobile', 'mobilephone', 'telephone', 'customerphone', 'billingphone'],
    loyalty_id: ['loyaltyid', 'loyaltynumber', 'loyaltycard', 'membernumber', 'memberid', 'cardnumber'],
    item_id: ['itemid', 'sku', 'productid', 'stockcode', 'product', 'item'],
    type: ['interactiontype', 'type', 'event', 'eventtype', 'action'],
    timestamp: ['timestamp', 'time', 'occurredat', 'date', 'datetime', 'invoicedate', 'eventtime', 'createdat'],
    value: ['rating', 'value', 'score'],
    quantity: ['quantity', 'qty'],
    price: ['price', 'unitprice', 'amount'],
    currency: ['currency', 'currencycode'],
    order_id: [
      'orderid',
      'invoiceno',
      'invoice',
      'invoiceid',
      'ordernumber',
      'order',
      'receipt',
      'receiptno',
      'receiptnumber',
      'receiptid',
      'transactionid',
      'ticketnumber',
    ],
    session_id: ['sessionid', 'session'],
    event_id: ['eventid', 'messageid'],
    recommendation_id: ['recommendationid'],
  },
};

/**
 * A file layout's fingerprint: its column names, normalized, in order. Two exports of the same system share it,
 * so the mapping chosen for one applies to the next.
 */
export const headerKeyOf = (headers: readonly string[]): string =>
  createHash('sha256')
    .update(headers.map((h) => normalizeHeader(h)).join('\u0001'))
    .digest('base64url')
    .slice(0, 22);

export const normalizeHeader = (h: string): string =>
  h
    .replace(/^\uFEFF/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');

/** Where each Loupe field's value comes from: a source column, or a constant. */
export type FieldSource = { column: string } | { constant: string };
export interface ColumnPlan {
  fields: Partial<Record<LoupeField, FieldSource>>;
  /** Source columns a field uses (or the mapping ignores); every other column is kept as item attributes / interaction metadata. */
  used: ReadonlySet<string>;
}

/**
 * What happens to an interactions row that names no customer: `reject` it (the default), or keep it as an
 * `anonymous` shopper, one per order (`order:<order_id>`) or else per session (`session:<session_id>`), so
 * that a store's guest checkouts still count for co-purchases, popularity and revenue.
 */
export type AnonymousRows = 'reject' | 'anonymous';

/** Mapping target that keeps a column as an attribute (metadata) instead of letting an alias claim it. */
export const KEEP_AS_ATTRIBUTE = 'attribute';

/** Prefix of a mapping key that gives a constant instead of a column: `{"const:purchase": "type"}`. */
export const CONST_PREFIX = 'const:';

/**
 * Resolves which column feeds which field. An explicit mapping (source column → Loupe field, matched
 * case-insensitively) wins (`ignore` drops a column, `attribute` keeps it as an attribute); remaining fields are matched by alias. For items, 'Description' feeds `name`
 * when the file has no name/title column (Online Retail), and `description` otherwise.
 */
export function planColumns(
  kind: ImportKind,
  headers: readonly string[],
  mapping: Record<string, string> = {},
  opts: { anonymousRows?: AnonymousRows | undefined } = {},
): { plan: ColumnPlan; problems: string[] } {
  const fields: Partial<Record<LoupeField, FieldSource>> = {};
  const problems: string[] = [];
  const allowed = new Set<string>(kind === 'items' ? ITEM_FIELDS : INTERACTION_FIELDS);
  const used = new Set<string>();
  // Columns the mapping keeps as attributes: no alias may claim them, but they stay in the row's attributes.
  const kept = new Set<string>();
  const byNorm = new Map<string, string>();
  for (const h of headers) if (!byNorm.has(normalizeHeader(h))) byNorm.set(normalizeHeader(h), h);
  for (const [src, target] of Object.entries(mapping)) {
    const field = target.trim().toLowerCase();
    if (field === 'ignore' || field === '') {
      const col = byNorm.get(normalizeHeader(src));
      if (col) used.add(col);
      continue;
    }
    if (field === KEEP_AS_ATTRIBUTE) {
      const col = byNorm.get(normalizeHeader(src));
      if (col) kept.add(col);
      continue;
    }
    if (!allowed.has(field)) {
      problems.push(`mapping target "${target}" is not a ${kind} field (one of ${[...allowed].join(', ')})`);
      continue;
    }
    if (src.startsWith(CONST_PREFIX)) {
      fields[field as LoupeField] = { constant: src.slice(CONST_PREFIX.length) };
      continue;
    }
    const col = byNorm.get(normalizeHeader(src));
    if (!col) {
      problems.push(`mapping source column "${src}" is not in the file (columns: ${headers.join(', ')})`);
      continue;
    }
    fields[field as LoupeField] = { column: col };
    used.add(col);
  }
  const aliases = ALIASES[kind];
  const free = (a: string) => byNorm.has(a) && !used.has(byNorm.get(a)!) && !kept.has(byNorm.get(a)!);
  const hasNameColumn = kind === 'items' && (fields.name || aliases.name!.some(free));
  for (const [field, names] of Object.entries(aliases)) {
    if (fields[field as LoupeField]) continue;
    const candidates = [normalizeHeader(field), ...names];
    if (kind === 'items' && field === 'name' && !hasNameColumn) candidates.push('description');
    for (const n of candidates) {
      const col = byNorm.get(n);
      if (col && !used.has(col) && !kept.has(col)) {
        if (kind === 'items' && field === 'description' && !hasNameColumn && n === 'description') continue;
        fields[field as LoupeField] = { column: col };
        used.add(col);
        break;
      }
    }
  }
  const required: LoupeField[] = kind === 'items' ? ['item_id'] : ['item_id', 'timestamp'];
  for (const f of required) {
    if (!fields[f])
      problems.push(
        `no column maps to ${f} (columns found: ${headers.join(', ') || 'none'}); give a mapping such as {"YourColumn": "${f}"}`,
      );
  }
  const groupsAnonymous = opts.anonymousRows === 'anonymous' && (fields.order_id || fields.session_id);
  if (
    kind === 'interactions' &&
    !groupsAnonymous &&
    !fields.user_id &&
    !fields.anonymous_id &&
    !fields.email &&
    !fields.phone &&
    !fields.loyalty_id
  ) {
    problems.push(
      `no column names the customer: map one to user_id, anonymous_id, email, phone or loyalty_id (columns found: ${headers.join(', ') || 'none'})`,
    );
  }
  return { plan: { fields, used }, problems };
}

/**
 * Guesses the CSV delimiter from the first lines: the candidate that splits the header into the most
 * columns and gives the same count on the following lines (quotes respected).
 */
export function sniffDelimiter(sample: string): string {
  const lines = splitLinesOutsideQuotes(sample)
    .slice(0, 6)
    .filter((l) => l.trim() !== '');
  // The last line of a sample may be cut short.
  if (lines.length > 2) lines.pop();
  let best = ',';
  let bestScore = -1;
  for (const d of [',', ';', '\t', '|']) {
    const counts = lines.map((l) => countOutsideQuotes(l, d));
    const first = counts[0] ?? 0;
    if (first === 0) continue;
    const consistent = counts.filter((c) => c === first).length;
    const score = consistent * 1000 + first;
    if (score > bestScore) {
      bestScore = score;
      best = d;
    }
  }
  return best;
}

function splitLinesOutsideQuotes(s: string): string[] {
  const out: string[] = [];
  let inQ = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '"') inQ = !inQ;
    else if (c === '\n' && !inQ) {
      out.push(s.slice(start, i).replace(/\r$/, ''));
      start = i + 1;
    }
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

function countOutsideQuotes(line: string, d: string): number {
  let n = 0;
  let inQ = false;
  for (const c of line) {
    if (c === '"') inQ = !inQ;
    else if (c === d && !inQ) n++;
  }
  return n;
}

/** What happens to one column of a file: the field it feeds, or kept as an attribute, or dropped. */
export interface ResolvedColumn {
  column: string;
  field: LoupeField | null;
  /** `mapping`: the caller's mapping chose it; `default`: the server's alias rules; `attribute` / `ignored`: no field. */
  source: 'mapping' | 'default' | 'attribute' | 'ignored';
}

/**
 * The mapping an import of this header would apply, column by column (the same planColumns the pipeline
 * runs), with the constants and the problems that would refuse the file.
 */
export function resolveMapping(
  kind: ImportKind,
  headers: readonly string[],
  mapping: Record<string, string> = {},
  opts: { anonymousRows?: AnonymousRows | undefined } = {},
): { columns: ResolvedColumn[]; constants: { field: LoupeField; value: string }[]; problems: string[] } {
  const { plan, problems } = planColumns(kind, headers, mapping, opts);
  const explicit = new Map<string, string>();
  for (const [src, target] of Object.entries(mapping)) {
    if (!src.startsWith(CONST_PREFIX)) explicit.set(normalizeHeader(src), target.trim().toLowerCase());
  }
  const byColumn = new Map<string, LoupeField>();
  const constants: { field: LoupeField; value: string }[] = [];
  for (const [field, source] of Object.entries(plan.fields) as [LoupeField, FieldSource][]) {
    if ('column' in source) byColumn.set(source.column, field);
    else constants.push({ field, value: source.constant });
  }
  const columns = headers.map((column): ResolvedColumn => {
    const field = byColumn.get(column) ?? null;
    const asked = explicit.get(normalizeHeader(column));
    if (field) return { column, field, source: asked === field ? 'mapping' : 'default' };
    return { column, field: null, source: plan.used.has(column) ? 'ignored' : 'attribute' };
  });
  return { columns, constants, problems };
}

/** The fields a kind of import can fill. */
export const fieldsOf = (kind: ImportKind): readonly LoupeField[] => (kind === 'items' ? ITEM_FIELDS : INTERACTION_FIELDS);

/**
 * Problems of a mapping saved for later (no file at hand, so only its targets are checked): every target must be a
 * field of the kind, `attribute` or `ignore`; a constant (`const:<value>`) must feed a field. Empty when it is sound.
 */
export function savedMappingProblems(kind: ImportKind, mapping: Record<string, string>): string[] {
  const allowed = new Set<string>(kind === 'items' ? ITEM_FIELDS : INTERACTION_FIELDS);
  const problems: string[] = [];
  for (const [src, target] of Object.entries(mapping)) {
    const field = target.trim().toLowerCase();
    const keepOrDrop = field === KEEP_AS_ATTRIBUTE || field === 'ignore';
    if (src.startsWith(CONST_PREFIX) ? !allowed.has(field) : !allowed.has(field) && !keepOrDrop)
      problems.push(
        `"${src}" → "${target}": not a ${kind} field (one of ${[...allowed].join(', ')}${src.startsWith(CONST_PREFIX) ? '' : ', attribute, ignore'})`,
      );
  }
  return problems;
}
