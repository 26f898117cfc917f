import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, registerTextJsonParser, type TenantContext, tenantContext, validation } from '../../platform/index.ts';
import type { IdentityApi, ResolveInput } from '../identity/index.ts';
import type { PendingEvent } from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import { overloadResponses } from './interactions.schemas.ts';
import { mapSegmentMessage, type SegmentKind, type SegmentMessage } from './segment.core.ts';

export interface SegmentRouteDeps {
  ingest: IngestService;
  identity: Pick<IdentityApi, 'resolveMany'>;
  clock: () => Date;
  /** PUBLIC_URL: where browsers reach this server (else the request's own scheme and host). */
  publicUrl?: string | undefined;
}

const idLike = z.union([z.string().max(200), z.number().finite()]).nullish();
const record = z.record(z.string(), z.unknown());
/**
 * Segment's message, with Segment's field names. Loose on purpose (not `.strict()` like Loupe's own API):
 * Segment and RudderStack libraries add fields of their own (`_metadata`, `integrations`, `channel` ...), and
 * a store pointing its existing library at Loupe must not be refused for them.
 */
const message = z
  .object({
    type: z.enum(['track', 'identify', 'page', 'screen', 'alias', 'group']).optional(),
    messageId: z.string().min(1).max(200).optional(),
    userId: idLike,
    anonymousId: idLike,
    previousId: idLike,
    event: z.string().min(1).max(200).optional(),
    name: z.string().max(200).nullish(),
    category: z.string().max(200).nullish(),
    properties: record.optional(),
    traits: record.optional(),
    context: record.optional(),
    timestamp: z.union([z.string().max(50), z.date()]).optional(),
    sentAt: z.union([z.string().max(50), z.date()]).optional(),
  })
  .loose();
type Message = z.infer<typeof message>;

const MAX_SEGMENT_BATCH = 2500;
const batchBody = z
  .object({ batch: z.array(z.unknown()).max(MAX_SEGMENT_BATCH), sentAt: z.string().max(50).optional(), context: record.optional() })
  .loose();
/**
 * What Segment's browser library (`@segment/analytics-next`) loads from `${cdnURL}/v1/projects/<writeKey>/settings`
 * before it sends anything: a Segment.io destination pointed back at this server, no device-mode destinations,
 * no remote plugins or middleware, and no metrics (they would go to Segment).
 */
const projectSettings = z.object({
  integrations: z.object({
    'Segment.io': z.object({
      apiKey: z.string(),
      apiHost: z.string(),
      protocol: z.enum(['http', 'https']),
      unbundledIntegrations: z.array(z.string()),
      addBundledMetadata: z.boolean(),
    }),
  }),
  plan: z.object({ track: z.object({ __default: z.object({ enabled: z.boolean(), integrations: z.object({}) }) }) }),
  edgeFunction: z.object({}),
  analyticsNextEnabled: z.boolean(),
  middlewareSettings: z.object({}),
  enabledMiddleware: z.object({}),
  metrics: z.object({ sampleRate: z.number() }),
  legacyVideoPluginsEnabled: z.boolean(),
  remotePlugins: z.array(z.unknown()),
});

/** `https://loupe.example.com/base` → `{ protocol: 'https', apiHost: 'loupe.example.com/base/v1' }`, Segment's format. */
export function segmentApiHost(baseUrl: string): { protocol: 'http' | 'https'; apiHost: string } {
  const u = new URL(baseUrl);
  return { protocol: u.protocol === 'http:' ? 'http' : 'https', apiHost: `${u.host}${u.pathname.replace(/\/+$/, '')}/v1` };
}

const answer = z.object({
  success: z.literal(true),
  accepted: z.number().int(),
  rejected: z.number().int(),
  errors: z.array(z.object({ index: z.number().int(), message: z.string() })).optional(),
});

function problemOf(kind: SegmentKind, m: Message): string | null {
  if (kind === 'alias') return m.userId != null && m.previousId != null ? null : 'alias needs userId and previousId';
  if (m.userId == null && m.anonymousId == null) return 'needs userId or anonymousId';
  if (kind === 'track' && !m.event) return 'track needs event';
  return null;
}

/** Segment-compatible tracking API (`/v1/*`): the write key is an API key with interactions:write, sent as HTTP basic auth. */
export async function segmentRoutes(app: FastifyInstance, deps: SegmentRouteDeps): Promise<void> {
  await app.register(async (scope) => segmentScope(scope, deps));
}

async function segmentScope(app: FastifyInstance, deps: SegmentRouteDeps): Promise<void> {
  // Browsers send these as text/plain (sendBeacon, Segment's browser library): no CORS preflight.
  registerTextJsonParser(app);
  const r = app.withTypeProvider<ZodTypeProvider>();
  const config = { auth: { kind: 'tenant', permission: 'interactions:write', publishable: true }, rateGroup: 'ingest' } as const;

  async function ingest(ctx: TenantContext, items: { kind: SegmentKind | undefined; raw: unknown }[], batchSentAt: string | undefined) {
    const now = deps.clock();
    const events: PendingEvent[] = [];
    const profiles: ResolveInput[] = [];
    const errors: { index: number; message: string }[] = [];
    items.forEach(({ kind, raw }, index) => {
      const parsed = message.safeParse(raw);
      const k = kind ?? (parsed.success ? parsed.data.type : undefined);
      if (!parsed.success || !k) {
        errors.push({
          index,
          message: parsed.success
            ? 'type is missing'
            : parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; '),
        });
        return;
      }
      const problem = problemOf(k, parsed.data);
      if (problem) {
        errors.push({ index, message: problem });
        return;
      }
      const d = parsed.data;
      const asText = (v: string | Date | undefined) => (v instanceof Date ? v.toISOString() : v);
      const m: SegmentMessage = { ...d, type: k, timestamp: asText(d.timestamp), sentAt: asText(d.sentAt) } as SegmentMessage;
      const out = mapSegmentMessage(m, { now, batchSentAt });
      const bad = out.events.map((e) => deps.ingest.problemOf(e)).find((p) => p !== null);
      if (bad) {
        errors.push({ index, message: `${bad.field}: ${bad.message}` });
        return;
      }
      events.push(...out.events);
      profiles.push(...out.profiles);
    });
    if (profiles.length) await deps.identity.resolveMany(ctx.tenantId, profiles);
    await deps.ingest.write(ctx, events, { source: 'segment' });
    return {
      success: true as const,
      accepted: items.length - errors.length,
      rejected: errors.length,
      ...(errors.length ? { errors: errors.slice(0, 100) } : {}),
    };
  }

  r.get(
    '/v1/projects/:writeKey/settings',
    {
      schema: {
        tags: ['segment'],
        summary: "Settings for Segment's browser library: load it with `cdnURL` set to this server and a publishable key as the write key",
        params: z.object({ writeKey: z.string().max(200) }),
        response: { 200: projectSettings, ...errorResponses },
      },
      // The key in the path is the credential (the auth hook reads it): same checks as the tracking calls.
      config,
    },
    async (request, reply) => {
      const { protocol, apiHost } = segmentApiHost(deps.publicUrl ?? `${request.protocol}://${request.host}`);
      reply.header('cache-control', 'private, max-age=300');
      return {
        integrations: {
          'Segment.io': { apiKey: request.params.writeKey, apiHost, protocol, unbundledIntegrations: [], addBundledMetadata: false },
        },
        plan: { track: { __default: { enabled: true, integrations: {} } } },
        edgeFunction: {},
        analyticsNextEnabled: true,
        middlewareSettings: {},
        enabledMiddleware: {},
        metrics: { sampleRate: 0 },
        legacyVideoPluginsEnabled: false,
        remotePlugins: [],
      };
    },
  );

  // `/v1/b` is where analytics-next's batching delivery strategy posts.
  for (const url of ['/v1/batch', '/v1/b'] as const)
    r.post(
      url,
      {
        schema: {
          tags: ['segment'],
          summary:
            url === '/v1/batch'
              ? 'Segment-compatible batch (what analytics-node and RudderStack send)'
              : 'Segment-compatible batch (the path of analytics-next batching)',
          body: batchBody,
          response: { 200: answer, ...errorResponses, ...overloadResponses },
        },
        config,
      },
      async (request) =>
        ingest(
          tenantContext(request),
          request.body.batch.map((raw) => ({ kind: undefined, raw })),
          request.body.sentAt,
        ),
    );

  // Each call by its name, and by its initial: analytics-next (the browser library) posts to `/v1/t`, `/v1/p` ...
  const calls = ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const;
  for (const [kind, url] of calls.flatMap((k) => [[k, `/v1/${k}`] as const, [k, `/v1/${k[0]}`] as const])) {
    r.post(
      url,
      {
        schema: {
          tags: ['segment'],
          summary: url.length > 5 ? `Segment-compatible ${kind} call` : `Segment-compatible ${kind} call (analytics-next's path)`,
          body: record,
          response: { 200: answer, ...errorResponses, ...overloadResponses },
        },
        config,
      },
      async (request) => {
        const out = await ingest(tenantContext(request), [{ kind, raw: request.body }], undefined);
        if (out.rejected) throw validation('VALIDATION_ERROR', `The ${kind} message is invalid: ${out.errors![0]!.message}.`);
        return out;
      },
    );
  }
}
