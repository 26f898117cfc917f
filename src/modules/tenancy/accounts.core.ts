/**
 * Pure rules of e-mailed account links (invitations, password resets): lifetimes, where a link points, why a
 * token cannot be used, and the messages' text.
 */

/** An invitation link works for 7 days; resending gives a new link and 7 more days. */
export const INVITATION_TTL_MS = 7 * 24 * 60 * 60_000;
/** A password reset link works for one hour. */
export const RESET_TTL_MS = 60 * 60_000;
/** At most this many reset e-mails per account an hour (more requests still answer 202 and send nothing). */
export const RESETS_PER_HOUR = 3;
/** An invitation is sent again at most once a minute (no mail-bombing an address through the resend button). */
export const INVITATION_RESEND_COOLDOWN_MS = 60_000;
export const INVITATION_TOKEN_PREFIX = 'inv_';

/** Whole seconds (at least 1) until an invitation last sent at `lastSentAt` may be resent, or 0 when it may be now. */
export function resendWaitSeconds(lastSentAt: Date, now: Date): number {
  const ms = lastSentAt.getTime() + INVITATION_RESEND_COOLDOWN_MS - now.getTime();
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}
export const RESET_TOKEN_PREFIX = 'pwr_';
export const REGISTRATION_TOKEN_PREFIX = 'reg_';
/** A sign-up link works for one day; signing up again sends a new one. */
export const REGISTRATION_TTL_MS = 24 * 60 * 60_000;
/** At most this many sign-up e-mails per address an hour (more requests still answer 202 and send nothing). */
export const REGISTRATION_MAILS_PER_HOUR = 3;

/**
 * The dashboard link for a token. The token rides in the fragment (#token=…): browsers never send it to a
 * server nor in a Referer. The base is the configured public address, never a request's Host header (a
 * forged Host would otherwise send a victim's reset link to the attacker's site).
 */
export function accountLink(base: string, page: 'accept-invite' | 'reset-password' | 'verify-registration', token: string): string {
  return `${base.replace(/\/+$/, '')}/${page}#token=${encodeURIComponent(token)}`;
}

export type TokenProblem = 'invalid' | 'used' | 'expired' | 'withdrawn';

/** Why a stored token cannot be used now, or undefined when it can. */
export function tokenProblem(
  t: { usedAt: Date | null; revokedAt?: Date | null; expiresAt: Date } | undefined,
  now: Date,
): TokenProblem | undefined {
  if (!t) return 'invalid';
  if (t.usedAt) return 'used';
  if (t.revokedAt) return 'withdrawn';
  if (t.expiresAt.getTime() <= now.getTime()) return 'expired';
  return undefined;
}

/** A token that is well-formed enough to look up (prefix, length, base62 only): anything else is simply invalid. */
export function plausibleToken(token: string, prefix: string): boolean {
  return token.length === prefix.length + 43 && token.startsWith(prefix) && /^[A-Za-z0-9]+$/.test(token.slice(prefix.length));
}

export function invitationMail(i: { tenantName: string; inviter: string | null; role: string; link: string; expiresAt: Date }) {
  const who = i.inviter ? `${i.inviter} has invited you` : 'You have been invited';
  const text = `${who} to join ${i.tenantName} on Loupe as ${i.role}.

Accept the invitation and choose your password here:
${i.link}

The link works once and until ${i.expiresAt.toUTCString()}. If you did not expect this e-mail, ignore it.`;
  return { subject: `Join ${i.tenantName} on Loupe`, text };
}

export function resetMail(i: { link: string }) {
  const text = `Someone (hopefully you) asked to reset the password of your Loupe account.

Choose a new password here (the link works once, for one hour):
${i.link}

Resetting signs you out everywhere. If you did not ask for this, ignore this e-mail: your password stays as it is.`;
  return { subject: 'Reset your Loupe password', text };
}

export function registrationMail(i: { link: string; tenantName: string | null }) {
  const what = i.tenantName ? `your Loupe account and the store ${i.tenantName}` : 'your Loupe account';
  const text = `Someone (hopefully you) signed up for Loupe with this e-mail address.

Confirm the address to create ${what} (the link works once, for one day):
${i.link}

If you did not sign up, ignore this e-mail: no account is created.`;
  return { subject: 'Confirm your e-mail to finish signing up for Loupe', text };
}

/** Sent instead of a sign-up link when the address already has an account: it tells nobody else. */
export function alreadyRegisteredMail(i: { signInLink: string; resetLink: string }) {
  const text = `Someone (hopefully you) tried to sign up for Loupe with this e-mail address, but it already has an account.

Sign in here: ${i.signInLink}
Forgot your password? Choose a new one here: ${i.resetLink}

If this was not you, ignore this e-mail: nothing has changed on your account.`;
  return { subject: 'You already have a Loupe account', text };
}
