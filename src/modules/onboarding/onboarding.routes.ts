import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, tenantContext } from '../../platform/index.ts';
import { checklistResponse } from './onboarding.schemas.ts';
import type { OnboardingService } from './onboarding.service.ts';

export async function onboardingRoutes(app: FastifyInstance, deps: { onboarding: OnboardingService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/onboarding',
    {
      schema: {
        tags: ['tenancy'],
        summary: "The tenant's first-run checklist: each setup step and whether the tenant's data shows it done",
        querystring: z.object({}).strict(),
        response: { 200: checklistResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => {
      const c = await deps.onboarding.checklist(tenantContext(request));
      return { steps: c.steps, completed: c.completed, next: c.next };
    },
  );
}
