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

export type { IdentifierInput, IdentityApi, ProfileActivity, ResolveInput, UnitOfWork } from './identity.types.ts';
import type { IdentityApi } from './identity.types.ts';

export function createIdentityModule(platform: PlatformServices): IdentityApi & { routes(app: FastifyInstance): Promise<void> } {
  const repo = createIdentityRepository(platform.db);
  const settings = createSettingsStore(repo);
  const resolution = createResolutionService({ db: platform.db, repo, settings: settings.get });
  const profiles = createProfilesService({ db: platform.db, repo, settings });
  return {
    resolveMany: (tenantId, inputs) => resolution.resolveMany(tenantId, inputs),
    recordActivity: (tenantId, activity) => resolution.recordActivity(tenantId, activity),
    recordActivityWithin: (unitOfWork, tenantId, activity) => resolution.recordActivityWithin(unitOfWork, tenantId, activity),
    async routes(app: FastifyInstance): Promise<void> {
      await identityRoutes(app, profiles);
    },
  };
}
export type IdentityModule = ReturnType<typeof createIdentityModule>;
