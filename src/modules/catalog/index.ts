/**
 * Catalog: items (products/SKUs), categories, Google taxonomy alignment, search. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { InteractionsRepository } from '../events/index.ts';

export interface CatalogModuleDeps {
  interactions: InteractionsRepository;
}

/** One item as bulk writers (uploads, connectors) hand it over; money in integer minor units. */
export interface ItemUpsert {
  itemId: string;
  name: string;
  description?: string | null;
  /** Category path ('Electronics > Audio') or name; missing categories are created. */
  category?: string | null;
  brand?: string | null;
  tags?: string[] | null;
  priceMinor?: bigint | null;
  salePriceMinor?: bigint | null;
  currency?: string | null;
  imageUrl?: string | null;
  url?: string | null;
  availability?: 'in_stock' | 'out_of_stock' | 'preorder' | 'discontinued' | null;
  stock?: number | null;
  gtin?: string | null;
  mpn?: string | null;
  attributes?: Record<string, unknown> | null;
}

export interface CatalogApi {
  /** Set-based upsert by (tenant, item_id): last write wins. */
  upsertItems(tenantId: string, rows: ItemUpsert[]): Promise<{ inserted: number; updated: number }>;
}

export function createCatalogModule(_platform: PlatformServices, _deps: CatalogModuleDeps): CatalogApi & { routes(app: FastifyInstance): Promise<void> } {
  return {
    async upsertItems() {
      throw new Error('catalog.upsertItems is being implemented');
    },
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type CatalogModule = ReturnType<typeof createCatalogModule>;
