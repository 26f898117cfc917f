import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, tenantContext } from '../../platform/index.ts';
import { regionalOf } from './regional.core.ts';
import { regionalBody, regionalResponse } from './regional.schemas.ts';
import type { TenantsService } from './tenants.service.ts';

/** The tenant's own regional settings (currency, locale, time zone), kept in its settings beside the others. */
export async function regionalRoutes(app: FastifyInstance, deps: { tenants: TenantsService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    '/api/v1/settings/regional',
    {
      schema: {
        tags: ['tenancy'],
        summary: "The tenant's currency, locale and time zone (defaults filled in: USD, en-US, UTC)",
        response: { 200: regionalResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'tenant:read' } },
    },
    async (request) => regionalOf((await deps.tenants.getTenant(tenantContext(request).tenantId)).settings),
  );
  r.patch(
    '/api/v1/settings/regional',
    {
      schema: {
        tags: ['tenancy'],
        summary: "Change the tenant's currency, locale or time zone (fields left out stay)",
        body: regionalBody,
        response: { 200: regionalResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'tenant:manage' },
        audit: { action: 'tenant.regional.update', resourceType: 'tenant' },
      },
    },
    async (request) => {
      const { tenantId } = tenantContext(request);
      const b = request.body;
      // Tenant settings are merged key by key in one statement, so concurrent changes of other keys stay.
      const patch = {
        ...(b.currency !== undefined ? { currency: b.currency } : {}),
        ...(b.locale !== undefined ? { locale: b.locale } : {}),
        ...(b.timezone !== undefined ? { timezone: b.timezone } : {}),
      };
      request.auditTarget = { tenantId, resourceId: tenantId, details: { fields: Object.keys(patch) } };
      const t = Object.keys(patch).length
        ? await deps.tenants.updateTenant(tenantId, { settings: patch })
        : await deps.tenants.getTenant(tenantId);
      return regionalOf(t.settings);
    },
  );
}
