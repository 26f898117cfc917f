import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LOCKOUT_SECONDS,
  MAX_FAILED_LOGINS,
  REFRESH_REUSE_GRACE_SECONDS,
  isGraceReuse,
  isLocked,
  normalizeEmail,
  onLoginFailure,
  slugify,
} from './auth.core.ts';

describe('brute-force policy', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('locks at the fifth consecutive failure, for the lockout period', () => {
    let failures = 0;
    let locked: Date | null = null;
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      const o = onLoginFailure(failures, now);
      failures = o.failedCount;
      locked = o.lockedUntil;
      if (i < MAX_FAILED_LOGINS - 1) expect(locked).toBeNull();
    }
    expect(locked?.getTime()).toBe(now.getTime() + LOCKOUT_SECONDS * 1000);
    expect(isLocked(locked, now)).toBe(true);
    expect(isLocked(locked, new Date(now.getTime() + LOCKOUT_SECONDS * 1000 + 1))).toBe(false);
  });
  it('slows down monotonically and never beyond 2 s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), (n) => {
        const a = onLoginFailure(n, now).delayMs;
        const b = onLoginFailure(n + 1, now).delayMs;
        return a <= b && b <= 2000;
      }),
    );
  });
});

describe('normalization', () => {
  it('normalizes e-mail case and spaces', () => {
    expect(normalizeEmail('  Sarah@ElectronicsStore.COM ')).toBe('sarah@electronicsstore.com');
  });
  it('makes URL-safe slugs', () => {
    expect(slugify("Sarah's Électronics!")).toBe('sarah-s-electronics');
    expect(slugify('***')).toBe('tenant');
    fc.assert(fc.property(fc.string(), (s) => /^[a-z0-9-]+$/.test(slugify(s))));
  });
});

describe('refresh reuse grace window', () => {
  const used = new Date('2026-01-01T00:00:00Z');
  const after = (s: number) => new Date(used.getTime() + s * 1000);
  it('allows a second use of the latest used token within the window only', () => {
    expect(isGraceReuse(used, false, after(0))).toBe(true);
    expect(isGraceReuse(used, false, after(REFRESH_REUSE_GRACE_SECONDS))).toBe(true);
    expect(isGraceReuse(used, false, after(REFRESH_REUSE_GRACE_SECONDS + 1))).toBe(false);
  });
  it('never allows it once a newer token of the family was used, or for a token never used', () => {
    expect(isGraceReuse(used, true, after(1))).toBe(false);
    expect(isGraceReuse(null, false, after(1))).toBe(false);
  });
});
