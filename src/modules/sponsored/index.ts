/**
 * Sponsored content: brand campaigns with budgets, approval, targeting, frequency caps, pacing, a
 * second-price auction, idempotent impressions, clicks and conversions, a charges ledger and attribution.
 * Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, TenantContext } from '../../platform/index.ts';
import { createSponsoredRepository } from './sponsored.repository.ts';
import { sponsoredRoutes } from './sponsored.routes.ts';
import { type DecisionRequest, createSponsoredService, sponsoredSettingsOf } from './sponsored.service.ts';
import { eraseSponsoredUsers } from './erasure.repository.ts';

export interface SponsoredModuleDeps {
  /** Tenancy's tenant settings (`{}` for an unknown tenant); sponsored reads `settings.sponsored`. */
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
}

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
  const service = createSponsoredService({ db: platform.db, repo: createSponsoredRepository(), clock: platform.clock, settings });
  return {
    /** Erasure step (identity.onErasure): pseudonymizes the person in decisions, impressions, clicks and conversions. */
    erasePerson: eraseSponsoredUsers,
    settings,
    /** Runs the auction for a placement and reserves each winner's budget (the feed's sponsored modules). */
    async placements(ctx: TenantContext, req: DecisionRequest): Promise<SponsoredPlacement[]> {
      const { decisions } = await service.decide(ctx, req);
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
