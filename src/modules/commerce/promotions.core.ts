/**
 * Promotion allocation: which net discount each line and shipping method gets, in minor units, before
 * `computeTotals` runs. Pure. Medusa v2's semantics for the cases Loupe supports:
 * - `percentage` on items (each line gets `value` of what is left of its subtotal) or on shipping;
 * - `fixed` `each`: `value` off every unit (capped at what is left of the line); with `maxQuantity` n, only the
 *   first n units of each line (a percentage too: it then takes `value` of those units' share of the line);
 * - `once` (Medusa's `ApplicationMethodAllocation.ONCE`): like `each`, but `maxQuantity` units in the whole cart,
 *   the cheapest units first (lines by net unit price ascending; ties keep the cart's order, where Medusa leaves
 *   them to the sort), shipping methods the cheapest first, one unit each. `maxQuantity` is required there, as in
 *   Medusa; for `each` it is optional (absent: every unit), where Medusa requires it;
 * - `fixed` `across` (and every `order` target): `value` spread over the lines in proportion to what is left
 *   of each; the shares are whole minor units that add up to exactly `value` (largest remainder), which is the
 *   deliberate deviation from Medusa's fractional shares.
 * - target rules (`targetItemIds`): a standard promotion on items or the order touches only those items' lines;
 * - `buyget` (buy X get Y), as Medusa's `getComputedActionsForBuyGet`: once the cart holds `buyMinQuantity`
 *   units of buy-rule items, `applyToQuantity` units of target items get `value` off (a percentage; 10000 =
 *   free). Both sides take the most valuable units first, and a unit counted to qualify is never discounted.
 *   Applied once per cart by default, all or nothing (too few target units left: no discount); with
 *   `maxApplications` n it repeats up to n times on units not yet used (buy 2 get 1 on 6 units: 2 free). Deviation:
 *   Medusa's version always gives the units free; here `value` says how much (10000 is Medusa's behaviour).
 * Promotions apply in the order given (buyget first, as Medusa sorts them); a discount never takes a line below zero.
 */

export type PromotionTarget = 'items' | 'shipping' | 'order';

export interface AllocatablePromotion {
  readonly id: string;
  readonly type: 'percentage' | 'fixed';
  readonly target: PromotionTarget;
  /** Percentage in basis points (1500 = 15%), or a fixed amount in minor units. */
  readonly value: bigint;
  readonly allocation: 'each' | 'across' | 'once';
  /**
   * `each`: units of each line discounted (absent: all); `once`: units in the whole cart, cheapest first (absent
   * there: none). Ignored by `across` and order promotions.
   */
  readonly maxQuantity?: number | null;
  /** Items the discount may touch; null or absent: every item. */
  readonly targetItemIds?: readonly string[] | null;
  /** Buy X get Y: the qualifying rule and quantities; null or absent for a standard promotion. */
  readonly buyget?: {
    readonly buyItemIds: readonly string[] | null;
    readonly buyMinQuantity: number;
    readonly applyToQuantity: number;
    /** Times one cart may earn it, each with its own qualifying and discounted units (default 1, as Medusa). */
    readonly maxApplications?: number;
  } | null;
}

export interface AllocationLine {
  /** The catalog item of the line (promotion rules name items). */
  readonly itemId: string;
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
    if (p.buyget) {
      buyGetUnits(p.buyget, p.targetItemIds ?? null, lines).forEach((units, i) => {
        if (units === 0) return;
        const bp = p.value > 10_000n ? 10_000n : p.value;
        const base = (lines[i]!.subtotal * BigInt(units)) / BigInt(lines[i]!.quantity);
        give('items', i, p.id, min(itemLeft[i]!, (base * bp + 5_000n) / 10_000n));
      });
      continue;
    }
    const onShipping = p.target === 'shipping';
    const targets = !onShipping && p.targetItemIds ? new Set(p.targetItemIds) : null;
    // Lines outside the target rule count as nothing left for this promotion (they are never touched).
    const left = onShipping ? shipLeft : targets ? itemLeft.map((l, i) => (targets.has(lines[i]!.itemId) ? l : 0n)) : itemLeft;
    const where = onShipping ? 'shipping' : 'items';
    const perUnit = p.target !== 'order' && (p.allocation === 'once' || (p.allocation === 'each' && p.maxQuantity != null));
    if (perUnit) {
      // What each line (or shipping method) may be discounted on: its units' share of the line, capped at what is left.
      const units = unitsPerLine(p, onShipping ? shipping.map((s) => ({ subtotal: s, quantity: 1 })) : lines, left);
      left.forEach((l, i) => {
        const u = units[i]!;
        if (u === 0) return;
        const quantity = onShipping ? 1 : lines[i]!.quantity;
        const whole = onShipping ? shipping[i]! : lines[i]!.subtotal;
        const base = min(l, (whole * BigInt(u)) / BigInt(quantity));
        const amount = p.type === 'percentage' ? (base * min(p.value, 10_000n) + 5_000n) / 10_000n : p.value * BigInt(u);
        give(where, i, p.id, min(base, amount));
      });
    } else if (p.type === 'percentage') {
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

/**
 * Units of each line (or shipping method, quantity 1) a per-unit promotion discounts: `each` up to `maxQuantity`
 * of every line; `once` `maxQuantity` in all, the lines with the cheapest net unit first (exact, cross-multiplied).
 * Lines with nothing left for the promotion (outside its target rule, or already discounted to zero) get none.
 */
export function unitsPerLine(
  p: Pick<AllocatablePromotion, 'allocation' | 'maxQuantity'>,
  lines: readonly { readonly subtotal: bigint; readonly quantity: number }[],
  left: readonly bigint[],
): number[] {
  const eligible = lines.map((l, i) => l.quantity > 0 && l.subtotal > 0n && left[i]! > 0n);
  if (p.allocation !== 'once') return lines.map((l, i) => (eligible[i] ? Math.min(l.quantity, p.maxQuantity ?? l.quantity) : 0));
  const out = lines.map(() => 0);
  const cheapestFirst = (a: number, b: number) => {
    const x = lines[a]!.subtotal * BigInt(lines[b]!.quantity);
    const y = lines[b]!.subtotal * BigInt(lines[a]!.quantity);
    return x === y ? a - b : x < y ? -1 : 1;
  };
  let quota = Math.max(0, p.maxQuantity ?? 0);
  for (const i of lines
    .map((_, i) => i)
    .filter((i) => eligible[i])
    .sort(cheapestFirst)) {
    if (quota === 0) break;
    out[i] = Math.min(quota, lines[i]!.quantity);
    quota -= out[i]!;
  }
  return out;
}

/**
 * Units of each line a buyget promotion discounts (Medusa's algorithm, see the module comment): buy-rule units
 * are reserved most valuable first up to `buyMinQuantity`; then `applyToQuantity` target units, most valuable
 * first, among the units not reserved. All zeros when the cart does not qualify. O(lines log lines).
 */
export function buyGetUnits(
  rule: {
    readonly buyItemIds: readonly string[] | null;
    readonly buyMinQuantity: number;
    readonly applyToQuantity: number;
    readonly maxApplications?: number;
  },
  targetItemIds: readonly string[] | null,
  lines: readonly AllocationLine[],
): number[] {
  const out = lines.map(() => 0);
  if (rule.buyMinQuantity < 1 || rule.applyToQuantity < 1) return out;
  // Most valuable unit first; ties keep the cart's order. Cross-multiplied to compare a/b with c/d exactly.
  const byValue = (a: number, b: number) => {
    const x = lines[a]!.subtotal * BigInt(lines[b]!.quantity);
    const y = lines[b]!.subtotal * BigInt(lines[a]!.quantity);
    return x === y ? a - b : x > y ? -1 : 1;
  };
  const counted = lines.map((l, i) => i).filter((i) => lines[i]!.quantity > 0);
  const buys = rule.buyItemIds ? new Set(rule.buyItemIds) : null;
  const targets = targetItemIds ? new Set(targetItemIds) : null;
  const buyOrder = counted.filter((i) => !buys || buys.has(lines[i]!.itemId)).sort(byValue);
  const getOrder = counted.filter((i) => !targets || targets.has(lines[i]!.itemId)).sort(byValue);
  const reserved = lines.map(() => 0);
  // Each application takes its own units, never one already counted or discounted; all or nothing per application.
  for (let k = 0; k < Math.max(1, rule.maxApplications ?? 1); k++) {
    const r = [...reserved];
    const g = [...out];
    const free = (i: number) => lines[i]!.quantity - r[i]! - g[i]!;
    let need = rule.buyMinQuantity;
    for (const i of buyOrder) {
      if (need === 0) break;
      const take = Math.min(free(i), need);
      r[i]! += take;
      need -= take;
    }
    if (need > 0) break;
    let want = rule.applyToQuantity;
    for (const i of getOrder) {
      if (want === 0) break;
      const take = Math.min(free(i), want);
      g[i]! += take;
      want -= take;
    }
    if (want > 0) break;
    r.forEach((v, i) => (reserved[i] = v));
    g.forEach((v, i) => (out[i] = v));
  }
  return out;
}
