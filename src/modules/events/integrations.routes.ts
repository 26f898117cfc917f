import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  AppError,
  type Config,
  errorResponses,
  iso,
  newId,
  paginate,
  paginationQuery,
  randomToken,
  requireStepUp,
  tenantContext,
  validation,
} from '../../platform/index.ts';
import { createHmac } from 'node:crypto';
import { CONNECTOR_TYPES } from './connectors/connector.types.ts';
import { SHOPIFY_TEST_TOPIC, SHOPIFY_TOPICS } from './connectors/shopify.core.ts';
import type { ConnectionRow, DeliveryRow } from './integrations.repository.ts';
import type { IntegrationsService } from './integrations.service.ts';
import { publicUrlView } from './integrations.schemas.ts';
import { normalizePublicUrl, publicUrlWarning } from './public-url.core.ts';

export interface IntegrationsRouteDeps {
  integrations: IntegrationsService;
  config: Config;
  /** The process clock (the step-up window of a secret change is measured on it). */
  clock: () => Date;
  /** The tenant's public base URL setting (tenancy's settings `public_base_url`), when wired. */
  publicUrlSetting?: PublicUrlSetting | undefined;
}

/** Reads and writes a tenant's `public_base_url` setting (kept by tenancy). */
export interface PublicUrlSetting {
  get(tenantId: string): Promise<string | null>;
  set(tenantId: string, url: string | null): Promise<void>;
}

const shopDomain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9.-]{0,250}\.[a-z]{2,}$/, 'must be a host name such as my-store.myshopify.com');

const createBody = z
  .object({
    type: z.enum(CONNECTOR_TYPES),
    name: z.string().trim().min(1).max(200),
    settings: z
      .object({
        shop_domain: shopDomain.optional(),
        account_sid: z
          .string()
          .regex(/^AC[0-9a-fA-F]{32}$/, 'must be a Twilio Account SID (AC...)')
          .optional(),
        store_url: z.string().url().max(500).optional(),
      })
      .strict()
      .optional(),
    /** The signing secret the vendor shows (Shopify app secret, Stripe whsec_..., Twilio auth token); generated when absent (WooCommerce). */
    secret: z.string().min(8).max(500).optional(),
  })
  .strict()
  .refine((b) => b.type !== 'shopify' || b.settings?.shop_domain, {
    message: 'a Shopify connection needs settings.shop_domain',
    path: ['settings', 'shop_domain'],
  });

const connectionResponse = z.object({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  status: z.string(),
  settings: z.record(z.string(), z.unknown()),
  webhook_url: z.string(),
  /** The full secret, in the creation answer only. */
  secret: z.string().optional(),
  /** The secret's last 4 characters, or a note that this server cannot decrypt it (see LOUPE_SECRETS_KEY). */
  secret_masked: z.string(),
  created_at: z.string(),
  last_delivery_at: z.string().nullable(),
});

const deliveryResponse = z.object({
  id: z.string(),
  delivery_id: z.string().nullable(),
  topic: z.string().nullable(),
  status: z.string(),
  reason: z.string().nullable(),
  http_status: z.number(),
  events_written: z.number(),
  received_at: z.string(),
});

const webhookAnswer = z.object({
  status: z.enum(['processed', 'duplicate', 'ignored']),
  delivery_id: z.string().nullable(),
  events_written: z.number(),
});

const mask = (secret: string | null) =>
  secret === null ? 'unreadable: LOUPE_SECRETS_KEY changed; set a new secret' : `${'*'.repeat(8)}${secret.slice(-4)}`;

/** A vendor signing secret as given by a person: printable ASCII without spaces (one rule for PATCH and rotate-secret). */
const signingSecret = z
  .string()
  .min(8)
  .max(500)
  .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces');

const updateBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    /** paused: the webhook URL answers 404 (vendors retry later) until resumed. */
    status: z.enum(['active', 'paused']).optional(),
    /** A new signing secret after rotating it at the vendor. */
    secret: signingSecret.optional(),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.status !== undefined || b.secret !== undefined, {
    message: 'give at least one of name, status, secret',
  });

const idParams = z.object({ id: z.string().max(100) });

/** The base URL of a request received: PUBLIC_URL when configured (proxies change the host), else this request's origin. */
const envBase = (config: Config, r: FastifyRequest) => (config.publicUrl ?? `${r.protocol}://${r.host}`).replace(/\/+$/, '');

/**
 * The base URL vendors call: the tenant's setting, else PUBLIC_URL (proxies change the host), else this
 * request's origin; with where it came from and why a store might not reach it.
 */
async function publicBaseOf(deps: IntegrationsRouteDeps, r: FastifyRequest, tenantId: string) {
  const own = deps.publicUrlSetting ? await deps.publicUrlSetting.get(tenantId) : null;
  const source: 'tenant_setting' | 'environment' | 'request' = own ? 'tenant_setting' : deps.config.publicUrl ? 'environment' : 'request';
  const url = (own ?? deps.config.publicUrl ?? `${r.protocol}://${r.host}`).replace(/\/+$/, '');
  return { url, source, warning: publicUrlWarning(url) };
}

export async function integrationsRoutes(app: FastifyInstance, deps: IntegrationsRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const toConnection = (c: ConnectionRow, base: string, withSecret = false) => ({
    id: c.id,
    type: c.type,
    name: c.name,
    status: c.status,
    settings: c.settings,
    webhook_url: `${base}/api/v1/webhooks/${c.type}/${c.id}`,
    ...(withSecret && c.signingSecret !== null ? { secret: c.signingSecret } : {}),
    secret_masked: mask(c.signingSecret),
    created_at: iso(c.createdAt)!,
    last_delivery_at: iso(c.lastDeliveryAt),
  });
  const toDelivery = (d: DeliveryRow) => ({
    id: d.id,
    delivery_id: d.deliveryId,
    topic: d.topic,
    status: d.status,
    reason: d.reason,
    http_status: Number(d.httpStatus),
    events_written: Number(d.eventsWritten),
    received_at: iso(d.receivedAt)!,
  });
  const svc = deps.integrations;

  r.post(
    '/api/v1/integrations',
    {
      schema: {
        tags: ['integrations'],
        summary: 'Connect a Shopify, WooCommerce, Stripe or Twilio account; the answer carries the webhook URL and, once, the secret',
        body: createBody,
        response: { 201: connectionResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage' },
        audit: { action: 'integration.create', resourceType: 'integration' },
      },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      const settings = Object.fromEntries(Object.entries(b.settings ?? {}).filter(([, v]) => v !== undefined));
      const c = await svc.create(ctx, {
        type: b.type,
        name: b.name,
        settings,
        shopDomain: b.settings?.shop_domain ?? null,
        secret: b.secret,
      });
      request.auditTarget = { resourceId: c.id, details: { type: c.type } };
      return reply.code(201).send(toConnection(c, (await publicBaseOf(deps, request, c.tenantId)).url, true));
    },
  );

  r.get(
    '/api/v1/integrations',
    {
      schema: {
        tags: ['integrations'],
        summary: 'List connections (secrets masked)',
        querystring: z.object(paginationQuery).strict(),
        response: { 200: z.object({ data: z.array(connectionResponse), next_cursor: z.string().nullable() }), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'integrations:manage' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const rows = await svc.list(ctx, request.query.limit + 1, request.query.cursor);
      const page = paginate(rows, request.query.limit, (c) => c.id);
      const base = (await publicBaseOf(deps, request, tenantContext(request).tenantId)).url;
      return { data: page.data.map((c) => toConnection(c, base)), next_cursor: page.next_cursor };
    },
  );

  r.get(
    '/api/v1/integrations/public-url',
    {
      schema: {
        tags: ['integrations'],
        summary:
          'The base URL webhook addresses are built from (tenant setting, else PUBLIC_URL, else this request), and a warning when stores cannot reach it',
        response: { 200: publicUrlView, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'integrations:manage' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const base = await publicBaseOf(deps, request, ctx.tenantId);
      const own = deps.publicUrlSetting ? await deps.publicUrlSetting.get(ctx.tenantId) : null;
      return { ...base, tenant_setting: own, environment: deps.config.publicUrl ?? null };
    },
  );
  r.put(
    '/api/v1/integrations/public-url',
    {
      schema: {
        tags: ['integrations'],
        summary: "Set (or clear with null) this tenant's public base URL, used for the webhook addresses to paste into stores",
        body: z.object({ url: z.string().max(500).nullable() }).strict(),
        response: { 200: publicUrlView, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage' },
        audit: { action: 'integrations.public_url', resourceType: 'tenant' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      if (!deps.publicUrlSetting) throw new AppError('unavailable', 'NOT_AVAILABLE', 'This server keeps no tenant settings.');
      const raw = request.body.url;
      const url = raw === null || raw.trim() === '' ? null : normalizePublicUrl(raw);
      if (raw !== null && raw.trim() !== '' && url === null)
        throw new AppError(
          'validation',
          'PUBLIC_URL_INVALID',
          'Give an http(s) address such as https://loupe.example.com, without a query or credentials.',
          {
            details: [{ field: 'url', message: 'not an http(s) base address' }],
          },
        );
      await deps.publicUrlSetting.set(ctx.tenantId, url);
      const base = await publicBaseOf(deps, request, ctx.tenantId);
      return { ...base, tenant_setting: url, environment: deps.config.publicUrl ?? null };
    },
  );

  r.get(
    '/api/v1/integrations/:id',
    {
      schema: {
        tags: ['integrations'],
        summary: 'One connection (secret masked)',
        params: idParams,
        response: { 200: connectionResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'integrations:manage' } },
    },
    async (request) =>
      toConnection(
        await svc.get(tenantContext(request), request.params.id),
        (await publicBaseOf(deps, request, tenantContext(request).tenantId)).url,
      ),
  );

  r.patch(
    '/api/v1/integrations/:id',
    {
      schema: {
        tags: ['integrations'],
        summary:
          'Rename, pause or resume a connection, or replace its signing secret after a rotation at the vendor (a secret change, like rotate-secret, needs a signed-in user with a recent password check: step-up)',
        params: idParams,
        body: updateBody,
        response: { 200: connectionResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage' },
        audit: { action: 'integration.update', resourceType: 'integration' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const b = request.body;
      // Replacing the secret is the same act as rotate-secret, so it follows the same rule (API keys refused).
      if (b.secret !== undefined) requireStepUp(request, deps.clock());
      const updated = await svc.update(ctx, request.params.id, { name: b.name, status: b.status, secret: b.secret });
      // The audit log names what changed, never the secret.
      request.auditTarget = { resourceId: updated.id, details: { changed: Object.keys(b).sort() } };
      return toConnection(updated, (await publicBaseOf(deps, request, updated.tenantId)).url);
    },
  );

  r.delete(
    '/api/v1/integrations/:id',
    {
      schema: {
        tags: ['integrations'],
        summary: 'Disconnect: its webhook URL stops accepting deliveries (a signed-in user confirms their password: step-up)',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage', usersOnly: true, stepUp: true },
        audit: { action: 'integration.delete', resourceType: 'integration' },
      },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const c = await svc.remove(ctx, request.params.id);
      request.auditTarget = { resourceId: c.id };
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/api/v1/integrations/shopify-topics',
    {
      schema: {
        tags: ['integrations'],
        summary: 'The Shopify webhook topics to subscribe (JSON format), each on the connection’s webhook URL, and what each brings',
        response: {
          200: z.object({ format: z.literal('json'), topics: z.array(z.object({ topic: z.string(), why: z.string() })) }),
          ...errorResponses,
        },
      },
      config: { auth: { kind: 'tenant', permission: 'integrations:manage' } },
    },
    async () => ({ format: 'json' as const, topics: [...SHOPIFY_TOPICS] }),
  );

  r.post(
    '/api/v1/integrations/:id/rotate-secret',
    {
      schema: {
        tags: ['integrations'],
        summary:
          'Replace the signing secret (step-up): the new one from the vendor (Shopify, Stripe, Twilio), or a generated one for WooCommerce; answered once',
        params: idParams,
        body: z.object({ secret: signingSecret.optional() }).strict(),
        response: { 200: connectionResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage', usersOnly: true, stepUp: true },
        audit: { action: 'integration.rotate_secret', resourceType: 'integration' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const c = await svc.get(ctx, request.params.id);
      const given = request.body.secret;
      if (!given && c.type !== 'woocommerce')
        throw validation(
          'SECRET_REQUIRED',
          'Give the new signing secret the vendor shows after its rotation; only WooCommerce secrets are generated here.',
          [{ field: 'secret', message: 'required for this vendor' }],
        );
      const updated = await svc.update(ctx, c.id, { secret: given ?? `whsec_${randomToken(40)}` });
      request.auditTarget = { resourceId: updated.id };
      return toConnection(updated, (await publicBaseOf(deps, request, updated.tenantId)).url, true);
    },
  );

  r.post(
    '/api/v1/integrations/:id/test-event',
    {
      schema: {
        tags: ['integrations'],
        summary:
          'Send a signed sample delivery (topic loupe/test) through the real webhook endpoint of a Shopify connection, and answer what it received; nothing is recorded but the delivery log entry',
        params: idParams,
        response: {
          200: z.object({
            delivered: z.boolean().describe('The endpoint verified the signature and logged the delivery'),
            http_status: z.number(),
            delivery_id: z.string(),
            answer: z.unknown().describe('The webhook endpoint’s answer'),
            delivery: deliveryResponse.nullable().describe('The delivery log entry the endpoint wrote'),
          }),
          ...errorResponses,
        },
      },
      config: {
        auth: { kind: 'tenant', permission: 'integrations:manage' },
        audit: { action: 'integration.test_event', resourceType: 'integration' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const c = await svc.get(ctx, request.params.id);
      if (c.type !== 'shopify') throw validation('TEST_EVENT_UNSUPPORTED', 'Test events are sent for Shopify connections.');
      if (c.signingSecret === null)
        throw new AppError(
          'unavailable',
          'INTEGRATION_SECRET_UNREADABLE',
          'This connection’s secret cannot be decrypted: set a new one first.',
        );
      const deliveryId = `loupe-test-${newId()}`;
      const body = JSON.stringify({ test: true, sent_at: new Date().toISOString(), shop_domain: c.shopDomain });
      const res = await request.server.inject({
        method: 'POST',
        url: `/api/v1/webhooks/shopify/${c.id}`,
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': SHOPIFY_TEST_TOPIC,
          'x-shopify-webhook-id': deliveryId,
          'x-shopify-shop-domain': c.shopDomain ?? '',
          'x-shopify-hmac-sha256': createHmac('sha256', c.signingSecret).update(body).digest('base64'),
        },
        payload: body,
      });
      let answer: unknown = null;
      try {
        answer = res.json();
      } catch {
        answer = null;
      }
      request.auditTarget = { resourceId: c.id, details: { http_status: res.statusCode } };
      const recent = await svc.deliveries(ctx, c.id, 5, undefined);
      const mine = recent.find((d) => d.deliveryId === deliveryId);
      return {
        delivered: res.statusCode === 200 && mine !== undefined,
        http_status: res.statusCode,
        delivery_id: deliveryId,
        answer,
        delivery: mine ? toDelivery(mine) : null,
      };
    },
  );

  r.get(
    '/api/v1/integrations/:id/deliveries',
    {
      schema: {
        tags: ['integrations'],
        summary: 'The delivery log of a connection, newest first: every webhook received with its outcome',
        params: idParams,
        querystring: z.object(paginationQuery).strict(),
        response: { 200: z.object({ data: z.array(deliveryResponse), next_cursor: z.string().nullable() }), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'integrations:manage' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const rows = await svc.deliveries(ctx, request.params.id, request.query.limit + 1, request.query.cursor);
      const page = paginate(rows, request.query.limit, (d) => d.id);
      return { data: page.data.map(toDelivery), next_cursor: page.next_cursor };
    },
  );

  // Webhooks: public (the vendor signature is the credential), verified over the raw bytes. The content type
  // parser below keeps the body as a Buffer in this encapsulated scope only.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    const w = scope.withTypeProvider<ZodTypeProvider>();
    const rawOf = (request: FastifyRequest) => (Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
    const webhookResponses = { 200: z.union([webhookAnswer, z.string()]), ...errorResponses };

    w.post(
      '/api/v1/webhooks/:type/:connectionId',
      {
        schema: {
          tags: ['integrations'],
          summary: 'Vendor webhook endpoint (Shopify, WooCommerce, Stripe, Twilio): signature-verified, deduplicated on the delivery id',
          params: z.object({ type: z.string().max(40), connectionId: z.string().max(100) }),
          response: webhookResponses,
        },
        config: { auth: { kind: 'public' }, rateGroup: 'webhooks' },
      },
      async (request, reply) => {
        const { type, connectionId } = request.params;
        const { connection, answer } = await svc.receiveForConnection(type, connectionId, {
          headers: request.headers,
          rawBody: rawOf(request),
          url: `${envBase(deps.config, request)}${request.url}`,
        });
        if (connection.type === 'twilio') {
          // Twilio reads the answer as TwiML: an empty <Response/> sends no reply message.
          return reply
            .type('text/xml')
            .serializer((p) => String(p))
            .send('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
        }
        return answer;
      },
    );

    // Seed 002's path: the shop is named by X-Shopify-Shop-Domain; the connection whose secret verifies is the one.
    w.post(
      '/api/integrations/shopify',
      {
        schema: {
          tags: ['integrations'],
          summary: 'Shopify webhooks on seed 002’s path; the connection is found by X-Shopify-Shop-Domain',
          response: webhookResponses,
        },
        config: { auth: { kind: 'public' }, rateGroup: 'webhooks' },
      },
      async (request) => {
        const domain = request.headers['x-shopify-shop-domain'];
        return svc.receiveShopify(typeof domain === 'string' ? domain : undefined, {
          headers: request.headers,
          rawBody: rawOf(request),
          url: `${envBase(deps.config, request)}${request.url}`,
        });
      },
    );
  });
}
