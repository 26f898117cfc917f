import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attribute,
  type CampaignForDecision,
  campaignProblems,
  type DecisionContext,
  gspAuction,
  ineligibility,
  dayFraction,
  PACING_TUNING_PLAIN,
  pacingCapMilli,
  trafficCurve,
  qualityOf,
  unitCostMilli,
} from './sponsored.core.ts';
import { clickVerdict, isBotUserAgent } from './traffic.core.ts';

const now = new Date('2026-03-10T12:00:00.000Z');
const campaign = (over: Partial<CampaignForDecision> = {}): CampaignForDecision => ({
  id: 'c1',
  status: 'active',
  startDate: new Date('2026-03-01T00:00:00Z'),
  endDate: new Date('2026-04-01T00:00:00Z'),
  budgetMinor: 10_000n,
  budgetType: 'daily',
  committedMilli: 0n,
  pricingModel: 'cpc',
  bidMinor: 50n,
  priorityScore: 0,
  targeting: {},
  frequencyCaps: [],
  pacing: 'asap',
  predictedCtr: 0.02,
  predictedCvr: 0.05,
  ...over,
});
const ctx = (over: Partial<DecisionContext> = {}): DecisionContext => ({ now, placement: 'feed', recentImpressions: new Map(), ...over });

describe('gspAuction', () => {
  it('issue test vector: slots worth 200 and 100 clicks, bids 10, 4, 2 per click, equal quality: winners pay 4 and 2', () => {
    const w = gspAuction(
      [
        { id: 'a', bidMinor: 10n, quality: 0.1 },
        { id: 'b', bidMinor: 4n, quality: 0.1 },
        { id: 'c', bidMinor: 2n, quality: 0.1 },
      ],
      2,
      0n,
    );
    expect(w).toEqual([
      { id: 'a', slot: 0, priceMinor: 4n },
      { id: 'b', slot: 1, priceMinor: 2n },
    ]);
    // Payments over the slots' 200 and 100 expected clicks: 4 x 200 + 2 x 100 = 1000 (first price would be 2400).
    const clicks = [200n, 100n];
    expect(w.reduce((s, x, i) => s + x.priceMinor * clicks[i]!, 0n)).toBe(1000n);
  });

  it('quality changes prices: a = bid 10 q 0.1, b = bid 8 q 0.2 -> b first, pays ceil(10*0.1/0.2) = 5; a pays the reserve 1', () => {
    const w = gspAuction(
      [
        { id: 'a', bidMinor: 10n, quality: 0.1 },
        { id: 'b', bidMinor: 8n, quality: 0.2 },
      ],
      2,
      1n,
    );
    expect(w).toEqual([
      { id: 'b', slot: 0, priceMinor: 5n },
      { id: 'a', slot: 1, priceMinor: 1n },
    ]);
  });

  it('drops bids below the reserve, and a lone winner pays the reserve', () => {
    const w = gspAuction(
      [
        { id: 'a', bidMinor: 10n, quality: 0.1 },
        { id: 'b', bidMinor: 2n, quality: 0.1 },
      ],
      3,
      3n,
    );
    expect(w).toEqual([{ id: 'a', slot: 0, priceMinor: 3n }]);
  });

  it('properties: nobody pays more than their bid or less than the reserve; scores are non-increasing by slot', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bid: fc.integer({ min: 1, max: 10_000 }), q: fc.double({ min: 0.001, max: 1, noNaN: true }) }), {
          maxLength: 12,
        }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 5 }),
        (bs, reserve, slots) => {
          const bidders = bs.map((b, i) => ({ id: `b${i}`, bidMinor: BigInt(b.bid), quality: b.q }));
          const w = gspAuction(bidders, slots, BigInt(reserve));
          const byId = new Map(bidders.map((b) => [b.id, b]));
          let last = Number.POSITIVE_INFINITY;
          for (const x of w) {
            const b = byId.get(x.id)!;
            expect(x.priceMinor <= b.bidMinor).toBe(true);
            expect(x.priceMinor >= BigInt(reserve)).toBe(true);
            const score = Number(b.bidMinor) * b.quality;
            expect(score <= last).toBe(true);
            last = score;
          }
          expect(w.length).toBe(Math.min(slots, bidders.filter((b) => b.bidMinor >= BigInt(reserve)).length));
        },
      ),
    );
  });
});

describe('eligibility', () => {
  it('is eligible when active, in dates, under budget, uncapped and targeted', () => {
    expect(ineligibility(campaign(), ctx(), 0n)).toBeNull();
  });
  it('names each reason', () => {
    expect(ineligibility(campaign({ status: 'paused' }), ctx(), 0n)).toBe('not_active');
    expect(ineligibility(campaign({ startDate: new Date('2026-03-11T00:00:00Z') }), ctx(), 0n)).toBe('not_started');
    expect(ineligibility(campaign({ endDate: now }), ctx(), 0n)).toBe('ended');
    expect(ineligibility(campaign({ bidMinor: 5n }), ctx(), 6n)).toBe('below_reserve');
    // 10_000 minor = 10_000_000 milli; one click at 50 minor = 50_000 milli.
    expect(ineligibility(campaign({ committedMilli: 9_950_001n }), ctx(), 0n)).toBe('budget_exhausted');
    expect(ineligibility(campaign({ committedMilli: 9_950_000n }), ctx(), 0n)).toBeNull();
    expect(ineligibility(campaign({ pacing: 'even', committedMilli: 6_000_000n }), ctx(), 0n)).toBe('paced');
    expect(
      ineligibility(
        campaign({ frequencyCaps: [{ impressions: 2, windowSeconds: 3600 }] }),
        ctx({ recentImpressions: new Map([['c1:3600', 2]]) }),
        0n,
      ),
    ).toBe('frequency_capped');
    expect(ineligibility(campaign({ targeting: { devices: ['mobile'] } }), ctx({ device: 'desktop' }), 0n)).toBe('targeting');
    expect(ineligibility(campaign({ targeting: { hours: [11] } }), ctx(), 0n)).toBe('targeting');
    expect(ineligibility(campaign({ targeting: { hours: [12], categories: ['Shoes'] } }), ctx({ categories: ['shoes'] }), 0n)).toBeNull();
  });
});

describe('pacing', () => {
  it('even daily pacing at noon allows half the day plus two minutes, finishing at 98%: 10_000 minor -> 5_116_210 milli', () => {
    // fraction = (0.5 + 2/1440) / 0.98 = 0.5116213..., floor(fraction * 1e6) = 511621, 10_000_000 * 511621 / 1e6 = 5_116_210.
    expect(pacingCapMilli(campaign({ pacing: 'even' }), now)).toBe(5_116_210n);
    // the plain plan (five-minute lead, finishing with the day): 0.5 + 5/1440 = 0.5034722... -> 5_034_720
    expect(pacingCapMilli(campaign({ pacing: 'even' }), now, null, PACING_TUNING_PLAIN)).toBe(5_034_720n);
    expect(pacingCapMilli(campaign({ pacing: 'asap' }), now)).toBe(10_000_000n);
  });
  it('even lifetime pacing spreads over the flight; no end date serves ASAP', () => {
    const c = campaign({
      pacing: 'even',
      budgetType: 'lifetime',
      startDate: new Date('2026-03-10T00:00:00Z'),
      endDate: new Date('2026-03-11T00:00:00Z'),
    });
    expect(pacingCapMilli(c, now)).toBe(5_104_160n);
    expect(pacingCapMilli({ ...c, endDate: null }, now)).toBe(10_000_000n);
  });
  it('is monotone in time and never above the budget', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_399_000 }), fc.integer({ min: 0, max: 86_399_000 }), (a, b) => {
        const c = campaign({ pacing: 'even' });
        const base = Date.parse('2026-03-10T00:00:00Z');
        const [x, y] = [pacingCapMilli(c, new Date(base + Math.min(a, b))), pacingCapMilli(c, new Date(base + Math.max(a, b)))];
        expect(x <= y && y <= 10_000_000n).toBe(true);
      }),
    );
  });
  it("follows the tenant's traffic curve: nothing planned for the quiet night, the budget due by the last busy hour", () => {
    // a shop open 08:00-18:00 UTC with twice the traffic 12:00-14:00
    const counts = Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 18 ? (h >= 12 && h < 14 ? 200 : 100) : 0));
    const curve = trafficCurve(counts)!;
    expect(curve.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const c = campaign({ pacing: 'even' });
    const at = (hhmm: string) => new Date(`2026-03-10T${hhmm}:00Z`);
    // 03:00: only the smoothing's half request per quiet hour is due (about 0.4% of the day), not an eighth
    expect(Number(pacingCapMilli(c, at('03:00'), curve)) / 10_000_000).toBeLessThan(0.005);
    expect(Number(pacingCapMilli(c, at('03:00'))) / 10_000_000).toBeCloseTo((3 + 2 / 60) / 24 / 0.98, 5);
    // at noon (plus the two-minute lead) 4 of the 12 busy units plus a thirtieth of a double hour have been
    // planned, over the 98% of the day's traffic by which the budget is due
    const share = (4 * 100 + (2 / 60) * 200 + 12 * 0.5 + (2 / 60) * 0.5) / (1200 + 12) / 0.98;
    expect(Number(pacingCapMilli(c, at('12:00'), curve)) / 10_000_000).toBeCloseTo(share, 5);
    // the whole budget is due before the last busy hour ends (98% of the day's traffic), not only at midnight
    expect(pacingCapMilli(c, at('17:55'), curve)).toBe(10_000_000n);
    expect(pacingCapMilli(c, at('17:30'), curve)).toBeLessThan(10_000_000n);
    // after the last busy hour nearly all of it (the quiet evening keeps its smoothing share)
    expect(Number(pacingCapMilli(c, at('18:00'), curve)) / 10_000_000).toBeGreaterThan(0.99);
    expect(pacingCapMilli(c, at('23:59'), curve)).toBe(10_000_000n);
    // lifetime budgets ignore the daily curve
    const life = campaign({ pacing: 'even', budgetType: 'lifetime', startDate: at('00:00'), endDate: new Date('2026-03-11T00:00:00Z') });
    expect(pacingCapMilli(life, at('12:00'), curve)).toBe(pacingCapMilli(life, at('12:00')));
  });
  it('trusts a curve only with enough history; rejects a malformed one', () => {
    expect(trafficCurve(Array(24).fill(9))).toBeNull(); // 216 requests < 240
    expect(trafficCurve(Array(24).fill(10))!.every((x) => Math.abs(x - 1 / 24) < 1e-12)).toBe(true);
    expect(() => trafficCurve([1, 2, 3])).toThrow();
    expect(dayFraction(null, 6 * 3_600_000)).toBe(0.25);
    expect(dayFraction(trafficCurve(Array(24).fill(10)), -1)).toBe(0);
    expect(dayFraction(trafficCurve(Array(24).fill(10)), 90_000_000)).toBe(1);
  });
  it('is monotone in time and never above the budget with any curve', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(1000), { minLength: 24, maxLength: 24 }),
        fc.integer({ min: 0, max: 86_399_000 }),
        fc.integer({ min: 0, max: 86_399_000 }),
        (counts, a, b) => {
          const curve = trafficCurve(counts, 0);
          const c = campaign({ pacing: 'even' });
          const base = Date.parse('2026-03-10T00:00:00Z');
          const x = pacingCapMilli(c, new Date(base + Math.min(a, b)), curve);
          const y = pacingCapMilli(c, new Date(base + Math.max(a, b)), curve);
          expect(x <= y && y <= 10_000_000n).toBe(true);
        },
      ),
    );
  });
});

describe('costs, quality, invalid traffic, attribution, validation', () => {
  it('CPM costs its bid in milli per impression; CPC and CPA a thousand times that per event', () => {
    expect(unitCostMilli('cpm', 250n)).toBe(250n);
    expect(unitCostMilli('cpc', 25n)).toBe(25_000n);
    expect(qualityOf(campaign({ pricingModel: 'cpa' }))).toBeCloseTo(0.001, 12);
  });
  it('flags bots and repeated clicks', () => {
    expect(isBotUserAgent('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')).toBe(true);
    expect(
      isBotUserAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36'),
    ).toBe(true);
    expect(
      isBotUserAgent('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1'),
    ).toBe(false);
    const at = new Date('2026-03-10T12:00:10Z');
    expect(clickVerdict({ previousClickAt: new Date('2026-03-10T12:00:05Z'), at, repeatSeconds: 10 })).toBe('repeat');
    expect(clickVerdict({ previousClickAt: new Date('2026-03-10T11:59:59Z'), at, repeatSeconds: 10 })).toBe('valid');
  });
  it('attributes to the last click in window, else the last impression, else nothing', () => {
    const at = (s: string) => new Date(`2026-03-10T${s}Z`);
    const touches = [
      { kind: 'click' as const, id: 'k1', campaignId: 'a', at: at('10:00:00'), windowSeconds: 7200 },
      { kind: 'click' as const, id: 'k2', campaignId: 'b', at: at('11:00:00'), windowSeconds: 600 },
      { kind: 'impression' as const, id: 'i1', campaignId: 'c', at: at('11:50:00'), windowSeconds: 3600 },
    ];
    expect(attribute(touches, at('11:05:00'))?.id).toBe('k2');
    expect(attribute(touches, at('11:30:00'))?.id).toBe('k1'); // k2's 10-minute window has closed
    expect(attribute(touches, at('12:30:00'))?.id).toBe('i1'); // both clicks' windows closed
    expect(attribute(touches, at('13:00:00'))).toBeNull();
    expect(attribute(touches, at('09:00:00'))).toBeNull(); // touches after the conversion never count
  });
  it('refuses a zero budget, an end before the start, a bid below the reserve and contradictory caps', () => {
    const problems = campaignProblems({
      budgetMinor: 0n,
      bidMinor: 1n,
      reserveMinor: 5n,
      startDate: new Date('2026-03-10T00:00:00Z'),
      endDate: new Date('2026-03-09T00:00:00Z'),
      frequencyCaps: [
        { impressions: 5, windowSeconds: 3600 },
        { impressions: 3, windowSeconds: 86_400 },
        { impressions: 9, windowSeconds: 3600 },
      ],
    });
    expect(problems.map((p) => p.field).sort()).toEqual(['bid_amount', 'budget_amount', 'end_date', 'frequency_caps', 'frequency_caps.2']);
  });
});
