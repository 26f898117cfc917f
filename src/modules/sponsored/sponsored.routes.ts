import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, formatMoney, iso, isUuid, paginate, tenantContext, validation } from '../../platform/index.ts';
import * as s from './sponsored.schemas.ts';
import type { CampaignRow, ClickRow, ConversionRow, ImpressionRow } from './sponsored.repository.ts';
import { type EventResult, type SponsoredService, scopeOf } from './sponsored.service.ts';

/** Milli units (1/1000 of a minor unit) as exact decimal text, rounded half to even to the currency's minor unit. */
export function formatMilli(milli: bigint, currency: string): string {
  const q = milli / 1000n;
  const r = milli % 1000n;
  const rounded = r > 500n || (r === 500n && q % 2n === 1n) ? q + 1n : q;
  return formatMoney(rounded, currency);
}

const splitList = (v: string | undefined) =>
  v
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function toCampaignResponse(c: CampaignRow, now: Date): s.CampaignResponse {
  return {
    id: c.id,
    brand_id: c.brandId,
    name: c.name,
    creative: c.creative,
    promoted_item_ids: c.promotedItemIds,
    currency: c.currency,
    budget_amount: formatMoney(c.budgetMinor, c.currency),
    budget_type: c.budgetType,
    start_date: iso(c.startDate)!,
    end_date: iso(c.endDate),
    status: c.status,
    status_reason: c.statusReason,
    priority_score: c.priorityScore,
    pricing_model: c.pricingModel,
    bid_amount: formatMoney(c.bidMinor, c.currency),
    targeting: c.targeting as Record<string, unknown>,
    frequency_caps: c.frequencyCaps.map((f) => ({ impressions: f.impressions, window_seconds: f.windowSeconds })),
    pacing: c.pacing,
    click_window_seconds: c.clickWindowSeconds,
    view_window_seconds: c.viewWindowSeconds,
    spend: formatMilli(c.spentMilli, c.currency),
    budget_remaining: formatMilli(scopeOf(c, now).remainingMilli, c.currency),
    created_at: iso(c.createdAt)!,
    updated_at: iso(c.updatedAt)!,
  };
}

/** The campaign as a full create body (the base a partial PUT is merged onto). */
function asBody(c: CampaignRow): s.CampaignCreateBody {
  return {
    brand_id: c.brandId,
    name: c.name,
    creative: c.creative as s.CampaignCreateBody['creative'],
    promoted_item_ids: c.promotedItemIds,
    currency: c.currency,
    budget_amount: formatMoney(c.budgetMinor, c.currency),
    budget_type: c.budgetType,
    start_date: c.startDate.toISOString(),
    end_date: c.endDate ? c.endDate.toISOString() : null,
    priority_score: c.priorityScore,
    pricing_model: c.pricingModel,
    bid_amount: formatMoney(c.bidMinor, c.currency),
    targeting: c.targeting as s.CampaignCreateBody['targeting'],
    frequency_caps: c.frequencyCaps.map((f) => ({ impressions: f.impressions, window_seconds: f.windowSeconds })),
    pacing: c.pacing,
    click_window_seconds: c.clickWindowSeconds,
    view_window_seconds: c.viewWindowSeconds,
  };
}

const outcomeOf = <T>(r: EventResult<T>) => ({ duplicate: r.duplicate, outcome: r.outcome, charged: r.charged });

export interface SponsoredRouteDeps {
  service: SponsoredService;
  clock: () => Date;
}

export async function sponsoredRoutes(app: FastifyInstance, deps: SponsoredRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { service, clock } = deps;
  const manage = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'sponsored:manage' }, audit: { action, resourceType: 'sponsored_campaign' } }) as const;
  const read = { auth: { kind: 'tenant', permission: 'analytics:read' } } as const;
  const serve = { auth: { kind: 'tenant', permission: 'recommendations:read' }, rateGroup: 'serving' } as const;
  const ingest = { auth: { kind: 'tenant', permission: 'interactions:write' }, rateGroup: 'ingest' } as const;
  const tags = ['sponsored'];
  const P = '/api/v1/sponsored';

  r.post(
    `${P}/campaigns`,
    {
      schema: {
        tags,
        summary: 'Create a campaign (starts pending review)',
        body: s.campaignCreateBody,
        response: { 201: s.campaignResponse, ...errorResponses },
      },
      config: manage('sponsored.campaign.create'),
    },
    async (request, reply) => {
      const row = await service.create(tenantContext(request), request.body);
      request.auditTarget = { resourceId: row.id };
      return reply.code(201).send(toCampaignResponse(row, clock()));
    },
  );
  r.get(
    `${P}/campaigns`,
    {
      schema: {
        tags,
        summary: 'List campaigns (newest first; filter by status or brand)',
        querystring: s.campaignListQuery,
        response: { 200: s.campaignListResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      if (q.cursor !== undefined && !isUuid(q.cursor))
        throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
      const rows = await service.list(tenantContext(request), {
        status: q.status,
        brandId: q.brand_id,
        after: q.cursor,
        limit: q.limit + 1,
      });
      const page = paginate(rows, q.limit, (c) => c.id);
      const now = clock();
      return { data: page.data.map((c) => toCampaignResponse(c, now)), next_cursor: page.next_cursor };
    },
  );
  r.get(
    `${P}/campaigns/:id`,
    {
      schema: { tags, summary: 'Get a campaign', params: s.campaignIdParams, response: { 200: s.campaignResponse, ...errorResponses } },
      config: read,
    },
    async (request) => toCampaignResponse(await service.get(tenantContext(request), request.params.id), clock()),
  );
  r.put(
    `${P}/campaigns/:id`,
    {
      schema: {
        tags,
        summary: 'Update a campaign (given fields only; new creative or targeting goes back to review)',
        params: s.campaignIdParams,
        body: s.campaignUpdateBody,
        response: { 200: s.campaignResponse, ...errorResponses },
      },
      config: manage('sponsored.campaign.update'),
    },
    async (request) => {
      const ctx = tenantContext(request);
      const current = await service.get(ctx, request.params.id);
      request.auditTarget = { resourceId: current.id };
      return toCampaignResponse(await service.update(ctx, current.id, request.body, asBody(current)), clock());
    },
  );
  const action = (name: 'approve' | 'activate' | 'pause', summary: string) =>
    r.post(
      `${P}/campaigns/:id/${name}`,
      {
        schema: { tags, summary, params: s.campaignIdParams, response: { 200: s.campaignResponse, ...errorResponses } },
        config: manage(`sponsored.campaign.${name}`),
      },
      async (request) => {
        const row = await service[name](tenantContext(request), request.params.id);
        request.auditTarget = { resourceId: row.id };
        return toCampaignResponse(row, clock());
      },
    );
  action('approve', 'Approve a campaign under review');
  action('activate', 'Activate an approved or paused campaign');
  action('pause', 'Pause an active campaign');
  r.post(
    `${P}/campaigns/:id/reject`,
    {
      schema: {
        tags,
        summary: 'Reject a campaign, with a reason',
        params: s.campaignIdParams,
        body: s.rejectBody,
        response: { 200: s.campaignResponse, ...errorResponses },
      },
      config: manage('sponsored.campaign.reject'),
    },
    async (request) => {
      const row = await service.reject(tenantContext(request), request.params.id, request.body.reason);
      request.auditTarget = { resourceId: row.id, details: { reason: request.body.reason } };
      return toCampaignResponse(row, clock());
    },
  );
  r.get(
    `${P}/campaigns/:id/performance`,
    {
      schema: {
        tags,
        summary: 'Campaign performance: impressions, clicks, CTR, spend, budget remaining and pace, conversions, revenue, ROAS, per day',
        params: s.campaignIdParams,
        querystring: s.performanceQuery,
        response: { 200: s.performanceResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const p = await service.performance(tenantContext(request), request.params.id, request.query.days);
      const cur = p.campaign.currency;
      const ctr = p.perf.impressions === 0 ? 0 : p.perf.clicks / p.perf.impressions;
      const out: s.PerformanceResponse = {
        campaign_id: p.campaign.id,
        currency: cur,
        impressions: p.perf.impressions,
        clicks: p.perf.clicks,
        invalid_clicks: p.perf.invalidClicks,
        ctr,
        spend: formatMilli(p.perf.spendMilli, cur),
        budget_amount: formatMoney(p.campaign.budgetMinor, cur),
        budget_type: p.campaign.budgetType,
        budget_remaining: formatMilli(p.remainingMilli, cur),
        pace: { mode: p.campaign.pacing, planned_to_now: formatMilli(p.plannedMilli, cur), committed: formatMilli(p.committedMilli, cur) },
        conversions: p.perf.conversions,
        revenue: formatMoney(p.perf.revenueMinor, cur),
        roas: p.perf.spendMilli === 0n ? null : Number((p.perf.revenueMinor * 1_000_000n) / p.perf.spendMilli) / 1000,
        daily: p.daily.map((d) => ({
          day: d.day,
          impressions: d.impressions,
          clicks: d.clicks,
          spend: formatMilli(d.spendMilli, cur),
          conversions: d.conversions,
          revenue: formatMoney(d.revenueMinor, cur),
        })),
      };
      return out;
    },
  );
  r.get(
    `${P}/statements`,
    {
      schema: {
        tags,
        summary: "A brand's monthly statement: charges per campaign and kind",
        querystring: s.statementQuery,
        response: { 200: s.statementResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const lines = await service.statement(tenantContext(request), request.query.brand_id, request.query.month);
      return {
        brand_id: request.query.brand_id,
        month: request.query.month,
        lines: lines.map((l) => ({
          campaign_id: l.campaignId,
          name: l.name,
          currency: l.currency,
          kind: l.kind,
          events: l.events,
          amount: formatMilli(l.amountMilli, l.currency),
        })),
      };
    },
  );

  r.get(
    `${P}/eligible`,
    {
      schema: {
        tags,
        summary: 'Winning campaigns for a placement and a user (second-price auction; budget reserved for each winner)',
        querystring: s.eligibleQuery,
        response: { 200: s.eligibleResponse, ...errorResponses },
      },
      config: serve,
    },
    async (request) => {
      const q = request.query;
      const { decisions } = await service.decide(tenantContext(request), {
        placement: q.placement,
        userId: q.user_id,
        slots: q.slots,
        device: q.device,
        country: q.country?.toUpperCase(),
        categories: splitList(q.categories),
        segments: splitList(q.segments),
        styles: splitList(q.styles),
      });
      return { placement: q.placement, user_id: q.user_id, campaigns: decisions.map(toEligible) };
    },
  );
  r.post(
    `${P}/impressions`,
    {
      schema: {
        tags,
        summary: 'Record an impression (idempotent by event id; CPM charged here)',
        body: s.impressionBody,
        response: { 200: s.impressionResponse, ...errorResponses },
      },
      config: ingest,
    },
    async (request) => {
      const b = request.body;
      const out = await service.recordImpression(tenantContext(request), {
        eventId: b.event_id,
        decisionId: b.decision_id,
        campaignId: b.campaign_id,
        userId: b.user_id,
        placement: b.placement,
        viewedAt: b.viewed_at ? new Date(b.viewed_at) : undefined,
      });
      return { ...toImpression(out.row, out.currency), ...outcomeOf(out) };
    },
  );
  r.post(
    `${P}/clicks`,
    {
      schema: {
        tags,
        summary: 'Record a click (idempotent; invalid traffic recorded, not charged; CPC charged once per impression)',
        body: s.clickBody,
        response: { 200: s.clickResponse, ...errorResponses },
      },
      config: ingest,
    },
    async (request) => {
      const b = request.body;
      const ua = b.user_agent ?? (typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : undefined);
      const out = await service.recordClick(tenantContext(request), {
        eventId: b.event_id,
        impressionId: b.impression_id,
        campaignId: b.campaign_id,
        userId: b.user_id,
        clickedAt: b.clicked_at ? new Date(b.clicked_at) : undefined,
        userAgent: ua,
      });
      return { ...toClick(out.row, out.currency), ...outcomeOf(out) };
    },
  );
  r.post(
    `${P}/conversions`,
    {
      schema: {
        tags,
        summary: 'Record a conversion (idempotent; attributed to the last click or impression in window; CPA charged)',
        body: s.conversionBody,
        response: { 200: s.conversionResponse, ...errorResponses },
      },
      config: ingest,
    },
    async (request) => {
      const b = request.body;
      const out = await service.recordConversion(tenantContext(request), {
        eventId: b.event_id,
        userId: b.user_id,
        conversionType: b.conversion_type,
        value: b.conversion_value,
        currency: b.currency,
        convertedAt: b.converted_at ? new Date(b.converted_at) : undefined,
        campaignId: b.campaign_id,
      });
      return { ...toConversion(out.row, out.currency), attributed: out.attributed, ...outcomeOf(out) };
    },
  );
}

function toEligible(d: {
  decision: { id: string; priceMinor: bigint; expiresAt: Date };
  campaign: CampaignRow;
  slot: number;
}): s.EligibleCampaign {
  return {
    decision_id: d.decision.id,
    campaign_id: d.campaign.id,
    brand_id: d.campaign.brandId,
    name: d.campaign.name,
    label: 'Sponsored',
    creative: d.campaign.creative,
    promoted_item_ids: d.campaign.promotedItemIds,
    slot: d.slot,
    pricing_model: d.campaign.pricingModel,
    price: formatMoney(d.decision.priceMinor, d.campaign.currency),
    currency: d.campaign.currency,
    expires_at: d.decision.expiresAt.toISOString(),
  };
}

const toImpression = (i: ImpressionRow, currency: string) => ({
  id: i.id,
  event_id: i.eventId,
  campaign_id: i.campaignId,
  decision_id: i.decisionId,
  user_id: i.userId,
  placement: i.placement,
  impression_cost: formatMilli(i.impressionCostMilli, currency),
  viewed_at: i.viewedAt.toISOString(),
});
const toClick = (c: ClickRow, currency: string) => ({
  id: c.id,
  event_id: c.eventId,
  impression_id: c.impressionId,
  campaign_id: c.campaignId,
  user_id: c.userId,
  click_cost: formatMilli(c.clickCostMilli, currency),
  invalid_reason: c.invalidReason,
  clicked_at: c.clickedAt.toISOString(),
});
const toConversion = (c: ConversionRow, costCurrency: string) => ({
  id: c.id,
  event_id: c.eventId,
  user_id: c.userId,
  campaign_id: c.campaignId,
  click_id: c.clickId,
  impression_id: c.impressionId,
  conversion_type: c.conversionType,
  conversion_value: formatMoney(c.valueMinor, c.currency),
  currency: c.currency,
  conversion_cost: formatMilli(c.costMilli, costCurrency),
  converted_at: c.convertedAt.toISOString(),
});
