/**
 * Offline runs of the models over files (the `loupe predict` commands and the bench): no database, same
 * kernels as the service.
 */
import { fitBgNbd, fitGammaGamma, fitParetoNbd } from '../../ml/clv.ts';
import type { ClvSummaryFile } from './predictions.files.ts';

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
