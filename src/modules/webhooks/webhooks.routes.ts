import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, paginate, tenantContext } from '../../platform/index.ts';
import { EVENT_TYPES } from './webhooks.core.ts';
import type { AttemptRow, DeliveryRow, EndpointRow } from './webhooks.repository.ts';
import * as s from './webhooks.schemas.ts';
import type { WebhooksService } from './webhooks.service.ts';

const idParams = z.object({ id: z.string().min(1).max(255) }).strict();
const manage = { auth: { kind: 'tenant', permission: 'integrations:manage' } } as const;
const write = (action: string, resourceType: string) =>
  ({ auth: { kind: 'tenant', permission: 'integrations:manage' }, audit: { action, resourceType } }) as const;

const toEndpoint = (e: EndpointRow) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  event_types: e.eventTypes,
  enabled: e.enabled,
  disabled_reason: e.disabledReason,
  previous_secret_expires_at: iso(e.previousSecretExpiresAt),
  failing_since: iso(e.failingSince),
  created_at: iso(e.createdAt)!,
  updated_at: iso(e.updatedAt)!,
});
const toDelivery = (d: DeliveryRow) => ({
  id: d.id,
  message_id: d.messageId,
  endpoint_id: d.endpointId,
  type: d.type,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: iso(d.nextAttemptAt),
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  last_latency_ms: d.lastLatencyMs,
  created_at: iso(d.createdAt)!,
  completed_at: iso(d.completedAt),
});
const toAttempt = (a: AttemptRow) => ({
  attempt: a.attempt,
  ok: a.ok,
  status_code: a.statusCode,
  latency_ms: a.latencyMs,
  error: a.error,
  response_body: a.responseBody,
  attempted_at: iso(a.attemptedAt)!,
});

export async function webhooksRoutes(app: FastifyInstance, service: WebhooksService): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['webhooks'];

  r.get(
    '/api/v1/webhooks/event-types',
    {
      schema: { tags, summary: 'Event types Loupe sends to webhook endpoints', response: { 200: s.eventTypesResponse, ...errorResponses } },
      config: manage,
    },
    async () => ({ data: EVENT_TYPES.map((e) => ({ type: e.type, description: e.description })) }),
  );

  r.post(
    '/api/v1/webhooks/endpoints',
    {
      schema: {
        tags,
        summary: 'Add an endpoint: Loupe POSTs the subscribed events there, signed (Standard Webhooks). The secret is shown once.',
        body: s.endpointCreateBody,
        response: { 201: s.endpointWithSecretSchema, ...errorResponses },
      },
      config: write('webhooks.endpoint.create', 'webhook_endpoint'),
    },
    async (request, reply) => {
      const b = request.body;
      const row = await service.createEndpoint(tenantContext(request), {
        url: b.url,
        description: b.description,
        eventTypes: b.event_types,
      });
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send({ ...toEndpoint(row), secret: row.secret });
    },
  );
  r.get(
    '/api/v1/webhooks/endpoints',
    {
      schema: { tags, summary: "The tenant's webhook endpoints", response: { 200: s.endpointListResponse, ...errorResponses } },
      config: manage,
    },
    async (request) => ({ data: (await service.listEndpoints(tenantContext(request))).map(toEndpoint) }),
  );
  r.get(
    '/api/v1/webhooks/endpoints/:id',
    {
      schema: { tags, summary: 'One webhook endpoint', params: idParams, response: { 200: s.endpointSchema, ...errorResponses } },
      config: manage,
    },
    async (request) => toEndpoint(await service.endpoint(tenantContext(request), request.params.id)),
  );
  r.patch(
    '/api/v1/webhooks/endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Change the URL, event types or description; enable or disable (enabling clears an automatic disable)',
        params: idParams,
        body: s.endpointUpdateBody,
        response: { 200: s.endpointSchema, ...errorResponses },
      },
      config: write('webhooks.endpoint.update', 'webhook_endpoint'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const b = request.body;
      return toEndpoint(
        await service.updateEndpoint(tenantContext(request), request.params.id, {
          url: b.url,
          description: b.description,
          eventTypes: b.event_types,
          enabled: b.enabled,
        }),
      );
    },
  );
  r.delete(
    '/api/v1/webhooks/endpoints/:id',
    {
      schema: {
        tags,
        summary: 'Delete an endpoint with its deliveries and their log',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
      config: write('webhooks.endpoint.delete', 'webhook_endpoint'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      await service.deleteEndpoint(tenantContext(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  r.post(
    '/api/v1/webhooks/endpoints/:id/rotate-secret',
    {
      schema: {
        tags,
        summary:
          'A new signing secret (shown once; step-up: a signed-in user with a recent password check); the old one also signs during the grace period',
        params: idParams,
        body: s.rotateSecretBody,
        response: { 200: s.endpointWithSecretSchema, ...errorResponses },
      },
      // The signing secret is what receivers trust: like an integration's rotate-secret, for a signed-in user with a
      // recent password check only (an API key, whatever its scopes, is refused).
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage', usersOnly: true, stepUp: true },
        audit: { action: 'webhooks.endpoint.rotate_secret', resourceType: 'webhook_endpoint' },
      },
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const row = await service.rotateSecret(tenantContext(request), request.params.id, request.body.grace_hours * 3600);
      return { ...toEndpoint(row), secret: row.secret };
    },
  );
  r.post(
    '/api/v1/webhooks/endpoints/:id/test',
    {
      schema: {
        tags,
        summary: 'Send a webhook.test event to this endpoint',
        params: idParams,
        response: { 202: s.deliverySchema, ...errorResponses },
      },
      config: write('webhooks.endpoint.test', 'webhook_endpoint'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      const d = await service.sendTest(tenantContext(request), request.params.id);
      return reply.code(202).send(toDelivery(d!));
    },
  );

  r.get(
    '/api/v1/webhooks/deliveries',
    {
      schema: {
        tags,
        summary: 'Deliveries by endpoint, status and event type, with a total: newest first by cursor, or sorted offset pages',
        querystring: s.deliveryListQuery,
        response: { 200: s.deliveryListResponse, ...errorResponses },
      },
      config: manage,
    },
    async (request) => {
      const q = request.query;
      const ctx = tenantContext(request);
      const filter = { endpointId: q.endpoint_id, status: q.status, type: q.type };
      const [rows, total] = await Promise.all([
        service.listDeliveries(ctx, { ...filter, cursor: q.cursor, sort: q.sort, offset: q.offset, limit: q.limit + 1 }),
        service.countDeliveries(ctx, filter),
      ]);
      const page = paginate(rows, q.limit, (x) => x.id);
      // Offset pages (a sorted table) move by offset; the cursor is for newest-first keyset paging only.
      const keyset = !q.sort && q.offset === undefined;
      return { data: page.data.map(toDelivery), next_cursor: keyset ? page.next_cursor : null, total };
    },
  );
  r.get(
    '/api/v1/webhooks/deliveries/:id',
    {
      schema: {
        tags,
        summary: 'A delivery and the log of its attempts',
        params: idParams,
        response: { 200: s.deliveryDetailSchema, ...errorResponses },
      },
      config: manage,
    },
    async (request) => {
      const d = await service.delivery(tenantContext(request), request.params.id);
      return { ...toDelivery(d), log: d.log.map(toAttempt) };
    },
  );
  r.post(
    '/api/v1/webhooks/deliveries/:id/redeliver',
    {
      schema: {
        tags,
        summary: 'Send a finished delivery again (same webhook-id); a pending one is left as it is',
        params: idParams,
        response: { 202: s.deliverySchema, ...errorResponses },
      },
      config: write('webhooks.delivery.redeliver', 'webhook_delivery'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      return reply.code(202).send(toDelivery(await service.redeliver(tenantContext(request), request.params.id)));
    },
  );
  r.get(
    '/api/v1/webhooks/stats',
    {
      schema: {
        tags,
        summary: 'Attempts per UTC day: success rate, mean and 95th-percentile latency',
        querystring: s.statsQuery,
        response: { 200: s.statsResponse, ...errorResponses },
      },
      config: manage,
    },
    async (request) => {
      const rows = await service.stats(tenantContext(request), request.query.days, request.query.endpoint_id);
      return {
        data: rows.map((x) => ({
          day: x.day,
          attempts: x.attempts,
          succeeded: x.succeeded,
          success_rate: x.attempts ? x.succeeded / x.attempts : null,
          avg_latency_ms: x.avgLatencyMs === null ? null : Math.round(x.avgLatencyMs),
          p95_latency_ms: x.p95LatencyMs === null ? null : Math.round(x.p95LatencyMs),
        })),
      };
    },
  );
}
