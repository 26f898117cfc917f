import { type Db, type TenantContext, isCurrencyCode, minorToMajor } from '../../platform/index.ts';
import { mainCurrency, previousWindow, rate, relativeChange } from './analytics.core.ts';
import { createReportWindows, rangeOut } from './analytics.service.ts';
import type * as s from './analytics.schemas.ts';
import type { AnalyticsEventsPort, AnalyticsOrdersPort, Granularity, ReportWindow, SessionFilters } from './analytics.types.ts';

export interface KpisServiceDeps {
  db: Db;
  events: AnalyticsEventsPort;
  orders: AnalyticsOrdersPort;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  clock: () => Date;
}

type Money = { key: string; currency: string | null; orders: number; revenueMinor: string; refundedMinor: string };
type People = { key: string; customers: number; newCustomers: number; repeatCustomers: number };

const net = (r: Money | undefined) => (r ? BigInt(r.revenueMinor) - BigInt(r.refundedMinor) : 0n);
const major = (minor: bigint, currency: string | null) => (currency ? minorToMajor(minor, currency) : 0);

/**
 * Commerce KPIs over time with the previous period: revenue, orders, AOV, conversion (orders per session), new
 * and returning customers, repeat-purchase rate. Orders come from identity's profile_orders, sessions from events.
 */
export function createKpisService(deps: KpisServiceDeps) {
  const { db } = deps;
  const { windowOf } = createReportWindows(deps);

  async function figures(tenantId: string, w: ReportWindow, g: Granularity | null) {
    const grouping = g === null ? ({ kind: 'total' } as const) : ({ kind: 'time', granularity: g } as const);
    const f: SessionFilters = {};
    const [money, people, sessions] = await Promise.all([
      deps.orders.orderMoney(db, tenantId, w, g),
      deps.orders.orderPeople(db, tenantId, w, g),
      deps.events.sessionMeasures(db, tenantId, w, f, grouping),
    ]);
    return { money, people, sessions };
  }

  function kpiSet(money: readonly Money[], people: People | undefined, sessions: number, currency: string | null) {
    const main = money.find((m) => m.currency === currency);
    const orders = money.reduce((a, m) => a + m.orders, 0);
    const revenue = net(main);
    const customers = people?.customers ?? 0;
    const fresh = people?.newCustomers ?? 0;
    return {
      revenue: major(revenue, currency),
      revenue_minor: revenue.toString(),
      refunds_minor: (main ? BigInt(main.refundedMinor) : 0n).toString(),
      orders,
      average_order_value: main?.orders ? major(revenue / BigInt(main.orders), currency) : 0,
      sessions,
      conversion_rate: rate(orders, sessions),
      customers,
      new_customers: fresh,
      returning_customers: customers - fresh,
      repeat_rate: rate(people?.repeatCustomers ?? 0, customers),
    };
  }

  return {
    async kpis(ctx: TenantContext, q: s.KpisQuery): Promise<s.KpisResponse> {
      const { w, labels } = await windowOf(ctx, q, q.granularity);
      const p = previousWindow(w.from, w.to);
      const pw: ReportWindow = { ...p, tz: w.tz };
      const [cur, prev, series] = await Promise.all([
        figures(ctx.tenantId, w, null),
        figures(ctx.tenantId, pw, null),
        figures(ctx.tenantId, w, q.granularity),
      ]);
      const currency = mainCurrency(cur.money) ?? mainCurrency(prev.money);
      const current = kpiSet(cur.money, cur.people[0], cur.sessions[0]?.sessions ?? 0, currency);
      const previous = kpiSet(prev.money, prev.people[0], prev.sessions[0]?.sessions ?? 0, currency);
      const c = (k: keyof typeof current) => relativeChange(Number(current[k]), Number(previous[k]));
      return {
        range: { ...rangeOut(w), granularity: q.granularity },
        previous_range: rangeOut(pw),
        currency,
        current,
        previous,
        change: {
          revenue: c('revenue'),
          orders: c('orders'),
          average_order_value: c('average_order_value'),
          sessions: c('sessions'),
          conversion_rate: c('conversion_rate'),
          new_customers: c('new_customers'),
          returning_customers: c('returning_customers'),
          repeat_rate: c('repeat_rate'),
        },
        revenue_by_currency: cur.money
          .filter((m) => m.currency && isCurrencyCode(m.currency))
          .map((m) => ({ currency: m.currency!, amount: major(net(m), m.currency), amount_minor: net(m).toString(), count: m.orders })),
        series: labels.map((bucket) => {
          const money = series.money.filter((m) => m.key === bucket);
          const k = kpiSet(
            money,
            series.people.find((x) => x.key === bucket),
            series.sessions.find((x) => x.key === bucket)?.sessions ?? 0,
            currency,
          );
          return {
            bucket,
            revenue: k.revenue,
            orders: k.orders,
            sessions: k.sessions,
            conversion_rate: k.conversion_rate,
            new_customers: k.new_customers,
            returning_customers: k.returning_customers,
          };
        }),
      };
    },
  };
}
export type KpisService = ReturnType<typeof createKpisService>;
