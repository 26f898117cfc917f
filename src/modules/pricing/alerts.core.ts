/**
 * Price alerts, pure: when a watched product's best price fires an alert, and the alert's state after. `now` is
 * not needed: an alert's state changes only with prices (lowest_in_days gets its window's low from the caller).
 * Every price here is in minor units of the alert's one currency: offers in other currencies never reach a rule.
 */

export const ALERT_KINDS = ['target_price', 'any_drop', 'percent_drop', 'lowest_in_days', 'back_in_stock'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertState {
  kind: AlertKind;
  /** target_price: fire at or below this price (minor units of the alert's currency). */
  targetMinor: bigint | null;
  /**
   * any_drop: the lowest best price seen; a drop is a price below it. percent_drop: the price when the alert was
   * created or last fired; a drop is measured from it. lowest_in_days: the best price at the last evaluation.
   */
  referenceMinor: bigint | null;
  /** percent_drop: the drop that fires, in whole percent (1..99). */
  dropPercent: number | null;
  /** lowest_in_days: the window, in days (1..365). */
  windowDays: number | null;
  /**
   * target_price: false after firing until the price rises above the target again. back_in_stock: true while the
   * product is out of stock (no offer in stock in the currency), so that its return fires once.
   */
  armed: boolean;
}

/** What an evaluation sees: the best in-stock price now (null: none in stock) and, for lowest_in_days, the window's low. */
export interface AlertObservation {
  best: bigint | null;
  /**
   * lowest_in_days: the lowest in-stock price of the product in the window before this change (prices in effect
   * at any moment of the last N days, this import's excluded); null when there is no history in the window.
   */
  windowLowMinor?: bigint | null | undefined;
}

/** percent_drop: is `best` at least `percent`% below `reference`? Integer arithmetic: exact for any amount. */
export function isPercentDrop(reference: bigint, best: bigint, percent: number): boolean {
  return best * 100n <= reference * BigInt(100 - percent);
}

/**
 * Evaluates one alert. The re-arm rules (each change fires once; re-evaluating the same prices never fires):
 * - target_price fires when the price reaches the target, and again only after the price went back above it;
 * - any_drop fires on each new low since the shopper started watching (a rise and the same drop fire nothing);
 * - percent_drop fires when the price is `dropPercent`% or more below its reference, which then becomes this
 *   price: the next firing needs a further drop of that size (a rise does not move the reference);
 * - lowest_in_days fires when the price is strictly below every price of the last N days (equal is not a new
 *   low; no history is no low) and below the price it last saw;
 * - back_in_stock fires when an offer is in stock again after none was; it re-arms when none is in stock.
 * A null best price (nothing in stock in the currency) is never a price change; it only arms back_in_stock.
 */
export function evaluateAlert(a: AlertState, obs: AlertObservation): { fire: boolean; next: AlertState } {
  const { best } = obs;
  if (a.kind === 'back_in_stock') {
    if (best === null) return { fire: false, next: a.armed ? a : { ...a, armed: true } };
    return { fire: a.armed, next: a.armed ? { ...a, armed: false } : a };
  }
  if (best === null) return { fire: false, next: a };
  switch (a.kind) {
    case 'target_price': {
      const target = a.targetMinor ?? 0n;
      if (best <= target) return { fire: a.armed, next: { ...a, armed: false } };
      return { fire: false, next: { ...a, armed: true } };
    }
    case 'any_drop':
      if (a.referenceMinor === null) return { fire: false, next: { ...a, referenceMinor: best } };
      if (best < a.referenceMinor) return { fire: true, next: { ...a, referenceMinor: best } };
      return { fire: false, next: a };
    case 'percent_drop':
      if (a.referenceMinor === null) return { fire: false, next: { ...a, referenceMinor: best } };
      if (isPercentDrop(a.referenceMinor, best, a.dropPercent ?? 100)) return { fire: true, next: { ...a, referenceMinor: best } };
      return { fire: false, next: a };
    case 'lowest_in_days': {
      const low = obs.windowLowMinor ?? null;
      const fire = low !== null && best < low && (a.referenceMinor === null || best < a.referenceMinor);
      return { fire, next: a.referenceMinor === best ? a : { ...a, referenceMinor: best } };
    }
  }
}

/** The state of a new alert given the best price now: it fires on the next change, not on what already is. */
export function initialAlert(
  kind: AlertKind,
  params: { targetMinor?: bigint | null; dropPercent?: number | null; windowDays?: number | null },
  best: bigint | null,
): AlertState {
  const base = { kind, targetMinor: null, referenceMinor: null, dropPercent: null, windowDays: null, armed: true };
  switch (kind) {
    case 'target_price': {
      const targetMinor = params.targetMinor ?? null;
      return { ...base, targetMinor, armed: best === null || best > (targetMinor ?? 0n) };
    }
    case 'any_drop':
      return { ...base, referenceMinor: best };
    case 'percent_drop':
      return { ...base, referenceMinor: best, dropPercent: params.dropPercent ?? null };
    case 'lowest_in_days':
      return { ...base, referenceMinor: best, windowDays: params.windowDays ?? null };
    case 'back_in_stock':
      return { ...base, armed: best === null };
  }
}
