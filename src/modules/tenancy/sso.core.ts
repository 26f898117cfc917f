/**
 * Pure rules of single sign-on (OpenID Connect): which issuers may be configured, which e-mails a provider may
 * sign in, and what a verified identity leads to. No I/O and no clock reads.
 */
import type { Role } from '../../platform/index.ts';

/** How long an authorization request may take between "Sign in with …" and the provider's redirect back. */
export const SSO_LOGIN_TTL_MS = 10 * 60_000;
/** Seconds a pending link (an SSO identity whose e-mail has an account) waits for that account's password. */
export const SSO_LINK_TOKEN_SECONDS = 10 * 60;
export const SSO_PROVISIONING = ['jit', 'invite_only'] as const;
export type SsoProvisioning = (typeof SSO_PROVISIONING)[number];

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Why an issuer URL cannot be used, or undefined when it can: https only (the discovery document, the keys and
 * the token exchange must not travel in clear), except a loopback address (a provider on this machine, as in
 * development and tests); no credentials, query or fragment (OpenID Connect Discovery 1.0 §4).
 */
export function issuerProblem(issuer: string): string | undefined {
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    return 'must be a URL such as https://login.example.com';
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname)))
    return 'must use https (http only for a provider on this machine)';
  if (u.username || u.password) return 'must not contain credentials';
  if (u.search || u.hash) return 'must not have a query or fragment';
  return undefined;
}

/** Whether requests to this issuer may use http (a loopback provider only, per issuerProblem). */
export const isLoopbackHttp = (issuer: string): boolean => {
  const u = new URL(issuer);
  return u.protocol === 'http:' && LOOPBACK.has(u.hostname);
};

/** A domain list as stored: trimmed, lower case, no leading "@", unique, sorted. Undefined entries are refused upstream. */
export function normalizeDomains(domains: readonly string[]): string[] {
  return [...new Set(domains.map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter((d) => d.length > 0))].sort();
}

/** A plausible DNS domain (letters, digits, dashes, at least one dot). */
export const isDomain = (d: string): boolean => /^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(d);

/** Whether the e-mail's domain is allowed (an empty list allows any domain; subdomains are not implied). */
export function emailDomainAllowed(email: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const at = email.lastIndexOf('@');
  if (at < 1) return false;
  return allowed.includes(email.slice(at + 1).toLowerCase());
}

export interface SsoIdentityFacts {
  /** The account already linked to (provider, sub), if any. */
  linkedUserId: string | undefined;
  /** The ID token's e-mail (normalized) and whether the provider says it is verified (`email_verified === true`). */
  email: string | undefined;
  emailVerified: boolean;
  /** An account with that e-mail, if any. */
  accountUserId: string | undefined;
  allowedDomains: readonly string[];
}

export type SsoIdentityOutcome =
  | { kind: 'linked'; userId: string }
  | { kind: 'new_account'; email: string }
  | { kind: 'link_required'; userId: string; email: string }
  | { kind: 'refused'; code: 'SSO_EMAIL_MISSING' | 'SSO_EMAIL_UNVERIFIED' | 'SSO_EMAIL_DOMAIN_NOT_ALLOWED' };

/**
 * What a validated ID token leads to. An identity already linked signs its account in. Otherwise the provider
 * must assert a verified e-mail of an allowed domain; an e-mail that belongs to an account is never taken as
 * proof of owning that account (a provider asserting someone's address cannot take it over): linking needs the
 * account's own consent (its password), so the outcome is `link_required`. A new address gets a new account.
 */
export function decideIdentity(f: SsoIdentityFacts): SsoIdentityOutcome {
  if (f.linkedUserId) return { kind: 'linked', userId: f.linkedUserId };
  if (!f.email) return { kind: 'refused', code: 'SSO_EMAIL_MISSING' };
  if (!f.emailVerified) return { kind: 'refused', code: 'SSO_EMAIL_UNVERIFIED' };
  if (!emailDomainAllowed(f.email, f.allowedDomains)) return { kind: 'refused', code: 'SSO_EMAIL_DOMAIN_NOT_ALLOWED' };
  if (f.accountUserId) return { kind: 'link_required', userId: f.accountUserId, email: f.email };
  return { kind: 'new_account', email: f.email };
}

export type MembershipOutcome =
  | { kind: 'member' }
  | { kind: 'add'; role: Role; invitationId: string | null }
  | { kind: 'refused'; code: 'SSO_NOT_INVITED' };

/**
 * Whether the signed-in identity may act in the tenant: an active member may; an open invitation (or a pending
 * membership) is accepted with its role; otherwise just-in-time provisioning adds a member with the provider's
 * default role, and invite-only refuses.
 */
export function decideMembership(f: {
  membership: { role: Role; status: 'active' | 'invited' } | undefined;
  invitation: { id: string; role: Role } | undefined;
  provisioning: SsoProvisioning;
  defaultRole: Role;
}): MembershipOutcome {
  if (f.membership?.status === 'active') return { kind: 'member' };
  if (f.invitation) return { kind: 'add', role: f.invitation.role, invitationId: f.invitation.id };
  if (f.membership?.status === 'invited') return { kind: 'add', role: f.membership.role, invitationId: null };
  if (f.provisioning === 'jit') return { kind: 'add', role: f.defaultRole, invitationId: null };
  return { kind: 'refused', code: 'SSO_NOT_INVITED' };
}

/** A same-origin path to return to after sign-in ("/catalog?x=1"), or undefined for anything else. */
export function safeNextPath(next: string | undefined): string | undefined {
  if (!next || next.length > 500 || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return undefined;
  return next;
}

/** Why a provider's sign-in policy is unsafe, or undefined: just-in-time accounts need a domain list (else anyone the provider knows joins). */
export function policyProblem(p: { provisioning: SsoProvisioning; allowedDomains: readonly string[] }): string | undefined {
  if (p.provisioning === 'jit' && p.allowedDomains.length === 0)
    return 'Just-in-time membership needs at least one allowed e-mail domain; otherwise anyone with an account at the provider could join.';
  return undefined;
}
