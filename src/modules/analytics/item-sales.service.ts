import { type Db, type TenantContext, isCurrencyCode, minorToMajor } from '../../platform/index.ts';
import { mainCurrency, rate } from './analytics.core.ts';
import { createReportWindows, rangeOut } from './analytics.service.ts';
import type * as s from './analytics.schemas.ts';
import type { AnalyticsEventsPort } from './analytics.types.ts';

export interface ItemSalesServiceDeps {
  db: Db;
  events: AnalyticsEventsPort;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  clock: () => Date;
}

type Row = Awaited<ReturnType<AnalyticsEventsPort['itemSales']>>[number];

/**
 * One item's sales over a window, for its page in the dashboard: units, revenue (in the currency of most of its
 * orders, the rest per currency), refunds, orders, distinct buyers and views, with a series on the full local
 * axis. Read from the stored interactions (every channel's purchases: API, imports, webhooks, checkout).
 */
export function createItemSalesService(deps: ItemSalesServiceDeps) {
  const { windowOf } = createReportWindows(deps);

  function setOf(rows: readonly Row[], currency: string | null) {
    const all = rows.find((r) => r.all);
    const main = rows.find((r) => !r.all && r.currency === currency);
    const revenue = main ? BigInt(main.revenueMinor) : 0n;
    const viewers = all?.viewers ?? 0;
    return {
      units: all?.units ?? 0,
      revenue: currency ? minorToMajor(revenue, currency) : 0,
      revenue_minor: revenue.toString(),
      refunds_minor: main ? main.refundedMinor : '0',
      orders: all?.orders ?? 0,
      buyers: all?.buyers ?? 0,
      views: all?.views ?? 0,
      viewers,
      view_to_purchase_rate: rate(all?.viewersWhoBought ?? 0, viewers),
    };
  }

  return {
    async itemSales(ctx: TenantContext, itemId: string, q: s.ItemSalesQuery): Promise<s.ItemSalesResponse> {
      const { w, labels } = await windowOf(ctx, q, q.granularity);
      const [total, byBucket] = await Promise.all([
        deps.events.itemSales(deps.db, ctx.tenantId, itemId, w, { kind: 'total' }),
        deps.events.itemSales(deps.db, ctx.tenantId, itemId, w, { kind: 'time', granularity: q.granularity }),
      ]);
      const perCurrency = total.filter((r) => !r.all && r.currency && isCurrencyCode(r.currency));
      const currency = mainCurrency(perCurrency);
      return {
        item_id: itemId,
        range: { ...rangeOut(w), granularity: q.granularity },
        currency,
        summary: setOf(total, currency),
        revenue_by_currency: perCurrency
          .filter((r) => r.revenueMinor !== '0')
          .map((r) => ({
            currency: r.currency!,
            amount: minorToMajor(r.revenueMinor, r.currency!),
            amount_minor: r.revenueMinor,
            count: r.orders,
          })),
        series: labels.map((bucket) => {
          const k = setOf(
            byBucket.filter((r) => r.key === bucket),
            currency,
          );
          return { bucket, units: k.units, revenue: k.revenue, orders: k.orders, views: k.views };
        }),
      };
    },
  };
}
export type ItemSalesService = ReturnType<typeof createItemSalesService>;
