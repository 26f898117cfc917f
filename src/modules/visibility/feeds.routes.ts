import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, iso, tenantContext } from '../../platform/index.ts';
import { PRECHECK_RULES, type PrecheckRule } from './feeds.precheck.core.ts';
import * as s from './feeds.schemas.ts';
import type { FeedSettingsRow } from './feeds.repository.ts';
import type { FeedsService } from './feeds.service.ts';

const settingsJson = (r: FeedSettingsRow): s.FeedSettingsResponse => ({
  target_country: r.targetCountry,
  content_language: r.contentLanguage,
  mapping_rules: r.mappingRules,
  updated_at: r.updatedAt ? iso(r.updatedAt) : null,
});

/** Seed 004's feed precheck, and the tenant's feed settings (target country, attribute mapping rules). */
export async function feedRoutes(app: FastifyInstance, deps: { feeds: FeedsService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/tenants/:tenantId/feed/precheck',
    {
      schema: {
        tags: ['visibility'],
        summary: "Check products against Google's product data specification: results per item and rule, with fixes",
        params: s.precheckParams,
        body: s.precheckBody,
        response: { 200: s.precheckResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'catalog:read' } },
    },
    async (request) => {
      const b = request.body;
      const report = await deps.feeds.precheck(tenantContext(request), { items: b.items, targetCountry: b.target_country });
      const rule = b.rule as PrecheckRule | undefined;
      const matched = report.items.filter(
        (i) =>
          (rule === undefined || i.issues.some((x) => x.rule === rule)) &&
          (b.status === 'all' || (b.status === 'issues' ? i.status !== 'ok' : i.status === b.status)),
      );
      const page = matched.slice(b.offset, b.offset + b.limit);
      return {
        target_country: report.targetCountry,
        source: report.source,
        summary: {
          items: report.summary.items,
          ok: report.summary.ok,
          warnings: report.summary.warnings,
          errors: report.summary.errors,
          by_rule: report.summary.byRule as Record<string, number>,
        },
        rules: Object.entries(PRECHECK_RULES).map(([id, severity]) => ({ rule: id, severity })),
        items: page,
        matched: matched.length,
        next_offset: b.offset + b.limit < matched.length ? b.offset + b.limit : null,
      };
    },
  );

  const params = z.object({ tenantId: z.string().max(100) }).strict();
  r.get(
    '/api/v1/tenants/:tenantId/feed/settings',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Feed settings: target country, content language, attribute mapping rules',
        params,
        response: { 200: s.feedSettingsResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'catalog:read' } },
    },
    async (request) => settingsJson(await deps.feeds.settings(tenantContext(request))),
  );
  r.put(
    '/api/v1/tenants/:tenantId/feed/settings',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Replace the feed settings and attribute mapping rules (applied in order; a later rule wins)',
        params,
        body: s.feedSettingsBody,
        response: { 200: s.feedSettingsResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'catalog:write' },
        audit: { action: 'feed.settings.update', resourceType: 'feed_settings' },
      },
    },
    async (request) => {
      const b = request.body;
      return settingsJson(
        await deps.feeds.putSettings(tenantContext(request), {
          targetCountry: b.target_country,
          contentLanguage: b.content_language,
          mappingRules: b.mapping_rules,
        }),
      );
    },
  );
}
