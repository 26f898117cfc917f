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
  ProfileEventRow,
  ProfileEvents,
  ResolveInput,
  SqlRunner,
} from './identity.types.ts';
import type { IdentityApi, ProfileEvents } from './identity.types.ts';

export interface IdentityModuleDeps {
  /** A person's interactions (owned by events, which implements this port; wired in src/app.ts). */
  events: ProfileEvents;
}

export function createIdentityModule(
  platform: PlatformServices,
  deps: IdentityModuleDeps,
): IdentityApi & { routes(app: FastifyInstance): Promise<void> } {
  const repo = createIdentityRepository(platform.db, deps.events);
  const settings = createSettingsStore(repo);
  const resolution = createResolutionService({ db: platform.db, repo, settings: settings.get });
  const profiles = createProfilesService({ db: platform.db, repo, settings });
  return {
    resolveMany: (tenantId, inputs) => resolution.resolveMany(tenantId, inputs),
    recordActivity: (tenantId, activity) => resolution.recordActivity(tenantId, activity),
    async routes(app: FastifyInstance): Promise<void> {
      await identityRoutes(app, profiles);
    },
  };
}
export type IdentityModule = ReturnType<typeof createIdentityModule>;
