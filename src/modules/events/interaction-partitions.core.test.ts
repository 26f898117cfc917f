import { describe, expect, it } from 'vitest';
import {
  MAX_SPLITS_PER_RUN,
  MONTHS_AHEAD,
  monthOfPartition,
  monthStart,
  partitionName,
  planPartitions,
  retentionHorizon,
} from './interaction-partitions.core.ts';

const d = (s: string) => new Date(s);

describe('interaction partitions plan', () => {
  it('names months in UTC and reads the names back', () => {
    expect(partitionName(monthStart(d('2026-12-31T23:59:59.999Z')))).toBe('interactions_y2026m12');
    expect(partitionName(monthStart(d('2026-12-31T23:00:00Z'), 1))).toBe('interactions_y2027m01');
    expect(monthOfPartition('interactions_y2027m01')).toEqual(d('2027-01-01T00:00:00Z'));
    expect(monthOfPartition('interactions_default')).toBeNull();
    expect(monthOfPartition('interactions_y2027m13')).toBeNull();
  });

  it('creates this month and the next ones ahead, and the months found in the default partition, once', () => {
    const now = d('2026-12-06T12:00:00Z');
    const p = planPartitions(now, ['interactions_default', 'interactions_y2026m12'], [d('2019-03-01T00:00:00Z')], 0);
    expect(p.create.map(partitionName)).toEqual(['interactions_y2019m03', 'interactions_y2027m01', 'interactions_y2027m02']);
    expect(p.drop).toEqual([]);
    expect(p.horizon).toBeNull();
    expect(MONTHS_AHEAD).toBe(2);
    const all = ['interactions_y2019m03', 'interactions_y2026m12', 'interactions_y2027m01', 'interactions_y2027m02'];
    expect(planPartitions(now, all, [], 0).create).toEqual([]);
  });

  it('drops only months wholly before the horizon and never splits a month it would drop', () => {
    const now = d('2026-12-06T12:00:00Z');
    expect(retentionHorizon(now, 0)).toBeNull();
    expect(retentionHorizon(now, 12)).toEqual(d('2025-12-01T00:00:00Z'));
    const p = planPartitions(
      now,
      ['interactions_default', 'interactions_y2025m11', 'interactions_y2025m12', 'interactions_y2026m12'],
      [d('2020-01-01T00:00:00Z'), d('2026-01-01T00:00:00Z')],
      12,
    );
    expect(p.drop).toEqual(['interactions_y2025m11']);
    expect(p.create.map(partitionName)).toEqual(['interactions_y2026m01', 'interactions_y2027m01', 'interactions_y2027m02']);
  });

  it('splits at most MAX_SPLITS_PER_RUN months of the default partition per run, oldest first', () => {
    const months = Array.from({ length: 40 }, (_, i) => monthStart(d('2010-01-01T00:00:00Z'), 39 - i));
    const p = planPartitions(d('2026-12-06T00:00:00Z'), [], months, 0);
    const splits = p.create.filter((m) => m.getTime() < d('2026-12-01T00:00:00Z').getTime());
    expect(splits).toHaveLength(MAX_SPLITS_PER_RUN);
    expect(partitionName(splits[0]!)).toBe('interactions_y2010m01');
  });
});
