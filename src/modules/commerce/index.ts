/**
 * Commerce: carts (seed 000), promotions, checkout with Stripe, orders (seed 001). Headless: any storefront
 * calls it over HTTP. Reads the catalog and identity through their public entries; orders enter events once,
 * through the events write door. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { SellableRepository } from '../catalog/index.ts';
import type { IdentityApi } from '../identity/index.ts';
import { createCartsRepository } from './carts.repository.ts';
import { cartRoutes } from './carts.routes.ts';
import { createCartsService } from './carts.service.ts';
import { createSettingsRepository } from './settings.repository.ts';

export interface CommerceModuleDeps {
  /** The catalog's sellable view and stock moves (catalog's `sellable`). */
  catalog: SellableRepository;
  /** Identity resolution: the sign-in merge links anonymous and customer ids to one profile. */
  identity: Pick<IdentityApi, 'resolveMany'>;
}

export function createCommerceModule(platform: PlatformServices, deps: CommerceModuleDeps) {
  const settings = createSettingsRepository();
  const carts = createCartsService({
    db: platform.db,
    repo: createCartsRepository(),
    settings,
    catalog: deps.catalog,
    identity: deps.identity,
    clock: platform.clock,
  });
  return {
    async routes(app: FastifyInstance): Promise<void> {
      await cartRoutes(app, { carts });
    },
  };
}
export type CommerceModule = ReturnType<typeof createCommerceModule>;
