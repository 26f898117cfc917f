import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, decodeCursor, encodeCursor, MART_NAMES, MART_SPECS, rfmScore, rfmSegment, toCsv } from './marts.core.ts';
import { EXPECTATIONS, evaluate } from './quality.core.ts';

describe('marts core', () => {
  it('scores ranks into 1-5 evenly, ties sharing the lower rank', () => {
    expect([1, 2, 3, 4, 5].map((r) => rfmScore(r, 5))).toEqual([1, 2, 3, 4, 5]);
    expect(rfmScore(1, 1)).toBe(1);
    const n = 1000;
    const counts = [0, 0, 0, 0, 0, 0];
    for (let r = 1; r <= n; r++) counts[rfmScore(r, n)]!++;
    expect(counts.slice(1)).toEqual([200, 200, 200, 200, 200]);
    for (let r = 1; r <= n; r++) expect(rfmScore(r, n)).toBeGreaterThanOrEqual(rfmScore(Math.max(1, r - 1), n));
  });

  it('segments by the first matching rule', () => {
    expect(rfmSegment(5, 5, 9)).toBe('champions');
    expect(rfmSegment(2, 4, 6)).toBe('loyal');
    expect(rfmSegment(5, 1, 1)).toBe('new');
    expect(rfmSegment(4, 2, 2)).toBe('promising');
    expect(rfmSegment(2, 3, 3)).toBe('at_risk');
    expect(rfmSegment(1, 1, 1)).toBe('lost');
    expect(rfmSegment(3, 3, 3)).toBe('needs_attention');
  });

  it('round-trips cursors and refuses foreign ones', () => {
    expect(decodeCursor(encodeCursor(['2026-01', 3]), 2)).toEqual(['2026-01', 3]);
    expect(decodeCursor(encodeCursor(['a']), 2)).toBeNull();
    expect(decodeCursor('%%%', 1)).toBeNull();
    expect(decodeCursor(encodeCursor([{ a: 1 }]), 1)).toBeNull();
    expect(decodeCursor(encodeCursor([2 ** 60]), 1)).toBeNull();
    expect(decodeCursor(encodeCursor(['x'.repeat(201)]), 1)).toBeNull();
    expect(decodeCursor(Buffer.from('['.repeat(10_000)).toString('base64url'), 1)).toBeNull();
  });

  it('writes RFC 4180 CSV and defuses formulas but not negative numbers', () => {
    expect(csvField('=1+1')).toBe("'=1+1");
    expect(csvField('-12')).toBe('-12');
    expect(csvField('-x')).toBe("'-x");
    expect(csvField('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvField(null)).toBe('');
    expect(csvField(['a', 'b'])).toBe('a|b');
    expect(csvField(new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05.000Z');
    const csv = toCsv(MART_SPECS.cohort_analysis, [{ cohort_month: '2026-01', period_index: 0, retention_rate: 1 }]);
    expect(csv.split('\r\n')[0]).toBe(MART_SPECS.cohort_analysis.columns.map((c) => c.name).join(','));
    expect(csv.split('\r\n')[1]).toBe('2026-01,0,,,,,,1');
  });

  it('documents every column of every mart and every expectation in docs/WAREHOUSE.md', () => {
    const doc = fs.readFileSync(path.join(import.meta.dirname, '../../../docs/WAREHOUSE.md'), 'utf8');
    for (const name of MART_NAMES) {
      expect(doc).toContain(`### \`${name}\``);
      for (const c of MART_SPECS[name].columns) expect(doc).toContain(`| \`${c.name}\` | ${c.type} |`);
    }
    for (const x of EXPECTATIONS) expect(doc).toContain(`| \`${x.name}\` |`);
  });
});

describe('quality core', () => {
  const x = EXPECTATIONS.find((e) => e.kind === 'unique')!;
  const fresh = EXPECTATIONS.find((e) => e.kind === 'freshness')!;
  it('passes at the threshold, fails above it, skips what was not measured', () => {
    expect(evaluate(x, { observed: 0, examples: [] }).status).toBe('pass');
    const bad = evaluate(x, { observed: 2, examples: ['a', 'b', 'c', 'd', 'e', 'f'] });
    expect(bad.status).toBe('fail');
    expect(bad.examples).toHaveLength(5);
    expect(bad.message).toMatch(/^FAILED: 2 offending rows/);
    expect(evaluate(fresh, { observed: 24, examples: [] }).status).toBe('pass');
    expect(evaluate(fresh, { observed: 24.01, examples: [] }).status).toBe('fail');
    expect(evaluate(fresh, { observed: null, examples: [], skipReason: 'none' })).toMatchObject({ status: 'skipped', observed: null });
  });
  it('names every expectation <table>.<column>.<kind> uniquely', () => {
    const names = EXPECTATIONS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const e of EXPECTATIONS) expect(e.name).toBe(`${e.table}.${e.name.split('.')[1]}.${e.kind}`);
  });
});
