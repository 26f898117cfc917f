import { describe, expect, it } from 'vitest';
import { findUnsafeValue, safeString, unsafeTextReason } from './text.ts';

describe('unsafeTextReason', () => {
  it('accepts ordinary and astral text', () => {
    expect(unsafeTextReason('Café 東京 🎉')).toBeNull();
    expect(unsafeTextReason('')).toBeNull();
  });
  it('refuses NUL and unpaired surrogates', () => {
    expect(unsafeTextReason('a\u0000b')).toBe('nul_byte');
    expect(unsafeTextReason('x\ud83d')).toBe('lone_surrogate');
    expect(unsafeTextReason('\ude00x')).toBe('lone_surrogate');
    expect(unsafeTextReason('\ud83d\ud83d\ude00')).toBe('lone_surrogate');
  });
});

describe('findUnsafeValue', () => {
  it('finds the first bad string with its path, keys included', () => {
    expect(findUnsafeValue({ a: [1, 'ok', { b: 'x\u0000' }] })).toEqual({ path: '$.a[2].b', reason: 'nul_byte' });
    expect(findUnsafeValue({ ['k\ud800']: 1 })).toEqual({ path: '$.<key>', reason: 'lone_surrogate' });
    expect(findUnsafeValue({ a: 1, b: ['x'] })).toBeNull();
  });
  it('refuses nesting past the limit without recursion', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findUnsafeValue(deep, 32)?.reason).toBe('too_deep');
    let ok: unknown = 'leaf';
    for (let i = 0; i < 10; i++) ok = { x: ok };
    expect(findUnsafeValue(ok, 32)).toBeNull();
  });
});

describe('safeString', () => {
  it('parses valid text and explains invalid text', () => {
    expect(safeString().parse('hello')).toBe('hello');
    const r = safeString().safeParse('a\u0000');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/NUL/);
  });
});
