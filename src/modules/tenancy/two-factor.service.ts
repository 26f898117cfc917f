import QRCode from 'qrcode';
import {
  type Db,
  AppError,
  type SecretBox,
  SecretUnreadableError,
  type SecurityEventRepository,
  conflict,
  notFound,
  sha256Hex,
} from '../../platform/index.ts';
import { isLocked, onLoginFailure } from './auth.core.ts';
import type { ClientMeta } from './auth.service.ts';
import type { TenancyRepository } from './tenancy.repository.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';
import { matchTotp, newRecoveryCodes, newTotpSecret, normalizeRecoveryCode, otpauthUri } from './two-factor.core.ts';

export interface TwoFactorServiceDeps {
  db: Db;
  repo: TenancyRepository;
  twoFactor: TwoFactorRepository;
  secrets: SecretBox;
  security: SecurityEventRepository;
  clock: () => Date;
  sleep: (ms: number) => Promise<void>;
}

/** The second factor a person gives: a code from the app, or one of their recovery codes. */
export interface SecondFactor {
  code?: string | undefined;
  recoveryCode?: string | undefined;
}

const invalidCode = () =>
  new AppError(
    'unauthenticated',
    'TWO_FACTOR_CODE_INVALID',
    'The code is not right. Use the current code of your authenticator app, or a recovery code.',
  );

/**
 * Two-factor sign-in (TOTP): enrolment with an otpauth URI and QR code, confirmation by a first code, recovery
 * codes (sha-256, single use), and the check of a second factor with the same per-(account, source) lockout as
 * passwords. The secret is sealed at rest with the platform's secret box, bound to the user.
 */
export function createTwoFactorService(deps: TwoFactorServiceDeps) {
  const { db, twoFactor, secrets, security, clock } = deps;
  const context = (userId: string) => `totp:${userId}`;
  const hashCode = (userId: string, code: string) => sha256Hex(`${userId}:${normalizeRecoveryCode(code)}`);

  async function issueRecoveryCodes(userId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await twoFactor.replaceRecoveryCodes(
      db,
      userId,
      codes.map((c) => hashCode(userId, c)),
    );
    return codes;
  }

  return {
    async status(userId: string) {
      const s = await twoFactor.getTotp(db, userId);
      if (!s) throw notFound('USER_NOT_FOUND', 'User');
      return {
        enabled: !!s.totpEnabledAt,
        enabledAt: s.totpEnabledAt,
        recoveryCodesLeft: s.totpEnabledAt ? await twoFactor.recoveryCodesLeft(db, userId) : 0,
      };
    },

    /** Starts enrolment: a new secret (replacing an unconfirmed one). Refused while two-factor sign-in is on. */
    async enrol(userId: string) {
      const s = await twoFactor.getTotp(db, userId);
      if (!s) throw notFound('USER_NOT_FOUND', 'User');
      const secret = newTotpSecret();
      if (!(await twoFactor.setPendingSecret(db, userId, secrets.seal(secret, context(userId)))))
        throw conflict('TWO_FACTOR_ALREADY_ENABLED', 'Two-factor sign-in is already on. Turn it off first to enrol a new device.');
      const uri = otpauthUri(s.email, secret);
      return { secret, uri, qrSvg: await QRCode.toString(uri, { type: 'svg', margin: 1 }) };
    },

    /** Confirms enrolment with a first code; returns the recovery codes (shown once). */
    async confirm(userId: string, code: string, meta: ClientMeta): Promise<string[]> {
      const s = await twoFactor.getTotp(db, userId);
      if (!s?.totpSecret || s.totpEnabledAt)
        throw conflict('TWO_FACTOR_NOT_PENDING', s?.totpEnabledAt ? 'Two-factor sign-in is already on.' : 'Start enrolment first.');
      const step = matchTotp(secrets.open(s.totpSecret, context(userId)), code.trim(), clock(), null);
      if (step === undefined || !(await twoFactor.enable(db, userId, step, clock()))) throw invalidCode();
      await security.record({ type: 'two_factor_enabled', userId, subjectHash: null, ...meta });
      return issueRecoveryCodes(userId);
    },

    async disable(userId: string, meta: ClientMeta): Promise<void> {
      await twoFactor.disable(db, userId);
      await security.record({ type: 'two_factor_disabled', userId, subjectHash: null, ...meta });
    },

    async regenerateRecoveryCodes(userId: string): Promise<string[]> {
      const s = await twoFactor.getTotp(db, userId);
      if (!s?.totpEnabledAt) throw conflict('TWO_FACTOR_NOT_ENABLED', 'Two-factor sign-in is off: there are no recovery codes.');
      return issueRecoveryCodes(userId);
    },

    /**
     * Start-up step: re-seals TOTP secrets sealed with a previous key (LOUPE_SECRETS_KEY_PREVIOUS) under the
     * current one, so the previous key can later be dropped. Compare-and-set per user (a concurrent enrolment
     * wins). Returns how many were re-sealed and how many no configured key opens.
     */
    async resealSecrets(): Promise<{ resealed: number; unreadable: number }> {
      let resealed = 0;
      let unreadable = 0;
      for (const r of await twoFactor.secretsNotSealedWith(db, secrets.keyId)) {
        let plain: string;
        try {
          plain = secrets.open(r.totpSecret, context(r.userId));
        } catch (err) {
          if (!(err instanceof SecretUnreadableError)) throw err;
          unreadable++;
          continue;
        }
        if (await twoFactor.replaceSealedSecret(db, r.userId, r.totpSecret, secrets.seal(plain, context(r.userId)))) resealed++;
      }
      return { resealed, unreadable };
    },

    /** Whether the account signs in with a second factor. */
    async enabled(userId: string): Promise<boolean> {
      return !!(await twoFactor.getTotp(db, userId))?.totpEnabledAt;
    },

    /**
     * Checks a second factor. Wrong codes count per (account, source) like wrong passwords: five lock that pair
     * for a while (423). A TOTP code works once (its step is recorded); a recovery code works once.
     */
    async verify(userId: string, factor: SecondFactor, meta: ClientMeta): Promise<{ via: 'totp' | 'recovery_code' }> {
      const subjectHash = sha256Hex(`2fa:${userId}`);
      const source = meta.ip ?? 'unknown';
      const now = clock();
      const throttle = await deps.repo.getThrottle(db, subjectHash, source);
      if (throttle && isLocked(throttle.lockedUntil, now)) {
        const retry = Math.max(1, Math.ceil((throttle.lockedUntil!.getTime() - now.getTime()) / 1000));
        throw new AppError('locked', 'TWO_FACTOR_LOCKED', `Too many wrong codes. Try again in ${Math.ceil(retry / 60)} minute(s).`, {
          retryAfterSeconds: retry,
        });
      }
      const s = await twoFactor.getTotp(db, userId);
      let via: 'totp' | 'recovery_code' | undefined;
      if (s?.totpEnabledAt && s.totpSecret) {
        if (factor.code) {
          const step = matchTotp(secrets.open(s.totpSecret, context(userId)), factor.code.trim(), now, s.totpLastStep);
          if (step !== undefined && (await twoFactor.useStep(db, userId, step))) via = 'totp';
        } else if (factor.recoveryCode && normalizeRecoveryCode(factor.recoveryCode).length === 10) {
          if (await twoFactor.useRecoveryCode(db, userId, hashCode(userId, factor.recoveryCode), now)) via = 'recovery_code';
        }
      }
      if (!via) {
        const failures = await deps.repo.countThrottleFailure(db, subjectHash, source);
        const o = onLoginFailure(failures - 1, now);
        if (o.lockedUntil) await deps.repo.lockThrottle(db, subjectHash, source, o.lockedUntil);
        await security.record({ type: 'two_factor_failed', userId, subjectHash, ...meta, details: { failures, locked: !!o.lockedUntil } });
        if (o.delayMs) await deps.sleep(o.delayMs);
        throw invalidCode();
      }
      if (throttle) await deps.repo.clearThrottle(db, subjectHash, source);
      if (via === 'recovery_code') await security.record({ type: 'recovery_code_used', userId, subjectHash: null, ...meta });
      return { via };
    },
  };
}
export type TwoFactorService = ReturnType<typeof createTwoFactorService>;
