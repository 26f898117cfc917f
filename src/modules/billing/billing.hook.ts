import type { FastifyInstance } from 'fastify';
import type { BillingService } from './billing.service.ts';

/**
 * Routes that grow the catalog (creates, bulk upserts, item uploads) and that push the feed to Google, by
 * method and route pattern. Updates of existing items (PUT) are never refused: a tenant at its limit can
 * still fix its catalog.
 */
const CATALOG_WRITES: ReadonlySet<string> = new Set([
  'POST /api/v1/tenants/:tenantId/inventory',
  'POST /api/v1/items',
  'POST /api/v1/items/bulk',
  'POST /api/v1/upload/items',
]);
const FEED_PUSHES: ReadonlySet<string> = new Set(['POST /api/v1/tenants/:tenantId/feed/push', 'POST /google/feeds/push']);
/** Never metered nor refused: how a tenant at a limit sees its usage and upgrades. */
const BILLING_ROUTES: ReadonlySet<string> = new Set(['GET /api/v1/billing', 'POST /stripe/checkout']);

/**
 * Plan limits on tenant routes, after the platform's access hook has resolved the tenant: API calls made with
 * API keys are counted and refused past the plan's monthly allowance (the dashboard is not metered), catalog
 * growth past the plan's size and feed pushes past its monthly pushes are refused with 402 PLAN_LIMIT_REACHED.
 */
export function registerPlanLimits(app: FastifyInstance, billing: BillingService): void {
  if (!billing.enabled) return;
  app.addHook('preHandler', async (request) => {
    const ctx = request.tenantCtx;
    if (!ctx) return;
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    if (BILLING_ROUTES.has(route)) return;
    if (ctx.actor.type === 'api_key') await billing.apiCall(ctx.tenantId);
    if (CATALOG_WRITES.has(route)) await billing.catalogWrite(ctx.tenantId);
    if (FEED_PUSHES.has(route)) await billing.feedPushAllowed(ctx.tenantId);
  });
  app.addHook('onResponse', async (request, reply) => {
    const ctx = request.tenantCtx;
    if (!ctx || reply.statusCode >= 300) return;
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    if (FEED_PUSHES.has(route)) await billing.feedPushed(ctx.tenantId);
    if (CATALOG_WRITES.has(route)) billing.catalogChanged(ctx.tenantId);
  });
}
