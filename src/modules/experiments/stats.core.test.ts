import { describe, expect, it } from 'vitest';
import { analyze, type AnalyzeInput } from './analyze.core.ts';
import { bayesianTest, effectMoments, sequentialTest, welchDof, welchTest } from './stats.effects.core.ts';
import { unitStatistic } from './stats.metrics.core.ts';

const input = (metrics: AnalyzeInput['metrics'], extra: Partial<AnalyzeInput> = {}): AnalyzeInput => ({
  engine: 'frequentist',
  confidence: 0.95,
  correction: 'none',
  sequential: false,
  metrics,
  ...extra,
});

describe('bad and degenerate inputs give values, not exceptions', () => {
  it('a metric with zero variance: no p-value, error ZERO_VARIANCE', () => {
    const out = analyze(
      input([
        {
          name: 'm',
          type: 'mean',
          variants: [
            { name: 'control', n: 100, sum: 500, sumSquares: 2500 },
            { name: 'b', n: 100, sum: 500, sumSquares: 2500 },
          ],
        },
      ]),
    );
    const v = out.metrics[0]!.variants[0]!;
    expect(v.error).toBe('ZERO_VARIANCE');
    expect(v.pValue).toBeNull();
    expect(v.absoluteEffect).toBe(0);
  });
  it('a variant with no users: NO_UNITS, mean 0, nothing divided by zero', () => {
    const out = analyze(
      input([
        {
          name: 'm',
          type: 'binomial',
          variants: [
            { name: 'control', n: 100, sum: 10, sumSquares: 10 },
            { name: 'b', n: 0, sum: 0, sumSquares: 0 },
          ],
        },
      ]),
    );
    const v = out.metrics[0]!.variants[0]!;
    expect(v.error).toBe('NO_UNITS');
    expect(v.mean).toBe(0);
    expect(Number.isFinite(v.absoluteEffect)).toBe(true);
  });
  it('a ratio whose denominator is zero: BASELINE_ZERO for control, a finite answer', () => {
    const zeroDen = { n: 50, sum: 0, sumSquares: 0, denominatorSum: 0, denominatorSumSquares: 0, sumProduct: 0 };
    const out = analyze(
      input([
        {
          name: 'rpo',
          type: 'ratio',
          variants: [
            { name: 'control', ...zeroDen },
            { name: 'b', n: 50, sum: 400, sumSquares: 9000, denominatorSum: 20, denominatorSumSquares: 30, sumProduct: 600 },
          ],
        },
      ]),
    );
    const v = out.metrics[0]!.variants[0]!;
    expect(v.error).toBe('BASELINE_ZERO');
    expect(v.relativeEffect).toBeNull();
    expect(out.metrics[0]!.control.mean).toBe(0);
  });
  it('n below the minimum is flagged but still computed', () => {
    const out = analyze(
      input(
        [
          {
            name: 'c',
            type: 'binomial',
            variants: [
              { name: 'control', n: 40, sum: 4, sumSquares: 4 },
              { name: 'b', n: 45, sum: 9, sumSquares: 9 },
            ],
          },
        ],
        {
          minimumSampleSize: 100,
        },
      ),
    );
    expect(out.metrics[0]!.control.belowMinimumSample).toBe(true);
    expect(out.metrics[0]!.variants[0]!.belowMinimumSample).toBe(true);
    expect(out.metrics[0]!.variants[0]!.pValue).not.toBeNull();
  });
});

describe('invariants', () => {
  const a = unitStatistic('binomial', { n: 5000, sum: 500, sumSquares: 500 });
  const b = unitStatistic('binomial', { n: 5000, sum: 560, sumSquares: 560 });
  const rel = effectMoments(a, b, true);
  if (rel.error !== null) throw new Error('unexpected');

  it('hand-computed binomial moments: p_a = 0.1, p_b = 0.112', () => {
    // relative lift 0.12; var = (0.112·0.888/5000)/0.01 + (0.09/5000)·0.012544/0.0001 = 0.00198912 + 0.00225792
    expect(rel.estimate).toBeCloseTo(0.12, 12);
    expect(rel.standardError ** 2).toBeCloseTo(0.00198912 + 0.00225792, 12);
  });
  it('Welch dof lies between min(n)-1 and n_a + n_b - 2', () => {
    const dof = welchDof(a, b);
    expect(dof).toBeGreaterThan(4999);
    expect(dof).toBeLessThanOrEqual(9998);
  });
  it('a confidence sequence is wider than the fixed-horizon interval at the same alpha', () => {
    const fixed = welchTest(rel, welchDof(a, b), 0.05);
    const seq = sequentialTest(rel, 10000, 0.05);
    expect(seq.ci.high - seq.ci.low).toBeGreaterThan(fixed.ci.high - fixed.ci.low);
    expect(seq.pValue).toBeGreaterThanOrEqual(fixed.pValue);
  });
  it('a proper prior shrinks the lift toward its mean; chance to win and risks are consistent', () => {
    const flat = bayesianTest(rel, 0.05);
    const tight = bayesianTest(rel, 0.05, { mean: 0, variance: 0.0001, proper: true });
    expect(Math.abs(tight.mean)).toBeLessThan(Math.abs(flat.mean));
    expect(flat.chanceToWin).toBeGreaterThan(0.5);
    // E[max(0,X)] − E[max(0,−X)] = E[X]
    expect(flat.riskControl - flat.riskVariant).toBeCloseTo(flat.mean, 12);
    expect(flat.riskVariant).toBeGreaterThanOrEqual(0);
  });
});
