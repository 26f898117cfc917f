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
    async signMfa(userId: string, nowSeconds: number): Promise<string> {
      return new SignJWT({ typ: 'mfa' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(MFA_AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + MFA_TOKEN_SECONDS)
        .sign(key);
    },
    async verifyMfa(token: string): Promise<string> {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: MFA_AUDIENCE });
        if (payload.typ !== 'mfa' || typeof payload.sub !== 'string') throw new Error('not an mfa token');
        return payload.sub;
      } catch {
        throw new AppError('unauthenticated', 'MFA_TOKEN_INVALID', 'The sign-in step has expired or is not valid. Sign in again.');
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
