import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyze } from './analyze.core.ts';
import { analyzeBody, toAnalyzeInput, toAnalyzeResponse } from './analyze.schemas.ts';
import { bhAdjust, holmAdjust, srmPValue } from './stats.corrections.core.ts';
import { minimumDetectableEffect, power, sampleSizePerArm } from './stats.power.core.ts';

// Reference values: fixtures/reference-cases.json, written by fixtures/make_reference.py with Debian's scipy
// and statsmodels (the script says how each number is obtained: statsmodels' Welch intervals on the raw
// arrays, scipy t/normal/chi-square, truncnorm for risk, multipletests for Holm and BH).
interface Reference {
  analyze: {
    name: string;
    input: unknown;
    expected: { metrics: { name: string; srm_p_value: number; variants: Record<string, number | string | null>[] }[] };
  }[];
  corrections: { p: number[]; holm: number[]; bh: number[] }[];
  srm: { units: number[]; weights: number[]; p: number }[];
  power: {
    mean: number;
    variance: number;
    lift: number;
    alpha: number;
    n: number;
    power: number;
    mde_80: number;
    sample_size_80: number;
  }[];
}
const ref = JSON.parse(readFileSync(new URL('./fixtures/reference-cases.json', import.meta.url), 'utf8')) as Reference;
const TOL = 1e-6;

describe('analyze agrees with the scipy/statsmodels reference cases to 1e-6', () => {
  for (const c of ref.analyze) {
    it(c.name, () => {
      const out = toAnalyzeResponse(analyze(toAnalyzeInput(analyzeBody.parse(c.input))));
      expect(out.metrics).toHaveLength(c.expected.metrics.length);
      c.expected.metrics.forEach((em, mi) => {
        const m = out.metrics[mi]!;
        expect(m.name).toBe(em.name);
        expect(Math.abs(m.srm_p_value - em.srm_p_value)).toBeLessThan(TOL);
        expect(m.variants).toHaveLength(em.variants.length);
        em.variants.forEach((ev, vi) => {
          const v = m.variants[vi] as unknown as Record<string, number | string | null>;
          for (const [key, want] of Object.entries(ev)) {
            const got = v[key];
            if (want === null || typeof want === 'string') {
              expect(got, `${em.name}/${ev.name}/${key}`).toBe(want);
              continue;
            }
            expect(typeof got, `${em.name}/${ev.name}/${key}`).toBe('number');
            // Relative tolerance for large magnitudes (revenue means), absolute 1e-6 otherwise.
            expect(Math.abs((got as number) - want), `${em.name}/${ev.name}/${key}: ${got} vs ${want}`).toBeLessThan(
              TOL * Math.max(1, Math.abs(want)),
            );
          }
        });
      });
    });
  }
});

describe('corrections and SRM against statsmodels / scipy', () => {
  it('Holm and Benjamini-Hochberg adjusted p-values', () => {
    for (const c of ref.corrections) {
      holmAdjust(c.p).forEach((v, i) => expect(Math.abs(v - c.holm[i]!)).toBeLessThan(1e-12));
      bhAdjust(c.p).forEach((v, i) => expect(Math.abs(v - c.bh[i]!)).toBeLessThan(1e-12));
    }
  });
  it('chi-square SRM p-values', () => {
    for (const c of ref.srm) expect(Math.abs(srmPValue(c.units, c.weights) - c.p)).toBeLessThan(TOL);
  });
  it('SRM ignores zero-weight variants and answers 1 with nobody in', () => {
    expect(srmPValue([0, 0], [1, 1])).toBe(1);
    // A variant of weight 0 adds nothing to the statistic (gbstats check_srm): x = 2·3.5²/503.5, 2 dof → exp(−x/2).
    expect(srmPValue([500, 500, 7], [1, 1, 0])).toBeCloseTo(Math.exp(-(2 * 3.5 ** 2) / 503.5 / 2), 12);
    // 5,000 against 5,400 on a 50/50 split: chi-square 16.0, p ≈ 6.3e-5, below the 0.001 alarm.
    expect(srmPValue([5000, 5400], [0.5, 0.5])).toBeLessThan(0.001);
  });
});

describe('power and minimum detectable effect against scipy', () => {
  for (const c of ref.power) {
    it(`mean ${c.mean}, lift ${c.lift}, n ${c.n}`, () => {
      const base = { mean: c.mean, variance: c.variance, alpha: c.alpha };
      expect(Math.abs(power({ ...base, lift: c.lift }, c.n) - c.power)).toBeLessThan(TOL);
      expect(Math.abs(minimumDetectableEffect(base, c.n, 0.8) - c.mde_80)).toBeLessThan(1e-8);
      expect(sampleSizePerArm({ ...base, lift: c.lift }, 0.8)).toBe(c.sample_size_80);
    });
  }
});
