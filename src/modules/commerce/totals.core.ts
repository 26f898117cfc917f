/**
 * Cart and order totals, once: a pure function over line items, shipping methods and their adjustments
 * (promotions already allocated to lines), with Medusa v2's field names and meaning (`@medusajs/utils`
 * `decorateCartTotals`), in integer minor units of the cart's currency.
 *
 * Deliberate deviations from Medusa (its totals are arbitrary-precision decimals, rounded only for display):
 * - Every line's fields are rounded half to even to whole minor units, and the cart's fields are sums of the
 *   rounded line fields. A line differs from Medusa's exact value by less than 1.13 minor units (subtotal
 *   within 0.5, tax within 0.5 + 0.5 x rate); a cart by at most that per line and shipping method. In return
 *   every figure is a whole amount a payment provider can charge, and the identities below hold exactly:
 *   `total = subtotal - discount_subtotal + tax_total` per line and per cart, and `original_total` of a
 *   tax-inclusive line is exactly `unit_price x quantity` (its tax is that minus the rounded subtotal).
 * - One tax rate per line (the region's rate for the line), given in basis points (2000 = 20%); Medusa sums
 *   several tax lines' percentages, which is the same for one line.
 * - Adjustments are net (tax-exclusive) amounts, as Medusa treats adjustments without `is_tax_inclusive`;
 *   they are capped at the line's subtotal by the promotion allocation (`promotions.core.ts`), not here.
 * - No credit lines, gift cards, returns or fulfilment quantities yet.
 *
 * O(lines + shipping methods + adjustments).
 */
import { divideMinor } from '../../platform/index.ts';

const BP = 10_000n;

export interface TotalsLineInput {
  /** Price of one unit in minor units; includes tax when `taxInclusive`. */
  readonly unitPrice: bigint;
  readonly quantity: number;
  readonly taxInclusive: boolean;
  /** Tax rate in basis points (0..10000+): 2000 is 20%. */
  readonly taxRateBp: number;
  /** Net discount amounts on the whole line (minor units). */
  readonly adjustments: readonly bigint[];
}

export interface TotalsShippingInput {
  /** Price of the shipping method in minor units; includes tax when `taxInclusive`. */
  readonly amount: bigint;
  readonly taxInclusive: boolean;
  readonly taxRateBp: number;
  readonly adjustments: readonly bigint[];
}

/** One line's (or shipping method's) totals, Medusa's fields in camelCase. */
export interface LineTotals {
  /** Net of tax, before discounts. */
  subtotal: bigint;
  /** subtotal - discountSubtotal + taxTotal. */
  total: bigint;
  /** What the line costs before discounts, with tax. */
  originalTotal: bigint;
  discountSubtotal: bigint;
  /** Tax not charged because of the discount: originalTaxTotal - taxTotal. */
  discountTaxTotal: bigint;
  discountTotal: bigint;
  taxTotal: bigint;
  originalTaxTotal: bigint;
}

export interface CartTotals extends LineTotals {
  items: LineTotals[];
  shippingMethods: LineTotals[];
  itemSubtotal: bigint;
  itemTotal: bigint;
  itemTaxTotal: bigint;
  itemDiscountTotal: bigint;
  originalItemTotal: bigint;
  shippingSubtotal: bigint;
  shippingTotal: bigint;
  shippingTaxTotal: bigint;
  shippingDiscountTotal: bigint;
  originalShippingTotal: bigint;
}

/** `amount x rateBp / 10000`, half to even. */
const taxOf = (amount: bigint, rateBp: bigint): bigint => divideMinor(amount * rateBp, BP);

function lineTotals(gross: bigint, taxInclusive: boolean, rateBp: number, adjustments: readonly bigint[]): LineTotals {
  const rate = BigInt(rateBp);
  // Tax-inclusive: net = gross / (1 + rate), so its tax is exactly what is left of the gross.
  const subtotal = taxInclusive ? divideMinor(gross * BP, BP + rate) : gross;
  const originalTaxTotal = taxInclusive ? gross - subtotal : taxOf(subtotal, rate);
  const discountSubtotal = adjustments.reduce((a, b) => a + b, 0n);
  const taxTotal = discountSubtotal === 0n ? originalTaxTotal : taxOf(subtotal - discountSubtotal, rate);
  const discountTaxTotal = originalTaxTotal - taxTotal;
  return {
    subtotal,
    total: subtotal - discountSubtotal + taxTotal,
    originalTotal: subtotal + originalTaxTotal,
    discountSubtotal,
    discountTaxTotal,
    discountTotal: discountSubtotal + discountTaxTotal,
    taxTotal,
    originalTaxTotal,
  };
}

const sum = (rows: readonly LineTotals[], field: keyof LineTotals): bigint => rows.reduce((a, r) => a + r[field], 0n);

/**
 * Totals of a cart (or an order) in minor units of its currency. Lines with quantity 0 count as nothing.
 * Throws RangeError for a negative quantity, price or rate (callers validate first: these are bugs).
 */
export function computeTotals(items: readonly TotalsLineInput[], shipping: readonly TotalsShippingInput[] = []): CartTotals {
  const itemRows = items.map((l) => {
    if (l.quantity < 0 || l.unitPrice < 0n || l.taxRateBp < 0 || !Number.isInteger(l.quantity))
      throw new RangeError('line item with a negative quantity, price or tax rate');
    return lineTotals(l.unitPrice * BigInt(l.quantity), l.taxInclusive, l.taxRateBp, l.adjustments);
  });
  const shippingRows = shipping.map((s) => {
    if (s.amount < 0n || s.taxRateBp < 0) throw new RangeError('shipping method with a negative amount or tax rate');
    return lineTotals(s.amount, s.taxInclusive, s.taxRateBp, s.adjustments);
  });
  const all = [...itemRows, ...shippingRows];
  return {
    subtotal: sum(all, 'subtotal'),
    total: sum(all, 'total'),
    originalTotal: sum(all, 'originalTotal'),
    discountSubtotal: sum(all, 'discountSubtotal'),
    discountTaxTotal: sum(all, 'discountTaxTotal'),
    discountTotal: sum(all, 'discountTotal'),
    taxTotal: sum(all, 'taxTotal'),
    originalTaxTotal: sum(all, 'originalTaxTotal'),
    items: itemRows,
    shippingMethods: shippingRows,
    itemSubtotal: sum(itemRows, 'subtotal'),
    itemTotal: sum(itemRows, 'total'),
    itemTaxTotal: sum(itemRows, 'taxTotal'),
    itemDiscountTotal: sum(itemRows, 'discountTotal'),
    originalItemTotal: sum(itemRows, 'originalTotal'),
    shippingSubtotal: sum(shippingRows, 'subtotal'),
    shippingTotal: sum(shippingRows, 'total'),
    shippingTaxTotal: sum(shippingRows, 'taxTotal'),
    shippingDiscountTotal: sum(shippingRows, 'discountTotal'),
    originalShippingTotal: sum(shippingRows, 'originalTotal'),
  };
}
