/**
 * Training of every predictions model over a tenant's customers at `now` (pure; `now` and the seed passed in):
 * churn (calibrated gradient-boosted trees at `now - window`, falling back to BG/NBD's P(alive) when the data is
 * too small), LTV (trees against BG/NBD + Gamma-Gamma on a holdout, the one with the lower MAE shipped), CLV
 * (BG/NBD and Gamma-Gamma fitted at `now`) and segments (RFM quintile cuts and k-means chosen by silhouette).
 * Every metric is measured on customers or periods the model did not train on.
 */
import { classificationMetrics, regressionMetrics } from '../../ml/metrics.ts';
import { expectedValue, fitBgNbd, fitGammaGamma, bgNbdProbabilityAlive, type BgNbdParams, type GammaGammaParams } from '../../ml/clv.ts';
import { fitGbt, predictGbt, type GbtRoundListener } from '../../ml/gbt.ts';
import { kMeans, silhouetteScore } from '../../ml/kmeans.ts';
import { rngMulberry32 } from '../../ml/random.ts';
import { churnDataset, evaluateChurn } from './churn.core.ts';
import {
  CHURN_INPUT_COUNT,
  CHURN_INPUT_NAMES,
  churnInputs,
  FEATURE_COUNT,
  FEATURE_NAMES,
  fnv1a,
  rfmSummaryAt,
  toMatrix,
  type CustomerOrders,
} from './features.core.ts';
import {
  calibratorToJson,
  clusterPoint,
  gbtToJson,
  toJsonNumbers,
  type ChurnParams,
  type ClvParams,
  type FeatureMedians,
  type LtvParams,
  type SegmentParams,
} from './scoring.core.ts';

/** Fewest customers with a purchase for the tree models (below it, the BG/NBD and spend-rate fallbacks serve). */
export const MIN_TREE_CUSTOMERS = 50;
/** Fewest customers for BG/NBD, Gamma-Gamma and k-means. */
export const MIN_FIT_CUSTOMERS = 10;

export interface TrainOptions {
  now: number;
  churnWindowDays: number;
  ltvHorizonDays: number;
  discountRatePerWeek: number;
  seed?: number;
  /** Called between stages and every GBT round; throw from it to stop training. */
  onProgress?: (stage: string, fraction: number) => void;
}

export type Trained<P> =
  | {
      ok: true;
      params: P;
      modelType: string;
      metrics: Record<string, number | null>;
      card: Record<string, unknown>;
      windowFrom: number | null;
      cutoff: number;
    }
  | { ok: false; reason: string };

export interface TrainedModels {
  customers: number;
  churn: Trained<ChurnParams>;
  ltv: Trained<LtvParams>;
  clv: Trained<ClvParams>;
  segments: Trained<SegmentParams>;
}

const r4 = (v: number): number | null => (Number.isFinite(v) ? Number(v.toFixed(4)) : null);
const metricsOf = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, r4(v)]));

function median(values: number[]): number {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
function quantileCuts(values: number[]): number[] {
  const s = [...values].sort((a, b) => a - b);
  return [0.2, 0.4, 0.6, 0.8].map((q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
}

/** Churn inputs (order features, then activity) of every customer with a purchase before `at`. */
function featuresAt(customers: ReadonlyMap<string, CustomerOrders>, at: number) {
  const ids: string[] = [];
  const rows: Float64Array[] = [];
  for (const [id, o] of customers) {
    const f = new Float64Array(CHURN_INPUT_COUNT);
    if (churnInputs(o, at, f) === 0) continue;
    ids.push(id);
    rows.push(f);
  }
  return { ids, rows };
}

function fitClv(
  customers: ReadonlyMap<string, CustomerOrders>,
  at: number,
): { bg: BgNbdParams; gg: GammaGammaParams | null; ll: number; n: number } | null {
  const s = [...customers.values()].map((o) => rfmSummaryAt(o, at)).filter((v) => v !== undefined);
  if (s.length < MIN_FIT_CUSTOMERS || !s.some((v) => v.x > 0)) return null;
  const bg = fitBgNbd({
    frequency: Float64Array.from(s, (v) => v.x),
    recency: Float64Array.from(s, (v) => v.tx),
    T: Float64Array.from(s, (v) => v.T),
  });
  let gg: GammaGammaParams | null = null;
  const repeat = s.filter((v) => v.x > 0 && v.monetary > 0);
  if (repeat.length >= MIN_FIT_CUSTOMERS) {
    const f = fitGammaGamma(
      Float64Array.from(repeat, (v) => v.x),
      Float64Array.from(repeat, (v) => v.monetary),
    );
    // q <= 1 has no finite mean spend: no usable Gamma-Gamma
    if (f.params.q > 1) gg = f.params;
  }
  return { bg: bg.params, gg, ll: bg.logLikelihood, n: s.length };
}

function trainChurnModel(customers: ReadonlyMap<string, CustomerOrders>, o: TrainOptions, medians: FeatureMedians): Trained<ChurnParams> {
  const cutoff = o.now - o.churnWindowDays;
  const ds = churnDataset(customers, cutoff, o.churnWindowDays);
  const card = {
    label: `no purchase in the ${o.churnWindowDays} days after the cutoff`,
    features: FEATURE_NAMES,
    customers_at_cutoff: ds.ids.length,
  };
  if (ds.ids.length >= MIN_TREE_CUSTOMERS) {
    let round = 0;
    const onRound: GbtRoundListener = () => o.onProgress?.('churn', Math.min(0.99, ++round / 4000));
    try {
      const e = evaluateChurn(ds, o.churnWindowDays, { seed: o.seed ?? 7, onRound });
      const importance = Array.from(e.model.gbt.gain);
      return {
        ok: true,
        modelType: 'gbt_calibrated',
        params: {
          type: 'gbt_calibrated',
          gbt: gbtToJson(e.model.gbt),
          calibrator: calibratorToJson(e.model.calibrator),
          inputs: e.model.inputs,
          importance,
          medians,
          windowDays: o.churnWindowDays,
        },
        metrics: metricsOf({
          accuracy: e.test.accuracy,
          precision: e.test.precision,
          recall: e.test.recall,
          f1: e.test.f1,
          brier: e.test.brier,
          roc_auc: e.test.rocAuc,
          roc_auc_uncalibrated: e.test.rocAucUncalibrated,
          brier_uncalibrated: e.test.brierUncalibrated,
          recency_auc: e.baselines.recencyAuc,
          bg_nbd_p_alive_auc: e.baselines.bgNbdPAliveAuc,
          churn_rate: e.churnRate,
        }),
        card: {
          ...card,
          split: {
            ...e.customers,
            rule: 'FNV-1a hash of the profile id: 70% train (5 folds of it for settings, tree counts and calibration; then refitted on all of it), 30% test',
          },
          chosen: { ...e.model.params, rounds: e.model.gbt.bestRounds, calibration: e.model.calibrator.kind },
          reliability: e.reliability.map((b) => ({ mean_predicted: r4(b.meanPredicted), observed: r4(b.observed), count: b.count })),
          // the inputs that varied among the training customers (a store without sessions trains on orders alone)
          features: e.model.featureNames,
          top_features: importance
            .map((g, j) => ({ feature: e.model.featureNames[j]!, gain: r4(g) }))
            .sort((a, b) => (b.gain ?? 0) - (a.gain ?? 0))
            .slice(0, 8),
        },
        windowFrom: null,
        cutoff,
      };
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      Object.assign(card, { tree_model_skipped: err.message });
    }
  } else Object.assign(card, { tree_model_skipped: `${ds.ids.length} customers bought before the cutoff (${MIN_TREE_CUSTOMERS} needed)` });
  const fit = fitClv(customers, cutoff);
  if (!fit)
    return {
      ok: false,
      reason: `not enough data: ${ds.ids.length} customers bought before the cutoff, with too few repeat purchases for BG/NBD`,
    };
  const pDead = ds.summaries.map((s) => 1 - bgNbdProbabilityAlive(fit.bg, s.x, s.tx, s.T));
  let churned = 0;
  for (const l of ds.labels) churned += l;
  const metrics =
    churned > 0 && churned < ds.labels.length
      ? (({ rocAuc, ...rest }) => metricsOf({ ...rest, roc_auc: rocAuc }))(classificationMetrics(pDead, ds.labels))
      : {};
  return {
    ok: true,
    modelType: 'bg_nbd_p_alive',
    params: { type: 'bg_nbd_p_alive', bg: fit.bg, medians, windowDays: o.churnWindowDays },
    metrics,
    card: {
      ...card,
      note: 'churn probability = 1 - P(alive) under BG/NBD fitted at the cutoff; metrics in-sample (no split: too few customers)',
    },
    windowFrom: null,
    cutoff,
  };
}

function trainLtvModel(customers: ReadonlyMap<string, CustomerOrders>, o: TrainOptions): Trained<LtvParams> {
  const H = o.ltvHorizonDays;
  const cutoff = o.now - H;
  const at = featuresAt(customers, cutoff);
  const ids = at.ids;
  // LTV's trees read the order features only (serving scores LTV from them)
  const rows = at.rows.map((r) => r.subarray(0, FEATURE_COUNT));
  const card: Record<string, unknown> = {
    target: `revenue (minor units) in the ${H} days after the cutoff`,
    customers_at_cutoff: ids.length,
  };
  if (ids.length < MIN_FIT_CUSTOMERS)
    return {
      ok: true,
      modelType: 'spend_rate',
      params: { type: 'spend_rate', horizonDays: H },
      metrics: {},
      card: { ...card, note: 'too few customers to fit or test a model: expected value = revenue per day of tenure x horizon' },
      windowFrom: null,
      cutoff,
    };
  const actual = ids.map((id) => {
    const c = customers.get(id)!;
    let s = 0;
    for (let k = 0; k < c.day.length; k++) if (c.day[k]! >= cutoff && c.day[k]! < o.now && c.amount[k]! > 0) s += c.amount[k]!;
    return s;
  });
  const test: number[] = [];
  const train: number[] = [];
  ids.forEach((id, i) => (fnv1a(id) % 100 >= 70 ? test : train).push(i));
  const yTest = test.map((i) => actual[i]!);
  const candidates: { type: string; mae: number; metrics: Record<string, number>; params: LtvParams }[] = [];
  const spendRate = test.map((i) => (rows[i]![6]! / Math.max(30, rows[i]![1]!)) * H);
  if (test.length)
    candidates.push({
      type: 'spend_rate',
      mae: regressionMetrics(spendRate, yTest).mae,
      metrics: { ...regressionMetrics(spendRate, yTest) },
      params: { type: 'spend_rate', horizonDays: H },
    });
  const fitAtCutoff = fitClv(customers, cutoff);
  if (fitAtCutoff?.gg && test.length) {
    const pred = test.map((i) => expectedValue(fitAtCutoff.bg, fitAtCutoff.gg!, rfmSummaryAt(customers.get(ids[i]!)!, cutoff)!, H / 7, 0));
    const m = regressionMetrics(pred, yTest);
    const atNow = fitClv(customers, o.now);
    if (atNow?.gg)
      candidates.push({
        type: 'bg_nbd_gamma_gamma',
        mae: m.mae,
        metrics: { ...m },
        params: { type: 'bg_nbd_gamma_gamma', bg: atNow.bg, gg: atNow.gg, horizonDays: H, discountRatePerWeek: o.discountRatePerWeek },
      });
  }
  if (train.length >= MIN_TREE_CUSTOMERS && test.length) {
    const validIdx = train.filter((i) => fnv1a(`${ids[i]}:valid`) % 5 === 0);
    const fitIdx = train.filter((i) => fnv1a(`${ids[i]}:valid`) % 5 !== 0);
    let round = 0;
    const gbt = fitGbt(
      toMatrix(fitIdx.map((i) => rows[i]!)),
      Float64Array.from(fitIdx, (i) => actual[i]!),
      {
        objective: 'squared_error',
        nTrees: 500,
        learningRate: 0.05,
        maxDepth: 3,
        minSamplesLeaf: 20,
        subsample: 0.8,
        earlyStoppingRounds: 50,
        seed: o.seed ?? 7,
      },
      validIdx.length ? { x: toMatrix(validIdx.map((i) => rows[i]!)), y: Float64Array.from(validIdx, (i) => actual[i]!) } : undefined,
      () => o.onProgress?.('ltv', Math.min(0.99, ++round / 500)),
    );
    const pred = predictGbt(gbt, toMatrix(test.map((i) => rows[i]!)));
    const m = regressionMetrics(pred, yTest);
    candidates.push({
      type: 'gbt_regression',
      mae: m.mae,
      metrics: { ...m },
      params: { type: 'gbt_regression', gbt: gbtToJson(gbt), horizonDays: H },
    });
  }
  if (!candidates.length) return { ok: false, reason: 'not enough data: no holdout customers' };
  const best = candidates.reduce((a, b) => (b.mae < a.mae ? b : a));
  return {
    ok: true,
    modelType: best.type,
    params: best.params,
    metrics: metricsOf(best.metrics),
    card: {
      ...card,
      split: {
        train: train.length,
        test: test.length,
        rule: 'FNV-1a hash of the profile id: 70% train, 30% test; holdout = the horizon before the training run',
      },
      compared: candidates.map((c) => ({ model: c.type, ...metricsOf(c.metrics) })),
      shipped: `${best.type}: the lowest holdout MAE of ${candidates.length} candidate(s)`,
    },
    windowFrom: null,
    cutoff,
  };
}

function trainSegments(rows: Float64Array[], o: TrainOptions): Trained<SegmentParams> {
  if (!rows.length) return { ok: false, reason: 'no customer has a purchase yet' };
  // whole days: live scoring a few seconds after training must not push a customer past a cut it sat on
  const rec = rows.map((r) => Math.floor(r[0]!));
  const freq = rows.map((r) => r[2]!);
  const mon = rows.map((r) => r[6]!);
  const params: SegmentParams = {
    recencyCuts: quantileCuts(rec),
    frequencyCuts: quantileCuts(freq),
    monetaryCuts: quantileCuts(mon),
    kmeans: null,
  };
  const metrics: Record<string, number | null> = {};
  const card: Record<string, unknown> = {
    rfm: 'quintile cut points of recency (reversed), orders and revenue at training time; names from the R-by-F segment map',
  };
  const n = rows.length;
  if (n >= MIN_FIT_CUSTOMERS) {
    const raw = rows.map((r) => clusterPoint(r[0]!, r[2]!, r[6]!, [0, 0, 0], [1, 1, 1]));
    const means = [0, 1, 2].map((j) => raw.reduce((s, p) => s + p[j]!, 0) / n);
    const sds = [0, 1, 2].map((j) => Math.sqrt(raw.reduce((s, p) => s + (p[j]! - means[j]!) ** 2, 0) / n) || 1);
    const x = new Float64Array(n * 3);
    raw.forEach((p, i) =>
      x.set(
        p.map((v, j) => (v - means[j]!) / sds[j]!),
        i * 3,
      ),
    );
    // silhouette is O(n^2): measured on a fixed sample of at most 1500 customers
    const rng = rngMulberry32(o.seed ?? 7);
    const sampleIdx = n <= 1500 ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: 1500 }, () => Math.floor(rng() * n));
    const sx = new Float64Array(sampleIdx.length * 3);
    sampleIdx.forEach((i, s) => sx.set(x.subarray(i * 3, i * 3 + 3), s * 3));
    const tried: { k: number; silhouette: number | null; inertia: number | null }[] = [];
    let best: { k: number; sil: number; inertia: number; centroids: Float64Array } | undefined;
    for (let k = 2; k <= Math.min(6, n - 1); k++) {
      const r = kMeans(x, n, 3, k, rngMulberry32((o.seed ?? 7) + k));
      const sil = silhouetteScore(
        sx,
        sampleIdx.length,
        3,
        Int32Array.from(sampleIdx, (i) => r.labels[i]!),
        k,
      );
      tried.push({ k, silhouette: r4(sil), inertia: r4(r.inertia) });
      if (Number.isFinite(sil) && (!best || sil > best.sil)) best = { k, sil, inertia: r.inertia, centroids: r.centroids };
      o.onProgress?.('segments', (k - 1) / 5);
    }
    if (best) {
      params.kmeans = { k: best.k, centroids: Array.from(best.centroids), means, sds };
      metrics.silhouette = r4(best.sil);
      metrics.inertia = r4(best.inertia);
      metrics.clusters = best.k;
      card.kmeans = { input: 'log1p(recency days, orders, revenue), standardized', k_by_silhouette: tried };
    }
  }
  return { ok: true, modelType: params.kmeans ? 'rfm_kmeans' : 'rfm', params, metrics, card, windowFrom: null, cutoff: o.now };
}

/** Trains every model on `customers` (orders per profile, day-sorted) at `o.now`. */
export function trainModels(customers: ReadonlyMap<string, CustomerOrders>, o: TrainOptions): TrainedModels {
  const { rows } = featuresAt(customers, o.now);
  const medians: FeatureMedians = toJsonNumbers(CHURN_INPUT_NAMES.map((_, j) => median(rows.map((r) => r[j]!))));
  o.onProgress?.('segments', 0);
  const segments = trainSegments(rows, o);
  o.onProgress?.('clv', 0);
  const clvFit = fitClv(customers, o.now);
  const clv: Trained<ClvParams> = clvFit
    ? {
        ok: true,
        modelType: clvFit.gg ? 'bg_nbd_gamma_gamma' : 'bg_nbd',
        params: { bg: clvFit.bg, gg: clvFit.gg },
        metrics: { log_likelihood: r4(clvFit.ll), customers: clvFit.n },
        card: { bg_nbd: clvFit.bg, gamma_gamma: clvFit.gg, unit: 'weeks; repeat purchases on distinct days' },
        windowFrom: null,
        cutoff: o.now,
      }
    : { ok: false, reason: `not enough data: BG/NBD needs ${MIN_FIT_CUSTOMERS} customers and a repeat purchase` };
  o.onProgress?.('churn', 0);
  const churn = trainChurnModel(customers, o, medians);
  o.onProgress?.('ltv', 0);
  const ltv = trainLtvModel(customers, o);
  return { customers: rows.length, churn, ltv, clv, segments };
}
