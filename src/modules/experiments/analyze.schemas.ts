/**
 * The analyze contract (`POST /api/v1/experiments/analyze`, `loupe experiments analyze FILE.json`): summary
 * statistics in, effects and their inference out. Public JSON is snake_case; these functions convert.
 */
import { z } from 'zod';
import type { AnalyzeInput, AnalyzeOutput, MetricResult, VariantResult } from './analyze.core.ts';

/** At most this many variants per metric and metrics per request (a bigger experiment is a mistake). */
export const MAX_ANALYZE_VARIANTS = 100;
export const MAX_ANALYZE_METRICS = 100;

const amount = z.number().finite().min(-1e15).max(1e15);
const name = z.string().trim().min(1).max(100);

const variantSummary = z
  .object({
    name,
    n: z.number().int().min(0).max(1e12),
    sum: amount,
    sum_squares: z.number().finite().min(0).max(1e30).optional(),
    expected_weight: z.number().finite().positive().max(1e6).optional(),
    denominator_sum: amount.optional(),
    denominator_sum_squares: z.number().finite().min(0).max(1e30).optional(),
    sum_product: z.number().finite().min(-1e30).max(1e30).optional(),
    pre_sum: amount.optional(),
    pre_sum_squares: z.number().finite().min(0).max(1e30).optional(),
    pre_sum_product: z.number().finite().min(-1e30).max(1e30).optional(),
  })
  .strict();

const metric = z
  .object({
    name,
    type: z.enum(['binomial', 'mean', 'ratio']),
    variants: z.array(variantSummary).min(2, 'needs a control and at least one variant').max(MAX_ANALYZE_VARIANTS),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.variants.forEach((v, i) => {
      if (seen.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: `duplicate variant name "${v.name}"` });
      seen.add(v.name);
      if (m.type !== 'binomial' && v.sum_squares === undefined)
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'sum_squares'], message: `is required for ${m.type} metrics` });
      if (m.type === 'binomial' && (v.sum < 0 || v.sum > v.n))
        ctx.addIssue({ code: 'custom', path: ['variants', i, 'sum'], message: 'must be between 0 and n for a binomial metric' });
      if (m.type === 'ratio')
        for (const f of ['denominator_sum', 'denominator_sum_squares', 'sum_product'] as const)
          if (v[f] === undefined) ctx.addIssue({ code: 'custom', path: ['variants', i, f], message: 'is required for ratio metrics' });
    });
  });

export const analyzeBody = z
  .object({
    engine: z.enum(['frequentist', 'bayesian']).default('frequentist'),
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    correction: z.enum(['none', 'holm', 'bh']).default('none'),
    sequential: z.boolean().default(false),
    sequential_tuning: z.number().int().min(1).max(1e9).optional(),
    prior: z
      .object({
        mean: z.number().finite().min(-100).max(100),
        variance: z.number().finite().positive().max(1e6),
        proper: z.boolean().default(true),
      })
      .strict()
      .optional(),
    minimum_sample_size: z.number().int().min(0).max(1e12).optional(),
    metrics: z.array(metric).min(1).max(MAX_ANALYZE_METRICS),
  })
  .strict()
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.metrics.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `duplicate metric name "${m.name}"` });
      seen.add(m.name);
    });
  });

export type AnalyzeBody = z.infer<typeof analyzeBody>;

const num = z.number().nullable();
const variantResult = z.object({
  name: z.string(),
  n: z.number(),
  mean: z.number(),
  absolute_effect: z.number(),
  relative_effect: num,
  ci_low: num,
  ci_high: num,
  absolute_ci_low: num,
  absolute_ci_high: num,
  p_value: num,
  adjusted_p_value: num,
  chance_to_win: num,
  risk: num,
  risk_control: num,
  error: z.string().nullable(),
  below_minimum_sample: z.boolean(),
  cuped: z.boolean(),
});

export const metricResult = z.object({
  name: z.string(),
  type: z.enum(['binomial', 'mean', 'ratio']),
  control: z.object({ name: z.string(), n: z.number(), mean: z.number(), below_minimum_sample: z.boolean() }),
  variants: z.array(variantResult),
  srm_p_value: z.number(),
  srm_warning: z.boolean(),
});

export const analyzeResponse = z.object({
  engine: z.enum(['frequentist', 'bayesian']),
  confidence: z.number(),
  correction: z.enum(['none', 'holm', 'bh']),
  sequential: z.boolean(),
  metrics: z.array(metricResult),
});

export type AnalyzeResponse = z.infer<typeof analyzeResponse>;

/** The validated body in the core's terms. */
export function toAnalyzeInput(b: AnalyzeBody): AnalyzeInput {
  return {
    engine: b.engine,
    confidence: b.confidence,
    correction: b.correction,
    sequential: b.sequential,
    sequentialTuning: b.sequential_tuning,
    prior: b.prior,
    minimumSampleSize: b.minimum_sample_size,
    metrics: b.metrics.map((m) => ({
      name: m.name,
      type: m.type,
      variants: m.variants.map((v) => ({
        name: v.name,
        n: v.n,
        sum: v.sum,
        sumSquares: v.sum_squares ?? v.sum,
        expectedWeight: v.expected_weight,
        denominatorSum: v.denominator_sum,
        denominatorSumSquares: v.denominator_sum_squares,
        sumProduct: v.sum_product,
        preSum: v.pre_sum,
        preSumSquares: v.pre_sum_squares,
        preSumProduct: v.pre_sum_product,
      })),
    })),
  };
}

function variantJson(v: VariantResult): z.infer<typeof variantResult> {
  return {
    name: v.name,
    n: v.n,
    mean: v.mean,
    absolute_effect: v.absoluteEffect,
    relative_effect: v.relativeEffect,
    ci_low: v.ciLow,
    ci_high: v.ciHigh,
    absolute_ci_low: v.absoluteCiLow,
    absolute_ci_high: v.absoluteCiHigh,
    p_value: v.pValue,
    adjusted_p_value: v.adjustedPValue,
    chance_to_win: v.chanceToWin,
    risk: v.risk,
    risk_control: v.riskControl,
    error: v.error,
    below_minimum_sample: v.belowMinimumSample,
    cuped: v.cuped,
  };
}

export function metricJson(m: MetricResult): z.infer<typeof metricResult> {
  return {
    name: m.name,
    type: m.type,
    control: { name: m.control.name, n: m.control.n, mean: m.control.mean, below_minimum_sample: m.control.belowMinimumSample },
    variants: m.variants.map(variantJson),
    srm_p_value: m.srmPValue,
    srm_warning: m.srmWarning,
  };
}

/** The core's output as public JSON. */
export function toAnalyzeResponse(out: AnalyzeOutput): AnalyzeResponse {
  return {
    engine: out.engine,
    confidence: out.confidence,
    correction: out.correction,
    sequential: out.sequential,
    metrics: out.metrics.map(metricJson),
  };
}
