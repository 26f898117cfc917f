import { randomBytes } from 'node:crypto';
import { authenticator, totp } from 'otplib';

/**
 * Two-factor sign-in with TOTP (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits, as every authenticator app reads an
 * otpauth URI), through otplib. Pure but for the random secret and codes it generates.
 */
export const TOTP_STEP_SECONDS = 30;
/** Codes of one step before and after are accepted (clock drift between phone and server). */
export const TOTP_WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;

/** A new base32 secret of 160 bits (RFC 4226's recommended length). */
export const newTotpSecret = (): string => authenticator.generateSecret(20);

/** The otpauth:// URI an authenticator app scans (issuer "Loupe", the account's e-mail as label). */
export const otpauthUri = (email: string, secret: string): string => authenticator.keyuri(email, 'Loupe', secret);

/** The TOTP time step of an instant. */
export const stepOf = (at: Date): number => Math.floor(at.getTime() / 1000 / TOTP_STEP_SECONDS);

/**
 * The time step whose code `code` is, within ±TOTP_WINDOW steps of `at` and after `lastStep` (a code once used
 * cannot be replayed), or undefined when it matches none. `secret` is base32.
 */
export function matchTotp(secret: string, code: string, at: Date, lastStep: number | null): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const now = stepOf(at);
  for (let d = -TOTP_WINDOW; d <= TOTP_WINDOW; d++) {
    const step = now + d;
    if (lastStep !== null && step <= lastStep) continue;
    const t = authenticator.clone({ epoch: step * TOTP_STEP_SECONDS * 1000, window: 0 });
    if (t.check(code, secret)) return step;
  }
  return undefined;
}

/**
 * The RFC 6238 reference computation for a raw ASCII secret (Appendix B's test vectors): `digits` digits at
 * `seconds` since the epoch, with the given HMAC.
 */
export function rfc6238Code(secretAscii: string, seconds: number, algorithm: 'sha1' | 'sha256' | 'sha512', digits = 8): string {
  return totp
    .clone({ epoch: seconds * 1000, digits, algorithm: algorithm as never, encoding: 'ascii' as never, step: TOTP_STEP_SECONDS })
    .generate(secretAscii);
}

/** Recovery codes: 10 characters from an unambiguous alphabet, shown as xxxxx-xxxxx. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(10);
    const s = [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

/** A recovery code as typed: lower case, no spaces or dashes (so "ABCDE FGHIJ" matches "abcde-fghij"). */
export const normalizeRecoveryCode = (code: string): string => code.toLowerCase().replace(/[\s-]/g, '');
