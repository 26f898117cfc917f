import { threadId } from 'node:worker_threads';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createParquetThread } from './parquet.thread.ts';
import { toColumns } from './warehouse.core.ts';
import { encodeParquet } from './warehouse.parquet.ts';
import type { ExportRow } from './warehouse.types.ts';

const rows: ExportRow[] = Array.from({ length: 3000 }, (_, i) => ({
  id: `id-${i}`,
  received_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  occurred_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  type: i % 2 ? 'view' : 'purchase',
  user_id: i % 7 ? `u${i % 50}` : null,
  item_id: `SKU-${i % 11}`,
  value: i % 5 ? null : i / 3,
  quantity: i % 3 ? null : i,
  price_minor: i % 2 ? null : '9007199254740993',
  context: JSON.stringify({ page: `/p/${i}`, note: 'naïve ✓ \u{1F600}' }),
  key_ts: '2026-01-01 00:00:00+00',
  key_id: `id-${i}`,
  partition_date: '2026-01-01',
}));

const thread = createParquetThread();
afterAll(() => thread.close());

describe('Parquet encoding off the event loop', () => {
  it('encodes on another thread the same bytes as inline, which an outside reader reads back', async () => {
    const columns = toColumns('events', rows);
    const inline = encodeParquet(columns, 'loupe test');
    const off = await thread.encode(columns, 'loupe test');
    expect(thread.lastThreadId()).not.toBeNull();
    expect(thread.lastThreadId()).not.toBe(threadId);
    expect(Buffer.from(off).equals(Buffer.from(inline))).toBe(true);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-parquet-thread-'));
    const file = path.join(dir, 'x.parquet');
    await fs.writeFile(file, off);
    const back = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Array<Record<string, unknown>>;
    expect(back).toHaveLength(rows.length);
    expect(back[0]).toMatchObject({ id: 'id-0', type: 'purchase', price_minor: 9007199254740993n });
    await fs.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('encodes files in parallel calls in order of their ids, and a bad column fails only its own file', async () => {
    const a = thread.encode(toColumns('events', rows.slice(0, 10)), 'a');
    const bad = thread.encode(
      [{ name: 'x', type: 'INT32', data: [{ not: 'a number' }], nullable: true, statistics: false }] as never,
      'bad',
    );
    const b = thread.encode(toColumns('events', rows.slice(10, 20)), 'b');
    await expect(bad).rejects.toThrow(/Parquet encoding failed/);
    expect((await a).length).toBeGreaterThan(100);
    expect((await b).length).toBeGreaterThan(100);
  }, 60_000);
});
