import type { TenantContext } from '../../platform/index.ts';
import { type Checklist, type SetupFacts, checklistOf } from './onboarding.core.ts';

/**
 * Where each fact lives: its owner's public entry, wired in src/app.ts. Every function answers for one tenant
 * only and reads nothing but counts or existence.
 */
export interface SetupFactSources {
  catalogItems(tenantId: string): Promise<number>;
  /** Events' purchases, store connections and tracked sessions, in one read. */
  events(tenantId: string): Promise<Pick<SetupFacts, 'purchases' | 'storeConnections' | 'trackedSessions'>>;
  trainedModels(tenantId: string): Promise<number>;
  apiKeys(tenantId: string): Promise<number>;
}

export function createOnboardingService(deps: { sources: SetupFactSources }) {
  const { sources } = deps;
  return {
    /** The tenant's first-run checklist, computed from live data on every call (nothing is cached or stored). */
    async checklist(ctx: TenantContext): Promise<Checklist> {
      const [catalogItems, events, trainedModels, apiKeys] = await Promise.all([
        sources.catalogItems(ctx.tenantId),
        sources.events(ctx.tenantId),
        sources.trainedModels(ctx.tenantId),
        sources.apiKeys(ctx.tenantId),
      ]);
      return checklistOf({ catalogItems, trainedModels, apiKeys, ...events });
    },
  };
}
export type OnboardingService = ReturnType<typeof createOnboardingService>;
