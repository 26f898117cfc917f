import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from '../../platform/index.ts';
import { ACCESS_TOKEN_SECONDS } from './auth.core.ts';

/** Claims of a Loupe access token (HS256, 15 minutes). */
export interface AccessClaims {
  sub: string; // user id
  sid: string; // session (refresh family) id
  auth_time: number; // seconds since epoch of the last password check (login or step-up)
  adm: boolean; // platform administrator
}

const ISSUER = 'loupe';
const AUDIENCE = 'loupe-api';
const MFA_AUDIENCE = 'loupe-mfa';
const SSO_LINK_AUDIENCE = 'loupe-sso-link';

/** What a pending SSO link carries: the account whose password must consent, and the identity to link. */
export interface SsoLinkClaims {
  userId: string;
  tenantId: string;
  providerId: string;
  subject: string;
  email: string;
}
/** Seconds between a right password and its second factor. */
export const MFA_TOKEN_SECONDS = 5 * 60;

export function createTokenSigner(secret: string) {
  const key = new TextEncoder().encode(secret);
  return {
    async sign(claims: AccessClaims, nowSeconds: number): Promise<string> {
      return new SignJWT({ sid: claims.sid, auth_time: claims.auth_time, adm: claims.adm, typ: 'access' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + ACCESS_TOKEN_SECONDS)
        .sign(key);
    },
    /**
     * The short-lived proof that a password was right, exchanged with a second factor for a session
     * (POST /api/v1/auth/2fa/verify). Its own `typ` and audience: it is never an access token.
     */
    async signMfa(userId: string, nowSeconds: number, ssoTenantId: string | null = null): Promise<string> {
      return new SignJWT({ typ: 'mfa', ...(ssoTenantId ? { sso: ssoTenantId } : {}) })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(MFA_AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + MFA_TOKEN_SECONDS)
        .sign(key);
    },
    /** The user of a valid step token, and the tenant whose provider signed them in when the first step was SSO. */
    async verifyMfa(token: string): Promise<{ userId: string; ssoTenantId: string | null }> {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: MFA_AUDIENCE });
        if (payload.typ !== 'mfa' || typeof payload.sub !== 'string') throw new Error('not an mfa token');
        return { userId: payload.sub, ssoTenantId: typeof payload.sso === 'string' ? payload.sso : null };
      } catch {
        throw new AppError('unauthenticated', 'MFA_TOKEN_INVALID', 'The sign-in step has expired or is not valid. Sign in again.');
      }
    },
    /** A pending SSO link (an identity whose verified e-mail has an account): exchanged with that account's password. */
    async signSsoLink(c: SsoLinkClaims, nowSeconds: number, ttlSeconds: number): Promise<string> {
      return new SignJWT({ typ: 'sso_link', tid: c.tenantId, pid: c.providerId, ssub: c.subject, email: c.email })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(c.userId)
        .setIssuer(ISSUER)
        .setAudience(SSO_LINK_AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + ttlSeconds)
        .sign(key);
    },
    async verifySsoLink(token: string): Promise<SsoLinkClaims> {
      try {
        const { payload: p } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: SSO_LINK_AUDIENCE });
        if (
          p.typ !== 'sso_link' ||
          typeof p.sub !== 'string' ||
          typeof p.tid !== 'string' ||
          typeof p.pid !== 'string' ||
          typeof p.ssub !== 'string' ||
          typeof p.email !== 'string'
        )
          throw new Error('not a link token');
        return { userId: p.sub, tenantId: p.tid, providerId: p.pid, subject: p.ssub, email: p.email };
      } catch {
        throw new AppError(
          'unauthenticated',
          'SSO_LINK_TOKEN_INVALID',
          'This link step has expired or is not valid. Sign in with your provider again.',
        );
      }
    },
    /** Verifies signature, algorithm (HS256 only: `alg: none` and key confusion are refused), issuer, audience and expiry. */
    async verify(token: string): Promise<AccessClaims> {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });
        if (
          payload.typ !== 'access' ||
          typeof payload.sub !== 'string' ||
          typeof payload.sid !== 'string' ||
          typeof payload.auth_time !== 'number'
        ) {
          throw new AppError('unauthenticated', 'TOKEN_INVALID', 'The access token is not valid. Sign in again.');
        }
        return { sub: payload.sub, sid: payload.sid, auth_time: payload.auth_time, adm: payload.adm === true };
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (err instanceof joseErrors.JWTExpired) {
          throw new AppError(
            'unauthenticated',
            'TOKEN_EXPIRED',
            'The access token has expired. Get a new one with POST /api/v1/auth/refresh.',
          );
        }
        throw new AppError('unauthenticated', 'TOKEN_INVALID', 'The access token is not valid. Sign in again.');
      }
    },
  };
}
export type TokenSigner = ReturnType<typeof createTokenSigner>;
