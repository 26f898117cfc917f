import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, errorResponses, tenantContext } from '../../platform/index.ts';
import { purgeResponse, retentionBody, retentionResponse } from './retention.schemas.ts';
import type { RetentionService, RetentionStatus } from './retention.service.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const toApi = (s: RetentionStatus) => ({
  months: s.months,
  archive: s.archive,
  platform_months: s.platformMonths,
  kept_from: iso(s.keptFrom),
  past_retention: { rows: s.pastRetention.rows, awaiting_archive: s.pastRetention.awaitingArchive, capped: s.pastRetention.capped },
  last_purge_at: iso(s.lastPurgeAt),
  last_purged_rows: s.lastPurgedRows,
  purged_rows: s.purgedRows,
});

/** The tenant's own retention of its events (the Data page's "Event retention"). */
export async function retentionRoutes(app: FastifyInstance, deps: { retention: RetentionService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/settings/retention',
    {
      schema: {
        tags: ['events'],
        summary: 'How long this store keeps its events, what lies past it and whether the export has archived it',
        response: { 200: retentionResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => toApi(await deps.retention.status(tenantContext(request).tenantId)),
  );
  r.put(
    '/api/v1/settings/retention',
    {
      schema: {
        tags: ['events'],
        summary: 'Set how many whole months of events this store keeps (null: all); older events are then refused and purged hourly',
        body: retentionBody,
        response: { 200: retentionResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'tenant:manage' },
        audit: { action: 'events.retention.update', resourceType: 'tenant' },
      },
    },
    async (request) => {
      const { tenantId } = tenantContext(request);
      await deps.retention.set(tenantId, request.body.months, request.body.archive);
      return toApi(await deps.retention.status(tenantId));
    },
  );
  r.post(
    '/api/v1/settings/retention/purge',
    {
      schema: {
        tags: ['events'],
        summary: 'Delete the events past the retention now (a bounded run; `done` false means the hourly task goes on)',
        response: { 200: purgeResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'tenant:manage' },
        audit: { action: 'events.retention.purge', resourceType: 'tenant' },
      },
    },
    async (request) => {
      const r = await deps.retention.purge(tenantContext(request).tenantId);
      if (!r)
        throw new AppError(
          'conflict',
          'RETENTION_NOT_SET',
          'This store keeps all its events: set a retention first (PUT /api/v1/settings/retention).',
        );
      return { deleted: r.deleted, awaiting_archive: r.awaitingArchive, done: r.done };
    },
  );
}
