/**
 * Commerce: carts (seed 000), promotions, checkout with Stripe, orders (seed 001). Headless: any storefront
 * calls it over HTTP. Reads the catalog and identity through their public entries; orders enter events once,
 * through the events write door. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import { createIdempotency, type PlatformServices } from '../../platform/index.ts';
import type { SellableRepository } from '../catalog/index.ts';
import type { IngestService } from '../events/index.ts';
import type { IdentityApi } from '../identity/index.ts';
import type { WebhookPublisher } from '../webhooks/index.ts';
import { adminRoutes } from './admin.routes.ts';
import { createCartsRepository } from './carts.repository.ts';
import { cartRoutes } from './carts.routes.ts';
import { createCartsService, type ShopperSegmentsPort } from './carts.service.ts';
import { createRulesCache } from './rules.cache.ts';
export type { ShopperSegmentsPort } from './carts.service.ts';
import { createOrdersRepository } from './orders.repository.ts';
import { orderRoutes } from './orders.routes.ts';
import { createOrdersService, stripeKeyContext } from './orders.service.ts';
import { createPromotionsRepository } from './promotions.repository.ts';
import { createReservationsRepository } from './reservations.repository.ts';
import { createSettingsRepository } from './settings.repository.ts';
import { createStripeGateway } from './stripe.gateway.ts';
import { eraseShopper } from './erasure.repository.ts';
import { createShopperAccess } from './shopper.access.ts';
import { createShopperTokens } from './shopper-tokens.ts';
import { shopperTokenRoutes } from './shopper-tokens.routes.ts';

export interface CommerceModuleDeps {
  /** The catalog's sellable view and stock moves (catalog's `sellable`). */
  catalog: SellableRepository;
  /** Identity resolution: the sign-in merge links anonymous and customer ids to one profile. */
  identity: Pick<IdentityApi, 'resolveMany'>;
  /** Customer segments for promotion rules (identity's lookup and predictions' scored segments, wired in src/app.ts). */
  segments?: ShopperSegmentsPort | undefined;
  /** The events write door: every paid order enters as purchases, once, in the payment's transaction. */
  events: Pick<IngestService, 'prepare' | 'write'>;
  /** The server secret each tenant's shopper-token key is derived from (kept in platform settings). */
  shopperTokenSecret: string;
  /** Outbound webhooks: order state changes publish commerce.order.* in their transactions. */
  webhooks?: WebhookPublisher | undefined;
}

export function createCommerceModule(platform: PlatformServices, deps: CommerceModuleDeps) {
  const settings = createSettingsRepository();
  const cartsRepo = createCartsRepository(deps.catalog);
  const reservations = createReservationsRepository();
  const rules = createRulesCache({ settings, repo: cartsRepo });
  const carts = createCartsService({
    db: platform.db,
    repo: cartsRepo,
    settings,
    rules,
    catalog: deps.catalog,
    identity: deps.identity,
    segments: deps.segments,
    reservations,
    clock: platform.clock,
  });
  const orders = createOrdersService({
    db: platform.db,
    repo: createOrdersRepository(),
    carts,
    cartsRepo,
    settings,
    catalog: deps.catalog,
    events: deps.events,
    stripe: createStripeGateway(platform.config.stripeApiUrl),
    secrets: platform.secrets,
    reservations,
    clock: platform.clock,
    webhooks: deps.webhooks,
  });
  const idempotency = createIdempotency(platform.db, platform.clock);
  const tokens = createShopperTokens(deps.shopperTokenSecret);
  const access = createShopperAccess({ tokens, clock: platform.clock });
  return {
    /** Start-up step: seals the stored Stripe keys still under a previous key with the current one. */
    async resealSecrets(): Promise<void> {
      const r = await settings.resealAll(platform.db, platform.secrets, stripeKeyContext);
      if (r.resealed) platform.log.info({ resealed: r.resealed }, 'Stripe keys sealed with the current key');
      if (r.unreadable)
        platform.log.error(
          { unreadable: r.unreadable },
          'Stripe keys that no configured key opens: set LOUPE_SECRETS_KEY_PREVIOUS to the old key, or enter them again in PUT /api/v1/commerce/settings',
        );
    },
    /** Erasure step (identity.onErasure): deletes open carts, redacts the shopper from carts and orders. */
    erasePerson: eraseShopper,
    async routes(app: FastifyInstance): Promise<void> {
      await shopperTokenRoutes(app, { tokens, clock: platform.clock });
      await cartRoutes(app, { carts, access });
      await orderRoutes(app, { orders, idempotency, access });
      await adminRoutes(app, {
        db: platform.db,
        clock: platform.clock,
        config: platform.config,
        secrets: platform.secrets,
        settings,
        promotions: createPromotionsRepository(),
        rules,
        orders,
      });
    },
  };
}
/** The warehouse export's reads of orders with their lines (the warehouse module's `WarehouseSource` port). */
export { createOrdersWarehouseSource } from './warehouse-source.repository.ts';
