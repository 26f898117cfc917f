/**
 * Sponsored content: brand campaigns with budgets, approval, targeting, frequency caps, pacing, a
 * second-price auction, idempotent impressions, clicks and conversions, a charges ledger and attribution.
 * Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, TenantContext } from '../../platform/index.ts';
import { createSponsoredRepository } from './sponsored.repository.ts';
import { sponsoredRoutes } from './sponsored.routes.ts';
import { createPacingTraffic } from './pacing.service.ts';
import { type DecisionRequest, createSponsoredService, sponsoredSettingsOf } from './sponsored.service.ts';
import { eraseSponsoredUsers } from './erasure.repository.ts';
import { createBudgetPool } from './budget.pool.ts';
import { type CohortAudiencePort, createAudienceService } from './audience.service.ts';

export interface SponsoredModuleDeps {
  /** Tenancy's tenant settings (`{}` for an unknown tenant); sponsored reads `settings.sponsored`. */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  /** analytics' saved cohorts (the shopper's person found by identity's lookup, kept there), for campaigns whose audience is a cohort (`targeting.cohorts`). */
  cohorts?: CohortAudiencePort | undefined;
}
export type { CohortAudiencePort } from './audience.service.ts';
/** `cohort:<id>` segments of `targeting.segments` (checked at save, answered by the feed's segment source). */
export { COHORT_SEGMENT_PREFIX } from './audience.service.ts';

/** A sponsored placement the feed can show (label "Sponsored"), with the decision to report its impression against. */
export interface SponsoredPlacement {
  decisionId: string;
  campaignId: string;
  brandId: string;
  name: string;
  creative: Record<string, unknown>;
  promotedItemIds: string[];
}

export function createSponsoredModule(platform: PlatformServices, deps: SponsoredModuleDeps) {
  const settings = async (tenantId: string) => sponsoredSettingsOf(await deps.tenantSettings(tenantId));
  const repo = createSponsoredRepository();
  const traffic = createPacingTraffic({ db: platform.db, repo, clock: platform.clock });
  // The feed's decisions carve budget from per-process blocks (budget.pool.ts): no write on the request path.
  const pool = createBudgetPool({ db: platform.db, repo, clock: platform.clock, log: platform.log });
  const audience = createAudienceService(deps.cohorts);
  const service = createSponsoredService({ db: platform.db, repo, clock: platform.clock, settings, traffic, pool, audience });
  return {
    /** Erasure step (identity.onErasure): pseudonymizes the person in decisions, impressions, clicks and conversions. */
    erasePerson: eraseSponsoredUsers,
    settings,
    /** Writes the placement requests counted in memory (pacing's traffic); `stop` also ends the timer. */
    flushTraffic: () => traffic.flush(),
    /** Ends pacing's timer and gives the budget blocks' remainders back (shutdown). */
    async stopTraffic() {
      await traffic.stop();
      await pool.stop();
    },
    /** Writes the feed's served decisions still waiting in the budget pool (tests, erasure). */
    flushDecisions: () => pool.flush(),
    /**
     * Runs the auction for a placement and reserves each winner's budget (the feed's sponsored modules), pooled:
     * from this process's budget blocks, written within 50 ms (see budget.pool.ts).
     */
    async placements(ctx: TenantContext, req: DecisionRequest): Promise<SponsoredPlacement[]> {
      const { decisions } = await service.decide(ctx, req, { pooled: true });
      return decisions.map((d) => ({
        decisionId: d.decision.id,
        campaignId: d.campaign.id,
        brandId: d.campaign.brandId,
        name: d.campaign.name,
        creative: d.campaign.creative,
        promotedItemIds: d.campaign.promotedItemIds,
      }));
    },
    async routes(app: FastifyInstance): Promise<void> {
      await sponsoredRoutes(app, { service, clock: platform.clock });
    },
  };
}
/** Pacing's pure kernels, for the pacing simulation (bench/sponsored/pacing.bench.ts). */
export {
  PACING_TUNING,
  PACING_TUNING_PLAIN,
  type PacingTuning,
  isoWeekday,
  pacingCapMilli,
  trafficCurveFor,
  type TrafficCurve,
} from './sponsored.core.ts';
