import { describe, expect, it } from 'vitest';
import { weakPasswordReason } from './password-policy.core.ts';

describe('password policy', () => {
  it('refuses common passwords and small variations of them, with a reason', () => {
    for (const p of ['password1', 'Password123', 'qwertyuiop', 'letmein123', 'Passw0rd!', 'iloveyou12', 'abcdefgh']) {
      expect(weakPasswordReason(p), p).toMatch(/^This password is too weak: .+\. Use a longer passphrase/);
    }
    expect(weakPasswordReason('qwertyuiop')).toContain('most used passwords');
  });

  it("accepts strong passwords, seed 003's included", () => {
    for (const p of ['SecurePass123!', 'Owner-Password-1', 'correct horse battery staple', 'vT9#kq2!Lm0z']) {
      expect(weakPasswordReason(p), p).toBeUndefined();
    }
  });
});
