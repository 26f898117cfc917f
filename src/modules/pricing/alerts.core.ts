/**
 * Price alerts, pure: when a watched product's best price fires an alert, and the alert's state after. `now` is
 * not needed: an alert's state changes only with prices.
 */

export type AlertKind = 'target_price' | 'any_drop';

export interface AlertState {
  kind: AlertKind;
  /** target_price: fire at or below this price (minor units of the alert's currency). */
  targetMinor: bigint | null;
  /** any_drop: the lowest best price the shopper has seen or been told about; a drop is a price below it. */
  referenceMinor: bigint | null;
  /** target_price: false after firing until the price rises above the target again (no flapping). */
  armed: boolean;
}

/**
 * Evaluates one alert against the product's current best price (`null`: no offer in the alert's currency in
 * stock, which is never a change). A target alert fires once when the price reaches the target, and again only
 * after the price went back above it; an any-drop alert fires on each new low since the shopper started watching
 * (a rise and the same drop again fires nothing). Re-evaluating the same price never fires twice.
 */
export function evaluateAlert(a: AlertState, best: bigint | null): { fire: boolean; next: AlertState } {
  if (best === null) return { fire: false, next: a };
  if (a.kind === 'target_price') {
    const target = a.targetMinor ?? 0n;
    if (best <= target) return { fire: a.armed, next: { ...a, armed: false } };
    return { fire: false, next: { ...a, armed: true } };
  }
  if (a.referenceMinor === null) return { fire: false, next: { ...a, referenceMinor: best } };
  if (best < a.referenceMinor) return { fire: true, next: { ...a, referenceMinor: best } };
  return { fire: false, next: a };
}

/** The state of a new alert given the best price now: it fires on the next change, not on what already is. */
export function initialAlert(kind: AlertKind, targetMinor: bigint | null, best: bigint | null): AlertState {
  return kind === 'target_price'
    ? { kind, targetMinor, referenceMinor: null, armed: best === null || best > (targetMinor ?? 0n) }
    : { kind, targetMinor: null, referenceMinor: best, armed: true };
}
