import { createHmac } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { AppError } from '../../platform/index.ts';

/**
 * Signed shopper session tokens (HS256 JWTs), the storefront's proof of which shopper it acts for. A page holding
 * a publishable key can only touch the carts and orders of the shopper its token names; a merchant's server
 * (secret key with `commerce:write`) mints tokens for its signed-in customers, a page gets an anonymous one.
 *
 * Each tenant signs with its own key, HMAC-SHA256(server secret, "loupe-shopper:" + tenant id): a token of
 * tenant A does not verify on tenant B, even before the `tid` claim is compared.
 */
export type ShopperKind = 'customer' | 'anonymous';

export interface ShopperClaims {
  kind: ShopperKind;
  /** The customer id (the store's own user id) or the anonymous id. */
  id: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

/** A merchant-minted customer token lives one hour by default (a day at most: `shopperTokenBody`): it stands for a sign-in. */
export const CUSTOMER_TOKEN_SECONDS = 3600;
/** An anonymous token guards only a random visitor's cart; it lives as long as such a visitor usually returns. */
export const ANONYMOUS_TOKEN_SECONDS = 30 * 86_400;

const ISSUER = 'loupe';
const AUDIENCE = 'loupe-shopper';

const invalid = () =>
  new AppError('unauthenticated', 'SHOPPER_TOKEN_INVALID', 'The shopper token is not valid: get a new one (X-Shopper-Token).');

export function createShopperTokens(serverSecret: string) {
  const keyOf = (tenantId: string) => createHmac('sha256', serverSecret).update(`loupe-shopper:${tenantId}`).digest();
  return {
    /** A token for `shopper` of `tenantId`, valid `ttlSeconds` from `nowSeconds`. */
    async sign(tenantId: string, shopper: { kind: ShopperKind; id: string }, ttlSeconds: number, nowSeconds: number): Promise<string> {
      return new SignJWT({ typ: 'shopper', knd: shopper.kind, tid: tenantId })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(shopper.id)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + ttlSeconds)
        .sign(keyOf(tenantId));
    },

    /**
     * The shopper a token names, for `tenantId` at `nowSeconds`. HS256 only (`alg: none` and key confusion are
     * refused); 401 SHOPPER_TOKEN_EXPIRED or SHOPPER_TOKEN_INVALID otherwise.
     */
    async verify(tenantId: string, token: string, nowSeconds: number): Promise<ShopperClaims> {
      if (token.length > 2000) throw invalid();
      try {
        const { payload } = await jwtVerify(token, keyOf(tenantId), {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          currentDate: new Date(nowSeconds * 1000),
        });
        const kind = payload.knd;
        if (
          payload.typ !== 'shopper' ||
          payload.tid !== tenantId ||
          (kind !== 'customer' && kind !== 'anonymous') ||
          typeof payload.sub !== 'string' ||
          !payload.sub ||
          typeof payload.exp !== 'number'
        )
          throw invalid();
        return { kind, id: payload.sub, expiresAt: payload.exp };
      } catch (err) {
        if (err instanceof AppError) throw err;
        if (err instanceof joseErrors.JWTExpired)
          throw new AppError(
            'unauthenticated',
            'SHOPPER_TOKEN_EXPIRED',
            'The shopper token has expired: get a new one (POST /api/v1/commerce/shopper-tokens).',
          );
        throw invalid();
      }
    },
  };
}
export type ShopperTokens = ReturnType<typeof createShopperTokens>;
