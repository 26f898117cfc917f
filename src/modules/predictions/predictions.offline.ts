/**
 * Offline runs of the models over files (the `loupe predict` commands and the bench): no database, same
 * kernels as the service.
 */
import { fitBgNbd, fitGammaGamma, fitParetoNbd } from '../../ml/clv.ts';
import { calibrate } from '../../ml/calibration.ts';
import { predictGbt } from '../../ml/gbt.ts';
import { type ChurnModel, churnDataset, evaluateChurn, gatherInputs } from './churn.core.ts';
import { CHURN_INPUT_COUNT, churnInputs, type CustomerOrders } from './features.core.ts';
import type { ClvSummaryFile, TransactionsFile } from './predictions.files.ts';

const round = (v: number, d = 6): number => Number(v.toFixed(d));

/** Fits BG/NBD, Pareto/NBD and (with spend) Gamma-Gamma; snake_case JSON-ready output. */
export function fitClvSummary(s: ClvSummaryFile, opts: { pareto: boolean }) {
  const bg = fitBgNbd(s);
  const out: Record<string, unknown> = {
    customers: s.ids.length,
    bg_nbd: {
      r: round(bg.params.r),
      alpha: round(bg.params.alpha),
      a: round(bg.params.a),
      b: round(bg.params.b),
      log_likelihood: round(bg.logLikelihood, 4),
      converged: bg.converged,
    },
  };
  if (opts.pareto) {
    const pn = fitParetoNbd(s);
    out.pareto_nbd = {
      r: round(pn.params.r),
      alpha: round(pn.params.alpha),
      s: round(pn.params.s),
      beta: round(pn.params.beta),
      log_likelihood: round(pn.logLikelihood, 4),
      converged: pn.converged,
    };
  }
  if (s.monetary) {
    let repeat = 0;
    for (let i = 0; i < s.frequency.length; i++) if (s.frequency[i]! > 0 && s.monetary[i]! > 0) repeat++;
    if (repeat > 0) {
      const gg = fitGammaGamma(s.frequency, s.monetary);
      out.gamma_gamma = {
        p: round(gg.params.p),
        q: round(gg.params.q),
        v: round(gg.params.v),
        log_likelihood: round(gg.logLikelihood, 4),
        repeat_customers: repeat,
        converged: gg.converged,
      };
    }
  }
  return out;
}

/** Groups transaction lines into orders per customer: lines of one customer at the same instant are one order. */
export function ordersByCustomer(t: TransactionsFile): Map<string, CustomerOrders> {
  const order = Array.from({ length: t.customerIds.length }, (_, i) => i).sort((a, b) => {
    const ca = t.customerIds[a]!;
    const cb = t.customerIds[b]!;
    return ca < cb ? -1 : ca > cb ? 1 : t.day[a]! - t.day[b]!;
  });
  const out = new Map<string, CustomerOrders>();
  let k = 0;
  while (k < order.length) {
    const id = t.customerIds[order[k]!]!;
    const days: number[] = [];
    const amounts: number[] = [];
    while (k < order.length && t.customerIds[order[k]!] === id) {
      const d = t.day[order[k]!]!;
      let pos = 0;
      let neg = 0;
      while (k < order.length && t.customerIds[order[k]!] === id && t.day[order[k]!] === d) {
        const a = t.amount[order[k]!]!;
        if (a >= 0) pos += a;
        else neg += a;
        k++;
      }
      if (pos > 0) {
        days.push(d);
        amounts.push(pos);
      }
      if (neg < 0) {
        days.push(d);
        amounts.push(neg);
      }
    }
    out.set(id, { day: Float64Array.from(days), amount: Float64Array.from(amounts) });
  }
  return out;
}

/** `loupe predict churn`: trains on a hash split at `cutoff` and reports test metrics beside the baselines. */
export function churnFromTransactions(t: TransactionsFile, cutoffDay: number, windowDays: number) {
  return trainChurn(ordersByCustomer(t), cutoffDay, windowDays).report;
}

/**
 * Calibrated churn probabilities of every customer at `cutoff` (features, trees, calibration).
 * O(customers * (orders + trees * depth)).
 */
export function scoreChurn(model: ChurnModel, customers: ReadonlyMap<string, CustomerOrders>, cutoff: number): Float64Array {
  const rows: Float64Array[] = [];
  for (const o of customers.values()) {
    const f = new Float64Array(CHURN_INPUT_COUNT);
    churnInputs(o, cutoff, f);
    rows.push(f);
  }
  const p = predictGbt(model.gbt, gatherInputs(rows, model.inputs));
  for (let i = 0; i < p.length; i++) p[i] = calibrate(model.calibrator, p[i]!);
  return p;
}

/** Trains the churn model on customers' orders; the report is JSON-ready (snake_case). */
export function trainChurn(
  customers: ReadonlyMap<string, CustomerOrders>,
  cutoffDay: number,
  windowDays: number,
  opts: { splitSalt?: string } = {},
) {
  const ds = churnDataset(customers, cutoffDay, windowDays);
  if (ds.ids.length < 50)
    throw new RangeError(`not enough data: ${ds.ids.length} customers bought before the cutoff (at least 50 are needed)`);
  const e = evaluateChurn(ds, windowDays, opts);
  const r4 = (v: number) => round(v, 4);
  const report = {
    customers: e.customers,
    churn_rate: r4(e.churnRate),
    test: {
      roc_auc: r4(e.test.rocAucUncalibrated),
      roc_auc_calibrated: r4(e.test.rocAuc),
      brier: r4(e.test.brier),
      brier_uncalibrated: r4(e.test.brierUncalibrated),
      accuracy: r4(e.test.accuracy),
      precision: r4(e.test.precision),
      recall: r4(e.test.recall),
      f1: r4(e.test.f1),
    },
    baselines: {
      recency_auc: r4(e.baselines.recencyAuc),
      bg_nbd_p_alive_auc: r4(e.baselines.bgNbdPAliveAuc),
      bg_nbd_expected_purchases_auc: r4(e.baselines.bgNbdExpectedAuc),
    },
    chosen: { ...e.model.params, rounds: e.model.gbt.bestRounds, calibration: e.model.calibrator.kind },
    validation: e.validation.map((v) => ({
      max_depth: v.params.maxDepth,
      min_samples_leaf: v.params.minSamplesLeaf,
      out_of_fold_auc: r4(v.validAuc),
      rounds_per_fold: v.rounds,
    })),
    reliability: e.reliability.map((b) => ({ mean_predicted: r4(b.meanPredicted), observed: r4(b.observed), count: b.count })),
    top_features: [...e.model.gbt.gain]
      .map((g, j) => ({ feature: e.model.featureNames[j]!, gain: g }))
      .sort((a, b) => b.gain - a.gain)
      .slice(0, 8)
      .map((f) => ({ feature: f.feature, gain: r4(f.gain) })),
  };
  return { report, model: e.model };
}
