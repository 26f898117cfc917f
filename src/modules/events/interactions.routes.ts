import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, tenantContext, validation } from '../../platform/index.ts';
import { checkOccurredAt, fromApiInteraction, type PendingEvent, retentionProblem } from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import * as s from './interactions.schemas.ts';

export interface InteractionsRouteDeps {
  ingest: IngestService;
  clock: () => Date;
  /** Events of one source since a time: the install page's live check. */
  arrivals: (
    tenantId: string,
    source: string,
    since: Date,
  ) => Promise<{ count: number; latest: { type: string; itemId: string | null; occurredAt: Date; receivedAt: Date }[] }>;
}

const idempotencyKey = (r: FastifyRequest): string | undefined => {
  const h = r.headers['idempotency-key'];
  if (h === undefined) return undefined;
  if (typeof h !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(h))
    throw validation('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1 to 200 printable ASCII characters.');
  return h;
};

export async function interactionsRoutes(app: FastifyInstance, deps: InteractionsRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/v1/interactions/arrivals',
    {
      schema: {
        tags: ['interactions'],
        summary: 'Events that arrived from the SDK (or another source) in the last minutes: the "events arriving" check',
        querystring: s.arrivalsQuery,
        response: { 200: s.arrivalsResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const q = request.query;
      const since = new Date(deps.clock().getTime() - q.minutes * 60_000);
      const out = await deps.arrivals(ctx.tenantId, q.source, since);
      return {
        source: q.source,
        since: since.toISOString(),
        count: out.count,
        latest: out.latest.map((e) => ({
          type: e.type,
          item_id: e.itemId,
          occurred_at: new Date(e.occurredAt).toISOString(),
          received_at: new Date(e.receivedAt).toISOString(),
        })),
      };
    },
  );

  r.post(
    '/api/v1/interactions',
    {
      schema: {
        tags: ['events'],
        summary: 'Track one interaction (seed 003 steps 8b, 8d, 8e); idempotent on event_id or Idempotency-Key',
        body: s.interactionBody,
        response: { 200: s.interactionResponse, 201: s.interactionResponse, ...errorResponses, ...s.overloadResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'interactions:write', publishable: true }, rateGroup: 'ingest' },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const now = deps.clock();
      const problem = request.body.timestamp ? checkOccurredAt(new Date(request.body.timestamp), now) : null;
      if (problem)
        throw validation('VALIDATION_ERROR', `The request body is invalid: timestamp.`, [{ field: 'timestamp', message: problem }]);
      const key = idempotencyKey(request);
      const event = fromApiInteraction(request.body, { now, eventId: key });
      const bad = deps.ingest.problemOf(event);
      if (bad) throw validation('VALIDATION_ERROR', `The request body is invalid: ${bad.field}.`, [{ ...bad }]);
      const [out] = await deps.ingest.write(ctx, [event], { source: 'api' });
      // Older than the retention: nothing was stored; said like any other refused field.
      if (out!.expired)
        throw validation('VALIDATION_ERROR', `The request body is invalid: timestamp.`, [
          {
            field: 'timestamp',
            message: retentionProblem(event.row.occurredAt, out!.keptFrom ?? null) ?? 'is older than the retention period',
          },
        ]);
      if (!out!.created) reply.header('idempotent-replayed', 'true');
      // 201 for a new row and for its retries alike: a retried request gets exactly the first answer.
      return reply
        .code(201)
        .send({ status: 'tracked' as const, interaction_id: out!.interactionId, processed_at: out!.receivedAt.toISOString() });
    },
  );

  r.post(
    '/api/v1/interactions/batch',
    {
      schema: {
        tags: ['events'],
        summary: `Track up to ${s.MAX_BATCH_EVENTS} interactions; each event is validated and answered on its own`,
        body: s.batchBody,
        response: { 200: s.batchResponse, ...errorResponses, ...s.overloadResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'interactions:write', publishable: true }, rateGroup: 'ingest' },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const now = deps.clock();
      const results: z.infer<typeof s.batchResultSchema>[] = new Array(request.body.events.length);
      const valid: { index: number; event: PendingEvent }[] = [];
      request.body.events.forEach((raw, index) => {
        const parsed = s.interactionBody.safeParse(raw);
        if (!parsed.success) {
          results[index] = {
            index,
            status: 'rejected',
            errors: parsed.error.issues.slice(0, 10).map((i) => ({
              field: i.path.join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(',') : 'event'),
              message: issueMessage(i),
            })),
          };
          return;
        }
        const problem = parsed.data.timestamp ? checkOccurredAt(new Date(parsed.data.timestamp), now) : null;
        if (problem) {
          results[index] = { index, status: 'rejected', errors: [{ field: 'timestamp', message: problem }] };
          return;
        }
        const event = fromApiInteraction(parsed.data, { now });
        const bad = deps.ingest.problemOf(event);
        if (bad) {
          results[index] = { index, status: 'rejected', errors: [bad] };
          return;
        }
        valid.push({ index, event });
      });
      const outcomes = await deps.ingest.write(
        ctx,
        valid.map((v) => v.event),
        { source: 'api' },
      );
      let accepted = 0;
      let duplicates = 0;
      let expired = 0;
      valid.forEach((v, k) => {
        const o = outcomes[k]!;
        if (o.expired) {
          expired++;
          const message = retentionProblem(v.event.row.occurredAt, o.keptFrom ?? null) ?? 'is older than the retention period';
          results[v.index] = { index: v.index, status: 'rejected', errors: [{ field: 'timestamp', message }] };
          return;
        }
        if (o.created) accepted++;
        else duplicates++;
        results[v.index] = {
          index: v.index,
          status: o.created ? 'tracked' : 'duplicate',
          interaction_id: o.interactionId,
          processed_at: o.receivedAt.toISOString(),
        };
      });
      return { accepted, duplicates, rejected: results.length - valid.length + expired, results };
    },
  );
}

function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `Unknown field${i.keys.length > 1 ? 's' : ''}: ${i.keys.join(', ')}.`;
  return i.message;
}
