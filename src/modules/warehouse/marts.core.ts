/**
 * The marts' contract (pure): each mart's table, key and documented columns, the RFM rules and the CSV writer.
 * The SQL that fills the marts is in `marts.repository.ts`; the column docs here are what /docs, the dashboard and
 * `GET /api/v1/warehouse/marts` show. No I/O.
 */

export const MART_NAMES = ['fact_orders', 'dim_products', 'dim_customers', 'rfm_analysis', 'cohort_analysis'] as const;
export type MartName = (typeof MART_NAMES)[number];

export type MartColumnType = 'string' | 'integer' | 'number' | 'money' | 'boolean' | 'timestamp' | 'string[]';

export interface MartColumn {
  name: string;
  type: MartColumnType;
  doc: string;
}

export interface MartSpec {
  /** The warehouse table holding the mart's rows. */
  table: string;
  description: string;
  /** The columns of the keyset order (the cursor), unique per tenant. */
  key: readonly string[];
  columns: readonly MartColumn[];
}

const c = (name: string, type: MartColumnType, doc: string): MartColumn => ({ name, type, doc });

/**
 * Orders are identity's unified orders (`profile_orders`: every channel's order counted once, linked to the
 * surviving profile of merges); money is in minor units of the order's currency, as a string in JSON (exact).
 */
export const MART_SPECS: Record<MartName, MartSpec> = {
  fact_orders: {
    table: 'warehouse_fact_orders',
    description: 'One row per unified order (every channel counted once), with its place in the customer’s order history.',
    key: ['order_id'],
    columns: [
      c('order_id', 'string', 'order id as the channel gave it'),
      c('profile_id', 'string', 'the unified profile that placed it'),
      c('occurred_at', 'timestamp', 'when it was placed (UTC)'),
      c('order_date', 'string', 'UTC date of occurred_at, YYYY-MM-DD'),
      c('currency', 'string', 'ISO 4217 code of the money columns'),
      c('revenue_minor', 'money', 'order revenue, minor units'),
      c('refunded_minor', 'money', 'refunded so far, minor units'),
      c('net_minor', 'money', 'revenue_minor - refunded_minor'),
      c('order_number', 'integer', "1 for the profile's first order, 2 for its second, ... (by occurred_at, then order_id)"),
      c('is_first_order', 'boolean', 'order_number = 1'),
      c('days_since_previous_order', 'number', "days since the profile's previous order; null for the first"),
    ],
  },
  dim_products: {
    table: 'warehouse_dim_products',
    description: 'One row per catalog item, active or not.',
    key: ['product_id'],
    columns: [
      c('product_id', 'string', "Loupe's item id"),
      c('item_id', 'string', "the store's item id (what events cite)"),
      c('name', 'string', 'name'),
      c('brand', 'string', 'brand'),
      c('category_path', 'string', 'category as the source gave it'),
      c('price_minor', 'money', 'list price, minor units'),
      c('sale_price_minor', 'money', 'sale price, minor units'),
      c('currency', 'string', 'ISO 4217 code of the prices'),
      c('availability', 'string', 'in_stock | out_of_stock | preorder | discontinued'),
      c('is_active', 'boolean', 'false once removed from the catalog'),
      c('created_at', 'timestamp', 'first seen'),
      c('updated_at', 'timestamp', 'last changed'),
    ],
  },
  dim_customers: {
    table: 'warehouse_dim_customers',
    description: 'One row per unified profile (any status), with its order aggregates from fact_orders.',
    key: ['profile_id'],
    columns: [
      c('profile_id', 'string', 'profile id'),
      c('status', 'string', 'active | merged | erased'),
      c('merged_into', 'string', 'the profile a merged one now lives in'),
      c('first_seen_at', 'timestamp', 'first event'),
      c('last_seen_at', 'timestamp', 'last event'),
      c('event_count', 'integer', 'events linked'),
      c('channels', 'string[]', 'channels seen'),
      c('orders', 'integer', 'orders in fact_orders'),
      c('net_revenue_minor', 'money', 'sum of net_minor over those orders'),
      c('first_order_at', 'timestamp', 'first order (null: never ordered)'),
      c('last_order_at', 'timestamp', 'last order'),
      c('cohort_month', 'string', 'UTC month of the first order, YYYY-MM'),
    ],
  },
  rfm_analysis: {
    table: 'warehouse_rfm_analysis',
    description:
      'RFM scores of every profile with an order, as of the refresh. Each score is 1 + floor(5 (rank - 1) / n) over the n customers, rank by SQL rank() (ties share the lower rank): R ranks recency descending (the most recent score 5), F frequency and M monetary ascending.',
    key: ['profile_id'],
    columns: [
      c('profile_id', 'string', 'profile id'),
      c('as_of', 'timestamp', 'the instant recency is measured from (the refresh)'),
      c('recency_days', 'number', 'days from the last order to as_of'),
      c('frequency', 'integer', 'orders'),
      c('monetary_minor', 'money', 'net revenue, minor units (summed across currencies as stored)'),
      c('r_score', 'integer', '1-5, 5 = most recent'),
      c('f_score', 'integer', '1-5, 5 = most orders'),
      c('m_score', 'integer', '1-5, 5 = most revenue'),
      c('rfm_score', 'string', 'the three scores, e.g. "545"'),
      c(
        'segment',
        'string',
        'champions (R>=4, F>=4) | loyal (F>=4) | new (R>=4, one order) | promising (R>=4) | at_risk (R<=2, F>=3) | lost (R=1) | needs_attention',
      ),
    ],
  },
  cohort_analysis: {
    table: 'warehouse_cohort_analysis',
    description:
      'Customers grouped by the UTC month of their first order; per month since (period 0 = the first month) up to the refresh month, how many ordered again and what they spent.',
    key: ['cohort_month', 'period_index'],
    columns: [
      c('cohort_month', 'string', 'UTC month of the first order, YYYY-MM'),
      c('period_index', 'integer', 'months since cohort_month (0 = the same month)'),
      c('period_month', 'string', 'the period as YYYY-MM'),
      c('cohort_size', 'integer', 'customers whose first order fell in cohort_month'),
      c('active_customers', 'integer', 'of them, those with an order in period_month'),
      c('orders', 'integer', 'their orders in period_month'),
      c('net_revenue_minor', 'money', 'their net revenue in period_month, minor units'),
      c('retention_rate', 'number', 'active_customers / cohort_size'),
    ],
  },
};

/** The RFM score of a rank among n (1-based rank, ties share the lower rank): 1 + floor(5 (rank - 1) / n). */
export function rfmScore(rank: number, n: number): number {
  return 1 + Math.floor((5 * (rank - 1)) / n);
}

/** The RFM segment of three scores (first rule that matches; see MART_SPECS.rfm_analysis). */
export function rfmSegment(r: number, f: number, frequency: number): string {
  if (r >= 4 && f >= 4) return 'champions';
  if (f >= 4) return 'loyal';
  if (r >= 4 && frequency === 1) return 'new';
  if (r >= 4) return 'promising';
  if (r <= 2 && f >= 3) return 'at_risk';
  if (r === 1) return 'lost';
  return 'needs_attention';
}

/** A cursor over a mart's key columns (opaque to clients: base64url JSON of the last row's key values). */
export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** The key values of a cursor, or null when it is not one of ours (wrong arity, not strings or numbers). */
export function decodeCursor(cursor: string, arity: number): Array<string | number> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== arity) return null;
    if (!v.every((x) => (typeof x === 'string' && x.length <= 200) || (typeof x === 'number' && Number.isSafeInteger(x)))) return null;
    return v as Array<string | number>;
  } catch {
    return null;
  }
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a text starting with = + - @ or a tab
 * is prefixed with ' so a spreadsheet does not run it as a formula (money and numbers are written bare).
 */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return csvField(v.join('|'));
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** CSV lines (with a header) of mart rows in the spec's column order, CRLF-terminated. */
export function toCsv(spec: MartSpec, rows: ReadonlyArray<Record<string, unknown>>, header = true): string {
  const lines = header ? [spec.columns.map((col) => col.name).join(',')] : [];
  for (const row of rows) lines.push(spec.columns.map((col) => csvField(row[col.name])).join(','));
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}
