import { type Db, inTenant, isUuid } from '../../platform/index.ts';
import { notShownWithinDays } from './newsfeed.service.ts';
import type { PreferencesRepository } from './preferences.repository.ts';

export interface RetentionDeps {
  db: Db;
  repo: PreferencesRepository;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  clock: () => Date;
}

/** Rows deleted per statement: each delete is short, so feed reads and writes interleave with a long prune. */
const PRUNE_BATCH = 5_000;

/**
 * Retention of `newsfeed_shown_items`: the "not shown within N days" rule reads only the last N days (tenant
 * setting `newsfeed.rules.not_shown_within_days`), so each tenant's older rows are deleted, in batches, each
 * batch in the tenant's unit of work (`inTenant`: it can touch no other tenant's row). A tenant with the rule
 * off (N = 0) keeps none. Listing the tenants that hold rows is the one read across tenants.
 */
export function createRetentionService(deps: RetentionDeps) {
  return {
    async pruneTenant(tenantId: string, batch = PRUNE_BATCH): Promise<number> {
      if (!isUuid(tenantId)) throw new Error('newsfeed retention: the tenant id is not a UUID');
      const days = notShownWithinDays(await deps.tenantSettings(tenantId));
      const before = new Date(deps.clock().getTime() - days * 86_400_000);
      let total = 0;
      for (;;) {
        const n = await inTenant(deps.db, tenantId, (tx) => deps.repo.pruneShown(tx, tenantId, before, batch));
        total += n;
        if (n < batch) return total;
      }
    },
    /** Prunes every tenant; returns rows deleted per tenant (those with none left out). */
    async pruneAll(batch = PRUNE_BATCH): Promise<Map<string, number>> {
      const out = new Map<string, number>();
      for (const tenantId of await deps.repo.shownTenants(deps.db)) {
        const n = await this.pruneTenant(tenantId, batch);
        if (n > 0) out.set(tenantId, n);
      }
      return out;
    },
  };
}
