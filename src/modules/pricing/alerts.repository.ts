import { sql } from 'drizzle-orm';
import { arrayParam, newId, queryOne, queryRows } from '../../platform/index.ts';
import type { AlertKind } from './alerts.core.ts';
import type { Q } from './pricing.repository.ts';

export interface AlertRow {
  id: string;
  userId: string;
  groupId: string;
  groupName: string;
  kind: AlertKind;
  targetMinor: bigint | null;
  dropPercent: number | null;
  windowDays: number | null;
  currency: string;
  referenceMinor: bigint | null;
  armed: boolean;
  lastFiredAt: Date | null;
  createdAt: Date;
}

export interface AlertEventRow {
  id: string;
  alertId: string;
  userId: string;
  groupId: string;
  kind: AlertKind;
  priceMinor: bigint;
  thresholdMinor: bigint | null;
  currency: string;
  firedAt: Date;
}

const big = (v: string | bigint | null) => (v === null ? null : BigInt(v));
const toAlert = (r: AlertRow & { targetMinor: string | null; referenceMinor: string | null }): AlertRow => ({
  ...r,
  targetMinor: big(r.targetMinor),
  referenceMinor: big(r.referenceMinor),
});
const ALERT_COLUMNS = sql`a.id, a.user_id AS "userId", a.group_id AS "groupId", g.canonical_name AS "groupName", a.kind,
  a.target_minor::text AS "targetMinor",
  a.drop_percent AS "dropPercent", a.window_days AS "windowDays", a.currency, a.reference_minor::text AS "referenceMinor", a.armed,
  a.last_fired_at AS "lastFiredAt", a.created_at AS "createdAt"`;

/** The key of `windowLows`' map. */
export const windowKey = (groupId: string, currency: string, days: number) => `${groupId}\u0001${currency}\u0001${days}`;

/** SQL of price alerts. Every statement filters on tenant_id. */
export const alertsRepository = {
  /**
   * The best price per (group, currency), absent when there is none. In the group's own currency it is its summary
   * row's best offer (one row per group, maintained by every write in the write's transaction; the product page's
   * choice: an obvious price error is never the best, so it never fires an alert); in another currency, or for a
   * group without a row yet, the lowest in-stock price among its offers in that currency.
   */
  async bestPrices(q: Q, tenantId: string, keys: readonly { groupId: string; currency: string }[]): Promise<Map<string, bigint>> {
    if (!keys.length) return new Map();
    const rows = await queryRows<{ groupId: string; currency: string; best: string | null }>(
      q,
      sql`SELECT k.group_id AS "groupId", k.currency,
            (CASE WHEN s.group_id IS NOT NULL AND s.currency = k.currency THEN s.best_price_minor
                  ELSE (SELECT min(o.price_minor) FROM pricing_offers o
                        WHERE o.tenant_id = ${tenantId} AND o.match_group_id = k.group_id AND o.currency = k.currency
                          AND o.availability = 'in_stock') END)::text AS best
          FROM (SELECT DISTINCT * FROM unnest(${arrayParam(keys.map((k) => k.groupId))}::uuid[], ${arrayParam(keys.map((k) => k.currency))}::text[])
                AS u(group_id, currency)) k
          LEFT JOIN pricing_group_summaries s ON s.tenant_id = ${tenantId} AND s.group_id = k.group_id`,
    );
    return new Map(rows.filter((r) => r.best !== null).map((r) => [`${r.groupId}\u0001${r.currency}`, BigInt(r.best!)]));
  },

  /**
   * lowest_in_days: per (group, currency, days), the lowest in-stock price any offer of the group had in effect
   * during [since - days, since): the points observed in the window plus each offer's last point before it (the
   * price it held when the window opened). `since` is the import's time: its own points are the change, not history.
   */
  async windowLows(
    q: Q,
    tenantId: string,
    keys: readonly { groupId: string; currency: string; days: number }[],
    since: Date,
  ): Promise<Map<string, bigint>> {
    if (!keys.length) return new Map();
    const rows = await queryRows<{ groupId: string; currency: string; days: number; low: string }>(
      q,
      sql`SELECT k.group_id AS "groupId", k.currency, k.days, min(h.price_minor)::text AS low
          FROM unnest(${arrayParam(keys.map((k) => k.groupId))}::uuid[], ${arrayParam(keys.map((k) => k.currency))}::text[],
            ${arrayParam(keys.map((k) => k.days))}::integer[]) AS k(group_id, currency, days)
          JOIN pricing_offers o ON o.tenant_id = ${tenantId} AND o.match_group_id = k.group_id
          JOIN pricing_price_history h ON h.tenant_id = ${tenantId} AND h.offer_id = o.id
          WHERE h.currency = k.currency AND h.availability = 'in_stock' AND h.observed_at < ${since.toISOString()}::timestamptz
            AND (h.observed_at >= ${since.toISOString()}::timestamptz - make_interval(days => k.days)
              OR h.observed_at = (SELECT max(p.observed_at) FROM pricing_price_history p
                WHERE p.tenant_id = ${tenantId} AND p.offer_id = o.id
                  AND p.observed_at < ${since.toISOString()}::timestamptz - make_interval(days => k.days)))
          GROUP BY k.group_id, k.currency, k.days`,
    );
    return new Map(rows.map((r) => [windowKey(r.groupId, r.currency, Number(r.days)), BigInt(r.low)]));
  },

  /** The currency of a group's cheapest in-stock offer, when it has one. */
  groupCurrency: (q: Q, tenantId: string, groupId: string) =>
    queryOne<{ currency: string }>(
      q,
      sql`SELECT currency FROM pricing_offers WHERE tenant_id = ${tenantId} AND match_group_id = ${groupId} AND availability = 'in_stock'
          ORDER BY price_minor, id LIMIT 1`,
    ),

  /** The watched groups among those holding these offers. */
  async watchedGroupsOf(q: Q, tenantId: string, offerIds: readonly string[]): Promise<string[]> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`SELECT DISTINCT a.group_id AS id FROM pricing_price_alerts a
          JOIN pricing_offers o ON o.tenant_id = ${tenantId} AND o.match_group_id = a.group_id
          WHERE a.tenant_id = ${tenantId} AND o.id = ANY(${arrayParam(offerIds)}::uuid[])`,
    );
    return rows.map((r) => r.id);
  },

  /** A new alert, or undefined when this shopper already has an alert of this kind on this group. */
  insert: (
    q: Q,
    tenantId: string,
    a: {
      userId: string;
      groupId: string;
      kind: AlertKind;
      targetMinor: bigint | null;
      dropPercent: number | null;
      windowDays: number | null;
      currency: string;
      referenceMinor: bigint | null;
      armed: boolean;
    },
    now: Date,
  ) =>
    queryOne<{ id: string }>(
      q,
      sql`INSERT INTO pricing_price_alerts (tenant_id, id, user_id, group_id, kind, target_minor, drop_percent, window_days, currency, reference_minor, armed, created_at)
          VALUES (${tenantId}, ${newId()}, ${a.userId}, ${a.groupId}, ${a.kind}, ${a.targetMinor?.toString() ?? null}::bigint,
            ${a.dropPercent}::integer, ${a.windowDays}::integer, ${a.currency},
            ${a.referenceMinor?.toString() ?? null}::bigint, ${a.armed}, ${now.toISOString()}::timestamptz)
          ON CONFLICT (tenant_id, user_id, group_id, kind) DO NOTHING RETURNING id`,
    ),

  async list(
    q: Q,
    tenantId: string,
    f: { userId?: string | undefined; id?: string | undefined; after?: string | undefined; limit: number },
  ): Promise<AlertRow[]> {
    const rows = await queryRows<AlertRow & { targetMinor: string | null; referenceMinor: string | null }>(
      q,
      sql`SELECT ${ALERT_COLUMNS} FROM pricing_price_alerts a
          JOIN pricing_match_groups g ON g.tenant_id = ${tenantId} AND g.id = a.group_id
          WHERE a.tenant_id = ${tenantId}
            ${f.userId !== undefined ? sql`AND a.user_id = ${f.userId}` : sql``}
            ${f.id !== undefined ? sql`AND a.id = ${f.id}` : sql``}
            ${f.after !== undefined ? sql`AND a.id > ${f.after}` : sql``}
          ORDER BY a.id LIMIT ${f.limit}`,
    );
    return rows.map(toAlert);
  },

  async remove(q: Q, tenantId: string, id: string): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`DELETE FROM pricing_price_alerts WHERE tenant_id = ${tenantId} AND id = ${id} RETURNING id`,
    );
    return rows.length > 0;
  },

  /** Alerts on these groups, locked for evaluation (two imports touching a group evaluate it one after the other). */
  async lockForGroups(q: Q, tenantId: string, groupIds: readonly string[]): Promise<AlertRow[]> {
    const rows = await queryRows<AlertRow & { targetMinor: string | null; referenceMinor: string | null }>(
      q,
      sql`SELECT ${ALERT_COLUMNS} FROM pricing_price_alerts a
          JOIN pricing_match_groups g ON g.tenant_id = ${tenantId} AND g.id = a.group_id
          WHERE a.tenant_id = ${tenantId} AND a.group_id = ANY(${arrayParam(groupIds)}::uuid[])
          ORDER BY a.id FOR UPDATE OF a`,
    );
    return rows.map(toAlert);
  },

  async saveStates(
    q: Q,
    tenantId: string,
    states: readonly { id: string; referenceMinor: bigint | null; armed: boolean; fired: boolean }[],
    now: Date,
  ): Promise<void> {
    if (!states.length) return;
    const col = <T>(f: (e: (typeof states)[number]) => T) => arrayParam(states.map(f));
    await q.execute(
      sql`UPDATE pricing_price_alerts a SET reference_minor = s.reference_minor, armed = s.armed,
            last_fired_at = CASE WHEN s.fired THEN ${now.toISOString()}::timestamptz ELSE a.last_fired_at END
          FROM unnest(${col((s) => s.id)}::uuid[], ${col((s) => s.referenceMinor?.toString() ?? null)}::bigint[], ${col((s) => s.armed)}::boolean[],
            ${col((s) => s.fired)}::boolean[]) AS s(id, reference_minor, armed, fired)
          WHERE a.tenant_id = ${tenantId} AND a.id = s.id`,
    );
  },

  /** Records firings; returns them with their ids, in the order given. */
  async insertEvents(q: Q, tenantId: string, events: readonly Omit<AlertEventRow, 'id'>[]): Promise<AlertEventRow[]> {
    if (!events.length) return [];
    const ids = events.map(() => newId());
    const col = <T>(f: (e: (typeof events)[number], i: number) => T) => arrayParam(events.map(f));
    await q.execute(
      sql`INSERT INTO pricing_alert_events (tenant_id, id, alert_id, user_id, group_id, kind, price_minor, threshold_minor, currency, fired_at)
          SELECT ${tenantId}::uuid, s.* FROM unnest(${col((_e, i) => ids[i])}::uuid[], ${col((e) => e.alertId)}::uuid[], ${col((e) => e.userId)}::text[],
            ${col((e) => e.groupId)}::uuid[], ${col((e) => e.kind)}::text[], ${col((e) => e.priceMinor.toString())}::bigint[],
            ${col((e) => e.thresholdMinor?.toString() ?? null)}::bigint[], ${col((e) => e.currency)}::text[], ${col((e) => e.firedAt.toISOString())}::timestamptz[])
            AS s(id, alert_id, user_id, group_id, kind, price_minor, threshold_minor, currency, fired_at)`,
    );
    return events.map((e, i) => ({ ...e, id: ids[i]! }));
  },

  async events(
    q: Q,
    tenantId: string,
    f: { userId?: string | undefined; alertId?: string | undefined; limit: number },
  ): Promise<AlertEventRow[]> {
    const rows = await queryRows<AlertEventRow & { priceMinor: string; thresholdMinor: string | null }>(
      q,
      sql`SELECT id, alert_id AS "alertId", user_id AS "userId", group_id AS "groupId", kind, price_minor::text AS "priceMinor",
            threshold_minor::text AS "thresholdMinor", currency, fired_at AS "firedAt"
          FROM pricing_alert_events WHERE tenant_id = ${tenantId}
            ${f.userId !== undefined ? sql`AND user_id = ${f.userId}` : sql``}
            ${f.alertId !== undefined ? sql`AND alert_id = ${f.alertId}` : sql``}
          ORDER BY fired_at DESC, id DESC LIMIT ${f.limit}`,
    );
    return rows.map((r) => ({ ...r, priceMinor: BigInt(r.priceMinor), thresholdMinor: big(r.thresholdMinor) }));
  },

  /** Erasure: a person's alerts and their history. */
  async eraseUsers(q: Q, tenantId: string, userIds: readonly string[]): Promise<void> {
    if (!userIds.length) return;
    await q.execute(sql`DELETE FROM pricing_alert_events WHERE tenant_id = ${tenantId} AND user_id = ANY(${arrayParam(userIds)}::text[])`);
    await q.execute(sql`DELETE FROM pricing_price_alerts WHERE tenant_id = ${tenantId} AND user_id = ANY(${arrayParam(userIds)}::text[])`);
  },
};
