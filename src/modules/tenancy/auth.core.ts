/**
 * Pure rules of authentication: e-mail normalization, the brute-force policy, token lifetimes.
 * No I/O and no clock reads: `now` is passed in.
 */

export const ACCESS_TOKEN_SECONDS = 15 * 60;
export const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;
/**
 * How long the immediately previous refresh token still rotates after its first use. Two tabs (or two
 * requests) that refresh at the same moment both present it; the loser gets a valid pair instead of
 * ending the session. Outside this window, or for any older token, a second use is reuse.
 */
export const REFRESH_REUSE_GRACE_SECONDS = 30;

/**
 * Whether a second use of a refresh token is the benign race the grace window allows: within
 * REFRESH_REUSE_GRACE_SECONDS of its first use, and no later token of the family has been used since.
 */
export function isGraceReuse(usedAt: Date | null, newerUsed: boolean, now: Date): boolean {
  if (!usedAt || newerUsed) return false;
  const age = now.getTime() - usedAt.getTime();
  return age >= -1000 && age <= REFRESH_REUSE_GRACE_SECONDS * 1000;
}
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_SECONDS = 15 * 60;

/** Trimmed and lower-cased: the one form stored and compared. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface LoginFailureOutcome {
  failedCount: number;
  /** Set when this failure locks the account. */
  lockedUntil: Date | null;
  /** How long to hold the failed response, slowing down guessing before the lock. */
  delayMs: number;
}

/**
 * After each failed password: count it, slow the answer down exponentially from the second failure
 * (100 ms, 200 ms, 400 ms ... at most 2 s), and lock the account for LOCKOUT_SECONDS at MAX_FAILED_LOGINS.
 */
export function onLoginFailure(previousFailures: number, now: Date): LoginFailureOutcome {
  const failedCount = previousFailures + 1;
  const delayMs = failedCount < 2 ? 0 : Math.min(2000, 100 * 2 ** (failedCount - 2));
  const lockedUntil = failedCount >= MAX_FAILED_LOGINS ? new Date(now.getTime() + LOCKOUT_SECONDS * 1000) : null;
  return { failedCount, lockedUntil, delayMs };
}

export function isLocked(lockedUntil: Date | null | undefined, now: Date): boolean {
  return !!lockedUntil && lockedUntil.getTime() > now.getTime();
}

/** URL-safe slug from a tenant name: lower case, ASCII letters, digits and dashes. */
export function slugify(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return s || 'tenant';
}

export const API_KEY_PREFIX = 'sk_live_';
/** Publishable keys: safe to embed in a web page (collection and serving only, allowed origins). */
export const PUBLISHABLE_KEY_PREFIX = 'pk_live_';
/** Requests a minute a new publishable key may make unless its creator says otherwise (all shoppers together). */
export const DEFAULT_PUBLISHABLE_RATE_PER_MINUTE = 6000;
/** How long a rotated key keeps working by default, so pages and servers can be redeployed with the new one. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600;

/** The visible, non-secret start of a key used to recognise it in lists (seed 003: `sk_live_a1b`). */
export const keyPrefixOf = (apiKey: string): string => apiKey.slice(0, API_KEY_PREFIX.length + 4);
