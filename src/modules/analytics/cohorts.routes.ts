import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, tenantContext } from '../../platform/index.ts';
import type { CohortRow } from './cohorts.repository.ts';
import * as s from './cohorts.schemas.ts';
import type { CohortsService } from './cohorts.service.ts';

const toCohort = (c: CohortRow & { count?: number }) => ({
  id: c.id,
  name: c.name,
  description: c.description,
  definition: c.definition,
  created_at: iso(c.createdAt)!,
  updated_at: iso(c.updatedAt)!,
  ...(c.count === undefined ? {} : { count: c.count }),
});

/**
 * Saved cohorts under /api/v1/analytics/cohorts: definitions are read with `analytics:read` and written with
 * `analytics:manage`; members name people, so they need `profiles:read` as well.
 */
export async function cohortsRoutes(app: FastifyInstance, deps: { cohorts: CohortsService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { cohorts } = deps;
  const P = '/api/v1/analytics/cohorts';
  const tags = ['analytics'];
  const read = { auth: { kind: 'tenant', permission: 'analytics:read' } } as const;
  const people = { auth: { kind: 'tenant', permission: 'profiles:read' } } as const;
  const manage = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'analytics:manage' }, audit: { action, resourceType: 'analytics_cohort' } }) as const;

  r.get(
    P,
    { schema: { tags, summary: 'List saved cohorts (by name)', response: { 200: s.cohortListResponse, ...errorResponses } }, config: read },
    async (request) => ({ data: (await cohorts.list(tenantContext(request))).map(toCohort) }),
  );
  r.post(
    P,
    {
      schema: {
        tags,
        summary: 'Save a cohort (a named definition)',
        body: s.cohortBody,
        response: { 201: s.cohortResponse, ...errorResponses },
      },
      config: manage('analytics.cohort.create'),
    },
    async (request, reply) => {
      const row = await cohorts.create(tenantContext(request), request.body);
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(toCohort(row));
    },
  );
  r.post(
    `${P}/preview`,
    {
      schema: {
        tags,
        summary: 'How many profiles a definition selects now (nothing saved)',
        body: s.previewBody,
        response: { 200: s.previewResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const out = await cohorts.preview(tenantContext(request), request.body.definition);
      return { count: out.count, as_of: out.asOf.toISOString() };
    },
  );
  r.get(
    `${P}/:id`,
    {
      schema: {
        tags,
        summary: 'A saved cohort with its member count now',
        params: s.cohortParams,
        response: { 200: s.cohortResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => toCohort(await cohorts.get(tenantContext(request), request.params.id)),
  );
  r.put(
    `${P}/:id`,
    {
      schema: {
        tags,
        summary: 'Replace a saved cohort (name, description, definition)',
        params: s.cohortParams,
        body: s.cohortBody,
        response: { 200: s.cohortResponse, ...errorResponses },
      },
      config: manage('analytics.cohort.update'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      return toCohort(await cohorts.update(tenantContext(request), request.params.id, request.body));
    },
  );
  r.delete(
    `${P}/:id`,
    {
      schema: { tags, summary: 'Delete a saved cohort', params: s.cohortParams, response: { 204: z.null(), ...errorResponses } },
      config: manage('analytics.cohort.delete'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      await cohorts.remove(tenantContext(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  r.get(
    `${P}/:id/members`,
    {
      schema: {
        tags,
        summary: "A cohort's members now, in profile id order, by pages (`cursor`), or all as CSV (`format=csv`)",
        params: s.cohortParams,
        querystring: s.membersQuery,
        response: { 200: z.union([s.membersResponse, z.string()]), ...errorResponses },
      },
      config: people,
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const { limit, cursor, format } = request.query;
      if (format === 'csv') {
        const out = await cohorts.membersCsv(ctx, request.params.id);
        if (out.truncated) reply.header('x-truncated', 'true');
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="cohort-${request.params.id}.csv"`)
          .header('x-row-count', String(out.rows))
          .send(out.body);
      }
      const page = await cohorts.members(ctx, request.params.id, { limit, cursor });
      return {
        data: page.data.map((m) => ({ ...m, last_seen_at: iso(m.last_seen_at) })),
        next_cursor: page.nextCursor,
        as_of: page.asOf.toISOString(),
      };
    },
  );
}
