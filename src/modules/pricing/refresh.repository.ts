import { sql } from 'drizzle-orm';
import { queryOne, queryRows } from '../../platform/index.ts';
import type { Q } from './pricing.repository.ts';

export interface PricingSettingsRow {
  freshnessMinutes: number;
  refreshesPerHour: number;
}
export const SETTINGS_DEFAULTS: PricingSettingsRow = { freshnessMinutes: 1440, refreshesPerHour: 60 };

/** Pricing settings (pricing_settings) and the claims of stale-price refreshes (pricing_network_sources.last_refresh_at). */
export const refreshRepository = {
  async settings(q: Q, tenantId: string): Promise<PricingSettingsRow> {
    const row = await queryOne<PricingSettingsRow>(
      q,
      sql`SELECT freshness_minutes AS "freshnessMinutes", refreshes_per_hour AS "refreshesPerHour"
          FROM pricing_settings WHERE tenant_id = ${tenantId}`,
    );
    return row ?? SETTINGS_DEFAULTS;
  },

  /** Sets the given settings (the others keep their value); the refresh window's counter is left as it is. */
  async updateSettings(q: Q, tenantId: string, v: Partial<PricingSettingsRow>, now: Date): Promise<PricingSettingsRow> {
    const row = await queryOne<PricingSettingsRow>(
      q,
      sql`INSERT INTO pricing_settings (tenant_id, freshness_minutes, refreshes_per_hour, updated_at)
          VALUES (${tenantId}, ${v.freshnessMinutes ?? SETTINGS_DEFAULTS.freshnessMinutes}, ${v.refreshesPerHour ?? SETTINGS_DEFAULTS.refreshesPerHour},
            ${now.toISOString()}::timestamptz)
          ON CONFLICT (tenant_id) DO UPDATE SET
            freshness_minutes = ${v.freshnessMinutes === undefined ? sql`pricing_settings.freshness_minutes` : sql`EXCLUDED.freshness_minutes`},
            refreshes_per_hour = ${v.refreshesPerHour === undefined ? sql`pricing_settings.refreshes_per_hour` : sql`EXCLUDED.refreshes_per_hour`},
            updated_at = EXCLUDED.updated_at
          RETURNING freshness_minutes AS "freshnessMinutes", refreshes_per_hour AS "refreshesPerHour"`,
    );
    return row!;
  },

  /**
   * Claims a refresh of the source: true when none was claimed in the last `intervalMs` (the row's update is the
   * lock: of concurrent claims, one wins). Run in the same transaction as `takeRefreshBudget`.
   */
  async claimSource(q: Q, tenantId: string, sourceId: string, now: Date, intervalMs: number): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      q,
      sql`UPDATE pricing_network_sources SET last_refresh_at = ${now.toISOString()}::timestamptz
          WHERE tenant_id = ${tenantId} AND id = ${sourceId}
            AND (last_refresh_at IS NULL OR last_refresh_at <= ${new Date(now.getTime() - intervalMs).toISOString()}::timestamptz)
          RETURNING id`,
    );
    return rows.length > 0;
  },

  /**
   * Takes one refresh from the tenant's hourly budget (a fixed one-hour window counted on its settings row, created
   * with the defaults when absent): false when the window's budget is spent.
   */
  async takeRefreshBudget(q: Q, tenantId: string, now: Date): Promise<boolean> {
    const ts = now.toISOString();
    const windowOver = sql`(pricing_settings.refresh_window_start IS NULL
      OR pricing_settings.refresh_window_start <= ${new Date(now.getTime() - 3_600_000).toISOString()}::timestamptz)`;
    const rows = await queryRows<{ n: number }>(
      q,
      sql`INSERT INTO pricing_settings (tenant_id, refresh_window_start, refresh_count, updated_at)
          VALUES (${tenantId}, ${ts}::timestamptz, 1, ${ts}::timestamptz)
          ON CONFLICT (tenant_id) DO UPDATE SET
            refresh_window_start = CASE WHEN ${windowOver} THEN EXCLUDED.refresh_window_start ELSE pricing_settings.refresh_window_start END,
            refresh_count = CASE WHEN ${windowOver} THEN 1 ELSE pricing_settings.refresh_count + 1 END
          WHERE (${windowOver} AND pricing_settings.refreshes_per_hour > 0) OR pricing_settings.refresh_count < pricing_settings.refreshes_per_hour
          RETURNING refresh_count AS n`,
    );
    return rows.length > 0;
  },
};
