import type { FastifyBaseLogger } from 'fastify';
import { type Q, AppError, conflict, isUuid, notFound, randomToken, type TenantContext, validation } from '../../platform/index.ts';
import { verifyHmacSha256Base64 } from './connectors/signatures.core.ts';
import type { ConnectionRow, DeliveryRow, IntegrationsRepository } from './integrations.repository.ts';
import type { WebhookAnswer, WebhookRequest, WebhooksService } from './webhooks.service.ts';

export interface IntegrationsServiceDeps {
  db: Q;
  repo: IntegrationsRepository;
  webhooks: WebhooksService;
  log: FastifyBaseLogger;
}

interface NewConnection {
  type: string;
  name: string;
  settings: Record<string, unknown>;
  shopDomain: string | null;
  /** The vendor's signing secret; generated when absent (WooCommerce). */
  secret?: string | undefined;
}

const signatureInvalid = () =>
  new AppError(
    'unauthenticated',
    'WEBHOOK_SIGNATURE_INVALID',
    'The webhook signature does not match this connection’s secret and the request body.',
  );

const SHOPIFY = 'shopify';

/**
 * Vendor connections (create, list, update, disconnect, delivery log) and the entry of vendor webhooks: which
 * connection a delivery is for. A Shopify shop domain belongs to the first tenant whose connection verified a
 * delivery for it: after that, other tenants cannot register it, and seed 002's shared path verifies deliveries
 * against the claimant's connections only.
 */
export function createIntegrationsService(deps: IntegrationsServiceDeps) {
  const { repo, db } = deps;

  async function load(ctx: TenantContext, id: string): Promise<ConnectionRow> {
    const c = isUuid(id) ? await repo.get(db, ctx.tenantId, id) : undefined;
    if (!c) throw notFound('INTEGRATION_NOT_FOUND', 'Integration');
    return c;
  }
  const cursorOf = (cursor: string | undefined) => {
    if (cursor !== undefined && !isUuid(cursor)) throw validation('CURSOR_INVALID', 'The cursor is not one this API returned.');
    return cursor;
  };

  /** After a delivery a connection verified: its tenant proved the shop domain is theirs (the first claim stays). */
  async function claimAfterDelivery(c: ConnectionRow): Promise<void> {
    if (c.type === SHOPIFY && c.shopDomain) await repo.claimShop(db, SHOPIFY, c.shopDomain, c.tenantId, c.id);
  }

  return {
    get: load,

    async create(ctx: TenantContext, input: NewConnection): Promise<ConnectionRow> {
      if (input.type === SHOPIFY && input.shopDomain) {
        const claim = await repo.shopClaim(db, SHOPIFY, input.shopDomain);
        if (claim && claim.tenantId !== ctx.tenantId)
          throw conflict(
            'INTEGRATION_SHOP_DOMAIN_CLAIMED',
            'This shop domain is already connected to another Loupe tenant, proven by a webhook Shopify signed. If the shop is yours, ask the platform administrator.',
          );
      }
      return repo.create(db, ctx.tenantId, {
        type: input.type,
        name: input.name,
        settings: input.settings,
        shopDomain: input.shopDomain,
        signingSecret: input.secret ?? `whsec_${randomToken(40)}`,
      });
    },

    list: (ctx: TenantContext, limit: number, cursor: string | undefined) => repo.list(db, ctx.tenantId, limit, cursorOf(cursor)),

    async update(
      ctx: TenantContext,
      id: string,
      patch: { name?: string | undefined; status?: 'active' | 'paused' | undefined; secret?: string | undefined },
    ): Promise<ConnectionRow> {
      const c = await load(ctx, id);
      const updated = await repo.update(db, ctx.tenantId, c.id, { name: patch.name, status: patch.status, signingSecret: patch.secret });
      if (!updated) throw notFound('INTEGRATION_NOT_FOUND', 'Integration');
      return updated;
    },

    /** Disconnects; a shop domain the tenant no longer connects is free to be claimed again. */
    async remove(ctx: TenantContext, id: string): Promise<ConnectionRow> {
      const c = await load(ctx, id);
      await repo.delete(db, ctx.tenantId, c.id);
      if (c.type === SHOPIFY && c.shopDomain) await repo.releaseShopClaimIfUnused(db, ctx.tenantId, SHOPIFY, c.shopDomain);
      return c;
    },

    async deliveries(ctx: TenantContext, id: string, limit: number, cursor: string | undefined): Promise<DeliveryRow[]> {
      const c = await load(ctx, id);
      return repo.listDeliveries(db, ctx.tenantId, c.id, limit, cursorOf(cursor));
    },

    /** A webhook on a connection's own URL (`/api/v1/webhooks/:type/:connectionId`). Returns the connection too. */
    async receiveForConnection(
      type: string,
      connectionId: string,
      req: WebhookRequest,
    ): Promise<{ connection: ConnectionRow; answer: WebhookAnswer }> {
      const c = isUuid(connectionId) ? await repo.findForWebhook(db, connectionId) : undefined;
      if (!c || c.type !== type) throw notFound('INTEGRATION_NOT_FOUND', 'Integration');
      if (c.type === SHOPIFY && c.shopDomain) {
        // A domain another tenant proved is theirs: this connection cannot be the shop's (it was registered before the claim).
        const claim = await repo.shopClaim(db, SHOPIFY, c.shopDomain);
        if (claim && claim.tenantId !== c.tenantId) throw signatureInvalid();
      }
      const answer = await deps.webhooks.receive(c, req);
      await claimAfterDelivery(c);
      return { connection: c, answer };
    },

    /**
     * Seed 002's shared Shopify path: the shop is named by X-Shopify-Shop-Domain. The HMAC is checked against every
     * candidate connection (all tenants' before the domain is claimed, the claimant's after), and the delivery is
     * recorded only on the connection that verifies. When none does, the rejection is logged on the claimant's
     * connection (their shop, their log) or, for an unclaimed domain, in the server log only: a squatter never
     * sees the real shop's deliveries.
     */
    async receiveShopify(shopDomainHeader: string | undefined, req: WebhookRequest): Promise<WebhookAnswer> {
      const domain = shopDomainHeader !== undefined && shopDomainHeader.length <= 255 ? shopDomainHeader.trim().toLowerCase() : '';
      if (!domain) throw signatureInvalid();
      const claim = await repo.shopClaim(db, SHOPIFY, domain);
      const candidates = await repo.findShopifyByDomain(db, domain, claim?.tenantId);
      const hmac = req.headers['x-shopify-hmac-sha256'];
      const given = typeof hmac === 'string' ? hmac : undefined;
      const match = candidates.find((c) => c.signingSecret !== null && verifyHmacSha256Base64(c.signingSecret, req.rawBody, given).ok);
      if (match) {
        const answer = await deps.webhooks.receive(match, req);
        await claimAfterDelivery(match);
        return answer;
      }
      // The claimant's own connection records the refusal (or its unreadable secret: 503 so Shopify retries).
      if (claim && candidates[0]) return deps.webhooks.receive(candidates[0], req);
      deps.log.warn({ shopDomain: domain, candidates: candidates.length }, 'shopify webhook verified by no connection');
      throw signatureInvalid();
    },
  };
}
export type IntegrationsService = ReturnType<typeof createIntegrationsService>;
