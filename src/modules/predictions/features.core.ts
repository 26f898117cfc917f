/**
 * Customer features from orders, point-in-time correct: `customerFeatures(orders, cutoff)` reads only orders
 * strictly before `cutoff`, so a model trained on features at a past cutoff never sees the future it predicts.
 * Pure: days are fractional days since the epoch, amounts are in major units of one currency.
 */
import type { FeatureMatrix } from '../../ml/gbt.ts';

/** One customer's orders, sorted by day ascending. A negative amount is a refund. */
export interface CustomerOrders {
  day: Float64Array;
  amount: Float64Array;
  /** Sessions, purchased categories and identifiers, when loaded (the feature store's activity columns). */
  activity?: CustomerActivity | undefined;
}

/** The feature vector's columns, in order (also the feature store's keys). */
export const FEATURE_NAMES = [
  'recency_days',
  'tenure_days',
  'orders',
  'orders_30d',
  'orders_90d',
  'orders_180d',
  'revenue_total',
  'revenue_90d',
  'aov_mean',
  'aov_max',
  'aov_std',
  'gap_mean_days',
  'gap_std_days',
  'recency_over_gap',
  'active_months',
  'orders_per_month',
  'second_last_days',
  'refunds',
  'refund_amount',
  'orders_trend',
  'orders_year_ago_90d',
  'distinct_days',
  // cadence and trends (session 10): several windows, the customer's own inter-purchase rhythm, spend direction
  'orders_30_60d',
  'orders_180_360d',
  'revenue_90_180d',
  'revenue_trend_90d',
  'days_90d',
  'gap_last_days',
  'gap_max_days',
  'gap_cv',
  'recency_over_gap_max',
  'recency_over_gap_last',
  'aov_last_over_mean',
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

/**
 * Features of one customer at `cutoff` into `out` (length FEATURE_COUNT) and the number of purchases seen;
 * a customer with no purchase before the cutoff gets NaN features and 0. O(orders).
 */
export function customerFeatures(o: CustomerOrders, cutoff: number, out: Float64Array | number[]): number {
  let n = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  let secondLast = Number.NaN;
  let o30 = 0;
  let o90 = 0;
  let o180 = 0;
  let oPrev90 = 0;
  let rev = 0;
  let rev90 = 0;
  let maxA = 0;
  let sumSq = 0;
  let refunds = 0;
  let refundAmount = 0;
  let gapSum = 0;
  let gapSq = 0;
  let yearAgo = 0;
  let days = 0;
  let lastDay = Number.NaN;
  let o3060 = 0;
  let o180360 = 0;
  let rev90180 = 0;
  let days90 = 0;
  let gapLast = Number.NaN;
  let gapMax = 0;
  let lastAmount = 0;
  const months = new Set<number>();
  for (let k = 0; k < o.day.length; k++) {
    const d = o.day[k]!;
    if (!(d < cutoff)) break;
    const a = o.amount[k]!;
    if (a < 0) {
      refunds++;
      refundAmount -= a;
      continue;
    }
    if (a === 0) continue;
    if (n === 0) first = d;
    else {
      const g = d - last;
      gapSum += g;
      gapSq += g * g;
      gapLast = g;
      gapMax = Math.max(gapMax, g);
    }
    lastAmount = a;
    secondLast = last;
    last = d;
    n++;
    const age = cutoff - d;
    if (age >= 365 - 91 && age < 365) yearAgo++;
    if (Math.floor(d) !== lastDay) {
      days++;
      if (age <= 90) days90++;
    }
    lastDay = Math.floor(d);
    if (age > 30 && age <= 60) o3060++;
    if (age > 180 && age <= 360) o180360++;
    if (age > 90 && age <= 180) rev90180 += a;
    if (age <= 30) o30++;
    if (age <= 90) {
      o90++;
      rev90 += a;
    } else if (age <= 180) oPrev90++;
    if (age <= 180) o180++;
    rev += a;
    maxA = Math.max(maxA, a);
    sumSq += a * a;
    months.add(Math.floor(d / 30.4375));
  }
  if (n === 0) {
    for (let j = 0; j < FEATURE_COUNT; j++) out[j] = Number.NaN;
    return 0;
  }
  const recency = cutoff - last;
  const tenure = cutoff - first;
  const mean = rev / n;
  const gapMean = n > 1 ? gapSum / (n - 1) : Number.NaN;
  const values = [
    recency,
    tenure,
    n,
    o30,
    o90,
    o180,
    rev,
    rev90,
    mean,
    maxA,
    Math.sqrt(Math.max(0, sumSq / n - mean * mean)),
    gapMean,
    n > 1 ? Math.sqrt(Math.max(0, gapSq / (n - 1) - gapMean * gapMean)) : Number.NaN,
    n > 1 && gapMean > 0 ? recency / gapMean : Number.NaN,
    months.size,
    (n * 30.4375) / Math.max(30.4375, tenure),
    Number.isNaN(secondLast) ? Number.NaN : cutoff - secondLast,
    refunds,
    refundAmount,
    o90 - oPrev90,
    yearAgo,
    days,
    o3060,
    o180360,
    rev90180,
    rev90 - rev90180,
    days90,
    gapLast,
    n > 1 ? gapMax : Number.NaN,
    n > 2 && gapMean > 0 ? Math.sqrt(Math.max(0, gapSq / (n - 1) - gapMean * gapMean)) / gapMean : Number.NaN,
    n > 1 && gapMax > 0 ? recency / gapMax : Number.NaN,
    n > 1 && gapLast > 0 ? recency / gapLast : Number.NaN,
    mean > 0 ? lastAmount / mean : Number.NaN,
  ];
  for (let j = 0; j < FEATURE_COUNT; j++) out[j] = values[j]!;
  return n;
}

/**
 * A profile's activity besides its orders, for the feature store's category affinity, session counts and profile
 * strength. Days are fractional days since the epoch, as for orders; sessions and purchases are sorted by day
 * ascending, identifiers may come in any order.
 */
export interface CustomerActivity {
  /** Each session's first event: the client's session id, or a UTC day of events sent without one. */
  sessionDay: Float64Array;
  /** Events in each session (same order as sessionDay). */
  sessionEvents: Float64Array;
  /** Purchased items whose catalog category is known: day and category index (the indices mean nothing across profiles). */
  categoryDay: Float64Array;
  category: Int32Array;
  /** Identifiers attached to the profile: first seen, type index, confidence (0..1) and channel index (-1 none). */
  identifierDay: Float64Array;
  identifierType: Int32Array;
  identifierConfidence: Float64Array;
  identifierChannel: Int32Array;
}

/**
 * The feature store's columns after FEATURE_NAMES (prediction_features.values holds both, in order). The models read
 * FEATURE_NAMES only: serving scores from orders alone, and Online Retail (the churn benchmark) has no sessions,
 * categories or identifiers to choose these columns by.
 */
export const ACTIVITY_FEATURE_NAMES = [
  'sessions',
  'sessions_30d',
  'sessions_90d',
  'days_since_last_session',
  'events',
  'categories',
  'top_category_share',
  'category_entropy',
  'profile_strength',
] as const;
export const ACTIVITY_FEATURE_COUNT = ACTIVITY_FEATURE_NAMES.length;

/**
 * The churn model's candidate inputs: the order features, then the feature store's activity columns (sessions,
 * categories, profile strength). A training run keeps the columns that vary among its training customers
 * (`informativeColumns`): a tenant without sessions or catalog categories (Online Retail) trains on its order
 * features alone, and column subsampling never draws an empty column.
 */
export const CHURN_INPUT_NAMES: readonly string[] = [...FEATURE_NAMES, ...ACTIVITY_FEATURE_NAMES];
export const CHURN_INPUT_COUNT = CHURN_INPUT_NAMES.length;

/** A customer's churn inputs at `cutoff` into `out` (length CHURN_INPUT_COUNT); returns the purchases seen. */
export function churnInputs(o: CustomerOrders, cutoff: number, out: Float64Array): number {
  const n = customerFeatures(o, cutoff, out);
  activityFeatures(o.activity, n, cutoff, out.subarray(FEATURE_COUNT));
  return n;
}

/**
 * Profile strength (0..100) by identity's rule (identity.core.ts `profileStrength`; a test holds the two equal):
 * identity points = each identifier type's best confidence x 40, summed, capped at 70; activity points =
 * min(15, 5 x orders) + min(10, 2 x events) + min(5, 2.5 x (channels - 1)).
 */
export function strengthPoints(bestConfidenceByType: Iterable<number>, orders: number, events: number, channels: number): number {
  let identity = 0;
  for (const c of bestConfidenceByType) identity += c * 40;
  const activity =
    Math.min(15, 5 * Math.max(0, orders)) + Math.min(10, 2 * Math.max(0, events)) + Math.min(5, 2.5 * Math.max(0, channels - 1));
  return Math.max(0, Math.min(100, Math.round(Math.min(70, identity) + activity)));
}

/**
 * Activity features of one profile at `cutoff` into `out` (length ACTIVITY_FEATURE_COUNT), point-in-time correct:
 * only sessions, purchases and identifiers first seen strictly before the cutoff count. `orders` is the number of
 * purchases before the cutoff (customerFeatures' result). Without activity data every column is NaN.
 * O(sessions + purchases + identifiers).
 */
export function activityFeatures(a: CustomerActivity | undefined, orders: number, cutoff: number, out: Float64Array | number[]): void {
  if (!a) {
    for (let j = 0; j < ACTIVITY_FEATURE_COUNT; j++) out[j] = Number.NaN;
    return;
  }
  let sessions = 0;
  let s30 = 0;
  let s90 = 0;
  let events = 0;
  let lastSession = Number.NaN;
  for (let k = 0; k < a.sessionDay.length; k++) {
    const d = a.sessionDay[k]!;
    if (!(d < cutoff)) break;
    sessions++;
    events += a.sessionEvents[k]!;
    lastSession = d;
    if (cutoff - d <= 30) s30++;
    if (cutoff - d <= 90) s90++;
  }
  const perCategory = new Map<number, number>();
  let bought = 0;
  for (let k = 0; k < a.categoryDay.length; k++) {
    if (!(a.categoryDay[k]! < cutoff)) break;
    const c = a.category[k]!;
    perCategory.set(c, (perCategory.get(c) ?? 0) + 1);
    bought++;
  }
  let top = 0;
  let entropy = 0;
  for (const n of perCategory.values()) {
    top = Math.max(top, n);
    const p = n / bought;
    entropy -= p * Math.log(p);
  }
  const best = new Map<number, number>();
  const channels = new Set<number>();
  for (let k = 0; k < a.identifierDay.length; k++) {
    if (!(a.identifierDay[k]! < cutoff)) continue;
    const t = a.identifierType[k]!;
    best.set(t, Math.max(best.get(t) ?? 0, a.identifierConfidence[k]!));
    if (a.identifierChannel[k]! >= 0) channels.add(a.identifierChannel[k]!);
  }
  out[0] = sessions;
  out[1] = s30;
  out[2] = s90;
  out[3] = sessions ? cutoff - lastSession : Number.NaN;
  out[4] = events;
  out[5] = perCategory.size;
  out[6] = bought ? top / bought : Number.NaN;
  out[7] = bought ? entropy : Number.NaN;
  out[8] = strengthPoints(best.values(), orders, events, channels.size);
}

/** Activity rows grouped per profile into CustomerActivity (dates as fractional days); categories and types indexed per tenant. */
export function groupActivity(rows: {
  sessions: readonly { profileId: string; startedAt: Date; events: number }[];
  purchases: readonly { profileId: string; occurredAt: Date; category: string }[];
  identifiers: readonly { profileId: string; type: string; confidence: number; channel: string | null; firstSeenAt: Date }[];
}): Map<string, CustomerActivity> {
  const day = (d: Date) => new Date(d).getTime() / 86_400_000;
  const index = new Map<string, number>();
  const indexOf = (key: string) => {
    let i = index.get(key);
    if (i === undefined) index.set(key, (i = index.size));
    return i;
  };
  const per = new Map<string, { s: [number, number][]; c: [number, number][]; i: [number, number, number, number][] }>();
  const of = (id: string) => {
    let p = per.get(id);
    if (!p) per.set(id, (p = { s: [], c: [], i: [] }));
    return p;
  };
  for (const r of rows.sessions) of(r.profileId).s.push([day(r.startedAt), r.events]);
  for (const r of rows.purchases) of(r.profileId).c.push([day(r.occurredAt), indexOf(`c:${r.category}`)]);
  for (const r of rows.identifiers)
    of(r.profileId).i.push([day(r.firstSeenAt), indexOf(`t:${r.type}`), r.confidence, r.channel === null ? -1 : indexOf(`h:${r.channel}`)]);
  const out = new Map<string, CustomerActivity>();
  for (const [id, p] of per) {
    p.s.sort((a, b) => a[0] - b[0]);
    p.c.sort((a, b) => a[0] - b[0]);
    out.set(id, {
      sessionDay: Float64Array.from(p.s, (v) => v[0]),
      sessionEvents: Float64Array.from(p.s, (v) => v[1]),
      categoryDay: Float64Array.from(p.c, (v) => v[0]),
      category: Int32Array.from(p.c, (v) => v[1]),
      identifierDay: Float64Array.from(p.i, (v) => v[0]),
      identifierType: Int32Array.from(p.i, (v) => v[1]),
      identifierConfidence: Float64Array.from(p.i, (v) => v[2]),
      identifierChannel: Int32Array.from(p.i, (v) => v[3]),
    });
  }
  return out;
}

/**
 * BG/NBD summary of one customer at `cutoff` in weeks: repeat purchase days (distinct days after the first),
 * recency and age. Orders on the same day count once, as in the CDNOW convention.
 */
export function rfmSummaryAt(o: CustomerOrders, cutoff: number): { x: number; tx: number; T: number; monetary: number } | undefined {
  let firstDay = Number.NaN;
  let lastDay = Number.NaN;
  let x = 0;
  let repeatSpend = 0;
  let daySpend = 0;
  for (let k = 0; k < o.day.length; k++) {
    const d = o.day[k]!;
    if (!(d < cutoff)) break;
    if (!(o.amount[k]! > 0)) continue;
    const day = Math.floor(d);
    if (Number.isNaN(firstDay)) firstDay = day;
    else if (day !== lastDay) {
      if (lastDay !== firstDay) repeatSpend += daySpend;
      daySpend = 0;
      x++;
    }
    if (day !== firstDay) daySpend += o.amount[k]!;
    lastDay = day;
  }
  if (Number.isNaN(firstDay)) return undefined;
  if (lastDay !== firstDay) repeatSpend += daySpend;
  const T = (cutoff - firstDay) / 7;
  return { x, tx: (lastDay - firstDay) / 7, T: Math.max(T, 1 / 7), monetary: x > 0 ? repeatSpend / x : 0 };
}

/** Stacks feature rows into a matrix (row-major). */
export function toMatrix(rows: readonly (Float64Array | number[])[], cols = FEATURE_COUNT): FeatureMatrix {
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  return { rows: rows.length, cols, data };
}

/** 32-bit FNV-1a hash of a string's UTF-16 code units: the stable customer split (train < 70 of 100). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
