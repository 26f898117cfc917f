import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, tenantContext } from '../../platform/index.ts';
import { BACKFILL_RESOURCES } from './connectors/shopify-admin.core.ts';
import type { BackfillRow } from './shopify-backfill.repository.ts';
import type { ShopifyBackfillService } from './shopify-backfill.service.ts';

const resourceView = z.object({
  done: z.number().describe('Rows stored so far'),
  total: z.number().nullable().describe('Rows Shopify counted at the start (null until asked)'),
  rejected: z.number().describe('Rows left out (no id, a price out of range ...)'),
  complete: z.boolean(),
  rejected_samples: z.array(z.object({ id: z.string().nullable(), reason: z.string() })).describe('The last few rows left out, and why'),
});

export const backfillView = z.object({
  connection_id: z.string(),
  status: z.enum(['not_started', 'queued', 'running', 'succeeded', 'failed', 'cancelled']),
  run_id: z.string().nullable(),
  job_id: z.string().nullable(),
  resources: z.object(
    Object.fromEntries(BACKFILL_RESOURCES.map((r) => [r, resourceView])) as Record<
      (typeof BACKFILL_RESOURCES)[number],
      typeof resourceView
    >,
  ),
  last_error: z.object({ code: z.string(), message: z.string().describe('What went wrong and what to do next') }).nullable(),
  started_at: z.string().nullable(),
  updated_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

const params = z.object({ id: z.string().max(100) });

function toView(connectionId: string, row: BackfillRow | null): z.infer<typeof backfillView> {
  const resources = Object.fromEntries(
    BACKFILL_RESOURCES.map((r) => {
      const p = row?.resources[r];
      return [
        r,
        {
          done: p?.done ?? 0,
          total: p?.total ?? null,
          rejected: p?.rejected ?? 0,
          complete: p?.complete ?? false,
          rejected_samples: p?.samples ?? [],
        },
      ];
    }),
  ) as z.infer<typeof backfillView>['resources'];
  return {
    connection_id: connectionId,
    status: row?.status ?? 'not_started',
    run_id: row?.runId ?? null,
    job_id: row?.jobId ?? null,
    resources,
    last_error: row?.lastErrorCode ? { code: row.lastErrorCode, message: row.lastError ?? '' } : null,
    started_at: iso(row?.createdAt ?? null),
    updated_at: iso(row?.updatedAt ?? null),
    finished_at: iso(row?.finishedAt ?? null),
  };
}

/** The backfill of a Shopify connection: start (with the Admin API token), progress, cancel. */
export async function shopifyBackfillRoutes(app: FastifyInstance, deps: { backfill: ShopifyBackfillService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const auth = { kind: 'tenant', permission: 'integrations:manage' } as const;

  r.get(
    '/api/v1/integrations/:id/backfill',
    {
      schema: {
        tags: ['integrations'],
        summary: 'Progress of the Shopify backfill of a connection (status not_started when it never ran)',
        params,
        response: { 200: backfillView, ...errorResponses },
      },
      config: { auth },
    },
    async (request) => toView(request.params.id, await deps.backfill.status(tenantContext(request), request.params.id)),
  );

  r.post(
    '/api/v1/integrations/:id/backfill',
    {
      schema: {
        tags: ['integrations'],
        summary:
          "Start backfilling past products, customers and orders through Shopify's Admin API (a durable job; 409 while one runs). The token is stored sealed for later runs.",
        params,
        body: z
          .object({
            access_token: z
              .string()
              .min(8)
              .max(500)
              .regex(/^[\x21-\x7e]+$/, 'must be an Admin API access token (shpat_...)')
              .optional()
              .describe(
                'Admin API access token of a custom app with read_products, read_customers, read_orders; optional after the first run',
              ),
          })
          .strict(),
        response: { 202: backfillView, ...errorResponses },
      },
      config: { auth, audit: { action: 'integration.backfill_start', resourceType: 'integration' } },
    },
    async (request, reply) => {
      const row = await deps.backfill.start(tenantContext(request), request.params.id, request.body.access_token);
      request.auditTarget = { resourceId: request.params.id, details: { run_id: row.runId } };
      return reply.code(202).send(toView(request.params.id, row));
    },
  );

  r.delete(
    '/api/v1/integrations/:id/backfill',
    {
      schema: {
        tags: ['integrations'],
        summary: 'Cancel the running backfill of a connection (what it stored stays)',
        params,
        response: { 200: backfillView, ...errorResponses },
      },
      config: { auth, audit: { action: 'integration.backfill_cancel', resourceType: 'integration' } },
    },
    async (request) => {
      const row = await deps.backfill.cancel(tenantContext(request), request.params.id);
      request.auditTarget = { resourceId: request.params.id };
      return toView(request.params.id, row);
    },
  );
}
