import {
  type Q,
  AppError,
  type Db,
  type TenantContext,
  conflict,
  formatMoneyDisplay,
  notFound,
  validation,
  inTenant,
} from '../../platform/index.ts';
import type { IdentityApi } from '../identity/index.ts';
import type { SellableRepository } from '../catalog/index.ts';
import {
  type CartNotice,
  type CatalogItemNow,
  MAX_LINES,
  MAX_QUANTITY,
  OVER_BUDGET,
  type PromotionRow,
  type StoredLine,
  applicablePromotions,
  priceWithinBudgets,
  promotionRefusal,
  refreshLines,
  unsellableReason,
} from './cart.core.ts';
import type { CartRow, CartsRepository, Shopper } from './carts.repository.ts';
import type { ReservationsRepository } from './reservations.repository.ts';
import type { SettingsRepository, ShippingOption } from './settings.repository.ts';
import type { CartTotals } from './totals.core.ts';

/** How a request names a cart: by id, or by its shopper (signed-in customer id, else anonymous id). */
export interface CartRef {
  cartId?: string | undefined;
  userId?: string | undefined;
  anonymousId?: string | undefined;
  /** The shopper a shopper token binds the call to (null: a trusted caller acting for whoever it names). */
  owner: Shopper | null;
}

/** Whether `cart` is `owner`'s: their customer cart, or their anonymous cart not yet adopted by a customer. */
export function ownsCart(owner: Shopper, cart: Pick<CartRow, 'userId' | 'anonymousId'>): boolean {
  if (owner.userId) return cart.userId === owner.userId;
  return !!owner.anonymousId && cart.userId === null && cart.anonymousId === owner.anonymousId;
}

export interface CartView {
  cart: CartRow;
  lines: StoredLine[];
  notices: CartNotice[];
  totals: CartTotals;
  /** Totals of each counted line, by line id. */
  lineTotals: Map<string, CartTotals['items'][number]>;
  promotions: { id: string; code: string | null; amount: bigint }[];
  /** Codes on the cart that no longer apply (expired, used up, stopped), with the reason. */
  refusedCodes: { code: string; reason: string }[];
  shippingOption: ShippingOption | null;
}

/**
 * Customer segments for promotion rules, implemented outside commerce (identity's read-only profile lookup and
 * predictions' scored RFM segment of the profile, wired in src/app.ts): commerce sits beside predictions, so it
 * declares what it reads.
 */
export interface ShopperSegmentsPort {
  /** The profile holding each identifier, or null; creates nothing. */
  lookupProfiles(tenantId: string, identifiers: readonly { type: string; value: string }[]): Promise<(string | null)[]>;
  segmentsOfProfiles(tenantId: string, profileIds: readonly string[]): Promise<Map<string, string>>;
}

/** A shopper's segments, as the cart prices promotions: empty when none or not scored (segment rules deny). */
export type ShopperSegments = ReadonlySet<string>;
const NO_SEGMENTS: ShopperSegments = new Set();

export interface CartsServiceDeps {
  db: Db;
  repo: CartsRepository;
  settings: SettingsRepository;
  catalog: SellableRepository;
  identity: Pick<IdentityApi, 'resolveMany'>;
  /** Segment rules read the shopper's segments here; absent: no shopper is in any segment. */
  segments?: ShopperSegmentsPort | undefined;
  reservations: ReservationsRepository;
  clock: () => Date;
}

const CART_NOT_FOUND = () => notFound('CART_NOT_FOUND', 'The cart');

export function createCartsService(deps: CartsServiceDeps) {
  const { db, repo } = deps;

  /**
   * The items as `cartId`'s shopper may buy them now: tracked stock less what other carts' unexpired reservations
   * hold (null cart: a shopper who has none yet, so every reservation is another's). Units held for others are not
   * for sale; an item wholly held reads as out of stock.
   */
  async function catalogMap(
    q: Q,
    tenantId: string,
    itemIds: readonly string[],
    cartId: string | null,
  ): Promise<Map<string, CatalogItemNow>> {
    const [items, held] = await Promise.all([
      deps.catalog.sellableItems(q, tenantId, itemIds),
      deps.reservations.heldByOthers(q, tenantId, cartId, itemIds, deps.clock()),
    ]);
    return new Map(
      items.map((i) => {
        const h = held.get(i.itemId) ?? 0;
        if (i.stock === null || h === 0) return [i.itemId, i];
        const left = Math.max(0, i.stock - h);
        return [i.itemId, { ...i, stock: left, sellable: i.sellable && left > 0 }];
      }),
    );
  }

  /**
   * The segments of the shopper `ref` (or `cart`) names, read before any transaction (identity and predictions
   * answer on their own connections): the cart's profile once signed in, else the profile holding the customer's
   * or visitor's id. Nothing is looked up while no active promotion has a segment rule.
   */
  async function segmentsFor(
    tenantId: string,
    who: Pick<CartRef, 'cartId' | 'userId' | 'anonymousId'> | Pick<CartRow, 'profileId' | 'userId' | 'anonymousId'>,
  ): Promise<ShopperSegments> {
    if (!deps.segments || !(await repo.hasSegmentPromotions(db, tenantId))) return NO_SEGMENTS;
    let profileId = 'profileId' in who ? who.profileId : null;
    let { userId, anonymousId } = who;
    if ('cartId' in who && who.cartId) {
      const cart = await repo.getCart(db, tenantId, who.cartId);
      if (cart) ({ profileId, userId, anonymousId } = cart);
    }
    if (!profileId) {
      const ids = [
        ...(userId ? [{ type: 'user_id', value: userId }] : []),
        ...(anonymousId && !userId ? [{ type: 'anonymous_id', value: anonymousId }] : []),
      ];
      profileId = ids.length ? ((await deps.segments.lookupProfiles(tenantId, ids)).find((p) => p) ?? null) : null;
    }
    if (!profileId) return NO_SEGMENTS;
    const segment = (await deps.segments.segmentsOfProfiles(tenantId, [profileId])).get(profileId);
    return segment ? new Set([segment]) : NO_SEGMENTS;
  }

  /** Prices the cart as stored now (no refresh) for a shopper in `segments`. */
  async function view(
    q: Q,
    tenantId: string,
    cart: CartRow,
    lines: StoredLine[],
    notices: CartNotice[],
    segments: ShopperSegments,
  ): Promise<CartView> {
    const settings = await deps.settings.get(q, tenantId);
    const promotionRows = await repo.promotionsFor(q, tenantId, cart.promotionCodes);
    const now = deps.clock();
    // Category rules need the lines' categories: read only when a promotion has one.
    const categoryOf = promotionRows.some((p) => p.targetCategories)
      ? new Map(
          (
            await deps.catalog.sellableItems(
              q,
              tenantId,
              lines.map((l) => l.itemId),
            )
          ).map((i) => [i.itemId, i.categoryPath]),
        )
      : undefined;
    const promos = applicablePromotions(promotionRows, cart.currency, now, categoryOf, segments);
    const shippingOption = settings.shippingOptions.find((o) => o.id === cart.shippingOptionId && o.currency === cart.currency) ?? null;
    // A budgeted promotion whose discount here exceeds its budget's rest is dropped (checkout would refuse it).
    const priced = priceWithinBudgets(lines, settings, shippingOption?.amountMinor ?? null, promos, promotionRows);
    const refusedCodes = cart.promotionCodes.flatMap((code) => {
      const p = promotionRows.find((r) => r.code === code);
      const reason = p
        ? (promotionRefusal(p, cart.currency, now, segments) ?? (priced.overBudget.includes(p.id) ? OVER_BUDGET : null))
        : 'does not exist';
      return reason ? [{ code, reason }] : [];
    });
    const lineTotals = new Map(priced.counted.map((l, i) => [l.id, priced.totals.items[i]!]));
    const byId = new Map(promotionRows.map((p) => [p.id, p]));
    return {
      cart,
      lines,
      notices,
      totals: priced.totals,
      lineTotals,
      promotions: [...priced.discounts].map(([id, amount]) => ({ id, code: byId.get(id)?.code ?? null, amount })),
      refusedCodes,
      shippingOption,
    };
  }

  /** Refreshes prices and availability from the catalog (storing what changed) and prices the cart. */
  async function refreshed(q: Q, tenantId: string, cart: CartRow, segments: ShopperSegments): Promise<CartView> {
    const lines = await repo.lines(q, tenantId, cart.id);
    if (cart.status !== 'active') return view(q, tenantId, cart, lines, [], segments);
    const catalog = await catalogMap(
      q,
      tenantId,
      lines.map((l) => l.itemId),
      cart.id,
    );
    const { updates, notices } = refreshLines(lines, catalog, cart.currency, (m) => formatMoneyDisplay(m, cart.currency));
    if (updates.length) await repo.updateLines(q, tenantId, updates);
    const byId = new Map(updates.map((u) => [u.id, u]));
    const current = lines.map((l) => ({ ...l, ...(byId.get(l.id) ?? {}) }));
    return view(q, tenantId, cart, current, notices, segments);
  }

  function shopperOf(ref: CartRef): Shopper | null {
    if (ref.userId) return { userId: ref.userId };
    if (ref.anonymousId) return { anonymousId: ref.anonymousId };
    return null;
  }

  /** The active cart named by `ref`, locked for the caller's transaction; null when the shopper has none yet. */
  async function activeCart(q: Q, tenantId: string, ref: CartRef): Promise<CartRow | null> {
    if (ref.cartId) {
      const cart = await repo.lockCart(q, tenantId, ref.cartId);
      // Another shopper's cart answers like an unknown one.
      if (!cart || (ref.owner && !ownsCart(ref.owner, cart))) throw CART_NOT_FOUND();
      if (cart.status !== 'active')
        throw conflict('CART_NOT_ACTIVE', `This cart is ${cart.status}: start a new cart (send the shopper's user_id or anonymous_id).`);
      return cart;
    }
    const shopper = shopperOf(ref);
    if (!shopper) throw validation('CART_REF_REQUIRED', 'Name the cart: send cart_id, user_id or anonymous_id.');
    const found = await repo.findActive(q, tenantId, shopper);
    return found ? ((await repo.lockCart(q, tenantId, found.id)) ?? null) : null;
  }

  async function mustActive(q: Q, tenantId: string, ref: CartRef): Promise<CartRow> {
    const cart = await activeCart(q, tenantId, ref);
    if (!cart) throw CART_NOT_FOUND();
    return cart;
  }

  function checkQuantity(quantity: number, item: CatalogItemNow | undefined): void {
    if (quantity > MAX_QUANTITY)
      throw validation('QUANTITY_TOO_LARGE', `A cart holds at most ${MAX_QUANTITY} units of one item.`, [
        { field: 'quantity', message: `must be at most ${MAX_QUANTITY} in total for this item` },
      ]);
    if (item?.stock !== null && item?.stock !== undefined && item.stock < quantity)
      throw new AppError('conflict', 'INSUFFICIENT_STOCK', `Only ${item.stock} of ${item.name} left: lower the quantity.`, {
        details: [{ field: 'quantity', message: `at most ${item.stock} available` }],
      });
  }

  return {
    /** The shipping options a storefront may offer, in `currency` when given (settings are the merchant's; this is the shopper's view). */
    async shippingOptions(ctx: TenantContext, currency: string | undefined): Promise<ShippingOption[]> {
      const settings = await deps.settings.get(db, ctx.tenantId);
      return settings.shippingOptions.filter((o) => currency === undefined || o.currency === currency);
    },

    /** The cart named by `ref`, prices and availability refreshed (seed 000 `GET /cart`); null when the shopper has none. */
    async get(ctx: TenantContext, ref: CartRef): Promise<CartView | null> {
      let cart: CartRow | undefined;
      if (ref.cartId) cart = await repo.getCart(db, ctx.tenantId, ref.cartId);
      else {
        const shopper = shopperOf(ref);
        if (!shopper) throw validation('CART_REF_REQUIRED', 'Name the cart: send cart_id, user_id or anonymous_id.');
        cart = await repo.findActive(db, ctx.tenantId, shopper);
        if (!cart) return null;
      }
      if (!cart || (ref.owner && !ownsCart(ref.owner, cart))) throw CART_NOT_FOUND();
      return refreshed(db, ctx.tenantId, cart, await segmentsFor(ctx.tenantId, cart));
    },

    /**
     * Adds units of a catalog item (seed 000 `POST /cart/items`). Creates the shopper's cart in the item's
     * currency (or `currency`) when there is none; refuses an item in another currency than the cart's, an
     * unknown or unavailable item, and more units than the stock or the per-item limit.
     */
    async addItem(
      ctx: TenantContext,
      ref: CartRef,
      input: { itemId: string; quantity: number; currency?: string | undefined },
    ): Promise<CartView> {
      const segments = await segmentsFor(ctx.tenantId, ref);
      return inTenant(db, ctx.tenantId, async (tx) => {
        let cart = await activeCart(tx, ctx.tenantId, ref);
        const catalog = await catalogMap(tx, ctx.tenantId, [input.itemId], cart?.id ?? null);
        const item = catalog.get(input.itemId);
        const currency = cart?.currency ?? input.currency ?? item?.currency?.toUpperCase();
        if (!item) throw notFound('ITEM_NOT_FOUND', `Item "${input.itemId.slice(0, 100)}"`);
        if (!currency) throw validation('CURRENCY_REQUIRED', 'This item has no currency: send currency.');
        if (cart && input.currency && input.currency !== cart.currency)
          throw validation('CURRENCY_MISMATCH', `This cart is in ${cart.currency}, not ${input.currency}.`, [
            { field: 'currency', message: `must be ${cart.currency}, the cart's currency` },
          ]);
        const reason = unsellableReason(item, currency);
        if (reason) {
          const code = reason.startsWith('is priced in') ? 'CURRENCY_MISMATCH' : 'ITEM_UNAVAILABLE';
          throw new AppError(
            code === 'CURRENCY_MISMATCH' ? 'validation' : 'conflict',
            code,
            `Item "${item.name.slice(0, 100)}" ${reason}.`,
          );
        }
        if (!cart) {
          const shopper = shopperOf(ref);
          if (!shopper) throw validation('CART_REF_REQUIRED', 'Name the cart: send cart_id, user_id or anonymous_id.');
          cart = await repo.findOrCreate(tx, ctx.tenantId, shopper, currency);
          cart = (await repo.lockCart(tx, ctx.tenantId, cart.id))!;
        }
        const lines = await repo.lines(tx, ctx.tenantId, cart.id);
        const existing = lines.find((l) => l.itemId === input.itemId);
        if (!existing && lines.length >= MAX_LINES)
          throw validation('CART_FULL', `A cart holds at most ${MAX_LINES} different items: check out or remove some.`);
        checkQuantity((existing?.quantity ?? 0) + input.quantity, item);
        await repo.addLine(tx, ctx.tenantId, cart.id, {
          itemId: item.itemId,
          name: item.name,
          quantity: input.quantity,
          unitPriceMinor: item.priceMinor!,
        });
        return refreshed(tx, ctx.tenantId, cart, segments);
      });
    },

    /** Sets a line's quantity (1..9999; removing is DELETE). */
    async updateLine(ctx: TenantContext, ref: CartRef, lineId: string, quantity: number): Promise<CartView> {
      const segments = await segmentsFor(ctx.tenantId, ref);
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        const line = (await repo.lines(tx, ctx.tenantId, cart.id)).find((l) => l.id === lineId);
        if (!line) throw notFound('CART_LINE_NOT_FOUND', 'The cart line');
        checkQuantity(quantity, (await catalogMap(tx, ctx.tenantId, [line.itemId], cart.id)).get(line.itemId));
        await repo.setQuantity(tx, ctx.tenantId, cart.id, lineId, quantity);
        return refreshed(tx, ctx.tenantId, cart, segments);
      });
    },

    async removeLine(ctx: TenantContext, ref: CartRef, lineId: string): Promise<CartView> {
      const segments = await segmentsFor(ctx.tenantId, ref);
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        if (!(await repo.removeLine(tx, ctx.tenantId, cart.id, lineId))) throw notFound('CART_LINE_NOT_FOUND', 'The cart line');
        return refreshed(tx, ctx.tenantId, cart, segments);
      });
    },

    /**
     * Sign-in: the anonymous shopper's cart joins the customer's. Identity resolution links the two ids to one
     * profile first (so events of both are one person); then the anonymous cart's lines move into the
     * customer's active cart (quantities add up), or the anonymous cart becomes the customer's when they have
     * none. Answers the customer's cart (null when neither had one). Idempotent: a repeated merge finds nothing
     * left to move.
     */
    async merge(ctx: TenantContext, anonymousId: string, userId: string): Promise<CartView | null> {
      const [profileId] = await deps.identity.resolveMany(ctx.tenantId, [
        {
          identifiers: [
            { type: 'user_id', value: userId },
            { type: 'anonymous_id', value: anonymousId },
          ],
          channel: 'web',
          occurredAt: deps.clock(),
        },
      ]);
      const segments = await segmentsFor(ctx.tenantId, { profileId: profileId ?? null, userId, anonymousId });
      return inTenant(db, ctx.tenantId, async (tx) => {
        const anon = await repo.findActive(tx, ctx.tenantId, { anonymousId });
        let mine = await repo.findActive(tx, ctx.tenantId, { userId });
        if (anon) {
          await repo.lockCart(tx, ctx.tenantId, anon.id);
          if (mine && mine.currency !== anon.currency)
            throw validation('CURRENCY_MISMATCH', `The customer's cart is in ${mine.currency}, the anonymous one in ${anon.currency}.`);
          if (mine) await repo.mergeInto(tx, ctx.tenantId, anon.id, mine.id);
          else await repo.adopt(tx, ctx.tenantId, anon.id, userId, profileId ?? null);
          mine = await repo.findActive(tx, ctx.tenantId, { userId });
        }
        if (!mine) return null;
        if (profileId && mine.profileId !== profileId) await repo.setProfile(tx, ctx.tenantId, mine.id, profileId);
        return refreshed(tx, ctx.tenantId, (await repo.getCart(tx, ctx.tenantId, mine.id))!, segments);
      });
    },

    /** Applies a promotion code; refuses an unknown (or another tenant's), expired, used-up or other-currency code. */
    async applyCode(ctx: TenantContext, ref: CartRef, rawCode: string): Promise<CartView> {
      const code = rawCode.trim().toUpperCase();
      const segments = await segmentsFor(ctx.tenantId, ref);
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        const promo = (await repo.promotionsFor(tx, ctx.tenantId, [code])).find((p: PromotionRow) => p.code === code);
        if (!promo) throw notFound('PROMOTION_NOT_FOUND', `Promotion code "${code.slice(0, 50)}"`);
        const refusal = promotionRefusal(promo, cart.currency, deps.clock(), segments);
        if (refusal) throw conflict('PROMOTION_NOT_APPLICABLE', `Promotion code "${code}" ${refusal}.`);
        if (!cart.promotionCodes.includes(code)) await repo.setPromotionCodes(tx, ctx.tenantId, cart.id, [...cart.promotionCodes, code]);
        return refreshed(tx, ctx.tenantId, (await repo.getCart(tx, ctx.tenantId, cart.id))!, segments);
      });
    },

    async removeCode(ctx: TenantContext, ref: CartRef, rawCode: string): Promise<CartView> {
      const code = rawCode.trim().toUpperCase();
      const segments = await segmentsFor(ctx.tenantId, ref);
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        await repo.setPromotionCodes(
          tx,
          ctx.tenantId,
          cart.id,
          cart.promotionCodes.filter((c) => c !== code),
        );
        return refreshed(tx, ctx.tenantId, (await repo.getCart(tx, ctx.tenantId, cart.id))!, segments);
      });
    },

    /** Chooses a shipping option (of the tenant's settings, in the cart's currency) and the address. */
    async setShipping(
      ctx: TenantContext,
      ref: CartRef,
      input: { optionId: string; address: Record<string, unknown> | null; email: string | null },
    ): Promise<CartView> {
      const segments = await segmentsFor(ctx.tenantId, ref);
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        const settings = await deps.settings.get(tx, ctx.tenantId);
        if (!settings.shippingOptions.some((o) => o.id === input.optionId && o.currency === cart.currency))
          throw notFound('SHIPPING_OPTION_NOT_FOUND', `Shipping option "${input.optionId.slice(0, 100)}" in ${cart.currency}`);
        await repo.setShipping(tx, ctx.tenantId, cart.id, input.optionId, input.address, input.email);
        return refreshed(tx, ctx.tenantId, (await repo.getCart(tx, ctx.tenantId, cart.id))!, segments);
      });
    },

    /**
     * Checkout start (Saleor's reservations): holds the cart's counted units for the tenant's reservation TTL (or
     * the shorter `askedTtlSeconds`) so no other cart can
     * buy them meanwhile; calling again renews the hold for the cart as it is now. The items' rows are locked
     * while deciding, so two carts racing for the last unit cannot both hold it: the second gets
     * INSUFFICIENT_STOCK. Answers the held lines and until when.
     */
    async reserve(
      ctx: TenantContext,
      ref: CartRef,
      askedTtlSeconds: number | undefined,
    ): Promise<{ cartId: string; expiresAt: Date; lines: { itemId: string; quantity: number }[] }> {
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        const lines = (await repo.lines(tx, ctx.tenantId, cart.id)).filter((l) => l.available);
        if (lines.length === 0) throw conflict('CART_EMPTY', 'The cart is empty: there is nothing to reserve.');
        const ids = lines.map((l) => l.itemId);
        // The tenant's TTL is the hold and its ceiling: a storefront may hold for less, never hold stock longer.
        const { reservationTtlSeconds } = await deps.settings.get(tx, ctx.tenantId);
        const ttlSeconds = Math.min(askedTtlSeconds ?? reservationTtlSeconds, reservationTtlSeconds);
        const stock = await deps.catalog.lockStock(tx, ctx.tenantId, ids);
        const now = deps.clock();
        const held = await deps.reservations.heldByOthers(tx, ctx.tenantId, cart.id, ids, now);
        const short = lines.filter((l) => stock.has(l.itemId) && stock.get(l.itemId)! - (held.get(l.itemId) ?? 0) < l.quantity);
        if (short.length)
          throw new AppError(
            'conflict',
            'INSUFFICIENT_STOCK',
            `Not enough stock left to hold for ${short.map((l) => l.name.slice(0, 100)).join(', ')}: others hold or bought the rest.`,
            {
              details: short.map((l) => ({
                field: l.itemId,
                message: `at most ${Math.max(0, stock.get(l.itemId)! - (held.get(l.itemId) ?? 0))} available`,
              })),
            },
          );
        // Untracked items need no hold.
        const holds = lines.filter((l) => stock.has(l.itemId)).map((l) => ({ itemId: l.itemId, quantity: l.quantity }));
        const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
        await deps.reservations.reserve(tx, ctx.tenantId, cart.id, holds, expiresAt, now);
        return { cartId: cart.id, expiresAt, lines: holds };
      });
    },

    /** Checkout abandoned: the cart's held units go back on sale at once. Answers how many lines were held. */
    async release(ctx: TenantContext, ref: CartRef): Promise<number> {
      return inTenant(db, ctx.tenantId, async (tx) => {
        const cart = await mustActive(tx, ctx.tenantId, ref);
        return deps.reservations.release(tx, ctx.tenantId, cart.id);
      });
    },

    /** The segments of a cart's shopper (read before a transaction: see `lockedView`). */
    segmentsOf: (tenantId: string, cart: Pick<CartRow, 'profileId' | 'userId' | 'anonymousId'>) => segmentsFor(tenantId, cart),

    /** For checkout: the cart locked, refreshed and priced inside the caller's transaction, for a shopper in `segments`. */
    lockedView: async (q: Q, tenantId: string, cartId: string, segments: ShopperSegments): Promise<CartView | null> => {
      const cart = await repo.lockCart(q, tenantId, cartId);
      return cart ? refreshed(q, tenantId, cart, segments) : null;
    },
  };
}
export type CartsService = ReturnType<typeof createCartsService>;
