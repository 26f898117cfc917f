/**
 * The compute of a training run (pure, no I/O; runs in the training worker thread): trains every model, scores
 * every customer with the new models (and the previous ones for kinds that could not be retrained), and keeps
 * each new model's drift reference. Also the "now" side of drift: scores and columns of the population today.
 */
import { type DriftColumns, driftReference, type DriftReference } from './drift.core.ts';
import { FEATURE_NAMES, type CustomerOrders } from './features.core.ts';
import type { ModelKind } from './predictions.repository.ts';
import {
  type ChurnParams,
  type ClvParams,
  type CustomerScore,
  type LtvParams,
  prepareChurn,
  prepareLtv,
  scoreCustomer,
  type SegmentParams,
  type ServingModels,
} from './scoring.core.ts';
import { trainModels, type TrainedModels } from './training.core.ts';

/** A stored model version as serving needs it. */
export interface StoredModel {
  id: string;
  kind: ModelKind;
  version: string;
  params: unknown;
}

export interface TrainRunInput {
  /** Orders per profile id, day-sorted. */
  customers: Map<string, CustomerOrders>;
  /** Fractional days since the epoch. */
  now: number;
  churnWindowDays: number;
  ltvHorizonDays: number;
  discountRatePerWeek: number;
  /** The active versions before this run (serve the kinds this run cannot retrain). */
  previous: StoredModel[];
}

/** One customer's scores as the run stores them. */
export interface RunScore {
  profileId: string;
  score: CustomerScore;
}

export interface TrainRunOutput {
  trained: TrainedModels;
  scores: RunScore[];
  /** The drift reference of each newly trained kind. */
  drift: Partial<Record<ModelKind, DriftReference>>;
}

/** The columns each model kind is watched on: its inputs and its output. */
export const DRIFT_COLUMNS: Record<ModelKind, readonly string[]> = {
  churn: [...FEATURE_NAMES, 'churn_probability'],
  ltv: [...FEATURE_NAMES, 'expected_value'],
  clv: ['recency_days', 'tenure_days', 'distinct_days', 'revenue_total', 'p_alive', 'expected_purchases'],
  segments: ['recency_days', 'orders', 'revenue_total', 'segment'],
};

/** Serving models from stored versions (GBT parts deserialized once). */
export function servingFrom(versions: readonly StoredModel[]): ServingModels {
  const models: ServingModels = {};
  for (const v of versions) {
    if (v.kind === 'churn') models.churn = prepareChurn(v.id, v.version, v.params as ChurnParams);
    else if (v.kind === 'ltv') models.ltv = prepareLtv(v.id, v.version, v.params as LtvParams);
    else if (v.kind === 'clv') models.clv = { versionId: v.id, version: v.version, params: v.params as ClvParams };
    else if (v.kind === 'segments') models.segments = { versionId: v.id, version: v.version, params: v.params as SegmentParams };
  }
  return models;
}

/** Scores every customer with a purchase before `now`; `onEach` is called every 5000 customers. */
export function scoreAll(
  models: ServingModels,
  customers: ReadonlyMap<string, CustomerOrders>,
  now: number,
  onEach?: (fraction: number) => void,
): RunScore[] {
  const out: RunScore[] = [];
  let k = 0;
  for (const [profileId, orders] of customers) {
    const score = scoreCustomer(models, orders, now);
    if (++k % 5000 === 0) onEach?.(k / customers.size);
    if (score.rfm) out.push({ profileId, score });
  }
  return out;
}

/** The drift columns of a scored population: every feature, and each model's output. */
export function driftColumns(scores: readonly RunScore[]): DriftColumns {
  const cols: DriftColumns = {};
  FEATURE_NAMES.forEach((name, j) => {
    cols[name] = Float64Array.from(scores, (s) => s.score.features[j]!);
  });
  const num = (f: (s: CustomerScore) => number | null) => Float64Array.from(scores, (s) => f(s.score) ?? Number.NaN);
  cols.churn_probability = num((s) => s.churnProbability);
  cols.expected_value = num((s) => s.expectedValueMinor);
  cols.p_alive = num((s) => s.pAlive);
  cols.expected_purchases = num((s) => s.expectedPurchases);
  cols.segment = scores.map((s) => s.score.rfm?.segment ?? 'none');
  return cols;
}

/** Trains, scores everyone and measures the drift references. `onProgress` may throw to stop the run. */
export function runTraining(input: TrainRunInput, onProgress: (stage: string, fraction: number) => void): TrainRunOutput {
  const trained = trainModels(input.customers, {
    now: input.now,
    churnWindowDays: input.churnWindowDays,
    ltvHorizonDays: input.ltvHorizonDays,
    discountRatePerWeek: input.discountRatePerWeek,
    onProgress,
  });
  onProgress('scoring', 0);
  const fresh: StoredModel[] = [];
  for (const kind of ['churn', 'ltv', 'clv', 'segments'] as const) {
    const t = trained[kind];
    if (t.ok) fresh.push({ id: `new-${kind}`, kind, version: `new-${kind}`, params: t.params });
  }
  const kinds = new Set(fresh.map((f) => f.kind));
  const models = servingFrom([...input.previous.filter((p) => !kinds.has(p.kind)), ...fresh]);
  const scores = scoreAll(models, input.customers, input.now, (f) => onProgress('scoring', f));
  const cols = driftColumns(scores);
  const drift: TrainRunOutput['drift'] = {};
  for (const kind of kinds) drift[kind] = driftReference(cols, DRIFT_COLUMNS[kind], scores.length);
  return { trained, scores, drift };
}
