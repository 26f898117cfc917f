import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, errorBody, errorResponses, notModified, tenantContext } from '../../platform/index.ts';
import type { FlagPrerequisite, FlagRule } from './flags.core.ts';
import type { FlagRow } from './flags.repository.ts';
import * as s from './flags.schemas.ts';
import type { FlagInput, FlagsService } from './flags.service.ts';

const TAGS = ['flags'];
const iso = (d: Date | string): string => new Date(d).toISOString();

const prerequisiteJson = (p: FlagPrerequisite) => ({ flag_key: p.flagKey, condition: p.condition });
const ruleJson = (r: FlagRule) => ({
  id: r.id,
  type: r.type,
  description: r.description,
  enabled: r.enabled,
  environments: r.environments,
  condition: r.condition,
  prerequisites: r.prerequisites.map(prerequisiteJson),
  value: r.value,
  coverage: r.coverage,
  hash_attribute: r.hashAttribute,
  seed: r.seed,
  experiment_key: r.experimentKey,
  variation_values: r.variationValues,
});
function flagJson(f: FlagRow): z.infer<typeof s.flagSchema> {
  return {
    id: f.id,
    key: f.key,
    description: f.description,
    value_type: f.valueType,
    default_value: f.defaultValue,
    rules: f.rules.map(ruleJson),
    prerequisites: f.prerequisites.map(prerequisiteJson),
    environments: f.environments,
    archived: f.archived,
    version: f.version,
    created_at: iso(f.createdAt),
    updated_at: iso(f.updatedAt),
  };
}

type Definition = Omit<z.infer<typeof s.updateFlagBody>, 'version'>;
const toInput = (b: Definition): FlagInput => ({
  description: b.description,
  valueType: b.value_type,
  defaultValue: b.default_value,
  rules: b.rules,
  prerequisites: b.prerequisites,
  environments: b.environments,
  archived: b.archived,
});

const unknownClientKey = () =>
  new AppError(
    'not_found',
    'CLIENT_KEY_NOT_FOUND',
    'No such SDK client key. Create one under Experiments → Flags (POST /api/v1/admin/flags/client-keys).',
  );

export async function flagsRoutes(app: FastifyInstance, flags: FlagsService): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const manage = (action: string) => ({
    auth: { kind: 'tenant' as const, permission: 'experiments:manage' as const },
    audit: { action, resourceType: 'flag' },
  });
  const read = { auth: { kind: 'tenant' as const, permission: 'analytics:read' as const } };
  // SDK endpoints: the client key is public (it ships in browser bundles, as GrowthBook's), limited per address.
  const sdk = { auth: { kind: 'public' as const }, rateGroup: 'serving' as const };

  r.post(
    '/api/v1/admin/flags',
    {
      schema: { tags: TAGS, summary: 'Create a feature flag', body: s.createFlagBody, response: { 201: s.flagSchema, ...errorResponses } },
      config: manage('flag.create'),
    },
    async (request, reply) => {
      const f = await flags.create(tenantContext(request), request.body.key, toInput({ ...request.body, archived: false }));
      request.auditTarget = { resourceId: f.id, details: { key: f.key } };
      return reply.code(201).send(flagJson(f));
    },
  );

  r.get(
    '/api/v1/admin/flags',
    {
      schema: { tags: TAGS, summary: 'List feature flags with their rules', response: { 200: s.flagListResponse, ...errorResponses } },
      config: read,
    },
    async (request) => ({ data: (await flags.list(tenantContext(request))).map(flagJson) }),
  );

  r.get(
    '/api/v1/admin/flags/:id',
    {
      schema: { tags: TAGS, summary: 'One feature flag', params: s.flagIdParams, response: { 200: s.flagSchema, ...errorResponses } },
      config: read,
    },
    async (request) => flagJson(await flags.get(tenantContext(request), request.params.id)),
  );

  r.put(
    '/api/v1/admin/flags/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'Replace a flag definition (value, rules, prerequisites, environments, archived); send the version you read',
        params: s.flagIdParams,
        body: s.updateFlagBody,
        response: { 200: s.flagSchema, ...errorResponses },
      },
      config: manage('flag.update'),
    },
    async (request) => {
      const f = await flags.update(tenantContext(request), request.params.id, request.body.version, toInput(request.body));
      request.auditTarget = { resourceId: f.id, details: { key: f.key, version: f.version, archived: f.archived } };
      return flagJson(f);
    },
  );

  r.get(
    '/api/v1/admin/flags/:id/exposures',
    {
      schema: {
        tags: TAGS,
        summary: 'Evaluations SDKs reported for a flag, per day and value',
        params: s.flagIdParams,
        querystring: s.exposureCountsQuery,
        response: { 200: s.exposureCountsResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => ({ data: await flags.exposureCounts(tenantContext(request), request.params.id, request.query.days) }),
  );

  r.post(
    '/api/v1/admin/flags/client-keys',
    {
      schema: {
        tags: TAGS,
        summary: 'Create an SDK client key for an environment (GrowthBook SDKs fetch GET /api/features/:clientKey)',
        body: s.clientKeyBody,
        response: { 201: s.clientKeyResponse, ...errorResponses },
      },
      config: manage('flag.client_key.create'),
    },
    async (request, reply) => {
      const k = await flags.createClientKey(tenantContext(request), request.body.environment);
      request.auditTarget = { resourceId: k.key, details: { environment: k.environment } };
      return reply.code(201).send({ client_key: k.key, environment: k.environment, created_at: iso(k.createdAt) });
    },
  );

  r.get(
    '/api/v1/admin/flags/client-keys',
    { schema: { tags: TAGS, summary: 'SDK client keys', response: { 200: s.clientKeyListResponse, ...errorResponses } }, config: read },
    async (request) => ({
      data: (await flags.listClientKeys(tenantContext(request))).map((k) => ({
        client_key: k.key,
        environment: k.environment,
        created_at: iso(k.createdAt),
      })),
    }),
  );

  r.get(
    '/api/features/:clientKey',
    {
      schema: {
        tags: TAGS,
        summary: "GrowthBook-compatible SDK payload of a client key's environment (local evaluation); ETag / If-None-Match",
        params: s.sdkPayloadParams,
        response: {
          200: s.sdkPayloadResponse,
          304: z.null().describe('Not modified: the payload still has the ETag sent in If-None-Match'),
          ...errorResponses,
        },
      },
      config: sdk,
    },
    async (request, reply) => {
      const p = await flags.payload(request.params.clientKey);
      if (!p) throw unknownClientKey();
      reply
        .header('etag', p.etag)
        .header('cache-control', 'public, max-age=0, must-revalidate')
        .header('access-control-allow-origin', '*')
        .header('vary', 'Origin');
      if (notModified(request.headers['if-none-match'], p.etag)) return reply.code(304).send(null);
      // Already JSON: sent as is (the schema above documents it; serializing it again would cost every poll).
      return reply
        .type('application/json; charset=utf-8')
        .serializer((x: unknown) => x as string)
        .send(p.body as unknown as z.infer<typeof s.sdkPayloadResponse>);
    },
  );

  r.post(
    '/api/features/:clientKey/exposures',
    {
      schema: {
        tags: TAGS,
        summary: "Exposures reported by an SDK: flag evaluations and experiment exposures (GrowthBook's trackingCallback)",
        params: s.sdkPayloadParams,
        body: s.exposuresBody,
        response: { 202: s.exposuresResponse, ...errorResponses, 503: errorBody },
      },
      config: sdk,
    },
    async (request, reply) => {
      const out = await flags.logExposures(
        request.params.clientKey,
        request.body.exposures.map((e) => ({
          flagKey: e.feature_key,
          value: e.value,
          experimentKey: e.experiment_key,
          variationId: e.variation_id,
          userId: e.user_id,
          anonymousId: e.anonymous_id,
        })),
      );
      if (!out) throw unknownClientKey();
      reply.header('access-control-allow-origin', '*');
      return reply.code(202).send(out);
    },
  );

  // CORS preflight of browser SDKs (GET with If-None-Match, POST of JSON exposures from any origin: no cookies are read).
  for (const url of ['/api/features/:clientKey', '/api/features/:clientKey/exposures'])
    r.options(url, { schema: { hide: true }, config: sdk }, async (_request, reply) =>
      reply
        .code(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', 'GET, POST, OPTIONS')
        .header('access-control-allow-headers', 'content-type, if-none-match')
        .header('access-control-max-age', '86400')
        .send(),
    );
}
