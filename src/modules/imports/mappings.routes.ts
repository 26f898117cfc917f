import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, tenantContext } from '../../platform/index.ts';
import type { SavedMappingRow } from './mappings.repository.ts';
import * as s from './mappings.schemas.ts';
import type { MappingsService } from './mappings.service.ts';

const toMapping = (r: SavedMappingRow): z.infer<typeof s.savedMapping> => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  mapping: r.mapping,
  anonymous_rows: r.anonymousRows,
  created_at: iso(r.createdAt)!,
  updated_at: iso(r.updatedAt)!,
});

const toInput = (b: z.infer<typeof s.savedMappingBody>) => ({
  name: b.name,
  kind: b.kind,
  mapping: b.mapping,
  anonymousRows: b.anonymous_rows === 'anonymous' ? ('anonymous' as const) : null,
});

/** Saved import mappings: a tenant names a column mapping and picks it at its next upload. */
export async function mappingsRoutes(app: FastifyInstance, deps: { mappings: MappingsService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { mappings } = deps;
  const P = '/api/v1/imports/mappings';
  const tags = ['imports'];
  const params = z.object({ id: z.string().max(100) });
  const read = { auth: { kind: 'tenant', permission: 'imports:write' } } as const;
  const write = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'imports:write' }, audit: { action, resourceType: 'import_mapping' } }) as const;

  r.get(
    P,
    {
      schema: {
        tags,
        summary: "The tenant's saved import mappings, by kind and name",
        querystring: s.savedMappingListQuery,
        response: { 200: s.savedMappingList, ...errorResponses },
      },
      config: read,
    },
    async (request) => ({ data: (await mappings.list(tenantContext(request), request.query.kind)).map(toMapping) }),
  );
  r.post(
    P,
    {
      schema: {
        tags,
        summary: 'Save a column mapping under a name (unique per kind) to pick at a later upload',
        body: s.savedMappingBody,
        response: { 201: s.savedMapping, ...errorResponses },
      },
      config: write('import.mapping.create'),
    },
    async (request, reply) => {
      const row = await mappings.create(tenantContext(request), toInput(request.body));
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(toMapping(row));
    },
  );
  r.put(
    `${P}/:id`,
    {
      schema: {
        tags,
        summary: 'Replace a saved import mapping (name, kind, mapping)',
        params,
        body: s.savedMappingBody,
        response: { 200: s.savedMapping, ...errorResponses },
      },
      config: write('import.mapping.update'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      return toMapping(await mappings.update(tenantContext(request), request.params.id, toInput(request.body)));
    },
  );
  r.delete(
    `${P}/:id`,
    {
      schema: { tags, summary: 'Delete a saved import mapping', params, response: { 204: z.null(), ...errorResponses } },
      config: write('import.mapping.delete'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      await mappings.remove(tenantContext(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
}
