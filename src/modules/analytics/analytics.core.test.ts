import { describe, expect, it } from 'vitest';
import {
  bucketLabel,
  bucketLabels,
  cutWindow,
  funnelSteps,
  hourAlignedZone,
  isTimeZone,
  previousWindow,
  relativeChange,
  resolveRange,
  zonedToInstant,
} from './analytics.core.ts';

// Reference instants below were read off the IANA rules by hand: America/New_York is UTC-5 (EST) until
// 2026-03-08 07:00Z, when clocks jump 02:00 -> 03:00 EDT (UTC-4), and back at 2026-11-01 06:00Z (02:00 EDT -> 01:00 EST).
// Europe/Berlin is UTC+1, UTC+2 from 2026-03-29 01:00Z. Asia/Kolkata is UTC+5:30 all year.
describe('zonedToInstant', () => {
  it('maps local wall times to instants across offsets', () => {
    expect(new Date(zonedToInstant('UTC', 2026, 3, 1)).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(new Date(zonedToInstant('America/New_York', 2026, 3, 8)).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(new Date(zonedToInstant('America/New_York', 2026, 3, 9)).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(new Date(zonedToInstant('Asia/Kolkata', 2026, 1, 1)).toISOString()).toBe('2025-12-31T18:30:00.000Z');
    expect(new Date(zonedToInstant('Europe/Berlin', 2026, 3, 29, 12)).toISOString()).toBe('2026-03-29T10:00:00.000Z');
  });
  it('reads a skipped time with the offset before the jump, a repeated time as its first occurrence', () => {
    // PostgreSQL: '2026-03-08 02:30'::timestamp AT TIME ZONE 'America/New_York' = 2026-03-08 07:30:00+00.
    expect(new Date(zonedToInstant('America/New_York', 2026, 3, 8, 2, 30)).toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(new Date(zonedToInstant('America/New_York', 2026, 11, 1, 1, 30)).toISOString()).toBe('2026-11-01T05:30:00.000Z');
  });
});

describe('resolveRange', () => {
  const now = new Date('2026-03-10T15:00:00Z');
  it('takes local dates (to inclusive), local times and instants', () => {
    const r = resolveRange({ from: '2026-03-08', to: '2026-03-08' }, 'America/New_York', now);
    // The DST day is 23 hours long.
    expect(r).toEqual({ ok: true, from: new Date('2026-03-08T05:00:00Z'), to: new Date('2026-03-09T04:00:00Z') });
    const t = resolveRange({ from: '2026-03-01T10:00', to: '2026-03-01T14:00:00+02:00' }, 'Europe/Berlin', now);
    expect(t).toEqual({ ok: true, from: new Date('2026-03-01T09:00:00Z'), to: new Date('2026-03-01T12:00:00Z') });
    // 10:00 +02:00 is 08:00Z, before a from of 10:00Z.
    expect(resolveRange({ from: '2026-03-01T10:00', to: '2026-03-01T10:00:00+02:00' }, 'UTC', now)).toMatchObject({ ok: false });
  });
  it('defaults to the last 30 local days', () => {
    const r = resolveRange({}, 'America/New_York', now);
    expect(r).toEqual({ ok: true, from: new Date('2026-02-09T05:00:00Z'), to: now });
  });
  it('refuses empty, reversed, oversized and malformed ranges', () => {
    expect(resolveRange({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'UTC', now)).toMatchObject({
      ok: false,
      field: 'to',
    });
    expect(resolveRange({ from: '2010-01-01', to: '2026-01-01' }, 'UTC', now)).toMatchObject({ ok: false, field: 'from' });
    expect(resolveRange({ from: '2016-01-01', to: '2025-12-31' }, 'UTC', now)).toMatchObject({ ok: true });
    expect(resolveRange({ from: '2026-02-30' }, 'UTC', now)).toMatchObject({ ok: false, field: 'from' });
    expect(resolveRange({ to: 'yesterday' }, 'UTC', now)).toMatchObject({ ok: false, field: 'to' });
    expect(resolveRange({ from: '2026-01-01\u0000' }, 'UTC', now)).toMatchObject({ ok: false, field: 'from' });
  });
});

describe('buckets', () => {
  it('knows time zones', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('../etc')).toBe(false);
  });
  it('labels instants with local buckets (ISO weeks start on Monday)', () => {
    expect(bucketLabel(Date.parse('2026-03-08T04:59:59Z'), 'America/New_York', 'day')).toBe('2026-03-07');
    expect(bucketLabel(Date.parse('2026-03-08T05:00:00Z'), 'America/New_York', 'day')).toBe('2026-03-08');
    expect(bucketLabel(Date.parse('2026-03-08T07:30:00Z'), 'America/New_York', 'hour')).toBe('2026-03-08T03:00');
    expect(bucketLabel(Date.parse('2026-03-08T12:00:00Z'), 'UTC', 'week')).toBe('2026-03-02'); // a Sunday
    expect(bucketLabel(Date.parse('2026-03-31T23:30:00Z'), 'Europe/Berlin', 'month')).toBe('2026-04-01');
  });
  it('lists every bucket of a range, the DST day with 23 hours', () => {
    const hours = bucketLabels(new Date('2026-03-08T05:00:00Z'), new Date('2026-03-09T04:00:00Z'), 'America/New_York', 'hour');
    expect(hours).toHaveLength(23);
    expect(hours).not.toContain('2026-03-08T02:00');
    const back = bucketLabels(new Date('2026-11-01T04:00:00Z'), new Date('2026-11-02T05:00:00Z'), 'America/New_York', 'hour');
    expect(back).toHaveLength(24); // 25 hours long, the repeated 01:00 is one local bucket
    expect(bucketLabels(new Date('2026-01-30T00:00:00Z'), new Date('2026-04-02T00:00:00Z'), 'UTC', 'month')).toEqual([
      '2026-01-01',
      '2026-02-01',
      '2026-03-01',
      '2026-04-01',
    ]);
    expect(bucketLabels(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-16T00:00:00Z'), 'UTC', 'week')).toEqual([
      '2026-02-23',
      '2026-03-02',
      '2026-03-09',
    ]);
  });
});

describe('funnelSteps', () => {
  it('derives conversion, step conversion and drop-off', () => {
    const out = funnelSteps(
      ['browse', 'view_product', 'checkout'],
      [
        { step: 0, count: 200, medianSeconds: null },
        { step: 1, count: 50, medianSeconds: 12.345 },
        { step: 2, count: 10, medianSeconds: 60 },
      ],
    );
    expect(out).toEqual([
      { name: 'browse', count: 200, conversion_rate: 1, step_conversion_rate: 1, dropoff: 0, median_seconds_to_convert: null },
      {
        name: 'view_product',
        count: 50,
        conversion_rate: 0.25,
        step_conversion_rate: 0.25,
        dropoff: 150,
        median_seconds_to_convert: 12.35,
      },
      { name: 'checkout', count: 10, conversion_rate: 0.05, step_conversion_rate: 0.2, dropoff: 40, median_seconds_to_convert: 60 },
    ]);
    expect(funnelSteps(['a', 'b'], [])).toEqual([
      { name: 'a', count: 0, conversion_rate: 0, step_conversion_rate: 0, dropoff: 0, median_seconds_to_convert: null },
      { name: 'b', count: 0, conversion_rate: 0, step_conversion_rate: 0, dropoff: 0, median_seconds_to_convert: null },
    ]);
  });
});

describe('period comparison', () => {
  it('compares with the period of the same length just before', () => {
    expect(previousWindow(new Date('2026-03-08T05:00:00Z'), new Date('2026-03-09T04:00:00Z'))).toEqual({
      from: new Date('2026-03-07T06:00:00Z'),
      to: new Date('2026-03-08T05:00:00Z'),
    });
    expect(relativeChange(150, 120)).toBe(0.25);
    expect(relativeChange(90, 120)).toBe(-0.25);
    expect(relativeChange(5, 0)).toBeNull();
    expect(relativeChange(1, 3)).toBe(-0.6667);
  });
});

describe('hour rollups: which zones and windows they answer', () => {
  const d = (x: string) => new Date(x);
  it('a zone a whole number of hours from UTC all through the window, daylight saving included; not India, Nepal, Lord Howe', () => {
    const year = { from: d('2026-01-01T00:00:00Z'), to: d('2027-01-01T00:00:00Z') };
    for (const tz of ['UTC', 'America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Pacific/Auckland'])
      expect(hourAlignedZone(tz, year.from, year.to), tz).toBe(true);
    for (const tz of ['Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide', 'America/St_Johns'])
      expect(hourAlignedZone(tz, year.from, year.to), tz).toBe(false);
    // Lord Howe is +10:30 in (southern) winter, +11 in summer: a January window alone is whole hours, a year is not.
    expect(hourAlignedZone('Australia/Lord_Howe', d('2026-01-05T00:00:00Z'), d('2026-01-20T00:00:00Z'))).toBe(true);
    expect(hourAlignedZone('Australia/Lord_Howe', year.from, year.to)).toBe(false);
  });

  it('cuts a window into whole UTC hours and raw edges', () => {
    expect(cutWindow({ from: d('2026-03-01T10:17:00Z'), to: d('2026-03-01T13:05:00Z') })).toEqual({
      inner: { from: d('2026-03-01T11:00:00Z'), to: d('2026-03-01T13:00:00Z') },
      edges: [
        { from: d('2026-03-01T10:17:00Z'), to: d('2026-03-01T11:00:00Z') },
        { from: d('2026-03-01T13:00:00Z'), to: d('2026-03-01T13:05:00Z') },
      ],
    });
    expect(cutWindow({ from: d('2026-03-01T10:00:00Z'), to: d('2026-03-02T10:00:00Z') })).toEqual({
      inner: { from: d('2026-03-01T10:00:00Z'), to: d('2026-03-02T10:00:00Z') },
      edges: [],
    });
    expect(cutWindow({ from: d('2026-03-01T10:10:00Z'), to: d('2026-03-01T10:50:00Z') })).toEqual({
      inner: null,
      edges: [{ from: d('2026-03-01T10:10:00Z'), to: d('2026-03-01T10:50:00Z') }],
    });
    expect(cutWindow({ from: d('2026-03-01T10:10:00Z'), to: d('2026-03-01T10:10:00Z') })).toEqual({ inner: null, edges: [] });
  });
});
