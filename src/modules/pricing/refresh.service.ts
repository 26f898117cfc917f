import { type PlatformServices, type TenantContext, inTenant } from '../../platform/index.ts';
import { priceFreshness } from './refresh.core.ts';
import { type PricingSettingsRow, refreshRepository as repo } from './refresh.repository.ts';

/** A store's network source is refreshed on open at most once per interval (a failed refresh is retried after it). */
export const REFRESH_STORE_INTERVAL_MS = 15 * 60_000;
/** How long a process keeps a tenant's settings before reading them again (another process's change shows by then). */
const SETTINGS_TTL_MS = 30_000;

export interface RefreshDeps {
  platform: PlatformServices;
  /** Sources: queues a price-only run of the network source now; resolves null when one of its store is queued or running. */
  queuePriceRun(tenantId: string, sourceId: string): Promise<unknown>;
}

class BudgetSpent extends Error {}

/**
 * Stale-price refresh on open (seed 000): when a shopper opens a product whose prices are older than the tenant's
 * freshness setting, a price-only run of each stale store's network source is queued in the background. The page
 * never waits for it (it answers from what it has, with `stale` and `refreshed_at`). Deduplicated and bounded:
 * one claim per source per REFRESH_STORE_INTERVAL_MS (an UPDATE of its row: of concurrent opens, in any process, one
 * wins), one run per store at a time (the runs table), and at most `refreshes_per_hour` claims per tenant.
 */
export function createRefreshService({ platform, queuePriceRun }: RefreshDeps) {
  const { db, clock, log } = platform;
  const cache = new Map<string, { at: number; v: PricingSettingsRow }>();
  const inFlight = new Set<string>();
  const pending = new Set<Promise<void>>();

  async function settingsOf(tenantId: string): Promise<PricingSettingsRow> {
    const hit = cache.get(tenantId);
    const now = clock().getTime();
    if (hit && now - hit.at < SETTINGS_TTL_MS) return hit.v;
    const v = await repo.settings(db, tenantId);
    cache.set(tenantId, { at: now, v });
    return v;
  }

  async function refreshOnce(tenantId: string, sourceId: string): Promise<void> {
    const now = clock();
    const claimed = await inTenant(db, tenantId, async (tx) => {
      if (!(await repo.claimSource(tx, tenantId, sourceId, now, REFRESH_STORE_INTERVAL_MS))) return false;
      // Spent budget: the source's claim is rolled back with it, so the next open after the window may claim it.
      if (!(await repo.takeRefreshBudget(tx, tenantId, now))) throw new BudgetSpent();
      return true;
    }).catch((err: unknown) => {
      if (err instanceof BudgetSpent) {
        log.info({ tenantId, sourceId }, 'pricing: stale-price refresh skipped, the tenant’s hourly refresh budget is spent');
        return false;
      }
      throw err;
    });
    if (claimed) await queuePriceRun(tenantId, sourceId);
  }

  /** Starts a refresh claim after the current turn (the page's own statements go first), once per source in this process. */
  function background(tenantId: string, sourceId: string): void {
    const key = `${tenantId}:${sourceId}`;
    if (inFlight.has(key)) return;
    inFlight.add(key);
    const p: Promise<void> = new Promise<void>((r) => setImmediate(r))
      .then(() => refreshOnce(tenantId, sourceId))
      .catch((err: unknown) => log.warn({ err, tenantId, sourceId }, 'pricing: a stale-price refresh could not be queued'))
      .finally(() => {
        inFlight.delete(key);
        pending.delete(p);
      });
    pending.add(p);
  }

  return {
    settings: (ctx: TenantContext) => repo.settings(db, ctx.tenantId),
    async updateSettings(ctx: TenantContext, v: Partial<PricingSettingsRow>): Promise<PricingSettingsRow> {
      const row = await repo.updateSettings(db, ctx.tenantId, v, clock());
      cache.delete(ctx.tenantId);
      return row;
    },
    /**
     * The product page's step: how fresh these offers' prices are; queues (in the background, never awaited) a
     * refresh of each stale store that has a network source. The offers carry their store's source (read with them);
     * settings are cached: no statement of its own on the page's path in the common case, never a write.
     */
    async onOpen(
      tenantId: string,
      offers: readonly { storeId: string; priceUpdatedAt: Date; sourceId: string | null; sourceLastSuccessAt: Date | null }[],
    ) {
      if (offers.length === 0) return { stale: false, refreshedAt: null };
      const s = await settingsOf(tenantId);
      const lastSuccess = new Map(offers.map((o) => [o.storeId, o.sourceLastSuccessAt]));
      const f = priceFreshness(offers, lastSuccess, clock(), s.freshnessMinutes * 60_000);
      const sourceOf = new Map(offers.map((o) => [o.storeId, o.sourceId]));
      for (const storeId of f.staleStores) {
        const sourceId = sourceOf.get(storeId);
        if (sourceId) background(tenantId, sourceId);
      }
      return { stale: f.stale, refreshedAt: f.refreshedAt };
    },
    /** Resolves when the background refresh claims started so far are done (tests, shutdown). */
    async idle(): Promise<void> {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
export type RefreshService = ReturnType<typeof createRefreshService>;
