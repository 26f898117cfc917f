/**
 * Onboarding: a new tenant's first-run checklist (import catalog, import orders, train, create a key, connect a
 * store, install the snippet), ticked from the facts the owning modules report. Owns no table. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import { onboardingRoutes } from './onboarding.routes.ts';
import { type SetupFactSources, createOnboardingService } from './onboarding.service.ts';

export type { SetupFactSources } from './onboarding.service.ts';

export function createOnboardingModule(deps: { sources: SetupFactSources }) {
  const onboarding = createOnboardingService({ sources: deps.sources });
  return {
    checklist: onboarding.checklist,
    async routes(app: FastifyInstance): Promise<void> {
      await onboardingRoutes(app, { onboarding });
    },
  };
}
