import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { errorBody, errorResponses, iso, jobSchema, tenantContext, toJob } from '../../platform/index.ts';
import type { InsightDay } from './gbp.core.ts';
import type { GbpIssue, GbpLocationRow } from './gbp.repository.ts';
import { gbpChooseBody, gbpInsights, gbpInsightsQuery, gbpLocationList, gbpStatus, gbpSyncResult } from './gbp.schemas.ts';
import type { GbpService } from './gbp.service.ts';

const responses = { ...errorResponses, 503: errorBody };
const issueJson = (i: GbpIssue) => ({ field: i.field, google_field: i.googleField, message: i.message });
const statusJson = (l: GbpLocationRow | null): z.infer<typeof gbpStatus> => ({
  location: l
    ? {
        account: l.accountName,
        name: l.locationName,
        title: l.title,
        sync_status: l.syncStatus,
        sync_issues: (l.syncIssues ?? []).map(issueJson),
        synced_at: iso(l.syncedAt),
        metrics_fetched_at: iso(l.metricsFetchedAt),
        metrics_error: l.metricsError,
      }
    : null,
});
const COUNTS = {
  impressions_desktop_maps: 'impressionsDesktopMaps',
  impressions_desktop_search: 'impressionsDesktopSearch',
  impressions_mobile_maps: 'impressionsMobileMaps',
  impressions_mobile_search: 'impressionsMobileSearch',
  direction_requests: 'directionRequests',
  call_clicks: 'callClicks',
  website_clicks: 'websiteClicks',
} as const satisfies Record<string, keyof InsightDay>;
type Counts = Record<keyof typeof COUNTS, number>;

/** Google Business Profile: the location the business profile syncs to, the sync, and the daily insights. */
export async function gbpRoutes(app: FastifyInstance, deps: { gbp: GbpService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.gbp;
  const manage = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'integrations:manage' }, audit: { action, resourceType: 'gbp_location' } }) as const;
  const read = { auth: { kind: 'tenant', permission: 'tenant:read' } } as const;

  r.get(
    '/google/business/locations',
    {
      schema: {
        tags: ['visibility'],
        summary: 'The Business Profile locations the linked Google account manages (to pick the one the profile syncs to)',
        response: { 200: gbpLocationList, ...responses },
      },
      config: { auth: { kind: 'tenant', permission: 'integrations:manage' } },
    },
    async (request) => ({
      data: (await svc.locations(tenantContext(request))).map((l) => ({
        account: l.account,
        account_name: l.accountName,
        name: l.name,
        title: l.title,
        address: l.address,
      })),
    }),
  );

  r.put(
    '/google/business/location',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Pick the Business Profile location the business profile syncs to (its daily metrics are fetched from then on)',
        body: gbpChooseBody,
        response: { 200: gbpStatus, ...responses },
      },
      config: manage('gbp.location.choose'),
    },
    async (request) => statusJson(await svc.choose(tenantContext(request), request.body)),
  );

  r.get(
    '/google/business/location',
    {
      schema: {
        tags: ['visibility'],
        summary: 'The chosen location, the outcome of the last sync (with per-field issues) and of the last metrics fetch',
        response: { 200: gbpStatus, ...responses },
      },
      config: read,
    },
    async (request) => statusJson(await svc.status(tenantContext(request))),
  );

  r.post(
    '/google/business/sync',
    {
      schema: {
        tags: ['visibility'],
        summary:
          'Write the business profile to the Business Profile location (only fields that differ; Google refusing fields is `rejected` with the fields named)',
        response: { 200: gbpSyncResult, ...responses },
      },
      config: manage('gbp.location.sync'),
    },
    async (request) => {
      const out = await svc.sync(tenantContext(request));
      return { status: out.status, updated: out.updated, issues: out.issues.map(issueJson) };
    },
  );

  r.post(
    '/google/business/insights/refresh',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Fetch the last 14 days of Business Profile performance now (a job; it also runs daily)',
        response: { 202: jobSchema, ...responses },
      },
      config: manage('gbp.metrics.refresh'),
    },
    async (request, reply) => reply.code(202).send(toJob(await svc.refreshMetrics(tenantContext(request)))),
  );

  r.get(
    '/google/business/insights',
    {
      schema: {
        tags: ['visibility'],
        summary:
          'Business Profile performance per day: impressions by platform (Maps, Search) and device (desktop, mobile), direction requests, calls, website clicks',
        querystring: gbpInsightsQuery,
        response: { 200: gbpInsights, ...responses },
      },
      config: read,
    },
    async (request) => {
      const out = await svc.insights(tenantContext(request), request.query);
      const totals = Object.fromEntries(Object.keys(COUNTS).map((k) => [k, 0])) as Counts;
      const days = out.days.map((d) => {
        const row = { date: d.date, missing: 'missing' in d } as { date: string; missing: boolean } & Counts;
        for (const [k, v] of Object.entries(COUNTS) as [keyof Counts, keyof InsightDay][]) {
          const n = 'missing' in d ? 0 : (d[v] as number);
          row[k] = n;
          totals[k] += n;
        }
        return row;
      });
      return { location: out.location.locationName, from: out.from, to: out.to, totals, days };
    },
  );
}
