import { describe, expect, it } from 'vitest';
import { type CheckedStatement, conformanceReport, isCheckable, type PartitionOf, planFacts, verdictOf } from './conformance.core.ts';

const partitions = new Map<string, PartitionOf>([
  ['items__p0', { parent: 'items', remainder: 0 }],
  ['items__p1', { parent: 'items', remainder: 1 }],
  ['categories__p0', { parent: 'categories', remainder: 0 }],
  ['categories__p1', { parent: 'categories', remainder: 1 }],
]);
const parents = new Set(['items', 'categories']);
const scan = (rel: string, extra: Record<string, unknown> = {}) => ({ 'Node Type': 'Seq Scan', 'Relation Name': rel, ...extra });
const explain = (plan: unknown) => [{ Plan: plan }];
const verdict = (plan: unknown) => verdictOf(planFacts(explain(plan), partitions, parents));

describe('planFacts / verdictOf', () => {
  it('one partition of one table: single', () => {
    expect(verdict(scan('items__p1'))).toEqual({ kind: 'single' });
  });

  it('reference and plain tables only: global (not a tenant statement)', () => {
    expect(verdict({ 'Node Type': 'Hash Join', Plans: [scan('users'), scan('google_taxonomy')] })).toEqual({ kind: 'global' });
  });

  it('every partition of a table (no tenant predicate): fan-out naming the table', () => {
    const v = verdict({ 'Node Type': 'Append', Plans: [scan('items__p0'), scan('items__p1')] });
    expect(v).toEqual({ kind: 'fan_out', detail: 'items: 2 partitions' });
  });

  it('a join of two tables kept to the same remainder (one tenant, co-located): single', () => {
    expect(verdict({ 'Node Type': 'Nested Loop', Plans: [scan('categories__p1'), scan('items__p1')] })).toEqual({ kind: 'single' });
  });

  it('one partition each but of different remainders (two tenants, or a join not on tenant_id): fan-out', () => {
    const v = verdict({ 'Node Type': 'Nested Loop', Plans: [scan('categories__p0'), scan('items__p1')] });
    expect(v.kind).toBe('fan_out');
    expect(v.kind === 'fan_out' && v.detail).toContain('different tenants');
  });

  it('a correlated sub-select reading every partition (a SubPlan under the scan): fan-out', () => {
    const v = verdict({
      ...scan('categories__p1'),
      Plans: [
        {
          'Node Type': 'Aggregate',
          'Parent Relationship': 'SubPlan',
          Plans: [{ 'Node Type': 'Append', Plans: [scan('items__p0'), scan('items__p1')] }],
        },
      ],
    });
    expect(v).toEqual({ kind: 'fan_out', detail: 'categories: 1 partitions; items: 2 partitions' });
  });

  it('partitions pruned only when the executor starts count as a fan-out (Citus cannot route it)', () => {
    const v = verdict({ 'Node Type': 'Append', 'Subplans Removed': 1, Plans: [scan('items__p1')] });
    expect(v).toEqual({ kind: 'fan_out', detail: 'items: 1 partitions; 1 pruned only at execution' });
  });

  it('an INSERT into a partitioned table names the parent only: judged by what it reads', () => {
    expect(
      verdict({ 'Node Type': 'ModifyTable', Operation: 'Insert', 'Relation Name': 'items', Plans: [{ 'Node Type': 'Result' }] }),
    ).toEqual({
      kind: 'single',
    });
    const insertSelect = verdict({
      'Node Type': 'ModifyTable',
      'Relation Name': 'items',
      Plans: [{ 'Node Type': 'Append', Plans: [scan('categories__p0'), scan('categories__p1')] }],
    });
    expect(insertSelect.kind).toBe('fan_out');
  });

  it('garbage and deeply nested input does not throw', () => {
    expect(verdictOf(planFacts(null, partitions, parents))).toEqual({ kind: 'global' });
    expect(verdictOf(planFacts('x', partitions, parents))).toEqual({ kind: 'global' });
    let deep: Record<string, unknown> = scan('items__p0');
    for (let i = 0; i < 1000; i++) deep = { 'Node Type': 'Limit', Plans: [deep] };
    expect(() => planFacts(explain(deep), partitions, parents)).not.toThrow();
  });
});

describe('isCheckable', () => {
  it('DML with or without values; not session settings, DDL or several statements in one message', () => {
    expect(isCheckable('SELECT 1', undefined)).toBe(true);
    expect(isCheckable('  with x AS (SELECT 1) SELECT * FROM x', [])).toBe(true);
    expect(isCheckable('INSERT INTO items VALUES ($1)', [1])).toBe(true);
    expect(isCheckable("SET ROLE loupe_tenant; SELECT set_config('loupe.tenant_id', 'x', false)", undefined)).toBe(false);
    expect(isCheckable('BEGIN', undefined)).toBe(false);
    expect(isCheckable('CREATE TABLE x (a int)', undefined)).toBe(false);
    expect(isCheckable('SELECT 1; SELECT 2', undefined)).toBe(false);
    expect(isCheckable('SELECT 1;', undefined)).toBe(true);
  });
});

describe('conformanceReport', () => {
  const c = (text: string, kind: 'global' | 'single' | 'fan_out', tables: string[] = ['items']): CheckedStatement => ({
    text,
    tables,
    verdict: kind === 'fan_out' ? { kind, detail: 'items: 2 partitions' } : { kind },
  });

  it('counts tenant statements, groups fan-outs by text, and separates the intended ones (matched on folded whitespace)', () => {
    const r = conformanceReport(
      [
        c('SELECT 1', 'global', []),
        c('SELECT a FROM items WHERE tenant_id = $1', 'single'),
        c('SELECT a FROM items WHERE tenant_id = $1', 'single'),
        c('SELECT a FROM items', 'fan_out'),
        c('SELECT a FROM items', 'fan_out'),
        c('SELECT DISTINCT tenant_id\n     FROM items', 'fan_out'),
      ],
      [{ pattern: /^SELECT DISTINCT tenant_id FROM items$/, reason: 'sweep' }],
    );
    expect(r).toMatchObject({ checked: 6, tenant: 5, single: 2 });
    expect(r.offenders).toEqual([{ text: 'SELECT a FROM items', count: 2, tables: ['items'], detail: 'items: 2 partitions' }]);
    expect(r.intended.map((g) => g.intended)).toEqual(['sweep']);
    expect(r.singleShare).toBeCloseTo(2 / 4);
  });

  it('nothing to judge: share 1, no offenders', () => {
    expect(conformanceReport([c('SELECT 1', 'global', [])], [])).toMatchObject({ tenant: 0, singleShare: 1, offenders: [] });
  });
});
