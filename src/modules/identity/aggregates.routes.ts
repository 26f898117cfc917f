import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, jobSchema, tenantContext, toJob } from '../../platform/index.ts';
import type { AggregatesReconciler } from './aggregates.reconcile.ts';

/** Admin route: recompute the tenant's profile aggregates from its stored events (a background job). */
export async function aggregatesRoutes(app: FastifyInstance, reconciler: AggregatesReconciler): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/profiles/aggregates/reconcile',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Recompute every profile’s aggregates (orders, revenue, event count, first/last seen) from the stored events',
        response: { 202: jobSchema, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'profiles:write' },
        audit: { action: 'identity.aggregates.reconcile', resourceType: 'profile_aggregates' },
      },
    },
    async (request, reply) => reply.code(202).send(toJob(await reconciler.enqueue(tenantContext(request).tenantId))),
  );
}
