import { describe, expect, it } from 'vitest';
import { formatCitusPlan, type GlobalTable, planCitus, type SchemaTable } from './citus-plan.core.ts';

const table = (name: string, over: Partial<SchemaTable> = {}): SchemaTable => ({
  name,
  columns: ['id', 'tenant_id'],
  primaryKey: ['tenant_id', 'id'],
  uniques: [],
  foreignKeys: [],
  ...over,
});

describe('planCitus', () => {
  const schema: SchemaTable[] = [
    table('tenants', { columns: ['id', 'name'], primaryKey: ['id'] }),
    table('plans', { columns: ['id', 'name'], primaryKey: ['id'] }),
    table('items', {
      uniques: [{ name: 'items_sku', columns: ['tenant_id', 'sku'] }],
      foreignKeys: [{ name: 'items_tenant', columns: ['tenant_id'], refTable: 'tenants', refColumns: ['id'] }],
    }),
    table('orders', {
      primaryKey: ['id'],
      uniques: [{ name: 'orders_number', columns: ['number'] }],
      foreignKeys: [
        { name: 'orders_item', columns: ['item_id'], refTable: 'items', refColumns: ['id'] },
        { name: 'orders_plan', columns: ['plan_id'], refTable: 'plans', refColumns: ['id'] },
      ],
    }),
  ];

  it('reference tables first, then the global ones, then the anchor (items) and the tenant tables co-located with it', () => {
    expect(planCitus(schema).statements).toEqual([
      "SELECT create_reference_table('plans');",
      "SELECT create_reference_table('tenants');",
      "SELECT create_distributed_table('items', 'tenant_id');",
      "SELECT create_distributed_table('orders', 'tenant_id', colocate_with => 'items');",
    ]);
  });

  it('a global lookup table keeps its global key: reference or local as declared, never distributed, never reported', () => {
    const globals = new Map<string, GlobalTable>([
      ['claims', { kind: 'reference', why: 'found by domain' }],
      ['logins', { kind: 'local', why: 'written per sign-in' }],
    ]);
    const claims = table('claims', { columns: ['domain', 'tenant_id'], primaryKey: ['domain'] });
    const logins = table('logins', { columns: ['state', 'tenant_id'], primaryKey: ['state'] });
    const plan = planCitus([claims, logins, table('orders')], globals);
    expect(plan.statements).toEqual([
      "SELECT create_reference_table('claims');",
      "SELECT citus_add_local_table_to_metadata('logins');",
      "SELECT create_distributed_table('orders', 'tenant_id');",
    ]);
    expect(plan.problems).toEqual([]);
    // without the decision, both keys are what Citus refuses
    expect(planCitus([claims, logins], new Map()).problems.map((x) => `${x.table} ${x.kind}`)).toEqual([
      'claims primary_key',
      'logins primary_key',
    ]);
  });

  it('a local or reference table may not point at a distributed one, nor a reference table at a local one', () => {
    const globals = new Map<string, GlobalTable>([
      ['logins', { kind: 'local', why: '' }],
      ['claims', { kind: 'reference', why: '' }],
    ]);
    const p = planCitus(
      [
        table('orders'),
        table('logins', {
          foreignKeys: [{ name: 'l_o', columns: ['tenant_id', 'id'], refTable: 'orders', refColumns: ['tenant_id', 'id'] }],
        }),
        table('claims', { foreignKeys: [{ name: 'c_l', columns: ['id'], refTable: 'logins', refColumns: ['id'] }] }),
      ],
      globals,
    ).problems.map((x) => `${x.table} ${x.kind}`);
    expect(p).toEqual(['claims reference_to_local', 'logins reference_to_distributed']);
  });

  it('reports keys without tenant_id: primary key, unique, foreign key between distributed tables; not FKs to reference tables', () => {
    const p = planCitus(schema).problems.map((x) => `${x.table} ${x.kind} ${x.constraint}`);
    expect(p).toEqual(['orders primary_key primary key', 'orders unique orders_number', 'orders foreign_key orders_item']);
  });

  it('a foreign key must pair tenant_id with tenant_id, not with another column', () => {
    const bad = table('lines', {
      foreignKeys: [{ name: 'lines_order', columns: ['tenant_id', 'order_id'], refTable: 'orders', refColumns: ['id', 'tenant_id'] }],
    });
    const p = planCitus([table('orders'), bad]).problems;
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ table: 'lines', kind: 'foreign_key' });
  });

  it('a reference table pointing at a distributed one, and a table without a primary key, are reported', () => {
    const p = planCitus([
      table('stores', { columns: ['id', 'tenant_id'], primaryKey: ['tenant_id', 'id'] }),
      table('settings', {
        columns: ['key', 'owner'],
        primaryKey: ['key'],
        foreignKeys: [{ name: 's_t', columns: ['owner'], refTable: 'stores', refColumns: ['id'] }],
      }),
      table('log', { primaryKey: null }),
    ]).problems.map((x) => `${x.table} ${x.kind}`);
    expect(p).toEqual(['log primary_key', 'settings reference_to_distributed']);
  });

  it('quotes hostile table names in statements', () => {
    const s = planCitus([table("x'; DROP TABLE tenants; --", { columns: ['id'], primaryKey: ['id'] })]).statements;
    expect(s).toEqual(["SELECT create_reference_table('x''; DROP TABLE tenants; --');"]);
  });

  it('an empty schema gives an empty plan', () => {
    expect(planCitus([])).toEqual({ tables: [], statements: [], problems: [] });
  });

  it('formats the header, one statement per table, then the refused keys unless told not to', () => {
    const plan = planCitus(schema);
    const text = formatCitusPlan(plan, { problems: true });
    expect(text.split('\n').slice(0, 6)).toEqual([
      '-- Loupe on Citus: 4 tables, 2 distributed by tenant, 2 reference, 0 local.',
      '-- Run on the coordinator after the migrations, before loading data (docs/citus.md).',
      ...plan.statements,
    ]);
    expect(text).toContain('-- 3 keys Citus refuses until tenant_id is added to them:');
    expect(text).toContain('--   orders: primary_key primary key: (id) lacks tenant_id');
    expect(formatCitusPlan(plan, { problems: false })).not.toContain('refuses');
  });
});
