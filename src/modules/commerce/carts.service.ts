import {
  type Q,
  AppError,
  type Db,
  type TenantContext,
  conflict,
  formatMoneyDisplay,
  newId,
  notFound,
  validation,
  inTenant,
} from '../../platform/index.ts';
import type { IdentityApi } from '../identity/index.ts';
import type { SellableRepository } from '../catalog/index.ts';
import {
  type CartNotice,
  type CatalogItemNow,
  type LineUpdate,
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
import type { CartRow, CartSelector, CartSnapshot, CartsRepository, CartWrite, Shopper } from './carts.repository.ts';
import type { RulesCache, TenantRules } from './rules.cache.ts';
import type { ReservationsRepository } from './reservations.repository.ts';
import type { SettingsRepository, SettingsRow, ShippingOption } from './settings.repository.ts';
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
  /** The tenant's settings and automatic promotions, cached per tenant (rules.cache.ts). */
  rules: RulesCache;
  catalog: SellableRepository;
  identity: Pick<IdentityApi, 'resolveMany'>;
  /** Segment rules read the shopper's segments here; absent: no shopper is in any segment. */
  segments?: ShopperSegmentsPort | undefined;
  reservations: ReservationsRepository;
  clock: () => Date;
}

const CART_NOT_FOUND = () => notFound('CART_NOT_FOUND', 'The cart');
const REF_REQUIRED = () => validation('CART_REF_REQUIRED', 'Name the cart: send cart_id, user_id or anonymous_id.');

/** Thrown inside a cart transaction whose cached rules turned out stale in a way that needs the shopper's segments. */
class SegmentsNeeded extends Error {}

/** A cart as one statement read it, with the tenant's rules at the version it carried. */
interface Loaded {
  snap: CartSnapshot;
  rules: TenantRules;
}

export function createCartsService(deps: CartsServiceDeps) {
  const { db, repo } = deps;

  /**
   * The items as the cart's shopper may buy them now: tracked stock less what other carts' unexpired reservations
   * hold. Units held for others are not for sale; an item wholly held reads as out of stock.
   */
  function catalogNow(snap: CartSnapshot): Map<string, CatalogItemNow & { categoryPath: string | null }> {
    return new Map(
      snap.items.map((i) => {
        const h = snap.held.get(i.itemId) ?? 0;
        if (i.stock === null || h === 0) return [i.itemId, i];
        const left = Math.max(0, i.stock - h);
        return [i.itemId, { ...i, stock: left, sellable: i.sellable && left > 0 }];
      }),
    );
  }

  /**
   * The segments of the shopper `who` names, read before any transaction (identity and predictions answer on
   * their own connections): the cart's profile once signed in, else the profile holding the customer's or
   * visitor's id. Nothing is looked up while no active promotion has a segment rule.
   */
  async function segmentsFor(
    tenantId: string,
    rules: TenantRules,
    who: Pick<CartRef, 'cartId' | 'userId' | 'anonymousId'> | Pick<CartRow, 'profileId' | 'userId' | 'anonymousId'>,
  ): Promise<ShopperSegments> {
    if (!deps.segments || !rules.hasSegmentRules) return NO_SEGMENTS;
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

  /** The promotions a snapshot prices with: the cached automatic ones (live counters) and the cart's codes, in creation order. */
  function promotionRowsOf({ snap, rules }: Loaded): PromotionRow[] {
    const automatic = rules.automatic.map((p) => {
      const live = snap.usage.get(p.id);
      return live ? { ...p, usageCount: live.usageCount, budgetUsedMinor: live.budgetUsedMinor } : p;
    });
    const keys = new Map(rules.sortKeys);
    for (const c of snap.coded) keys.set(c.row.id, c.sortKey);
    return [...automatic, ...snap.coded.map((c) => c.row)].sort((a, b) => {
      const ka = keys.get(a.id) ?? '';
      const kb = keys.get(b.id) ?? '';
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }

  /** Prices `lines` of `cart` (no I/O) for a shopper in `segments`. */
  function price(
    loaded: Loaded,
    cart: CartRow,
    lines: StoredLine[],
    notices: CartNotice[],
    segments: ShopperSegments,
    catalog: ReadonlyMap<string, { categoryPath: string | null }>,
  ): CartView {
    const { settings } = loaded.rules;
    const promotionRows = promotionRowsOf(loaded);
    const now = deps.clock();
    // Category rules need the lines' categories (the snapshot has them).
    const categoryOf = promotionRows.some((p) => p.targetCategories)
      ? new Map(lines.flatMap((l) => (catalog.has(l.itemId) ? [[l.itemId, catalog.get(l.itemId)!.categoryPath] as const] : [])))
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

  /**
   * Refreshes `lines` (the cart's lines after the caller's change) against the catalog now: the lines to store,
   * the notices and the priced view. A cart no longer active is priced as stored.
   */
  function refresh(
    loaded: Loaded,
    cart: CartRow,
    lines: StoredLine[],
    segments: ShopperSegments,
  ): { view: CartView; updates: LineUpdate[] } {
    const catalog = catalogNow(loaded.snap);
    if (cart.status !== 'active') return { view: price(loaded, cart, lines, [], segments, catalog), updates: [] };
    const { updates, notices } = refreshLines(lines, catalog, cart.currency, (m) => formatMoneyDisplay(m, cart.currency));
    const byId = new Map(updates.map((u) => [u.id, u]));
    const current = lines.map((l) => ({ ...l, ...(byId.get(l.id) ?? {}) }));
    return { view: price(loaded, cart, current, notices, segments, catalog), updates };
  }

  /** One statement's read of the cart `sel` names, with the tenant's rules at the version it carried. */
  async function load(
    q: Q,
    tenantId: string,
    sel: CartSelector,
    opts: { extraItemIds?: readonly string[]; extraCodes?: readonly string[] } = {},
  ): Promise<Loaded> {
    const snap = await repo.snapshot(q, tenantId, sel, { now: deps.clock(), ...opts });
    return { snap, rules: await deps.rules.at(q, tenantId, snap.rulesVersion) };
  }

  function shopperOf(ref: CartRef): Shopper | null {
    if (ref.userId) return { userId: ref.userId };
    if (ref.anonymousId) return { anonymousId: ref.anonymousId };
    return null;
  }

  function selectorOf(ref: CartRef): CartSelector {
    if (ref.cartId) return { cartId: ref.cartId };
    const shopper = shopperOf(ref);
    if (!shopper) throw REF_REQUIRED();
    return { shopper };
  }

  /** The cart a mutation may change: refused when another shopper's (answers like an unknown one) or not active. */
  function checkActive(ref: CartRef, cart: CartRow | null): CartRow | null {
    if (!cart) {
      if (ref.cartId) throw CART_NOT_FOUND();
      return null;
    }
    if (ref.owner && !ownsCart(ref.owner, cart)) throw CART_NOT_FOUND();
    if (cart.status !== 'active')
      throw conflict('CART_NOT_ACTIVE', `This cart is ${cart.status}: start a new cart (send the shopper's user_id or anonymous_id).`);
    return cart;
  }

  /**
   * A change of the cart `ref` names, as ONE short transaction: lock the cart row, read it in one statement
   * (lines, items, reservations, promotions), decide in memory (`change`: the lines and cart fields after it),
   * refresh against the catalog and write everything in one statement. The shopper's segments are read before
   * (segment rules only); if another process changed the rules so that segments are needed, it runs once more.
   */
  async function mutate(
    ctx: TenantContext,
    ref: CartRef,
    opts: { extraItemIds?: readonly string[]; extraCodes?: readonly string[]; create?: (item: Loaded) => string | null },
    change: (
      tx: Q,
      loaded: Loaded,
      cart: CartRow,
      lines: StoredLine[],
      segments: ShopperSegments,
    ) =>
      | Promise<{ lines: StoredLine[]; cart?: Partial<CartRow>; write: CartWrite }>
      | { lines: StoredLine[]; cart?: Partial<CartRow>; write: CartWrite },
  ): Promise<CartView> {
    const tenantId = ctx.tenantId;
    const sel = selectorOf(ref);
    for (let attempt = 0; ; attempt++) {
      const cached = await deps.rules.get(db, tenantId);
      const segments = await segmentsFor(tenantId, cached, ref);
      try {
        return await inTenant(db, tenantId, async (tx) => {
          let id = await repo.lock(tx, tenantId, sel);
          let loaded = await load(tx, tenantId, id ? { cartId: id } : sel, opts);
          if (loaded.rules.hasSegmentRules && !cached.hasSegmentRules && deps.segments) throw new SegmentsNeeded();
          let cart = checkActive(ref, id ? loaded.snap.cart : null);
          if (!cart) {
            // The shopper's first cart (only the first add creates one): in the currency `create` decides.
            const currency = opts.create?.(loaded);
            const shopper = shopperOf(ref);
            if (!currency || !shopper) throw CART_NOT_FOUND();
            // ON CONFLICT DO NOTHING: two first adds at once make one cart; the second reads it as the first left it.
            const made = await repo.findOrCreate(tx, tenantId, shopper, currency);
            id = await repo.lock(tx, tenantId, { cartId: made.id });
            loaded = await load(tx, tenantId, { cartId: made.id }, opts);
            cart = loaded.snap.cart!;
          }
          const changed = await change(tx, loaded, cart, loaded.snap.lines, segments);
          const after = { ...cart, ...changed.cart };
          const { view, updates } = refresh(loaded, after, changed.lines, segments);
          // Refresh updates of lines the change inserts ride on the insert; of others, on the update list.
          const inserted = new Map((changed.write.inserts ?? []).map((l) => [l.id, l]));
          const updateOf = new Map((changed.write.updates ?? []).map((u) => [u.id, u]));
          for (const u of updates) {
            const ins = inserted.get(u.id);
            if (ins) inserted.set(u.id, { ...ins, name: u.name, quantity: u.quantity, unitPriceMinor: u.unitPriceMinor });
            else updateOf.set(u.id, u);
          }
          await repo.apply(tx, tenantId, cart.id, { ...changed.write, inserts: [...inserted.values()], updates: [...updateOf.values()] });
          return view;
        });
      } catch (err) {
        if (err instanceof SegmentsNeeded && attempt === 0) continue;
        throw err;
      }
    }
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

  /** The active cart `ref` names, locked for the caller's transaction (reservations). */
  async function mustActive(tx: Q, tenantId: string, ref: CartRef): Promise<CartRow> {
    const id = await repo.lock(tx, tenantId, selectorOf(ref));
    const cart = checkActive(ref, id ? ((await repo.getCart(tx, tenantId, id)) ?? null) : null);
    if (!cart) throw CART_NOT_FOUND();
    return cart;
  }

  /** The cart `cartId` locked, refreshed (changes stored) and priced inside the caller's transaction. */
  async function lockedRefresh(
    tx: Q,
    tenantId: string,
    cartId: string,
    segments: ShopperSegments,
  ): Promise<(CartView & { settings: SettingsRow }) | null> {
    const id = await repo.lock(tx, tenantId, { cartId });
    if (!id) return null;
    const loaded = await load(tx, tenantId, { cartId: id });
    const cart = loaded.snap.cart!;
    const { view, updates } = refresh(loaded, cart, loaded.snap.lines, segments);
    if (updates.length) await repo.apply(tx, tenantId, cart.id, { updates });
    return { ...view, settings: loaded.rules.settings };
  }

  return {
    /** The shipping options a storefront may offer, in `currency` when given (settings are the merchant's; this is the shopper's view). */
    async shippingOptions(ctx: TenantContext, currency: string | undefined): Promise<ShippingOption[]> {
      const settings = await deps.settings.get(db, ctx.tenantId);
      return settings.shippingOptions.filter((o) => currency === undefined || o.currency === currency);
    },

    /**
     * The cart named by `ref`, prices and availability refreshed (seed 000 `GET /cart`); null when the shopper has
     * none. One statement when nothing changed (prices and availability changes are stored in a second).
     */
    async get(ctx: TenantContext, ref: CartRef): Promise<CartView | null> {
      const loaded = await load(db, ctx.tenantId, selectorOf(ref));
      const cart = loaded.snap.cart;
      if (!cart) {
        if (ref.cartId) throw CART_NOT_FOUND();
        return null;
      }
      if (ref.owner && !ownsCart(ref.owner, cart)) throw CART_NOT_FOUND();
      const { view, updates } = refresh(loaded, cart, loaded.snap.lines, await segmentsFor(ctx.tenantId, loaded.rules, cart));
      if (updates.length) await inTenant(db, ctx.tenantId, (tx) => repo.apply(tx, ctx.tenantId, cart.id, { updates }));
      return view;
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
      /** The item as this cart (null: none yet) may take it, and the cart's currency; refusals thrown. */
      const admit = (loaded: Loaded, cart: CartRow | null) => {
        const item = catalogNow(loaded.snap).get(input.itemId);
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
        return { item, currency };
      };
      return mutate(
        ctx,
        ref,
        { extraItemIds: [input.itemId], create: (loaded) => admit(loaded, null).currency },
        (_tx, loaded, cart, lines) => {
          const { item } = admit(loaded, cart);
          const existing = lines.find((l) => l.itemId === input.itemId);
          if (!existing && lines.length >= MAX_LINES)
            throw validation('CART_FULL', `A cart holds at most ${MAX_LINES} different items: check out or remove some.`);
          const quantity = (existing?.quantity ?? 0) + input.quantity;
          checkQuantity(quantity, item);
          const line: StoredLine = {
            id: existing?.id ?? newId(),
            itemId: item.itemId,
            name: item.name,
            quantity,
            unitPriceMinor: item.priceMinor!,
            available: true,
          };
          return existing
            ? { lines: lines.map((l) => (l.id === line.id ? line : l)), write: { updates: [line] } }
            : { lines: [...lines, line], write: { inserts: [line] } };
        },
      );
    },

    /** Sets a line's quantity (1..9999; removing is DELETE). */
    async updateLine(ctx: TenantContext, ref: CartRef, lineId: string, quantity: number): Promise<CartView> {
      return mutate(ctx, ref, {}, (_tx, loaded, _cart, lines) => {
        const line = lines.find((l) => l.id === lineId);
        if (!line) throw notFound('CART_LINE_NOT_FOUND', 'The cart line');
        checkQuantity(quantity, catalogNow(loaded.snap).get(line.itemId));
        const next = { ...line, quantity };
        return { lines: lines.map((l) => (l.id === lineId ? next : l)), write: { updates: [next] } };
      });
    },

    async removeLine(ctx: TenantContext, ref: CartRef, lineId: string): Promise<CartView> {
      return mutate(ctx, ref, {}, (_tx, _loaded, _cart, lines) => {
        if (!lines.some((l) => l.id === lineId)) throw notFound('CART_LINE_NOT_FOUND', 'The cart line');
        return { lines: lines.filter((l) => l.id !== lineId), write: { deletes: [lineId] } };
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
      const rules = await deps.rules.get(db, ctx.tenantId);
      const segments = await segmentsFor(ctx.tenantId, rules, { profileId: profileId ?? null, userId, anonymousId });
      return inTenant(db, ctx.tenantId, async (tx) => {
        const anonId = await repo.lock(tx, ctx.tenantId, { shopper: { anonymousId } });
        let mineId = await repo.lock(tx, ctx.tenantId, { shopper: { userId } });
        if (anonId) {
          const anon = (await repo.getCart(tx, ctx.tenantId, anonId))!;
          const mine = mineId ? await repo.getCart(tx, ctx.tenantId, mineId) : undefined;
          if (mine && mine.currency !== anon.currency)
            throw validation('CURRENCY_MISMATCH', `The customer's cart is in ${mine.currency}, the anonymous one in ${anon.currency}.`);
          if (mine) await repo.mergeInto(tx, ctx.tenantId, anon.id, mine.id);
          else {
            await repo.adopt(tx, ctx.tenantId, anon.id, userId, profileId ?? null);
            mineId = anon.id;
          }
        }
        if (!mineId) return null;
        const mine = (await repo.getCart(tx, ctx.tenantId, mineId))!;
        if (profileId && mine.profileId !== profileId) await repo.setProfile(tx, ctx.tenantId, mine.id, profileId);
        return lockedRefresh(tx, ctx.tenantId, mine.id, segments);
      });
    },

    /** Applies a promotion code; refuses an unknown (or another tenant's), expired, used-up or other-currency code. */
    async applyCode(ctx: TenantContext, ref: CartRef, rawCode: string): Promise<CartView> {
      const code = rawCode.trim().toUpperCase();
      return mutate(ctx, ref, { extraCodes: [code] }, (_tx, loaded, cart, lines, segments) => {
        const promo = loaded.snap.coded.find((p) => p.row.code === code)?.row;
        if (!promo) throw notFound('PROMOTION_NOT_FOUND', `Promotion code "${code.slice(0, 50)}"`);
        const refusal = promotionRefusal(promo, cart.currency, deps.clock(), segments);
        if (refusal) throw conflict('PROMOTION_NOT_APPLICABLE', `Promotion code "${code}" ${refusal}.`);
        if (cart.promotionCodes.includes(code)) return { lines, write: {} };
        const promotionCodes = [...cart.promotionCodes, code];
        return { lines, cart: { promotionCodes }, write: { promotionCodes } };
      });
    },

    async removeCode(ctx: TenantContext, ref: CartRef, rawCode: string): Promise<CartView> {
      const code = rawCode.trim().toUpperCase();
      return mutate(ctx, ref, {}, (_tx, _loaded, cart, lines) => {
        const promotionCodes = cart.promotionCodes.filter((c) => c !== code);
        return { lines, cart: { promotionCodes }, write: { promotionCodes } };
      });
    },

    /** Chooses a shipping option (of the tenant's settings, in the cart's currency) and the address. */
    async setShipping(
      ctx: TenantContext,
      ref: CartRef,
      input: { optionId: string; address: Record<string, unknown> | null; email: string | null },
    ): Promise<CartView> {
      return mutate(ctx, ref, {}, (_tx, loaded, cart, lines) => {
        if (!loaded.rules.settings.shippingOptions.some((o) => o.id === input.optionId && o.currency === cart.currency))
          throw notFound('SHIPPING_OPTION_NOT_FOUND', `Shipping option "${input.optionId.slice(0, 100)}" in ${cart.currency}`);
        return {
          lines,
          cart: { shippingOptionId: input.optionId, shippingAddress: input.address, email: input.email ?? cart.email },
          write: { shipping: input },
        };
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
    segmentsOf: async (tenantId: string, cart: Pick<CartRow, 'profileId' | 'userId' | 'anonymousId'>) =>
      segmentsFor(tenantId, await deps.rules.get(db, tenantId), cart),

    /**
     * For checkout: the cart locked, refreshed and priced inside the caller's transaction, for a shopper in `segments`,
     * with the checkout settings it was priced with (current at the rules version its read carried: a settings change
     * bumps it), so a checkout reads them no second time.
     */
    lockedView: (q: Q, tenantId: string, cartId: string, segments: ShopperSegments) => lockedRefresh(q, tenantId, cartId, segments),
  };
}
export type CartsService = ReturnType<typeof createCartsService>;
