import type { FastifyRequest } from 'fastify';
import { AppError, type TenantContext } from '../../platform/index.ts';
import type { Shopper } from './carts.repository.ts';
import type { CartRef } from './carts.service.ts';
import type { ShopperClaims, ShopperTokens } from './shopper-tokens.ts';

/** The header a storefront page sends its shopper token in (the Authorization header carries the site key). */
export const SHOPPER_TOKEN_HEADER = 'x-shopper-token';

/** How a request names its shopper in the body or query (seed 000's cart calls). */
export interface NamedShopper {
  cart_id?: string | undefined;
  user_id?: string | undefined;
  anonymous_id?: string | undefined;
}

/**
 * The one place that decides whose carts and orders a storefront call may touch. A caller holding
 * `commerce:write` (a merchant's server, a dashboard user) acts for any shopper it names, as seed 000 does.
 * Anyone else (a publishable site key, `commerce:shop`) must send a shopper token and is bound to the shopper
 * it names: naming another shopper is 403 SHOPPER_MISMATCH, another shopper's cart answers like an unknown one.
 * A token sent by a trusted caller binds its call too.
 */
export function createShopperAccess(deps: { tokens: ShopperTokens; clock: () => Date }) {
  /** The shopper `token` names in the caller's tenant (401 when forged, expired or another tenant's). */
  const verify = (ctx: TenantContext, token: string): Promise<ShopperClaims> =>
    deps.tokens.verify(ctx.tenantId, token, Math.floor(deps.clock().getTime() / 1000));

  /** The verified shopper of the request, or null for a trusted caller that sent no token. */
  async function claims(request: FastifyRequest, ctx: TenantContext): Promise<ShopperClaims | null> {
    const raw = request.headers[SHOPPER_TOKEN_HEADER];
    if (raw === undefined || raw === '') {
      if (ctx.permissions.has('commerce:write')) return null;
      throw new AppError(
        'unauthenticated',
        'SHOPPER_TOKEN_REQUIRED',
        'A site key acts for one shopper: send their token in X-Shopper-Token (POST /api/v1/commerce/shopper-tokens gives one).',
      );
    }
    if (typeof raw !== 'string') throw new AppError('unauthenticated', 'SHOPPER_TOKEN_INVALID', 'Send one X-Shopper-Token header.');
    return verify(ctx, raw);
  }

  return {
    verify,
    claims,
    /** The cart reference of a call: what the request names, held to the token's shopper when there is one. */
    async cartRef(request: FastifyRequest, ctx: TenantContext, named: NamedShopper): Promise<CartRef> {
      const bound = await claims(request, ctx);
      if (!bound) return { cartId: named.cart_id, userId: named.user_id, anonymousId: named.anonymous_id, owner: null };
      const owner = shopperOf(bound);
      if (
        (named.user_id !== undefined && named.user_id !== owner.userId) ||
        (named.anonymous_id !== undefined && named.anonymous_id !== owner.anonymousId)
      )
        throw mismatch();
      return { cartId: named.cart_id, ...owner, owner };
    },
  };
}
export type ShopperAccess = ReturnType<typeof createShopperAccess>;

export const shopperOf = (claims: ShopperClaims): Shopper =>
  claims.kind === 'customer' ? { userId: claims.id } : { anonymousId: claims.id };

export const mismatch = () =>
  new AppError('forbidden', 'SHOPPER_MISMATCH', "This shopper token names another shopper: a site key only acts for its token's shopper.");
