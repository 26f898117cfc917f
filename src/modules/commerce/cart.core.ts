/**
 * Cart rules, pure: refreshing lines against the catalog as it is now (seed 000: "price changed", "no longer
 * available", "savings available"), and the shape promotions must have to apply. No I/O, `now` passed in.
 */
import { allocatePromotions, type AllocatablePromotion } from './promotions.core.ts';
import { computeTotals, type CartTotals, type TotalsLineInput, type TotalsShippingInput } from './totals.core.ts';

/** Most units of one item in a cart: far beyond a real basket, far below an overflow of int4 or of a total. */
export const MAX_QUANTITY = 9_999;
/** Most distinct lines in a cart. */
export const MAX_LINES = 200;

export interface StoredLine {
  id: string;
  itemId: string;
  name: string;
  quantity: number;
  unitPriceMinor: bigint;
  available: boolean;
}

/** The catalog's view of an item now (catalog `SellableItem`). */
export interface CatalogItemNow {
  itemId: string;
  name: string;
  priceMinor: bigint | null;
  currency: string | null;
  sellable: boolean;
  stock: number | null;
}

export type NoticeType = 'price_changed' | 'savings_available' | 'no_longer_available' | 'back_in_stock' | 'quantity_reduced';

export interface CartNotice {
  type: NoticeType;
  itemId: string;
  lineId: string;
  message: string;
  previousUnitPrice?: bigint;
  unitPrice?: bigint;
  previousQuantity?: number;
  quantity?: number;
  /** The item tracks stock and has fewer units than the line wants (checkout answers INSUFFICIENT_STOCK). */
  outOfStock?: boolean;
}

export interface LineUpdate {
  id: string;
  name: string;
  quantity: number;
  unitPriceMinor: bigint;
  available: boolean;
}

/** Why an item cannot go into a cart of `currency` now, or null when it can. */
export function unsellableReason(item: CatalogItemNow | undefined, currency: string): string | null {
  if (!item) return 'is not in the catalog';
  if (!item.sellable) return 'is not available';
  if (item.priceMinor === null) return 'has no price';
  if ((item.currency ?? '').toUpperCase() !== currency)
    return `is priced in ${item.currency ?? 'no currency'}, not in the cart's ${currency}`;
  return null;
}

/**
 * Compares each stored line with the catalog now. Answers the lines that changed (to store) and one notice per
 * change the shopper should see: a price rise (`price_changed`), a drop (`savings_available`), an item gone or
 * out of stock (`no_longer_available`, kept in the cart but not counted), back (`back_in_stock`), or fewer
 * units left than wanted (`quantity_reduced`). Lines are untouched when nothing changed. O(lines).
 */
export function refreshLines(
  lines: readonly StoredLine[],
  catalog: ReadonlyMap<string, CatalogItemNow>,
  currency: string,
  money: (minor: bigint) => string,
): { updates: LineUpdate[]; notices: CartNotice[] } {
  const updates: LineUpdate[] = [];
  const notices: CartNotice[] = [];
  for (const line of lines) {
    const item = catalog.get(line.itemId);
    const reason = unsellableReason(item, currency);
    const base = { itemId: line.itemId, lineId: line.id };
    if (reason || !item) {
      if (line.available) {
        const outOfStock = item !== undefined && item.stock !== null && item.stock < line.quantity;
        notices.push({
          ...base,
          type: 'no_longer_available',
          message: `${line.name} ${reason ?? 'is not available'} any more.`,
          ...(outOfStock ? { outOfStock } : {}),
        });
        updates.push({ ...line, available: false });
      }
      continue;
    }
    const next: LineUpdate = { id: line.id, name: item.name, quantity: line.quantity, unitPriceMinor: item.priceMinor!, available: true };
    if (!line.available) notices.push({ ...base, type: 'back_in_stock', message: `${item.name} is available again.` });
    if (item.priceMinor! !== line.unitPriceMinor) {
      const drop = item.priceMinor! < line.unitPriceMinor;
      notices.push({
        ...base,
        type: drop ? 'savings_available' : 'price_changed',
        message: drop
          ? `${item.name} is now ${money(item.priceMinor!)} (was ${money(line.unitPriceMinor)}): you save ${money(line.unitPriceMinor - item.priceMinor!)} per unit.`
          : `${item.name} now costs ${money(item.priceMinor!)} (was ${money(line.unitPriceMinor)}).`,
        previousUnitPrice: line.unitPriceMinor,
        unitPrice: item.priceMinor!,
      });
    }
    if (item.stock !== null && item.stock < line.quantity) {
      next.quantity = item.stock;
      notices.push({
        ...base,
        type: 'quantity_reduced',
        message: `Only ${item.stock} of ${item.name} left: the quantity went from ${line.quantity} to ${item.stock}.`,
        previousQuantity: line.quantity,
        quantity: item.stock,
        outOfStock: true,
      });
    }
    if (
      next.name !== line.name ||
      next.quantity !== line.quantity ||
      next.unitPriceMinor !== line.unitPriceMinor ||
      next.available !== line.available
    )
      updates.push(next);
  }
  return { updates, notices };
}

export interface PromotionRow {
  id: string;
  code: string | null;
  automatic: boolean;
  type: 'percentage' | 'fixed';
  target: 'items' | 'shipping' | 'order';
  allocation: 'each' | 'across' | 'once';
  /** each: units of each line discounted (null: all); once: units in the whole cart, cheapest first. */
  maxQuantity: number | null;
  value: bigint;
  currency: string | null;
  kind: 'standard' | 'buyget';
  targetItemIds: string[] | null;
  targetCategories: string[] | null;
  /** Customer segment rule: only shoppers in one of these segments get it (null: everyone). */
  targetSegments: string[] | null;
  buyItemIds: string[] | null;
  buyMinQuantity: number | null;
  applyToQuantity: number | null;
  maxApplications: number;
  usageLimit: number | null;
  usageCount: number;
  budgetMinor: bigint | null;
  budgetUsedMinor: bigint;
  startsAt: Date | null;
  endsAt: Date | null;
  active: boolean;
}

const NO_SEGMENTS: ReadonlySet<string> = new Set();

/**
 * Why a promotion cannot apply to a cart of `currency` at `now` for a shopper in `segments`, or null when it can.
 * A segment rule denies by default: a shopper whose segments are unknown (not scored) is in none.
 */
export function promotionRefusal(p: PromotionRow, currency: string, now: Date, segments: ReadonlySet<string> = NO_SEGMENTS): string | null {
  if (!p.active) return 'is not active';
  if (p.startsAt && now < p.startsAt) return 'has not started yet';
  if (p.endsAt && now >= p.endsAt) return 'has expired';
  if (p.usageLimit !== null && p.usageCount >= p.usageLimit) return 'has been used up';
  if (p.budgetMinor !== null && p.budgetUsedMinor >= p.budgetMinor) return 'has spent its budget';
  if (p.budgetMinor !== null && p.currency !== currency)
    return `is budgeted in ${p.currency ?? 'no currency'}, not in the cart's ${currency}`;
  if (p.type === 'fixed' && p.currency !== currency) return `is in ${p.currency ?? 'no currency'}, not in the cart's ${currency}`;
  if (p.targetSegments && !p.targetSegments.some((s) => segments.has(s))) return 'is for selected customers only';
  return null;
}

/** The reason a budgeted promotion gets when this cart's discount would take more than its budget has left. */
export const OVER_BUDGET = 'has not enough budget left for this cart';

/**
 * Prices the cart as `priceCart` does, then drops every spend-budgeted promotion whose discount on this cart
 * exceeds what its budget has left (checkout would refuse it: PROMOTION_USED_UP) and prices again, so the cart
 * never shows a discount checkout will not give. Answers the priced cart and the dropped promotions' ids.
 * At most one repricing per promotion: O(promotions x priceCart).
 */
export function priceWithinBudgets(
  lines: readonly StoredLine[],
  region: TaxRegion,
  shippingAmount: bigint | null,
  promotions: readonly AllocatablePromotion[],
  rows: readonly PromotionRow[],
): ReturnType<typeof priceCart> & { overBudget: string[] } {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const overBudget: string[] = [];
  let kept = promotions;
  for (;;) {
    const priced = priceCart(lines, region, shippingAmount, kept);
    const over = kept.filter((p) => {
      const r = byId.get(p.id);
      const gives = priced.discounts.get(p.id) ?? 0n;
      return r?.budgetMinor !== null && r?.budgetMinor !== undefined && gives > 0n && r.budgetUsedMinor + gives > r.budgetMinor;
    });
    if (over.length === 0) return { ...priced, overBudget };
    overBudget.push(...over.map((p) => p.id));
    kept = kept.filter((p) => !over.includes(p));
  }
}

/**
 * The promotions that apply, as the allocator takes them: buyget first (as Medusa sorts them), then automatic
 * ones, then codes in the order applied.
 */
export function applicablePromotions(
  rows: readonly PromotionRow[],
  currency: string,
  now: Date,
  categoryOf: ReadonlyMap<string, string | null> = new Map(),
  segments: ReadonlySet<string> = NO_SEGMENTS,
): AllocatablePromotion[] {
  const rank = (p: PromotionRow) => (p.kind === 'buyget' ? 0 : p.automatic ? 1 : 2);
  // A category rule becomes a target rule on the cart's items in those categories (both rules: items in both).
  const targets = (p: PromotionRow): string[] | null => {
    if (!p.targetCategories) return p.targetItemIds;
    const inCategory = [...categoryOf].filter(([, c]) => inCategories(c, p.targetCategories!)).map(([id]) => id);
    return p.targetItemIds ? inCategory.filter((id) => p.targetItemIds!.includes(id)) : inCategory;
  };
  return [...rows]
    .filter((p) => promotionRefusal(p, currency, now, segments) === null)
    .sort((a, b) => rank(a) - rank(b))
    .map((p) => ({
      id: p.id,
      type: p.type,
      target: p.target,
      value: p.value,
      allocation: p.allocation,
      maxQuantity: p.maxQuantity,
      targetItemIds: targets(p),
      buyget:
        p.kind === 'buyget'
          ? {
              buyItemIds: p.buyItemIds,
              buyMinQuantity: p.buyMinQuantity ?? 0,
              applyToQuantity: p.applyToQuantity ?? 0,
              maxApplications: p.maxApplications,
            }
          : null,
    }));
}

/**
 * Whether an item's category path is one of `categories` or lies under one ("Home > Lighting" is under "Home"),
 * compared case-insensitively with single spaces; separators `>` and `/`.
 */
export function inCategories(path: string | null, categories: readonly string[]): boolean {
  if (!path) return false;
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/\s*([>/])\s*/g, '$1')
      .replace(/\s+/g, ' ')
      .trim();
  const p = norm(path);
  return categories.some((c) => {
    const n = norm(c);
    return p === n || p.startsWith(`${n}>`) || p.startsWith(`${n}/`);
  });
}

export interface TaxRegion {
  taxRateBp: number;
  taxInclusive: boolean;
}

/**
 * A cart's (or an order's) money: available lines only, promotions allocated on their net subtotals, then
 * `computeTotals`. `shippingAmount` null when no shipping method is chosen yet.
 */
export function priceCart(
  lines: readonly StoredLine[],
  region: TaxRegion,
  shippingAmount: bigint | null,
  promotions: readonly AllocatablePromotion[],
): { counted: StoredLine[]; totals: CartTotals; discounts: Map<string, bigint> } {
  const counted = lines.filter((l) => l.available && l.quantity > 0);
  const items: TotalsLineInput[] = counted.map((l) => ({
    unitPrice: l.unitPriceMinor,
    quantity: l.quantity,
    taxInclusive: region.taxInclusive,
    taxRateBp: region.taxRateBp,
    adjustments: [],
  }));
  const shipping: TotalsShippingInput[] =
    shippingAmount === null
      ? []
      : [{ amount: shippingAmount, taxInclusive: region.taxInclusive, taxRateBp: region.taxRateBp, adjustments: [] }];
  const bare = computeTotals(items, shipping);
  const alloc = allocatePromotions(
    promotions,
    bare.items.map((t, i) => ({ itemId: counted[i]!.itemId, subtotal: t.subtotal, quantity: counted[i]!.quantity })),
    bare.shippingMethods.map((t) => t.subtotal),
  );
  const totals = computeTotals(
    items.map((l, i) => ({ ...l, adjustments: alloc.items[i]!.map((a) => a.amount) })),
    shipping.map((s, i) => ({ ...s, adjustments: alloc.shipping[i]!.map((a) => a.amount) })),
  );
  return { counted, totals, discounts: alloc.byPromotion };
}
