import { describe, expect, it } from 'vitest';
import { createUnitResolver, type ProfileLookup } from './units.ts';

describe('unit resolver', () => {
  it('sends the lookups of concurrent requests as one query per tenant, deduplicated, then serves them from cache', async () => {
    const calls: { tenantId: string; values: string[] }[] = [];
    const lookup: ProfileLookup = async (tenantId, ids) => {
      calls.push({ tenantId, values: ids.map((i) => `${i.type}=${i.value}`) });
      return ids.map((i) => (i.value === 'known' ? 'prof-1' : null));
    };
    const r = createUnitResolver(lookup);
    const out = await Promise.all([
      r.resolve('t1', 'a', undefined),
      r.resolve('t1', 'b', 'anon-1'),
      r.resolve('t1', 'a', undefined),
      r.resolve('t2', 'a', undefined),
      r.resolve('t1', undefined, 'known'),
    ]);
    expect(calls).toHaveLength(2);
    expect(calls.find((c) => c.tenantId === 't1')?.values.sort()).toEqual([
      'anonymous_id=anon-1',
      'anonymous_id=known',
      'user_id=a',
      'user_id=b',
    ]);
    expect(out.map((o) => o.primary)).toEqual(['u:a', 'u:b', 'u:a', 'u:a', 'p:prof-1']);
    expect(out[1]?.candidates).toEqual(['u:b', 'a:anon-1']);
    expect(out[4]?.candidates).toEqual(['p:prof-1', 'a:known']);
    // The hash input is the raw id an SDK's `id` attribute holds: the user id first, else the anonymous id.
    expect(out.map((o) => o.hashKey)).toEqual(['a', 'b', 'a', 'a', 'known']);
    await r.resolve('t1', 'b', 'anon-1');
    expect(calls).toHaveLength(2);
  });

  it('fails every request of a batch whose lookup failed, and asks again next time', async () => {
    let fail = true;
    const r = createUnitResolver(async (_t, ids) => {
      if (fail) throw new Error('database down');
      return ids.map(() => null);
    });
    await expect(Promise.all([r.resolve('t', 'x', undefined), r.resolve('t', 'y', undefined)])).rejects.toThrow('database down');
    fail = false;
    await expect(r.resolve('t', 'x', undefined)).resolves.toEqual({ primary: 'u:x', candidates: ['u:x'], hashKey: 'x' });
  });
});
