/**
 * Catalog: items (products/SKUs), categories, Google taxonomy alignment, bulk import, search. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { InteractionsRepository } from '../events/index.ts';

export interface CatalogModuleDeps {
  interactions: InteractionsRepository;
}

export function createCatalogModule(_platform: PlatformServices, _deps: CatalogModuleDeps) {
  return {
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type CatalogModule = ReturnType<typeof createCatalogModule>;
