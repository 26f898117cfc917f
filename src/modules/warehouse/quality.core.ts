/**
 * Data-quality expectations (Great Expectations' kinds, pure): what each check asserts about which table, and how a
 * measured figure becomes pass or fail. The measuring SQL is in `quality.repository.ts`, keyed by check name.
 * No I/O.
 */

export const QUALITY_KINDS = ['not_null', 'unique', 'accepted_values', 'range', 'freshness', 'referential_integrity'] as const;
export type QualityKind = (typeof QUALITY_KINDS)[number];
export type QualityStatus = 'pass' | 'fail' | 'skipped';
export const QUALITY_TRIGGERS = ['import', 'schedule', 'manual'] as const;
export type QualityTrigger = (typeof QUALITY_TRIGGERS)[number];

export interface Expectation {
  /** Stable name: `<table>.<column>.<kind>`. */
  name: string;
  table: 'events' | 'fact_orders' | 'dim_products' | 'dim_customers';
  kind: QualityKind;
  description: string;
  /**
   * For counts of offending rows: the largest count that passes (0). For freshness: the most hours since the newest
   * row that passes.
   */
  threshold: number;
}

const e = (name: string, kind: QualityKind, description: string, threshold = 0): Expectation => ({
  name,
  table: name.split('.')[0] as Expectation['table'],
  kind,
  description,
  threshold,
});

/** How far back the event checks look (days of received events). */
export const EVENT_WINDOW_DAYS = 7;
/** Distinct ids of the window's events checked against the dimensions, at most (the rest: a note, not a failure). */
export const MAX_REFERENCE_IDS = 100_000;

export const EXPECTATIONS: readonly Expectation[] = [
  e('events.received_at.freshness', 'freshness', 'The newest event was received at most 24 hours ago.', 24),
  e('events.person.not_null', 'not_null', 'Every event of the window names a person (user_id, anonymous_id or profile).'),
  e('events.occurred_at.range', 'range', 'No event of the window occurred more than 5 minutes in the future.'),
  e('events.price_minor.range', 'range', 'No event of the window carries a negative price.'),
  e(
    'events.item_id.referential_integrity',
    'referential_integrity',
    'Every item the window’s events cite is in the catalog (dim_products).',
  ),
  e('events.profile_id.referential_integrity', 'referential_integrity', 'Every profile the window’s events cite exists (dim_customers).'),
  e('fact_orders.order_id.unique', 'unique', 'Each order appears once.'),
  e('fact_orders.currency.not_null', 'not_null', 'Every order has a currency.'),
  e('fact_orders.currency.accepted_values', 'accepted_values', 'Currencies are ISO 4217 codes (three capital letters).'),
  e('fact_orders.revenue_minor.range', 'range', 'Revenue and refunds are not negative and refunds do not exceed revenue.'),
  e('fact_orders.occurred_at.range', 'range', 'No order is dated more than 5 minutes after the refresh.'),
  e('fact_orders.profile_id.referential_integrity', 'referential_integrity', 'Every order’s profile is in dim_customers.'),
  e('dim_products.item_id.unique', 'unique', 'Store item ids are unique.'),
  e('dim_products.name.not_null', 'not_null', 'Every active item has a non-blank name.'),
  e('dim_products.price_minor.range', 'range', 'Prices are not negative and a sale price does not exceed the list price.'),
  e('dim_products.availability.accepted_values', 'accepted_values', 'Availability is in_stock, out_of_stock, preorder or discontinued.'),
  e('dim_customers.status.accepted_values', 'accepted_values', 'Profile status is active, merged or erased.'),
  e('dim_customers.merged_into.referential_integrity', 'referential_integrity', 'A merged profile points at an existing profile.'),
];

/** What the measuring step found for one expectation: offending rows (or hours, for freshness), examples. */
export interface Measurement {
  observed: number | null;
  examples: string[];
  /** A measurement that cannot be made (no events yet): the check is skipped with this reason. */
  skipReason?: string;
  note?: string;
}

export interface QualityResult {
  name: string;
  table: Expectation['table'];
  kind: QualityKind;
  status: QualityStatus;
  observed: number | null;
  threshold: number;
  examples: string[];
  message: string;
}

/** Pass when the observed figure is at most the threshold; skipped when it could not be measured. */
export function evaluate(x: Expectation, m: Measurement): QualityResult {
  const base = { name: x.name, table: x.table, kind: x.kind, threshold: x.threshold, examples: m.examples.slice(0, 5) };
  if (m.skipReason !== undefined || m.observed === null) {
    return { ...base, status: 'skipped', observed: null, message: m.skipReason ?? 'not measured' };
  }
  const pass = m.observed <= x.threshold;
  const figure =
    x.kind === 'freshness'
      ? `${m.observed.toFixed(1)} hours since the newest row`
      : `${m.observed} offending row${m.observed === 1 ? '' : 's'}`;
  const message = `${pass ? 'ok' : 'FAILED'}: ${figure} (allowed ${x.threshold}). ${x.description}${m.note ? ` ${m.note}` : ''}`;
  return { ...base, status: pass ? 'pass' : 'fail', observed: m.observed, message };
}
