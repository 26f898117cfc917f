import { describe, expect, it } from 'vitest';
import { safeNext, signInPath } from '../dashboard/src/lib/next.ts';

describe('sign-in next= target', () => {
  it('keeps a dashboard path with its query', () => {
    expect(safeNext('/catalog?q=lamp')).toBe('/catalog?q=lamp');
    expect(signInPath('/catalog', '?q=lamp')).toBe('/sign-in?next=%2Fcatalog%3Fq%3Dlamp');
  });
  it('never nests the sign-in page in itself', () => {
    const once = signInPath('/recommendations', '');
    const twice = signInPath('/sign-in', once.slice('/sign-in'.length));
    expect(twice).toBe(once);
    expect(safeNext(`/sign-in?next=${encodeURIComponent(`/sign-in?next=${encodeURIComponent('/orders')}`)}`)).toBe('/orders');
    expect(signInPath('/sign-in', '')).toBe('/sign-in');
  });
  it('refuses other origins and junk', () => {
    for (const bad of ['//evil.example', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)', '', null])
      expect(safeNext(bad)).toBe('/');
  });
});
