import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, registerTextJsonParser, type TenantContext, tenantContext, validation } from '../../platform/index.ts';
import type { IdentityApi, ResolveInput } from '../identity/index.ts';
import { eventProblem, type PendingEvent } from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import { overloadResponses } from './interactions.schemas.ts';
import { mapSegmentMessage, type SegmentKind, type SegmentMessage } from './segment.core.ts';

export interface SegmentRouteDeps {
  ingest: IngestService;
  identity: Pick<IdentityApi, 'resolveMany'>;
  clock: () => Date;
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
      const bad = out.events.map(eventProblem).find((p) => p !== null);
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

  r.post(
    '/v1/batch',
    {
      schema: {
        tags: ['segment'],
        summary: 'Segment-compatible batch (what analytics-node and RudderStack send)',
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

  for (const kind of ['track', 'identify', 'page', 'screen', 'alias', 'group'] as const) {
    r.post(
      `/v1/${kind}`,
      {
        schema: {
          tags: ['segment'],
          summary: `Segment-compatible ${kind} call`,
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
