import { describe, expect, it } from 'vitest';
import {
  decideIdentity,
  decideMembership,
  emailDomainAllowed,
  issuerProblem,
  normalizeDomains,
  policyProblem,
  safeNextPath,
} from './sso.core.ts';

describe('sso core', () => {
  it('accepts https issuers and http only on this machine', () => {
    expect(issuerProblem('https://login.acme.com')).toBeUndefined();
    expect(issuerProblem('http://127.0.0.1:4000')).toBeUndefined();
    expect(issuerProblem('http://localhost:4000/realms/x')).toBeUndefined();
    expect(issuerProblem('http://login.acme.com')).toMatch(/https/);
    expect(issuerProblem('https://u:p@login.acme.com')).toMatch(/credentials/);
    expect(issuerProblem('https://login.acme.com/?x=1')).toMatch(/query/);
    expect(issuerProblem('javascript:alert(1)')).toMatch(/https/);
    expect(issuerProblem('not a url')).toMatch(/URL/);
  });

  it('matches e-mail domains exactly (no subdomain, no suffix trick)', () => {
    const allowed = normalizeDomains([' @Acme.com ', 'acme.com', 'b.io']);
    expect(allowed).toEqual(['acme.com', 'b.io']);
    expect(emailDomainAllowed('a@ACME.com', allowed)).toBe(true);
    expect(emailDomainAllowed('a@evilacme.com', allowed)).toBe(false);
    expect(emailDomainAllowed('a@x.acme.com', allowed)).toBe(false);
    expect(emailDomainAllowed('a@acme.com@evil.io', ['evil.io'])).toBe(true);
    expect(emailDomainAllowed('a@acme.com@evil.io', allowed)).toBe(false);
    expect(emailDomainAllowed('anyone@any.where', [])).toBe(true);
  });

  it('never takes an asserted e-mail as proof of owning the account', () => {
    const base = {
      linkedUserId: undefined,
      email: 'a@acme.com',
      emailVerified: true,
      accountUserId: undefined,
      allowedDomains: ['acme.com'],
    };
    expect(decideIdentity({ ...base, linkedUserId: 'u1' })).toEqual({ kind: 'linked', userId: 'u1' });
    expect(decideIdentity({ ...base, accountUserId: 'u2' })).toEqual({ kind: 'link_required', userId: 'u2', email: 'a@acme.com' });
    expect(decideIdentity(base)).toEqual({ kind: 'new_account', email: 'a@acme.com' });
    expect(decideIdentity({ ...base, emailVerified: false, accountUserId: 'u2' })).toMatchObject({ code: 'SSO_EMAIL_UNVERIFIED' });
    expect(decideIdentity({ ...base, email: undefined })).toMatchObject({ code: 'SSO_EMAIL_MISSING' });
    expect(decideIdentity({ ...base, email: 'a@other.com' })).toMatchObject({ code: 'SSO_EMAIL_DOMAIN_NOT_ALLOWED' });
  });

  it('admits members, invitations, just-in-time; refuses others when invite-only', () => {
    const base = { membership: undefined, invitation: undefined, provisioning: 'invite_only' as const, defaultRole: 'viewer' as const };
    expect(decideMembership({ ...base, membership: { role: 'admin', status: 'active' } })).toEqual({ kind: 'member' });
    expect(decideMembership({ ...base, invitation: { id: 'i', role: 'analyst' } })).toEqual({
      kind: 'add',
      role: 'analyst',
      invitationId: 'i',
    });
    expect(decideMembership({ ...base, membership: { role: 'admin', status: 'invited' } })).toEqual({
      kind: 'add',
      role: 'admin',
      invitationId: null,
    });
    expect(decideMembership(base)).toEqual({ kind: 'refused', code: 'SSO_NOT_INVITED' });
    expect(decideMembership({ ...base, provisioning: 'jit' })).toEqual({ kind: 'add', role: 'viewer', invitationId: null });
  });

  it('requires a domain list for just-in-time membership, and keeps next paths on this site', () => {
    expect(policyProblem({ provisioning: 'jit', allowedDomains: [] })).toBeDefined();
    expect(policyProblem({ provisioning: 'jit', allowedDomains: ['a.com'] })).toBeUndefined();
    expect(policyProblem({ provisioning: 'invite_only', allowedDomains: [] })).toBeUndefined();
    expect(safeNextPath('/catalog?x=1')).toBe('/catalog?x=1');
    for (const bad of ['//evil.com', 'https://evil.com', '/\\evil.com', 'catalog', undefined]) expect(safeNextPath(bad)).toBeUndefined();
  });
});
