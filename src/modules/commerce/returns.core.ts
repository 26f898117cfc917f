/**
 * Returns, pure: what a return of some units of an order's lines refunds, and whether those units can still be
 * returned. A returned unit refunds its share of the line's total as paid (after discounts, with tax), rounded
 * down to whole minor units, so a line returned in several parts never refunds more than it cost; shipping is not
 * refunded by a return (a refund of the rest does that). No I/O.
 */

/** Why a unit came back (Medusa's return reasons, as a fixed list so reports can count them). */
export const RETURN_REASONS = ['damaged', 'defective', 'wrong_item', 'not_as_described', 'no_longer_needed', 'other'] as const;
export type ReturnReason = (typeof RETURN_REASONS)[number];

export interface ReturnableLine {
  readonly itemId: string;
  readonly quantity: number;
  /** The line's total as paid, minor units. */
  readonly totalMinor: bigint;
}

export interface ReturnRequestLine {
  readonly itemId: string;
  readonly quantity: number;
}

export type ReturnCheck =
  | { ok: true; amount: bigint; lines: { itemId: string; quantity: number; amount: bigint }[] }
  | { ok: false; itemId: string; reason: 'not_in_order' | 'more_than_left' | 'duplicate' };

/** Units of each item already returned, from the order's earlier `returned` timeline entries (`detail.items`). */
export function returnedSoFar(details: readonly unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of details) {
    const items = (d as { items?: unknown } | null)?.items;
    if (!Array.isArray(items)) continue;
    for (const i of items as { item_id?: unknown; quantity?: unknown }[])
      if (typeof i.item_id === 'string' && Number.isInteger(i.quantity))
        out.set(i.item_id, (out.get(i.item_id) ?? 0) + (i.quantity as number));
  }
  return out;
}

/**
 * Checks a return against the order's lines and what was returned before, and prices it. The refund of a line
 * is the paid total of all units returned so far (this return included) minus what earlier returns refunded,
 * each rounded down: parts add up to exactly the line's total when the whole line comes back. O(lines).
 */
export function priceReturn(
  lines: readonly ReturnableLine[],
  returned: ReadonlyMap<string, number>,
  request: readonly ReturnRequestLine[],
): ReturnCheck {
  const byItem = new Map(lines.map((l) => [l.itemId, l]));
  const seen = new Set<string>();
  const out: { itemId: string; quantity: number; amount: bigint }[] = [];
  for (const r of request) {
    if (seen.has(r.itemId)) return { ok: false, itemId: r.itemId, reason: 'duplicate' };
    seen.add(r.itemId);
    const line = byItem.get(r.itemId);
    if (!line) return { ok: false, itemId: r.itemId, reason: 'not_in_order' };
    const before = returned.get(r.itemId) ?? 0;
    if (before + r.quantity > line.quantity) return { ok: false, itemId: r.itemId, reason: 'more_than_left' };
    const share = (units: number) => (line.totalMinor * BigInt(units)) / BigInt(line.quantity);
    out.push({ itemId: r.itemId, quantity: r.quantity, amount: share(before + r.quantity) - share(before) });
  }
  return { ok: true, amount: out.reduce((a, l) => a + l.amount, 0n), lines: out };
}

/** Reasons that are the merchant's fault: by default the merchant then pays the return label and refunds shipping. */
export const MERCHANT_FAULT_REASONS: ReadonlySet<ReturnReason> = new Set(['damaged', 'defective', 'wrong_item', 'not_as_described']);

/** Whether the original shipping is refunded with a return: by the rule below (auto), all that is left, or none. */
export const SHIPPING_REFUNDS = ['auto', 'full', 'none'] as const;
export type ShippingRefund = (typeof SHIPPING_REFUNDS)[number];

export interface ReturnShippingInput {
  /** What the returned units refund (priceReturn's amount), minor units. */
  readonly itemsAmount: bigint;
  /** The returned lines' reasons (undefined: none given). */
  readonly reasons: readonly (ReturnReason | undefined)[];
  /** The order's shipping as paid (its shipping_total, tax and discounts included), and what returns refunded of it so far. */
  readonly shippingTotal: bigint;
  readonly shippingRefundedSoFar: bigint;
  /** Whether every unit of the order has come back once this return is recorded. */
  readonly completesOrder: boolean;
  readonly refundShipping: ShippingRefund;
  /** The return label's cost and who pays it (default: the merchant for a merchant-fault reason, else the customer). */
  readonly label: { readonly amount: bigint; readonly paidBy?: 'customer' | 'merchant' | undefined } | null;
  /** What is left to refund on the order (paid less refunded). */
  readonly left: bigint;
}

export interface ReturnShipping {
  /** The refund of this return: items + shipping refunded - label deducted, at most what is left, never below 0. */
  refund: bigint;
  /** The part of `refund` that is the original shipping. */
  shippingRefund: bigint;
  /** The label's cost taken off the refund (the customer pays); 0 when the merchant pays. */
  labelDeducted: bigint;
  paidBy: 'customer' | 'merchant';
}

/**
 * Return shipping, in integer minor units of the order's currency (exact for JPY's 0 and KWD's 3 decimals: no
 * division). The original shipping is refunded (all of it not refunded yet) when asked (`full`), or under `auto`
 * when a line came back for a merchant-fault reason or the return completes the order; never twice across returns.
 * The label is the customer's to pay unless said otherwise or the merchant is at fault: the customer's label is
 * deducted from the refund, at most down to zero (a refund never turns into a charge). O(reasons).
 */
export function priceReturnShipping(r: ReturnShippingInput): ReturnShipping {
  const merchantFault = r.reasons.some((x) => x !== undefined && MERCHANT_FAULT_REASONS.has(x));
  const shippingLeft = r.shippingTotal > r.shippingRefundedSoFar ? r.shippingTotal - r.shippingRefundedSoFar : 0n;
  const wantShipping =
    r.refundShipping === 'full' || (r.refundShipping === 'auto' && (merchantFault || r.completesOrder)) ? shippingLeft : 0n;
  const paidBy = r.label?.paidBy ?? (merchantFault ? 'merchant' : 'customer');
  const gross = r.itemsAmount + wantShipping;
  const labelDeducted = paidBy === 'customer' && r.label ? (r.label.amount < gross ? r.label.amount : gross) : 0n;
  const net = gross - labelDeducted;
  const left = r.left > 0n ? r.left : 0n;
  const refund = net < left ? net : left;
  // Capped by what is left: the items' part is paid back first, the shipping part gets the rest.
  const itemsPart = r.itemsAmount - labelDeducted > 0n ? r.itemsAmount - labelDeducted : 0n;
  const shippingRefund = refund > itemsPart ? (refund - itemsPart < wantShipping ? refund - itemsPart : wantShipping) : 0n;
  return { refund, shippingRefund, labelDeducted, paidBy };
}

/** What earlier returns refunded of the original shipping, from their timeline entries (`detail.shipping_refunded`). */
export function shippingRefundedSoFar(details: readonly unknown[]): bigint {
  let sum = 0n;
  for (const d of details) {
    const v = (d as { shipping_refunded?: unknown } | null)?.shipping_refunded;
    if (typeof v === 'string' && /^\d{1,19}$/.test(v)) sum += BigInt(v);
  }
  return sum;
}
