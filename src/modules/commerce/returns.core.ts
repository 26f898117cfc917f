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
