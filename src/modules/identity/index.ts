/**
 * Identity: identity resolution, profiles (Customer 360), merges, unmerge and the review queue. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import { isUuid, type PlatformServices } from '../../platform/index.ts';
import { createIdentityRepository } from './identity.repository.ts';
import { identityRoutes } from './identity.routes.ts';
import { type ErasureHold, createProfilesService } from './profiles.service.ts';
import { createResolutionService } from './resolution.service.ts';
import { createSettingsStore } from './settings.ts';
import { createOrderStatsRepository } from './order-stats.repository.ts';
import { type CustomerOrderRow, createCustomerOrdersRepository } from './customer-orders.repository.ts';
import { normalizeIdentifier } from './identity.core.ts';
import type { IdentifierInput } from './identity.types.ts';

export type {
  IdentifierInput,
  IdentityApi,
  ProfileActivity,
  ProfileActivitySource,
  ProfileEventRow,
  ErasureListener,
  ProfileEvents,
  ResolveInput,
  SqlRunner,
  UnitOfWork,
} from './identity.types.ts';
export type { OrderStatsRepository } from './order-stats.repository.ts';
export type { CustomerOrderRow, CustomerOrdersRepository } from './customer-orders.repository.ts';
import type { ErasureListener, IdentityApi, ProfileActivitySource, ProfileEvents } from './identity.types.ts';
import { createAggregatesReconciler } from './aggregates.reconcile.ts';
import { aggregatesRoutes } from './aggregates.routes.ts';

export interface IdentityModuleDeps {
  /** A person's interactions (owned by events, which implements this port; wired in src/app.ts). */
  events: ProfileEvents;
}

export function createIdentityModule(platform: PlatformServices, deps: IdentityModuleDeps) {
  const changeListeners: ((tenantId: string, profileIds: readonly string[]) => void)[] = [];
  const repo = createIdentityRepository(deps.events, {
    profilesChanged: (tenantId, ids) => {
      for (const l of changeListeners) l(tenantId, ids);
    },
  });
  const settings = createSettingsStore(platform.db, repo);
  const resolution = createResolutionService({ db: platform.db, repo, settings: settings.get });
  const erasureListeners: ErasureListener[] = [];
  const erasureHolds: ErasureHold[] = [];
  const profiles = createProfilesService({ db: platform.db, repo, settings, erasureListeners, erasureHolds });
  const customerOrders = createCustomerOrdersRepository();
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
    /** Commerce figures over profile_orders (orders, revenue, new and repeat customers) for analytics' KPIs. */
    orderStats: createOrderStatsRepository(),
    /** Registers another module's erasure step (run inside the erasure's transaction with every id of the person). */
    onErasure(listener: ErasureListener): void {
      erasureListeners.push(listener);
    },
    /**
     * Registers another module's write buffer to drain before an erasure starts (exposures, served
     * recommendations held in memory), so no row about the person is written after they are erased. It may return
     * a release, called once the erasure has committed or failed: background writers of that tenant wait until then.
     */
    beforeErasure(hold: ErasureHold): void {
      erasureHolds.push(hold);
    },
    /**
     * Calls `listener` with the profiles whose orders, status or merge chain change in this process (orders written,
     * merges, unmerges, erasure), before the write's transaction commits: listeners only drop cached reads. Other
     * processes see such changes through `customerOrders.changedSince`.
     */
    onProfilesChanged(listener: (tenantId: string, profileIds: readonly string[]) => void): void {
      changeListeners.push(listener);
    },
    /** Read-only orders and facts of active profiles, for predictions' features. */
    customerOrders,
    /**
     * Read-only, one round trip once the id is known: the active profile behind a profile id or an identifier
     * (following merges) with its orders by time, or null when unknown, erased or not usable. For live scoring.
     */
    async findActiveProfileOrders(
      tenantId: string,
      ref: { profileId: string } | { identifier: IdentifierInput },
    ): Promise<{ profileId: string; orders: CustomerOrderRow[] } | null> {
      const id =
        'profileId' in ref
          ? isUuid(ref.profileId)
            ? ref.profileId
            : null
          : ((await this.lookupProfiles(tenantId, [ref.identifier]))[0] ?? null);
      return id ? customerOrders.ofSurvivor(platform.db, tenantId, id) : null;
    },
    /**
     * Read-only: the profile holding each identifier (user_id, anonymous_id ...), or null. Creates nothing; for
     * callers that key state by person (experiments' sticky assignment across devices).
     */
    async lookupProfiles(tenantId: string, identifiers: readonly IdentifierInput[]): Promise<(string | null)[]> {
      const s = await settings.get(tenantId);
      const keys = identifiers.map((i) => {
        const n = normalizeIdentifier(i.type, i.value, s);
        return 'dropped' in n ? null : n.matchKey;
      });
      const wanted = keys.filter((k): k is string => k !== null);
      if (!wanted.length) return keys.map(() => null);
      const found = await repo.identifiersByMatchKeys(platform.db, tenantId, wanted);
      const byKey = new Map(found.map((f) => [f.matchKey, f.profileId]));
      return keys.map((k) => (k === null ? null : (byKey.get(k) ?? null)));
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
/** The warehouse export's reads of profiles (the warehouse module's `WarehouseSource` port). */
export { createProfilesWarehouseSource } from './warehouse-source.repository.ts';
/** The warehouse marts' reads of unified orders and profiles (the warehouse module's `MartSources` port). */
export { createMartsSources } from './marts-source.repository.ts';
/** Active profiles for analytics' saved cohorts (analytics' `CohortSources` port). */
export { createCohortProfilesSource } from './cohort-source.repository.ts';
/** The profile_strength rule (pure): predictions' feature store computes it at a past cutoff and a test holds the two equal. */
export { profileStrength } from './identity.core.ts';
