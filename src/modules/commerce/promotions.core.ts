/**
 * Promotion allocation: which net discount each line and shipping method gets, in minor units, before
 * `computeTotals` runs. Pure. Medusa v2's semantics for the cases Loupe supports:
 * - `percentage` on items (each line gets `value` of what is left of its subtotal) or on shipping;
 * - `fixed` `each`: `value` off every unit (capped at what is left of the line);
 * - `fixed` `across` (and every `order` target): `value` spread over the lines in proportion to what is left
 *   of each; the shares are whole minor units that add up to exactly `value` (largest remainder), which is the
 *   deliberate deviation from Medusa's fractional shares.
 * Promotions apply in the order given; a discount never takes a line below zero.
 */

export type PromotionTarget = 'items' | 'shipping' | 'order';

export interface AllocatablePromotion {
  readonly id: string;
  readonly type: 'percentage' | 'fixed';
  readonly target: PromotionTarget;
  /** Percentage in basis points (1500 = 15%), or a fixed amount in minor units. */
  readonly value: bigint;
  readonly allocation: 'each' | 'across';
}

export interface AllocationLine {
  /** Net subtotal of the line (after tax is taken out of an inclusive price). */
  readonly subtotal: bigint;
  readonly quantity: number;
}

export interface Allocation {
  /** Per line: the adjustments, one per promotion that touched it. */
  items: { promotionId: string; amount: bigint }[][];
  shipping: { promotionId: string; amount: bigint }[][];
  /** Total discount each promotion gave. */
  byPromotion: Map<string, bigint>;
}

/** Splits `amount` over `weights` in proportion, in whole units adding up to exactly `amount` (largest remainder). */
export function splitProportionally(amount: bigint, weights: readonly bigint[]): bigint[] {
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total <= 0n || amount <= 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (amount * w) / total);
  let left = amount - shares.reduce((a, b) => a + b, 0n);
  const order = weights
    .map((w, i) => ({ i, rem: (amount * w) % total }))
    .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    if (weights[i]! > 0n) {
      shares[i]! += 1n;
      left -= 1n;
    }
  }
  return shares;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** Allocates `promotions` to lines and shipping methods (see the module comment). O(promotions x lines log lines). */
export function allocatePromotions(
  promotions: readonly AllocatablePromotion[],
  lines: readonly AllocationLine[],
  shipping: readonly bigint[],
): Allocation {
  const itemLeft = lines.map((l) => l.subtotal);
  const shipLeft = [...shipping];
  const out: Allocation = { items: lines.map(() => []), shipping: shipping.map(() => []), byPromotion: new Map() };
  const give = (where: 'items' | 'shipping', i: number, id: string, amount: bigint) => {
    if (amount <= 0n) return;
    (where === 'items' ? itemLeft : shipLeft)[i]! -= amount;
    out[where][i]!.push({ promotionId: id, amount });
    out.byPromotion.set(id, (out.byPromotion.get(id) ?? 0n) + amount);
  };
  for (const p of promotions) {
    const onShipping = p.target === 'shipping';
    const left = onShipping ? shipLeft : itemLeft;
    const where = onShipping ? 'shipping' : 'items';
    if (p.type === 'percentage') {
      const bp = p.value > 10_000n ? 10_000n : p.value;
      // Half-up on a non-negative product is fine here: it never exceeds what is left.
      left.forEach((l, i) => give(where, i, p.id, min(l, (l * bp + 5_000n) / 10_000n)));
    } else if (p.allocation === 'each' && p.target !== 'order') {
      left.forEach((l, i) => give(where, i, p.id, min(l, p.value * BigInt(onShipping ? 1 : lines[i]!.quantity))));
    } else {
      const capped = min(
        p.value,
        left.reduce((a, b) => a + b, 0n),
      );
      splitProportionally(capped, left).forEach((share, i) => give(where, i, p.id, min(share, left[i]!)));
    }
  }
  return out;
}
