/**
 * Serving side of the predictions models (pure): the stored parameters of each model kind, their JSON form, and
 * scoring one customer's orders at `now` with them. Days are fractional days since the epoch; amounts are minor
 * units of the profile's currency.
 */
import { calibrate, type Calibrator } from '../../ml/calibration.ts';
import {
  bgNbdConditionalExpectedPurchases,
  bgNbdProbabilityAlive,
  expectedValue,
  type BgNbdParams,
  type GammaGammaParams,
} from '../../ml/clv.ts';
import { predictGbt, type GbtModel } from '../../ml/gbt.ts';
import { nearestCentroid } from '../../ml/kmeans.ts';
import {
  ACTIVITY_FEATURE_COUNT,
  activityFeatures,
  CHURN_INPUT_NAMES,
  customerFeatures,
  FEATURE_COUNT,
  FEATURE_NAMES,
  rfmSummaryAt,
  type CustomerOrders,
} from './features.core.ts';
import { segmentOf, type SegmentName } from './segments.core.ts';

/** A GBT model as JSON (typed arrays as plain arrays, NaN as null). */
export interface GbtJson {
  objective: GbtModel['objective'];
  cols: number;
  baseScore: number;
  trees: { feature: number[]; threshold: (number | null)[]; left: number[]; right: number[]; value: number[] }[];
}
export type CalibratorJson = { kind: 'platt'; a: number; b: number } | { kind: 'isotonic'; x: number[]; y: number[] };

/** Population medians of the features at training time (NaN as null), to explain a score against the typical customer. */
export type FeatureMedians = (number | null)[];

export type ChurnParams =
  | {
      type: 'gbt_calibrated';
      gbt: GbtJson;
      calibrator: CalibratorJson;
      /**
       * The columns of CHURN_INPUT_NAMES (order features, then activity) the trees read, in the trees' order. Absent
       * in versions trained before session 10: their trees read the first columns directly.
       */
      inputs?: number[];
      /** Gain per tree input (per `inputs` entry when present). */
      importance: number[];
      /** Medians of CHURN_INPUT_NAMES' columns (of FEATURE_NAMES' in older versions, a prefix of them). */
      medians: FeatureMedians;
      windowDays: number;
    }
  | { type: 'bg_nbd_p_alive'; bg: BgNbdParams; medians: FeatureMedians; windowDays: number };
export type LtvParams =
  | { type: 'gbt_regression'; gbt: GbtJson; horizonDays: number }
  | { type: 'bg_nbd_gamma_gamma'; bg: BgNbdParams; gg: GammaGammaParams; horizonDays: number; discountRatePerWeek: number }
  | { type: 'spend_rate'; horizonDays: number };
export interface ClvParams {
  bg: BgNbdParams;
  gg: GammaGammaParams | null;
}
export interface SegmentParams {
  /** Four ascending cut points each (20/40/60/80th percentiles) of recency in whole days, orders and revenue. */
  recencyCuts: number[];
  frequencyCuts: number[];
  monetaryCuts: number[];
  kmeans: { k: number; centroids: number[]; means: number[]; sds: number[] } | null;
}

export const toJsonNumbers = (a: ArrayLike<number>): (number | null)[] => Array.from(a, (v) => (Number.isFinite(v) ? v : null));
const fromJson = (a: readonly (number | null)[]): Float64Array => Float64Array.from(a, (v) => (v === null ? Number.NaN : v));

export function gbtToJson(m: GbtModel): GbtJson {
  return {
    objective: m.objective,
    cols: m.cols,
    baseScore: m.baseScore,
    trees: m.trees.map((t) => ({
      feature: Array.from(t.feature),
      threshold: toJsonNumbers(t.threshold),
      left: Array.from(t.left),
      right: Array.from(t.right),
      value: Array.from(t.value),
    })),
  };
}

export function gbtFromJson(j: GbtJson): GbtModel {
  return {
    objective: j.objective,
    cols: j.cols,
    baseScore: j.baseScore,
    trees: j.trees.map((t) => ({
      feature: Int32Array.from(t.feature),
      threshold: fromJson(t.threshold),
      left: Int32Array.from(t.left),
      right: Int32Array.from(t.right),
      value: Float64Array.from(t.value),
    })),
    trainLoss: [],
    validLoss: [],
    bestRounds: j.trees.length,
    gain: new Float64Array(j.cols),
  };
}

export const calibratorToJson = (c: Calibrator): CalibratorJson =>
  c.kind === 'platt' ? { kind: 'platt', a: c.a, b: c.b } : { kind: 'isotonic', x: Array.from(c.x), y: Array.from(c.y) };
const calibratorFromJson = (c: CalibratorJson): Calibrator =>
  c.kind === 'platt' ? c : { kind: 'isotonic', x: Float64Array.from(c.x), y: Float64Array.from(c.y) };

/** R, F or M score 1..5 of a value against four ascending cuts (recency reversed: the most recent get 5). */
export function scoreByCuts(v: number, cuts: readonly number[], reverse = false): number {
  let below = 0;
  for (const c of cuts) if (c < v) below++;
  return reverse ? 5 - below : 1 + below;
}

/** k-means input of a customer: log1p of recency days, orders and revenue, standardized with the training means and sds. */
export function clusterPoint(
  recency: number,
  orders: number,
  revenue: number,
  means: readonly number[],
  sds: readonly number[],
): Float64Array {
  const raw = [Math.log1p(Math.max(0, recency)), Math.log1p(orders), Math.log1p(Math.max(0, revenue))];
  return Float64Array.from(raw, (v, j) => (v - means[j]!) / (sds[j]! || 1));
}

/** The models a tenant serves (any may be missing until trained). */
export interface ServingModels {
  churn?: { versionId: string; version: string; params: ChurnParams; gbt?: GbtModel; calibrator?: Calibrator };
  ltv?: { versionId: string; version: string; params: LtvParams; gbt?: GbtModel };
  clv?: { versionId: string; version: string; params: ClvParams };
  segments?: { versionId: string; version: string; params: SegmentParams };
}

/** Deserializes the GBT parts once (serving keeps the result in memory per version). */
export function prepareChurn(versionId: string, version: string, params: ChurnParams): NonNullable<ServingModels['churn']> {
  return params.type === 'gbt_calibrated'
    ? { versionId, version, params, gbt: gbtFromJson(params.gbt), calibrator: calibratorFromJson(params.calibrator) }
    : { versionId, version, params };
}
export function prepareLtv(versionId: string, version: string, params: LtvParams): NonNullable<ServingModels['ltv']> {
  return params.type === 'gbt_regression' ? { versionId, version, params, gbt: gbtFromJson(params.gbt) } : { versionId, version, params };
}

export interface Reason {
  feature: string;
  value: number | null;
  typical: number | null;
  direction: 'higher' | 'lower' | 'same';
}

export interface CustomerScore {
  features: Float64Array;
  /** The feature store's activity columns (ACTIVITY_FEATURE_NAMES; NaN without activity data). Not a model input. */
  activity: Float64Array;
  orders: number;
  churnProbability: number | null;
  expectedValueMinor: number | null;
  expectedPurchases: number | null;
  pAlive: number | null;
  rfm: { r: number; f: number; m: number; segment: SegmentName } | null;
  cluster: number | null;
  reasons: Reason[];
}

/**
 * Features that explain a churn score: the model's most important inputs where this customer differs from the median.
 * `inputs` is the customer's CHURN_INPUT_NAMES row (order features, then activity).
 */
function reasonsOf(inputs: Float64Array, params: ChurnParams, max = 3): Reason[] {
  const importance =
    params.type === 'gbt_calibrated' ? params.importance : FEATURE_NAMES.map((n) => (n === 'recency_days' ? 2 : n === 'orders' ? 1 : 0));
  const columnOf = (j: number) => (params.type === 'gbt_calibrated' && params.inputs ? params.inputs[j]! : j);
  const order = importance
    .map((g, j) => ({ g, j: columnOf(j) }))
    .filter((e) => e.g > 0)
    .sort((a, b) => b.g - a.g);
  const out: Reason[] = [];
  for (const { j } of order) {
    const v = inputs[j]!;
    const m = params.medians[j] ?? null;
    if (!Number.isFinite(v) || m === null) continue;
    out.push({ feature: CHURN_INPUT_NAMES[j]!, value: v, typical: m, direction: v > m ? 'higher' : v < m ? 'lower' : 'same' });
    if (out.length >= max) break;
  }
  return out;
}

/** Scores one customer at `now`. A customer without a purchase before `now` gets features and no scores. O(orders + trees). */
export function scoreCustomer(models: ServingModels, o: CustomerOrders, now: number): CustomerScore {
  const features = new Float64Array(FEATURE_COUNT);
  const n = customerFeatures(o, now, features);
  const activity = new Float64Array(ACTIVITY_FEATURE_COUNT);
  activityFeatures(o.activity, n, now, activity);
  const empty: CustomerScore = {
    features,
    activity,
    orders: 0,
    churnProbability: null,
    expectedValueMinor: null,
    expectedPurchases: null,
    pAlive: null,
    rfm: null,
    cluster: null,
    reasons: [],
  };
  if (n === 0) return empty;
  const summary = rfmSummaryAt(o, now)!;
  const row = { rows: 1, cols: FEATURE_COUNT, data: features };
  const out: CustomerScore = { ...empty, orders: n };
  const c = models.churn;
  if (c) {
    const all = new Float64Array(FEATURE_COUNT + ACTIVITY_FEATURE_COUNT);
    all.set(features);
    all.set(activity, FEATURE_COUNT);
    if (c.params.type === 'gbt_calibrated') {
      const cols = c.params.inputs;
      const x = cols ? { rows: 1, cols: cols.length, data: Float64Array.from(cols, (j) => all[j]!) } : row;
      out.churnProbability = calibrate(c.calibrator!, predictGbt(c.gbt!, x)[0]!);
    } else out.churnProbability = 1 - bgNbdProbabilityAlive(c.params.bg, summary.x, summary.tx, summary.T);
    out.reasons = reasonsOf(all, c.params);
  }
  const clv = models.clv?.params;
  if (clv) {
    out.pAlive = bgNbdProbabilityAlive(clv.bg, summary.x, summary.tx, summary.T);
    const weeks = (models.ltv?.params.horizonDays ?? 365) / 7;
    out.expectedPurchases = bgNbdConditionalExpectedPurchases(clv.bg, weeks, summary.x, summary.tx, summary.T);
  }
  const l = models.ltv;
  if (l) {
    const p = l.params;
    let v: number;
    if (p.type === 'gbt_regression') v = predictGbt(l.gbt!, row)[0]!;
    else if (p.type === 'bg_nbd_gamma_gamma') v = expectedValue(p.bg, p.gg, summary, p.horizonDays / 7, p.discountRatePerWeek);
    else v = (features[6]! / Math.max(30, features[1]!)) * p.horizonDays; // revenue per day of tenure (at least a month)
    out.expectedValueMinor = Math.max(0, Math.round(v));
  }
  const s = models.segments?.params;
  if (s) {
    const r = scoreByCuts(Math.floor(features[0]!), s.recencyCuts, true);
    const f = scoreByCuts(features[2]!, s.frequencyCuts);
    const m = scoreByCuts(features[6]!, s.monetaryCuts);
    out.rfm = { r, f, m, segment: segmentOf(r, f) };
    if (s.kmeans) {
      const x = clusterPoint(features[0]!, features[2]!, features[6]!, s.kmeans.means, s.kmeans.sds);
      out.cluster = nearestCentroid(Float64Array.from(s.kmeans.centroids), s.kmeans.k, x, 0, 3);
    }
  }
  return out;
}
