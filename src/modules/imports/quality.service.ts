import type { Q } from '../../platform/index.ts';
import type { CatalogModule } from '../catalog/index.ts';
import type { EventsModule } from '../events/index.ts';
import type { ImportsRepository } from './imports.repository.ts';

export interface QualityServiceDeps {
  db: Q;
  repo: ImportsRepository;
  catalog: Pick<CatalogModule, 'completeness'>;
  events: Pick<EventsModule, 'lastInteractionAt'>;
}

/** The tenant's data quality (seed 003 dashboard): catalog completeness, recent imports, freshness. */
export function createQualityService(deps: QualityServiceDeps) {
  const { db } = deps;
  return {
    async dataQuality(tenantId: string, since: Date) {
      const [items, lastInteractionAt, imports] = await Promise.all([
        deps.catalog.completeness(tenantId),
        deps.events.lastInteractionAt(tenantId),
        deps.repo.importTotals(db, tenantId, since),
      ]);
      return { items, lastInteractionAt, imports };
    },
  };
}
export type QualityService = ReturnType<typeof createQualityService>;
