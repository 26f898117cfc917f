import { describe, expect, it } from 'vitest';
import { bucketRanges, chooseVariant, decide, fnv1a32, hashV1, hashV2, matches, type AssignableExperiment } from './assign.core.ts';

describe('GrowthBook hashing', () => {
  it('FNV-1a 32 reference vectors (Fowler/Noll/Vo test suite)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
  it('hash v2 buckets from GrowthBook sdk-js test/cases.json ("Support holdout groups": ids "1")', () => {
    expect(hashV2('experiment', '1')).toBe(0.4413);
    expect(hashV2('holdout', '1')).toBe(0.8043);
  });
  it('hash v1 stays in [0, 1) with 3 decimals', () => {
    const n = hashV1('__ns', 'user-1');
    expect(n).toBeGreaterThanOrEqual(0);
    expect(n).toBeLessThan(1);
    expect(Math.round(n * 1000)).toBe(n * 1000);
  });
  it('weights split units in proportion (10,000 units within 2 points of 20/80)', () => {
    const ranges = bucketRanges([0.2, 0.8], 1);
    let first = 0;
    for (let i = 0; i < 10000; i++) if (chooseVariant(hashV2('exp', `u${i}`), ranges) === 0) first++;
    expect(first / 10000).toBeGreaterThan(0.18);
    expect(first / 10000).toBeLessThan(0.22);
  });
  it('coverage shortens every range: 40 % coverage leaves ~60 % out', () => {
    const ranges = bucketRanges([0.5, 0.5], 0.4);
    expect(ranges).toEqual([
      [0, 0.2],
      [0.5, 0.7],
    ]);
    expect(chooseVariant(0.3, ranges)).toBe(-1);
  });
});

describe('targeting conditions', () => {
  it('operators, $and/$or/$not, missing attributes', () => {
    const attrs = { country: 'FR', age: 34, tags: ['vip', 'beta'], plan: 'pro' };
    expect(matches({ country: 'FR' }, attrs)).toBe(true);
    expect(matches({ country: { $in: ['DE', 'FR'] } }, attrs)).toBe(true);
    expect(matches({ tags: { $in: ['vip'] } }, attrs)).toBe(true);
    expect(matches({ age: { $gte: 18, $lt: 35 } }, attrs)).toBe(true);
    expect(matches({ age: { $gt: 40 } }, attrs)).toBe(false);
    expect(matches({ $or: [{ plan: 'free' }, { plan: 'pro' }] }, attrs)).toBe(true);
    expect(matches({ $not: { country: 'FR' } }, attrs)).toBe(false);
    expect(matches({ missing: { $exists: false } }, attrs)).toBe(true);
    expect(matches({ country: { $regex: '.*' } }, attrs)).toBe(false);
    expect(matches(null, attrs)).toBe(true);
  });
});

const exp = (over: Partial<AssignableExperiment> = {}): AssignableExperiment => ({
  id: 'e',
  key: 'k',
  status: 'running',
  hashSeed: 'k',
  hashVersion: 2,
  type: 'standard',
  trafficAllocation: 1,
  targeting: null,
  namespace: null,
  namespaceStart: 0,
  namespaceEnd: 1,
  holdoutSeed: null,
  holdoutPercent: 0,
  excludeBots: true,
  variants: [
    { id: 'c', key: 'control', weight: 0.5, config: {} },
    { id: 't', key: 'treatment', weight: 0.5, config: {} },
  ],
  ...over,
});

describe('decide', () => {
  it('is deterministic per unit and puts stopped experiments and bots on control', () => {
    const a = decide(exp(), 'u:42', { attributes: {}, isBot: false });
    expect(decide(exp(), 'u:42', { attributes: {}, isBot: false })).toEqual(a);
    expect(decide(exp({ status: 'stopped' }), 'u:42', { attributes: {}, isBot: false })).toMatchObject({
      variant: 0,
      inExperiment: false,
      reason: 'not_running',
    });
    expect(decide(exp(), 'u:42', { attributes: {}, isBot: true })).toMatchObject({ variant: 0, inExperiment: false, reason: 'bot' });
  });
  it('namespaces split units between experiments without overlap', () => {
    const a = exp({ namespace: 'feed', namespaceStart: 0, namespaceEnd: 0.5 });
    const b = exp({ namespace: 'feed', namespaceStart: 0.5, namespaceEnd: 1 });
    for (let i = 0; i < 500; i++) {
      const inA = decide(a, `u${i}`, { attributes: {}, isBot: false }).inExperiment;
      const inB = decide(b, `u${i}`, { attributes: {}, isBot: false }).inExperiment;
      expect(inA && inB).toBe(false);
      expect(inA || inB).toBe(true);
    }
  });
  it('a holdout keeps its share out of every experiment sharing the seed', () => {
    let held = 0;
    for (let i = 0; i < 2000; i++)
      if (decide(exp({ holdoutSeed: 'h', holdoutPercent: 0.1 }), `u${i}`, { attributes: {}, isBot: false }).reason === 'holdout') held++;
    expect(held).toBeGreaterThan(150);
    expect(held).toBeLessThan(250);
  });
  it('a sticky variant wins over the hash', () => {
    expect(decide(exp(), 'u:1', { attributes: {}, isBot: false, stickyVariantId: 't' })).toMatchObject({ variant: 1, reason: 'sticky' });
  });
});
