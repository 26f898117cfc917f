import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, errorBody, errorResponses, notModified, paginate, tenantContext } from '../../platform/index.ts';
import type { FeedFormat } from './feed.core.ts';
import type { AlertsService } from './alerts.service.ts';
import type { FeedsService } from './feeds.service.ts';
import type { PricingService } from './pricing.service.ts';
import type { ProductsService, SerializeProduct } from './products.service.ts';
import type { RefreshService } from './refresh.service.ts';
import type { SourcesService } from './sources.service.ts';
import * as s from './pricing.schemas.ts';
import * as m from './pricing.mappers.ts';

export interface PricingRouteDeps {
  service: PricingService;
  feeds: FeedsService;
  products: ProductsService;
  alerts: AlertsService;
  sources: SourcesService;
  refresh: RefreshService;
}

const idParams = z.object({ id: z.string().min(1).max(255) }).strict();
const read = { auth: { kind: 'tenant', permission: 'catalog:read' } } as const;
const write = (action: string, resourceType: string) =>
  ({ auth: { kind: 'tenant', permission: 'catalog:write' }, audit: { action, resourceType } }) as const;

/** The multipart upload: one file in the field "file", and optionally a "format" field (csv, json, xml). */
async function receiveFeed(request: FastifyRequest) {
  if (!request.isMultipart())
    throw new AppError(
      'unsupported_media_type',
      'PRICING_MULTIPART_REQUIRED',
      'Send the feed as multipart/form-data in a field named "file".',
    );
  let format: FeedFormat | null = null;
  for await (const part of request.parts()) {
    if (part.type === 'field') {
      if (part.fieldname !== 'format' || !['csv', 'json', 'xml'].includes(String(part.value)))
        throw new AppError('validation', 'VALIDATION_ERROR', 'Only a "format" field (csv, json or xml) may come before the file.');
      format = String(part.value) as FeedFormat;
    } else {
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new AppError('validation', 'PRICING_FILE_FIELD', 'Send the feed in the field named "file".');
      }
      return { format, file: { name: part.filename || 'feed', stream: part.file } };
    }
  }
  throw new AppError('validation', 'PRICING_FILE_REQUIRED', 'No file was sent: add the feed in a multipart field named "file".');
}

export async function pricingRoutes(app: FastifyInstance, deps: PricingRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['pricing'];

  r.post(
    '/api/v1/pricing/stores',
    {
      schema: {
        tags,
        summary: 'Add a store (retailer) and its affiliate network',
        body: s.storeCreateBody,
        response: { 201: s.storeSchema, ...errorResponses },
      },
      config: write('pricing.store.create', 'pricing_store'),
    },
    async (request, reply) => {
      const b = request.body;
      const row = await deps.service.createStore(tenantContext(request), {
        name: b.name,
        network: b.network,
        networkMerchantId: b.network_merchant_id,
        terms: b.terms,
      });
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(m.toStore(row));
    },
  );
  r.get(
    '/api/v1/pricing/stores',
    {
      schema: {
        tags,
        summary: 'List stores with their offer counts and last import',
        response: { 200: s.storeListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => ({ data: (await deps.service.listStores(tenantContext(request))).map(m.toStore) }),
  );
  r.get(
    '/api/v1/pricing/stores/:id',
    { schema: { tags, summary: 'One store', params: idParams, response: { 200: s.storeSchema, ...errorResponses } }, config: read },
    async (request) => m.toStore(await deps.service.getStore(tenantContext(request), request.params.id)),
  );
  r.post(
    '/api/v1/pricing/stores/:id/feeds',
    {
      schema: {
        tags,
        summary: "Upload a store's product feed (CSV, JSON or Google-format XML); imported by a job",
        consumes: ['multipart/form-data'],
        params: idParams,
        querystring: s.feedUploadQuery,
        response: { 202: s.feedUploadResponse, ...errorResponses, 413: errorBody, 415: errorBody },
      },
      config: { ...write('pricing.feed.upload', 'pricing_store'), rateGroup: 'ingest' },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      request.auditTarget = { resourceId: request.params.id };
      const { format, file } = await receiveFeed(request);
      const out = await deps.feeds.upload(ctx, request.params.id, file, format, request.query.mode);
      return reply.code(202).send({ run_id: out.runId, job_id: out.jobId, status_url: `/api/v1/pricing/feed-runs/${out.runId}` });
    },
  );
  r.get(
    '/api/v1/pricing/feed-runs/:id',
    {
      schema: {
        tags,
        summary: 'A feed import: status, counts and row-level errors',
        params: idParams,
        response: { 200: s.feedRunSchema, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const ctx = tenantContext(request);
      return m.toFeedRun(await deps.feeds.getRun(ctx, request.params.id));
    },
  );
  r.get(
    '/api/v1/pricing/offers',
    {
      schema: {
        tags,
        summary: 'Search offers (title, external id or GTIN), by store or group',
        querystring: s.offerListQuery,
        response: { 200: s.offerListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.service.listOffers(tenantContext(request), {
        search: q.q,
        storeId: q.store_id,
        groupId: q.group_id,
        after: q.cursor,
        limit: q.limit + 1,
      });
      const page = paginate(rows, q.limit, (o) => o.id);
      return { data: page.data.map(m.toOffer), next_cursor: page.next_cursor };
    },
  );
  r.get(
    '/api/v1/pricing/groups',
    {
      schema: {
        tags,
        summary: 'Search match groups (name or GTIN)',
        querystring: s.groupListQuery,
        response: { 200: s.groupListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.service.listGroups(tenantContext(request), { search: q.q, after: q.cursor, limit: q.limit + 1 });
      const page = paginate(rows, q.limit, (g) => g.id);
      return { data: page.data.map(m.toGroup), next_cursor: page.next_cursor };
    },
  );
  r.get(
    '/api/v1/pricing/groups/:id',
    { schema: { tags, summary: 'One match group', params: idParams, response: { 200: s.groupSchema, ...errorResponses } }, config: read },
    async (request) => m.toGroup(await deps.service.getGroup(tenantContext(request), request.params.id)),
  );

  const decision = z.object({ log_id: z.string(), moved_offer_ids: z.array(z.string()), group_id: z.string() });
  r.post(
    '/api/v1/pricing/groups/:id/merge',
    {
      schema: {
        tags,
        summary: "Merge another group's offers into this one (operator; logged, revertible)",
        params: idParams,
        body: z.object({ from_group_id: z.string().min(1).max(100) }).strict(),
        response: { 200: decision, ...errorResponses },
      },
      config: write('pricing.group.merge', 'pricing_group'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const out = await deps.service.merge(tenantContext(request), request.params.id, request.body.from_group_id);
      return { log_id: out.logId, moved_offer_ids: out.moved, group_id: request.params.id };
    },
  );
  r.post(
    '/api/v1/pricing/groups/:id/split',
    {
      schema: {
        tags,
        summary: 'Split offers out of this group into a new group (operator; logged, revertible)',
        params: idParams,
        body: z.object({ offer_ids: z.array(z.string().max(100)).min(1).max(500) }).strict(),
        response: { 200: decision, ...errorResponses },
      },
      config: write('pricing.group.split', 'pricing_group'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const out = await deps.service.split(tenantContext(request), request.params.id, [...new Set(request.body.offer_ids)]);
      return { log_id: out.logId, moved_offer_ids: out.moved, group_id: out.newGroupId };
    },
  );
  r.put(
    '/api/v1/pricing/groups/:id/pin',
    {
      schema: {
        tags,
        summary: 'Pin or unpin a group (operator; logged): the learned matcher never moves offers into a pinned group unasked',
        params: idParams,
        body: z.object({ pinned: z.boolean() }).strict(),
        response: { 200: s.groupSchema, ...errorResponses },
      },
      config: write('pricing.group.pin', 'pricing_group'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      return m.toGroup(await deps.service.pin(tenantContext(request), request.params.id, request.body.pinned));
    },
  );
  r.post(
    '/api/v1/pricing/match-log/:id/revert',
    {
      schema: {
        tags,
        summary: 'Revert an operator merge or split',
        params: idParams,
        response: { 200: z.object({ moved_offer_ids: z.array(z.string()) }), ...errorResponses },
      },
      config: write('pricing.match.revert', 'pricing_match_log'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const out = await deps.service.revert(tenantContext(request), request.params.id);
      return { moved_offer_ids: out.moved };
    },
  );

  // ---- the review queue ----
  r.get(
    '/api/v1/pricing/reviews',
    {
      schema: {
        tags,
        summary: 'Pairs the learned matcher was unsure of (pending by default), with both offers',
        querystring: s.reviewListQuery,
        response: { 200: s.reviewListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.service.listReviews(tenantContext(request), { status: q.status, after: q.cursor, limit: q.limit + 1 });
      const page = paginate(rows, q.limit, (x) => x.id);
      return { data: page.data.map(m.toReview), next_cursor: page.next_cursor };
    },
  );
  for (const [verb, decision] of [
    ['accept', 'accepted'],
    ['reject', 'rejected'],
  ] as const) {
    r.post(
      `/api/v1/pricing/reviews/:id/${verb}`,
      {
        schema: {
          tags,
          summary:
            verb === 'accept'
              ? 'Accept a queued pair: the offer joins the candidate group (logged, revertible)'
              : 'Reject a queued pair: the offer stays where it is',
          params: idParams,
          response: { 200: s.reviewDecisionResponse, ...errorResponses },
        },
        config: write(`pricing.review.${verb}`, 'pricing_match_review'),
      },
      async (request) => {
        request.auditTarget = { resourceId: request.params.id };
        const out = await deps.service.decideReview(tenantContext(request), request.params.id, decision);
        return { review: m.toReview(out.review), moved_offer_ids: out.moved, log_id: out.logId };
      },
    );
  }

  // ---- price alerts ----
  r.post(
    '/api/v1/pricing/alerts',
    {
      schema: {
        tags,
        summary: "Watch a product's best price for a shopper: target price, any drop, percent drop, lowest in N days, back in stock",
        body: s.alertCreateBody,
        response: { 201: s.alertSchema, ...errorResponses },
      },
      config: write('pricing.alert.create', 'pricing_price_alert'),
    },
    async (request, reply) => {
      const b = request.body;
      const row = await deps.alerts.create(tenantContext(request), {
        userId: b.user_id,
        productId: b.product_id,
        kind: b.kind,
        targetPrice: b.target_price,
        dropPercent: b.drop_percent,
        windowDays: b.days,
        currency: b.currency,
      });
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(m.toAlert(row));
    },
  );
  r.get(
    '/api/v1/pricing/alerts',
    {
      schema: {
        tags,
        summary: "Price alerts (a shopper's with user_id)",
        querystring: s.alertListQuery,
        response: { 200: s.alertListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.alerts.list(tenantContext(request), { userId: q.user_id, after: q.cursor, limit: q.limit + 1 });
      const page = paginate(rows, q.limit, (x) => x.id);
      return { data: page.data.map(m.toAlert), next_cursor: page.next_cursor };
    },
  );
  r.delete(
    '/api/v1/pricing/alerts/:id',
    {
      schema: { tags, summary: 'Stop watching (the history stays)', params: idParams, response: { 204: z.null(), ...errorResponses } },
      config: write('pricing.alert.delete', 'pricing_price_alert'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      await deps.alerts.remove(tenantContext(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  r.get(
    '/api/v1/pricing/alert-events',
    {
      schema: {
        tags,
        summary: 'The history of fired price alerts, newest first',
        querystring: s.alertEventsQuery,
        response: { 200: s.alertEventsResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const rows = await deps.alerts.events(tenantContext(request), { userId: q.user_id, alertId: q.alert_id, limit: q.limit });
      return { data: rows.map(m.toAlertEvent) };
    },
  );

  // ---- seed 000 ----
  // ---- settings (stale-price refresh on open) ----
  const settingsView = (v: { freshnessMinutes: number; refreshesPerHour: number }) => ({
    freshness_minutes: v.freshnessMinutes,
    refreshes_per_hour: v.refreshesPerHour,
  });
  r.get(
    '/api/v1/pricing/settings',
    {
      schema: {
        tags,
        summary: "The tenant's pricing settings: price freshness and the hourly budget of stale-price refreshes",
        response: { 200: s.pricingSettingsSchema, ...errorResponses },
      },
      config: read,
    },
    async (request) => settingsView(await deps.refresh.settings(tenantContext(request))),
  );
  r.put(
    '/api/v1/pricing/settings',
    {
      schema: {
        tags,
        summary: "Change the tenant's pricing settings (the fields given; the others keep their value)",
        body: s.pricingSettingsBody,
        response: { 200: s.pricingSettingsSchema, ...errorResponses },
      },
      config: write('pricing.settings.update', 'pricing_settings'),
    },
    async (request) => {
      const b = request.body;
      return settingsView(
        await deps.refresh.updateSettings(tenantContext(request), {
          ...(b.freshness_minutes !== undefined ? { freshnessMinutes: b.freshness_minutes } : {}),
          ...(b.refreshes_per_hour !== undefined ? { refreshesPerHour: b.refreshes_per_hour } : {}),
        }),
      );
    },
  );

  // ---- affiliate network connections ----
  r.put(
    '/api/v1/pricing/stores/:id/network',
    {
      schema: {
        tags,
        summary:
          'Connect a store to Rakuten Advertising, CJ or a feed URL (credentials and URLs sealed at rest, never answered) and schedule its imports',
        params: idParams,
        body: s.sourceConnectBody,
        response: { 200: s.sourceSchema, ...errorResponses },
      },
      config: write('pricing.network.connect', 'pricing_store'),
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const b = request.body;
      const row = await deps.sources.connect(
        tenantContext(request),
        request.params.id,
        b.network === 'rakuten'
          ? {
              network: 'rakuten',
              clientId: b.client_id,
              clientSecret: b.client_secret,
              sid: b.sid,
              mid: b.mid,
              keyword: b.keyword,
              schedule: b.schedule,
              priceSchedule: b.price_schedule,
            }
          : b.network === 'feed'
            ? { network: 'feed', url: b.url, format: b.format, schedule: b.schedule, priceSchedule: b.price_schedule }
            : {
                network: 'cj',
                token: b.token,
                companyId: b.company_id,
                partnerIds: [...new Set(b.partner_ids)],
                schedule: b.schedule,
                priceSchedule: b.price_schedule,
              },
      );
      return m.toSource(row);
    },
  );
  r.get(
    '/api/v1/pricing/sources',
    {
      schema: {
        tags,
        summary: 'Network connections with their schedule and last run',
        response: { 200: s.sourceListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => ({ data: (await deps.sources.list(tenantContext(request))).map(m.toSource) }),
  );
  r.get(
    '/api/v1/pricing/sources/:id',
    {
      schema: { tags, summary: 'One network connection', params: idParams, response: { 200: s.sourceSchema, ...errorResponses } },
      config: read,
    },
    async (request) => m.toSource(await deps.sources.get(tenantContext(request), request.params.id)),
  );
  r.post(
    '/api/v1/pricing/sources/:id/runs',
    {
      schema: {
        tags,
        summary:
          "Import a network connection's products now, or with ?mode=prices only their prices (a job; 409 while the store's import runs)",
        params: idParams,
        querystring: s.feedUploadQuery,
        response: { 202: s.sourceRunResponse, ...errorResponses },
      },
      config: write('pricing.network.run', 'pricing_network_source'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      const out = await deps.sources.runNow(tenantContext(request), request.params.id, request.query.mode);
      return reply.code(202).send({ run_id: out.runId, job_id: out.jobId, status_url: `/api/v1/pricing/feed-runs/${out.runId}` });
    },
  );
  r.delete(
    '/api/v1/pricing/sources/:id',
    {
      schema: {
        tags,
        summary: 'Disconnect (the offers and their history stay)',
        params: idParams,
        response: { 204: z.null(), ...errorResponses },
      },
      config: write('pricing.network.disconnect', 'pricing_network_source'),
    },
    async (request, reply) => {
      request.auditTarget = { resourceId: request.params.id };
      await deps.sources.remove(tenantContext(request), request.params.id);
      return reply.code(204).send(null);
    },
  );
  // The product page is a store page's read (the reference storefront shows the best offer): site keys may call it.
  const shopRead = { auth: { kind: 'tenant', permission: 'catalog:read', publishable: true } } as const;
  r.get(
    '/api/v1/products/:id',
    {
      schema: {
        tags,
        summary:
          'A product (match group or catalog item) with its best offer, savings, other offers and price range (seed 000); ETag / If-None-Match',
        params: idParams,
        response: {
          200: s.productResponse,
          304: z.null().describe('Not modified: the page still has the ETag sent in If-None-Match'),
          ...errorResponses,
        },
      },
      config: shopRead,
    },
    async (request, reply) => {
      // The page's JSON is made by this route's own serializer, once per kept page (products.service.ts `page`).
      const serialize = reply.getSerializationFunction('200') as SerializeProduct;
      const page = await deps.products.page(tenantContext(request), request.params.id, serialize);
      // Prices change at any moment and the page depends on the caller's tenant: private, revalidated on every use.
      reply.header('etag', page.etag).header('cache-control', 'private, no-cache');
      if (notModified(request.headers['if-none-match'], page.etag)) return reply.code(304).send(null);
      // Already JSON: sent as is.
      return reply
        .type('application/json; charset=utf-8')
        .serializer((x: unknown) => x as string)
        .send(page.json as unknown as z.infer<typeof s.productResponse>);
    },
  );
  r.get(
    '/api/v1/products/:id/price-history',
    {
      schema: {
        tags,
        summary: "A product's price history per store and its best price, downsampled for charts (seed 000)",
        params: idParams,
        querystring: s.priceHistoryQuery,
        response: { 200: s.priceHistoryResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => deps.products.history(tenantContext(request), request.params.id, request.query.days, request.query.points),
  );
}
