import { authenticator } from 'otplib';
import { describe, expect, it } from 'vitest';
import { matchTotp, newRecoveryCodes, normalizeRecoveryCode, otpauthUri, rfc6238Code, stepOf } from './two-factor.core.ts';

describe('TOTP (RFC 6238)', () => {
  // RFC 6238 Appendix B: seeds are the ASCII strings below; 8-digit codes at the listed times.
  const SEED = {
    sha1: '12345678901234567890',
    sha256: '12345678901234567890123456789012',
    sha512: '1234567890123456789012345678901234567890123456789012345678901234',
  };
  const VECTORS: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ];
  it('matches every test vector of Appendix B', () => {
    for (const [t, sha1, sha256, sha512] of VECTORS) {
      expect(rfc6238Code(SEED.sha1, t, 'sha1')).toBe(sha1);
      expect(rfc6238Code(SEED.sha256, t, 'sha256')).toBe(sha256);
      expect(rfc6238Code(SEED.sha512, t, 'sha512')).toBe(sha512);
    }
  });

  it('accepts the code of this step and one either side, never an older step nor a replay', () => {
    const secret = authenticator.generateSecret(20);
    const at = new Date('2026-12-05T12:00:10Z');
    const codeAt = (d: Date) => authenticator.clone({ epoch: d.getTime() }).generate(secret);
    const now = stepOf(at);
    expect(matchTotp(secret, codeAt(at), at, null)).toBe(now);
    expect(matchTotp(secret, codeAt(new Date(at.getTime() - 30_000)), at, null)).toBe(now - 1);
    expect(matchTotp(secret, codeAt(new Date(at.getTime() + 30_000)), at, null)).toBe(now + 1);
    expect(matchTotp(secret, codeAt(new Date(at.getTime() - 90_000)), at, null)).toBeUndefined();
    // Used once: the same step (and any earlier) is refused.
    expect(matchTotp(secret, codeAt(at), at, now)).toBeUndefined();
    for (const bad of ['', '12345', '1234567', 'abcdef', '12 456', '１２３４５６'])
      expect(matchTotp(secret, bad, at, null)).toBeUndefined();
  });

  it('builds the otpauth URI authenticator apps scan, and distinct recovery codes', () => {
    expect(otpauthUri('a@b.test', 'JBSWY3DPEHPK3PXP')).toBe(
      'otpauth://totp/Loupe:a%40b.test?secret=JBSWY3DPEHPK3PXP&period=30&digits=6&algorithm=SHA1&issuer=Loupe',
    );
    const codes = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(normalizeRecoveryCode(' ABCDE FGHIJ ')).toBe(normalizeRecoveryCode('abcde-fghij'));
  });
});
