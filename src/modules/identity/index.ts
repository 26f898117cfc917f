/**
 * Identity: identity resolution, profiles (Customer 360), merges, unmerge and the review queue. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { createIdentityRepository } from './identity.repository.ts';
import { identityRoutes } from './identity.routes.ts';
import { createProfilesService } from './profiles.service.ts';
import { createResolutionService } from './resolution.service.ts';
import { createSettingsStore } from './settings.ts';

export type {
  IdentifierInput,
  IdentityApi,
  ProfileActivity,
  ProfileActivitySource,
  ProfileEventRow,
  ProfileEvents,
  ResolveInput,
  SqlRunner,
  UnitOfWork,
} from './identity.types.ts';
import type { IdentityApi, ProfileActivitySource, ProfileEvents } from './identity.types.ts';
import { createAggregatesReconciler } from './aggregates.reconcile.ts';
import { aggregatesRoutes } from './aggregates.routes.ts';

export interface IdentityModuleDeps {
  /** A person's interactions (owned by events, which implements this port; wired in src/app.ts). */
  events: ProfileEvents;
}

export function createIdentityModule(platform: PlatformServices, deps: IdentityModuleDeps) {
  const repo = createIdentityRepository(deps.events);
  const settings = createSettingsStore(platform.db, repo);
  const resolution = createResolutionService({ db: platform.db, repo, settings: settings.get });
  const profiles = createProfilesService({ db: platform.db, repo, settings });
  let activitySource: ProfileActivitySource | undefined;
  const reconciler = createAggregatesReconciler({ db: platform.db, repo, jobs: platform.jobs, source: () => activitySource });
  reconciler.registerJobs();
  const api: IdentityApi = {
    resolveMany: (tenantId, inputs) => resolution.resolveMany(tenantId, inputs),
    recordActivity: (tenantId, activity) => resolution.recordActivity(tenantId, activity),
    recordActivityWithin: (unitOfWork, tenantId, activity) => resolution.recordActivityWithin(unitOfWork, tenantId, activity),
  };
  return {
    ...api,
    /** Wiring: the events module's reading of profile activity, for reconciling aggregates (see ProfileActivitySource). */
    useActivitySource(source: ProfileActivitySource): void {
      activitySource = source;
    },
    /** Recomputes a tenant's profile aggregates from the stored events now (the job does the same in the background). */
    reconcileAggregates: (tenantId: string) => reconciler.reconcileTenant(tenantId),
    async routes(app: FastifyInstance): Promise<void> {
      await identityRoutes(app, profiles, platform.clock);
      await aggregatesRoutes(app, reconciler);
    },
  };
}
export type IdentityModule = ReturnType<typeof createIdentityModule>;
