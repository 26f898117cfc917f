/**
 * Text that PostgreSQL and JSON can carry: no NUL (PostgreSQL `text` refuses it) and no lone UTF-16
 * surrogate (stored, it no longer matches itself once re-encoded). One definition for every edge: JSON
 * bodies, query strings, multipart fields, imported cells and vendor payloads.
 */
import { z } from 'zod';

/** Why `s` cannot be stored as text, or null when it can. */
export function unsafeTextReason(s: string): 'nul_byte' | 'lone_surrogate' | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'nul_byte';
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (n >= 0xdc00 && n <= 0xdfff) {
        i++;
        continue;
      }
      return 'lone_surrogate';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'lone_surrogate';
  }
  return null;
}

export const UNSAFE_TEXT_MESSAGE = {
  nul_byte: 'contains a NUL character (\\u0000), which cannot be stored: remove it',
  lone_surrogate: 'contains an unpaired UTF-16 surrogate (invalid Unicode): send valid UTF-8 text',
} as const;

export interface UnsafeValue {
  /** JSON path of the offending value, e.g. `$.metadata.tags[2]` (`$` is the value itself). */
  path: string;
  reason: 'nul_byte' | 'lone_surrogate' | 'too_deep';
}

/**
 * Walks a parsed JSON value (objects, arrays, strings; keys included) and returns the first string that
 * cannot be stored, or a nesting deeper than `maxDepth`. Iterative: a 100,000-deep value cannot overflow
 * the stack. O(size of the value).
 */
export function findUnsafeValue(value: unknown, maxDepth = 32): UnsafeValue | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '$', depth: 0 }];
  while (stack.length) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const r = unsafeTextReason(v);
      if (r) return { path, reason: r };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { path, reason: 'too_deep' };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const r = unsafeTextReason(k);
      if (r) return { path: `${path}.${safePathKey(k)}`, reason: r };
      stack.push({ v: child, path: `${path}.${safePathKey(k)}`, depth: depth + 1 });
    }
  }
  return null;
}

function safePathKey(k: string): string {
  // Never echo unsafe or binary bytes back in an error message.
  return unsafeTextReason(k) || /[^\x20-\x7e]/.test(k) ? '<key>' : k.slice(0, 64);
}

/** A zod string that refuses NUL and lone surrogates with a clear message. Use it for every text field. */
export function safeString() {
  return z.string().superRefine((s, ctx) => {
    const r = unsafeTextReason(s);
    if (r) ctx.addIssue({ code: 'custom', message: UNSAFE_TEXT_MESSAGE[r] });
  });
}
