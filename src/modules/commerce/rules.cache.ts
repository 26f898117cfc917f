import type { Q } from '../../platform/index.ts';
import type { PromotionRow } from './cart.core.ts';
import type { CartsRepository } from './carts.repository.ts';
import type { SettingsRepository, SettingsRow } from './settings.repository.ts';

/** What every cart read of a tenant prices with, kept in memory: its checkout settings and automatic promotions. */
export interface TenantRules {
  /** `commerce_settings.rules_version` when loaded: every cart read compares it with the stored one. */
  version: bigint;
  settings: SettingsRow;
  /**
   * The automatic promotions as loaded (their usage counters are those of loading: a cart read brings the live
   * counters of the limited ones), in creation order.
   */
  automatic: PromotionRow[];
  /** Each promotion's place in creation order (promotions apply in that order within their rank). */
  sortKeys: Map<string, string>;
  /** Whether an active promotion has a customer segment rule (only then are shoppers' segments looked up). */
  hasSegmentRules: boolean;
}

/**
 * Per-tenant cache of the pricing rules (settings and automatic promotions). Invalidation: a change made in this
 * process drops the tenant's entry at once (`invalidate`); a change made by another process bumps the stored
 * rules version, which every cart read carries (one column of its one statement), and `at` loads again when the
 * version differs. The version is read before the rules, so a change racing a load is seen on the next read.
 */
export function createRulesCache(deps: { settings: SettingsRepository; repo: CartsRepository; maxTenants?: number }) {
  const byTenant = new Map<string, TenantRules>();
  const max = deps.maxTenants ?? 10_000;

  async function load(q: Q, tenantId: string): Promise<TenantRules> {
    const settings = await deps.settings.get(q, tenantId);
    const { rows, hasSegmentRules } = await deps.repo.automaticPromotions(q, tenantId);
    const rules: TenantRules = {
      version: settings.rulesVersion,
      settings,
      automatic: rows.map((r) => r.row),
      sortKeys: new Map(rows.map((r) => [r.row.id, r.sortKey])),
      hasSegmentRules,
    };
    byTenant.delete(tenantId);
    if (byTenant.size >= max) byTenant.delete(byTenant.keys().next().value!);
    byTenant.set(tenantId, rules);
    return rules;
  }

  return {
    /** The tenant's rules: cached, else loaded through `q`. */
    get: async (q: Q, tenantId: string): Promise<TenantRules> => byTenant.get(tenantId) ?? load(q, tenantId),
    /** The tenant's rules at the stored `version`: the cached ones when current, else loaded again through `q`. */
    at: async (q: Q, tenantId: string, version: bigint): Promise<TenantRules> => {
      const cached = byTenant.get(tenantId);
      return cached && cached.version === version ? cached : load(q, tenantId);
    },
    /** Drops the tenant's entry (its settings or promotions changed in this process). */
    invalidate(tenantId: string): void {
      byTenant.delete(tenantId);
    },
  };
}
export type RulesCache = ReturnType<typeof createRulesCache>;
