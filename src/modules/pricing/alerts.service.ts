import {
  AppError,
  type PlatformServices,
  type TenantContext,
  isUuid,
  notFound,
  parseMoney,
  validation,
  inTenant,
} from '../../platform/index.ts';
import { type AlertKind, evaluateAlert, initialAlert } from './alerts.core.ts';
import { alertsRepository as repo, windowKey } from './alerts.repository.ts';
import type { WebhookPublisher } from '../webhooks/index.ts';
import { toAlertEvent } from './pricing.mappers.ts';
import { pricingRepository } from './pricing.repository.ts';

/**
 * Price alerts: a shopper watches a product (a match group) for a target price, any drop, a percentage drop, the
 * lowest price in N days of its best price, or its return in stock (rules in alerts.core.ts); imports evaluate the alerts of the groups they touched and record each firing once in the alert's history.
 */
export function createAlertsService({ platform, webhooks }: { platform: PlatformServices; webhooks?: WebhookPublisher | undefined }) {
  const { db, clock } = platform;
  const cursorOk = (c: string | undefined) => {
    if (c !== undefined && !isUuid(c))
      throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
  };

  return {
    /**
     * Creates an alert. The currency is the one given, else that of the product's cheapest offer in stock. A
     * target already reached, or the price now, fires nothing: the alert fires on the next change. Another
     * tenant's product answers 404; the same shopper, product and kind twice answers 409.
     */
    async create(
      ctx: TenantContext,
      b: {
        userId: string;
        productId: string;
        kind: AlertKind;
        targetPrice?: string | undefined;
        dropPercent?: number | undefined;
        windowDays?: number | undefined;
        currency?: string | undefined;
      },
    ) {
      const [group] = isUuid(b.productId) ? await pricingRepository.listGroups(db, ctx.tenantId, { id: b.productId, limit: 1 }) : [];
      if (!group) throw notFound('PRICING_GROUP_NOT_FOUND', 'The product');
      const currency = b.currency ?? (await repo.groupCurrency(db, ctx.tenantId, group.id))?.currency;
      if (!currency)
        throw validation('PRICING_ALERT_CURRENCY', 'The product has no offer in stock: give the currency to watch.', [
          { field: 'currency', message: 'required for a product without offers' },
        ]);
      // Each kind takes exactly its own parameter: a parameter of another kind is refused, not ignored.
      const param = (field: string, given: unknown, owner: AlertKind, what: string) => {
        if (b.kind === owner && given === undefined)
          throw validation('PRICING_ALERT_PARAMETER', `A ${owner} alert needs ${field} (${what}).`, [{ field, message: 'required' }]);
        if (b.kind !== owner && given !== undefined)
          throw validation('PRICING_ALERT_PARAMETER', `Only a ${owner} alert takes ${field}.`, [{ field, message: 'not allowed' }]);
      };
      param('target_price', b.targetPrice, 'target_price', 'an amount');
      param('drop_percent', b.dropPercent, 'percent_drop', 'whole percent 1..99');
      param('days', b.windowDays, 'lowest_in_days', 'days 1..365');
      let targetMinor: bigint | null = null;
      if (b.targetPrice !== undefined) {
        const m = parseMoney(b.targetPrice, currency);
        if (!m.ok || m.minor <= 0n)
          throw validation('PRICING_ALERT_TARGET', 'target_price must be a positive amount in the currency.', [
            { field: 'target_price', message: m.ok ? 'must be positive' : m.reason },
          ]);
        targetMinor = m.minor;
      }
      const best = (await repo.bestPrices(db, ctx.tenantId, [{ groupId: group.id, currency }])).get(`${group.id}\u0001${currency}`) ?? null;
      const state = initialAlert(b.kind, { targetMinor, dropPercent: b.dropPercent ?? null, windowDays: b.windowDays ?? null }, best);
      const row = await repo.insert(db, ctx.tenantId, { userId: b.userId, groupId: group.id, currency, ...state }, clock());
      if (!row)
        throw new AppError('conflict', 'PRICING_ALERT_EXISTS', 'This shopper already watches this product with an alert of this kind.');
      return (await repo.list(db, ctx.tenantId, { id: row.id, limit: 1 }))[0]!;
    },

    list(ctx: TenantContext, f: { userId?: string | undefined; after?: string | undefined; limit: number }) {
      cursorOk(f.after);
      return repo.list(db, ctx.tenantId, f);
    },

    async remove(ctx: TenantContext, id: string): Promise<void> {
      if (!(isUuid(id) && (await repo.remove(db, ctx.tenantId, id)))) throw notFound('PRICING_ALERT_NOT_FOUND', 'The alert');
    },

    events(ctx: TenantContext, f: { userId?: string | undefined; alertId?: string | undefined; limit: number }) {
      if (f.alertId !== undefined && !isUuid(f.alertId)) return Promise.resolve([]);
      return repo.events(db, ctx.tenantId, f);
    },

    /**
     * Evaluates the alerts on the groups of these offers (an import's) against their best prices now, in one transaction (the alerts are
     * locked: two imports evaluate one after the other, so an alert fires once per change). `since` is the import's
     * time (that of the price-history points it wrote): lowest_in_days compares with the history before it. Returns
     * how many fired.
     */
    async evaluateForOffers(tenantId: string, offerIds: readonly string[], since: Date): Promise<number> {
      if (!offerIds.length) return 0;
      const groupIds = await repo.watchedGroupsOf(db, tenantId, offerIds);
      if (!groupIds.length) return 0;
      const fired = await inTenant(db, tenantId, async (tx) => {
        const alerts = await repo.lockForGroups(tx, tenantId, groupIds);
        if (!alerts.length) return { count: 0, published: null };
        const best = await repo.bestPrices(
          tx,
          tenantId,
          alerts.map((a) => ({ groupId: a.groupId, currency: a.currency })),
        );
        const windowed = alerts.filter((a) => a.kind === 'lowest_in_days' && a.windowDays !== null);
        const lows = await repo.windowLows(
          tx,
          tenantId,
          windowed.map((a) => ({ groupId: a.groupId, currency: a.currency, days: a.windowDays! })),
          since,
        );
        const now = clock();
        const states: { id: string; referenceMinor: bigint | null; armed: boolean; fired: boolean }[] = [];
        const events: Parameters<typeof repo.insertEvents>[2][number][] = [];
        for (const a of alerts) {
          const price = best.get(`${a.groupId}\u0001${a.currency}`) ?? null;
          const windowLow = a.windowDays === null ? null : (lows.get(windowKey(a.groupId, a.currency, a.windowDays)) ?? null);
          const r = evaluateAlert(a, { best: price, windowLowMinor: windowLow });
          if (r.next.armed === a.armed && r.next.referenceMinor === a.referenceMinor && !r.fire) continue;
          states.push({ id: a.id, referenceMinor: r.next.referenceMinor, armed: r.next.armed, fired: r.fire });
          if (r.fire)
            events.push({
              alertId: a.id,
              userId: a.userId,
              groupId: a.groupId,
              kind: a.kind,
              priceMinor: price!,
              thresholdMinor:
                a.kind === 'target_price'
                  ? a.targetMinor
                  : a.kind === 'lowest_in_days'
                    ? windowLow
                    : a.kind === 'back_in_stock'
                      ? null
                      : a.referenceMinor,
              currency: a.currency,
              firedAt: now,
            });
        }
        await repo.saveStates(tx, tenantId, states, now);
        const recorded = await repo.insertEvents(tx, tenantId, events);
        // In the same transaction: the webhook exists exactly when the firing does, once per firing (its id is the key).
        const published = webhooks
          ? await webhooks.publish(
              tx,
              tenantId,
              recorded.map((e) => ({
                type: 'pricing.price_alert.triggered' as const,
                payload: toAlertEvent(e),
                idempotencyKey: `pricing_alert_event:${e.id}`,
              })),
            )
          : null;
        return { count: events.length, published };
      });
      if (fired.published) await webhooks?.dispatch(fired.published);
      return fired.count;
    },

    eraseUsers: repo.eraseUsers,
  };
}
export type AlertsService = ReturnType<typeof createAlertsService>;
