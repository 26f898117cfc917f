/**
 * Sponsored placements' pure rules: eligibility, ranking, the generalized second-price auction, pacing and
 * invalid-traffic checks. No I/O and no clock: `now` is passed in.
 *
 * Money here is bigint. Campaign budgets and bids are integer minor units of the campaign's currency; charges
 * and spend are "milli" units (1/1000 of a minor unit) so that a CPM bid of 250 minor units costs exactly 250
 * milli per impression, with no rounding anywhere.
 */

export const PRICING_MODELS = ['cpm', 'cpc', 'cpa'] as const;
export type PricingModel = (typeof PRICING_MODELS)[number];
export const BUDGET_TYPES = ['daily', 'lifetime'] as const;
export type BudgetType = (typeof BUDGET_TYPES)[number];
export const CAMPAIGN_STATUSES = ['pending_review', 'approved', 'rejected', 'active', 'paused', 'completed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
export const PACING_MODES = ['even', 'asap'] as const;
export type PacingMode = (typeof PACING_MODES)[number];

export interface Targeting {
  segments?: string[] | undefined;
  /** Saved cohorts (analytics' ids): the shopper must be in one of them now. */
  cohorts?: string[] | undefined;
  categories?: string[] | undefined;
  styles?: string[] | undefined;
  devices?: string[] | undefined;
  countries?: string[] | undefined;
  /** Hours of the day (UTC, 0-23) the campaign may serve in; empty or absent = all day. */
  hours?: number[] | undefined;
  /** Days of the week (0 = Sunday) the campaign may serve on. */
  weekdays?: number[] | undefined;
}

export interface FrequencyCap {
  /** At most `impressions` impressions per user within `windowSeconds`. */
  impressions: number;
  windowSeconds: number;
}

/** What eligibility needs of a campaign. */
export interface CampaignForDecision {
  id: string;
  status: CampaignStatus;
  startDate: Date;
  endDate: Date | null;
  budgetMinor: bigint;
  budgetType: BudgetType;
  /** Milli units spent + reserved in the budget's scope (today for daily budgets, ever for lifetime). */
  committedMilli: bigint;
  pricingModel: PricingModel;
  bidMinor: bigint;
  priorityScore: number;
  targeting: Targeting;
  frequencyCaps: FrequencyCap[];
  pacing: PacingMode;
  /** Predicted click-through rate in [0, 1] (prior-smoothed), and for CPA the conversion rate per click. */
  predictedCtr: number;
  predictedCvr: number;
}

/** The request side of a decision: who, where and in what context. */
export interface DecisionContext {
  now: Date;
  placement: string;
  device?: string | undefined;
  country?: string | undefined;
  categories?: string[] | undefined;
  segments?: string[] | undefined;
  /** The targeted saved cohorts the shopper is in (only those the active campaigns name are looked up). */
  cohorts?: ReadonlySet<string> | undefined;
  styles?: string[] | undefined;
  /** Impressions of this user per campaign inside each of the campaign's cap windows: key `${campaignId}:${windowSeconds}`. */
  recentImpressions: ReadonlyMap<string, number>;
  /** The tenant's expected share of requests per UTC hour, for even pacing of daily budgets (null: flat). */
  trafficCurve?: TrafficCurve | null | undefined;
}

export type Ineligibility =
  | 'not_active'
  | 'not_started'
  | 'ended'
  | 'budget_exhausted'
  | 'paced'
  | 'frequency_capped'
  | 'targeting'
  | 'below_reserve';

const intersects = (wanted: string[] | undefined, have: string[] | undefined): boolean => {
  if (!wanted || wanted.length === 0) return true;
  if (!have || have.length === 0) return false;
  const set = new Set(have.map((s) => s.toLowerCase()));
  return wanted.some((w) => set.has(w.toLowerCase()));
};

/** Whether the campaign's targeting matches the request (every given dimension must match; absent = any). */
export function matchesTargeting(t: Targeting, ctx: DecisionContext): boolean {
  if (t.hours && t.hours.length > 0 && !t.hours.includes(ctx.now.getUTCHours())) return false;
  if (t.weekdays && t.weekdays.length > 0 && !t.weekdays.includes(ctx.now.getUTCDay())) return false;
  if (!intersects(t.devices, ctx.device ? [ctx.device] : undefined)) return false;
  if (!intersects(t.countries, ctx.country ? [ctx.country] : undefined)) return false;
  if (!intersects(t.categories, ctx.categories)) return false;
  if (!intersects(t.segments, ctx.segments)) return false;
  if (t.cohorts && t.cohorts.length > 0 && !t.cohorts.some((c) => ctx.cohorts?.has(c))) return false;
  if (!intersects(t.styles, ctx.styles)) return false;
  return true;
}

/** The milli units one chargeable event costs at a per-unit price (CPM prices are per thousand impressions). */
export function unitCostMilli(model: PricingModel, priceMinor: bigint): bigint {
  return model === 'cpm' ? priceMinor : priceMinor * 1000n;
}

/** Start of the UTC day of `now`. */
export function dayOf(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/**
 * The expected share of a day's placement requests in each UTC hour (24 numbers summing to 1), learned from
 * the tenant's own past traffic: even pacing follows it, so a daily budget is spread like the shoppers are.
 */
export type TrafficCurve = readonly number[];

/** Requests a tenant's history needs before its own curve replaces the flat one (about ten an hour). */
export const TRAFFIC_CURVE_MIN_REQUESTS = 240;

/**
 * The traffic curve from request counts per UTC hour (summed over past days), or null when there are too few
 * to trust. Each hour gets half a request of prior (additive smoothing), so an hour that was quiet so far is
 * planned small rather than never.
 */
export function trafficCurve(countsByHour: readonly number[], minRequests = TRAFFIC_CURVE_MIN_REQUESTS): TrafficCurve | null {
  if (countsByHour.length !== 24) throw new Error('trafficCurve needs 24 hourly counts');
  const total = countsByHour.reduce((a, b) => a + Math.max(0, b), 0);
  if (!(total >= minRequests)) return null;
  const smoothed = countsByHour.map((c) => Math.max(0, c) + 0.5);
  const sum = total + 12;
  return smoothed.map((c) => c / sum);
}

/**
 * The curve for a day with ISO weekday `weekday` (1 = Monday) from past requests by weekday and UTC hour: that
 * weekday's hours when there are enough of them (a shop's Sunday is not its Tuesday), else every day's, else null.
 */
export function trafficCurveFor(
  history: readonly { weekday: number; hour: number; requests: number }[],
  weekday: number,
  minRequests = TRAFFIC_CURVE_MIN_REQUESTS,
): TrafficCurve | null {
  const same = Array<number>(24).fill(0);
  const all = Array<number>(24).fill(0);
  for (const r of history) {
    if (!(r.hour >= 0 && r.hour < 24)) continue;
    all[r.hour] = all[r.hour]! + r.requests;
    if (r.weekday === weekday) same[r.hour] = same[r.hour]! + r.requests;
  }
  return trafficCurve(same, minRequests) ?? trafficCurve(all, minRequests);
}

/** ISO weekday (1 = Monday ... 7 = Sunday) of `at` in UTC. */
export const isoWeekday = (at: Date): number => ((at.getUTCDay() + 6) % 7) + 1;

/** The share of the day's planned delivery due by `msIntoDay` (0 at midnight, 1 at the next): the curve's integral. */
export function dayFraction(curve: TrafficCurve | null, msIntoDay: number): number {
  if (msIntoDay <= 0) return 0;
  if (msIntoDay >= 86_400_000) return 1;
  if (!curve) return msIntoDay / 86_400_000;
  const hour = Math.floor(msIntoDay / 3_600_000);
  let f = 0;
  for (let h = 0; h < hour; h++) f += curve[h]!;
  return Math.min(1, f + curve[hour]! * ((msIntoDay - hour * 3_600_000) / 3_600_000));
}

/**
 * How a daily budget's even plan is tuned. `leadMs`: how far ahead of the plan delivery may run, so it does not
 * stall at each instant. `finishAt`: the share of the day's expected traffic by which the plan has delivered the
 * whole budget (the plan is the traffic curve scaled by 1 / finishAt, capped at the budget): a day whose traffic
 * ends earlier or quieter than the curve expected still finishes its budget, where a plan finishing with the last
 * expected request leaves that tail unspent.
 */
export interface PacingTuning {
  leadMs: number;
  finishAt: number;
}

/**
 * Chosen on the 60 trading days before bench/sponsored/pacing.bench.ts's test days (validation, never the test
 * days): of the settings whose hourly delivery stays within 5% of the plan and that spend at least 99% of the
 * budget there, the one finishing latest (nearest the plain curve), then with the longest lead.
 */
export const PACING_TUNING: PacingTuning = { leadMs: 2 * 60_000, finishAt: 0.98 };
/** The tuning before the end-of-day finish (kept for the bench's before/after). */
export const PACING_TUNING_PLAIN: PacingTuning = { leadMs: 5 * 60_000, finishAt: 1 };

/**
 * The most the budget's scope may have committed (spent + reserved) at `now`, in milli units.
 * ASAP: the whole budget. Even, daily budgets: the budget times the share of the UTC day's expected traffic
 * due `leadMs` from now (with `curve`, the tenant's own hours; without, the clock's), divided by `finishAt`
 * (so the whole budget is due once that share of the day's traffic is); lifetime budgets with an end date: the
 * elapsed share of the flight plus a quarter hour (1/96 of a day's length); a lifetime budget without an end
 * date cannot be spread and is served ASAP. Monotone in `now`, never above the budget.
 */
export function pacingCapMilli(
  c: Pick<CampaignForDecision, 'budgetMinor' | 'budgetType' | 'pacing' | 'startDate' | 'endDate'>,
  now: Date,
  curve: TrafficCurve | null = null,
  tuning: PacingTuning = PACING_TUNING,
): bigint {
  const total = c.budgetMinor * 1000n;
  if (c.pacing === 'asap') return total;
  let fraction: number;
  if (c.budgetType === 'daily') {
    const start = Date.parse(`${dayOf(now)}T00:00:00.000Z`);
    const finishAt = tuning.finishAt > 0 && tuning.finishAt <= 1 ? tuning.finishAt : 1;
    fraction = dayFraction(curve, now.getTime() - start + tuning.leadMs) / finishAt;
  } else {
    if (!c.endDate) return total;
    const span = c.endDate.getTime() - c.startDate.getTime();
    fraction = span <= 0 ? 1 : (now.getTime() - c.startDate.getTime()) / span + 1 / 96;
  }
  if (fraction >= 1) return total;
  if (fraction <= 0) return 0n;
  // Parts per million: exact bigint arithmetic from here on.
  return (total * BigInt(Math.floor(fraction * 1_000_000))) / 1_000_000n;
}

/** Why a campaign may not serve this request, or null when it may. `reserveMinor` is the tenant's reserve price. */
export function ineligibility(c: CampaignForDecision, ctx: DecisionContext, reserveMinor: bigint): Ineligibility | null {
  if (c.status !== 'active') return 'not_active';
  if (ctx.now < c.startDate) return 'not_started';
  if (c.endDate && ctx.now >= c.endDate) return 'ended';
  if (c.bidMinor < reserveMinor) return 'below_reserve';
  const unit = unitCostMilli(c.pricingModel, c.bidMinor);
  if (c.committedMilli + unit > c.budgetMinor * 1000n) return 'budget_exhausted';
  if (c.committedMilli + unit > pacingCapMilli(c, ctx.now, ctx.trafficCurve ?? null)) return 'paced';
  for (const cap of c.frequencyCaps) {
    if ((ctx.recentImpressions.get(`${c.id}:${cap.windowSeconds}`) ?? 0) >= cap.impressions) return 'frequency_capped';
  }
  if (!matchesTargeting(c.targeting, ctx)) return 'targeting';
  return null;
}

/**
 * Quality per unit of bid: the expected number of chargeable events per impression. CPC: predicted CTR;
 * CPA: CTR x conversion rate; CPM: 1/1000 (its bid is per thousand impressions). Ranking by bid x quality is
 * ranking by expected revenue per impression.
 */
export function qualityOf(c: Pick<CampaignForDecision, 'pricingModel' | 'predictedCtr' | 'predictedCvr'>): number {
  if (c.pricingModel === 'cpm') return 1 / 1000;
  if (c.pricingModel === 'cpc') return c.predictedCtr;
  return c.predictedCtr * c.predictedCvr;
}

/**
 * Predicted CTR with a Beta prior (mean `priorCtr`, strength `priorWeight` impressions): new campaigns start
 * at the prior and move toward their own rate as impressions accrue.
 */
export function smoothedRate(successes: number, trials: number, prior: number, priorWeight: number): number {
  return (successes + prior * priorWeight) / (trials + priorWeight);
}

export interface Bidder {
  id: string;
  /** Bid per chargeable unit, minor units. */
  bidMinor: bigint;
  /** Expected chargeable units per impression (> 0). */
  quality: number;
  /** Tie-breaker: higher first. */
  priority?: number;
}

export interface AuctionWinner {
  id: string;
  slot: number;
  /** Price per chargeable unit, minor units, never above the bid nor below the reserve. */
  priceMinor: bigint;
}

/**
 * Generalized second-price auction (Edelman, Ostrovsky & Schwarz 2007) with a reserve price. Bidders below
 * the reserve are dropped; the rest are ranked by bid x quality (ties: priority, then id); the bidder in slot
 * k pays the smallest bid that keeps its rank: next bid x next quality / own quality, rounded up to a whole
 * minor unit, at least the reserve and at most its own bid. The last winner with nobody below pays the reserve.
 * O(n log n) for n bidders.
 */
export function gspAuction(bidders: readonly Bidder[], slots: number, reserveMinor: bigint): AuctionWinner[] {
  const ranked = bidders
    .filter((b) => b.bidMinor >= reserveMinor && b.bidMinor > 0n && b.quality > 0)
    .map((b) => ({ b, score: Number(b.bidMinor) * b.quality }))
    .sort((x, y) => y.score - x.score || (y.b.priority ?? 0) - (x.b.priority ?? 0) || (x.b.id < y.b.id ? -1 : x.b.id > y.b.id ? 1 : 0));
  const out: AuctionWinner[] = [];
  for (let k = 0; k < Math.min(slots, ranked.length); k++) {
    const me = ranked[k]!;
    const next = ranked[k + 1];
    let price = reserveMinor;
    if (next) {
      const needed = Math.ceil((Number(next.b.bidMinor) * next.b.quality) / me.b.quality - 1e-9);
      price = BigInt(Math.max(0, needed));
      if (price < reserveMinor) price = reserveMinor;
    }
    if (price > me.b.bidMinor) price = me.b.bidMinor;
    out.push({ id: me.b.id, slot: k, priceMinor: price });
  }
  return out;
}

/** Touches a conversion may be attributed to: clicks and impressions of one user, with their time. */
export interface Touch {
  kind: 'click' | 'impression';
  id: string;
  campaignId: string;
  at: Date;
  /** The campaign's attribution window for this kind of touch, seconds. */
  windowSeconds: number;
}

/**
 * Last-touch attribution: the latest click inside its campaign's click window before the conversion; when no
 * click qualifies, the latest impression inside its view window; otherwise none. One campaign per conversion.
 */
export function attribute(touches: readonly Touch[], convertedAt: Date): Touch | null {
  const live = (t: Touch) => t.at <= convertedAt && convertedAt.getTime() - t.at.getTime() <= t.windowSeconds * 1000;
  const latest = (kind: Touch['kind']) =>
    touches.filter((t) => t.kind === kind && live(t)).sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : -1))[0] ?? null;
  return latest('click') ?? latest('impression');
}

/** Validation of a campaign's money and dates, as per-field messages (an empty list when valid). */
export function campaignProblems(c: {
  budgetMinor: bigint;
  bidMinor: bigint;
  reserveMinor: bigint;
  startDate: Date;
  endDate: Date | null;
  frequencyCaps: FrequencyCap[];
}): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  if (c.budgetMinor <= 0n) out.push({ field: 'budget_amount', message: 'must be greater than 0' });
  if (c.bidMinor < c.reserveMinor) out.push({ field: 'bid_amount', message: 'is below the reserve price of this tenant' });
  if (c.endDate && c.endDate <= c.startDate) out.push({ field: 'end_date', message: 'must be after start_date' });
  const windows = new Set<number>();
  for (const [i, cap] of c.frequencyCaps.entries()) {
    if (windows.has(cap.windowSeconds)) out.push({ field: `frequency_caps.${i}`, message: 'repeats a window already capped' });
    windows.add(cap.windowSeconds);
  }
  // Overlapping caps must loosen as the window grows; otherwise the shorter one can never bind (a contradiction).
  const sorted = [...c.frequencyCaps].sort((a, b) => a.windowSeconds - b.windowSeconds);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.impressions < sorted[i - 1]!.impressions)
      out.push({
        field: 'frequency_caps',
        message: 'a longer window allows fewer impressions than a shorter one, so the shorter cap never applies',
      });
  }
  return out;
}
