import { type Db, type TenantContext, AppError, conflict, notFound, inTenant } from '../../platform/index.ts';
import { lastWins } from './catalog.core.ts';
import type { CategoriesRepository } from './categories.repository.ts';
import type { ItemUpsert } from './catalog.types.ts';
import type { ItemFilters, ItemRow, ItemWrite, ItemsRepository } from './items.repository.ts';

export interface ItemsServiceDeps {
  db: Db;
  items: ItemsRepository;
  categories: CategoriesRepository;
  clock: () => Date;
  /** Told after every committed item write (ids of the items written or deleted). */
  onChanged?: (tenantId: string, itemIds: readonly string[]) => void;
}

export interface UpsertOutcome {
  inserted: number;
  updated: number;
  /** Per distinct item_id, in input order of its last occurrence. */
  results: { itemId: string; id: string; status: 'created' | 'updated' }[];
}

const clean = (s: string | null | undefined): string | null => {
  if (s == null) return null;
  const t = s.trim();
  return t.length ? t : null;
};

function toWrite(r: ItemUpsert, categoryId: string | null): ItemWrite {
  const tags = [...new Set((r.tags ?? []).map((t) => t.trim()).filter((t) => t.length > 0))];
  return {
    itemId: r.itemId,
    name: r.name,
    description: r.description ?? null,
    categoryId,
    categoryPath: clean(r.category),
    brand: clean(r.brand),
    tags,
    priceMinor: r.priceMinor ?? null,
    salePriceMinor: r.salePriceMinor ?? null,
    currency: r.currency ? r.currency.toUpperCase() : r.priceMinor != null || r.salePriceMinor != null ? 'USD' : null,
    imageUrl: r.imageUrl ?? null,
    url: r.url ?? null,
    availability: r.availability ?? 'in_stock',
    stock: r.stock ?? null,
    gtin: r.gtin ?? null,
    mpn: r.mpn ?? null,
    attributes: r.attributes ?? {},
  };
}

export function createItemsService(deps: ItemsServiceDeps) {
  const { items, categories, db } = deps;

  /** Upsert without a context: the public API of the module for uploads and connectors (tenant id given). */
  async function upsert(tenantId: string, rows: readonly ItemUpsert[]): Promise<UpsertOutcome> {
    if (!rows.length) return { inserted: 0, updated: 0, results: [] };
    const uniq = lastWins(rows, (r) => r.itemId);
    const now = deps.clock();
    const written = await inTenant(deps.db, tenantId, async (tx) => {
      const catInputs = uniq.map((r) => clean(r.category)).filter((c): c is string => c !== null);
      const catIds = catInputs.length ? await categories.ensureForItems(tx, tenantId, catInputs, now) : new Map<string, string>();
      const writes = uniq.map((r) => {
        const c = clean(r.category);
        return toWrite(r, c === null ? null : (catIds.get(c) ?? null));
      });
      return items.upsertMany(tx, tenantId, writes, now);
    });
    deps.onChanged?.(
      tenantId,
      uniq.map((r) => r.itemId),
    );
    const byItemId = new Map(written.map((w) => [w.itemId, w]));
    const results = uniq.map((r) => {
      const w = byItemId.get(r.itemId)!;
      return { itemId: r.itemId, id: w.id, status: w.inserted ? ('created' as const) : ('updated' as const) };
    });
    const inserted = results.filter((r) => r.status === 'created').length;
    return { inserted, updated: results.length - inserted, results };
  }

  return {
    upsert,

    /** Bulk upsert for the API: outcome per distinct item_id. */
    async upsertAsFound(ctx: TenantContext, rows: readonly ItemUpsert[]) {
      const out = await upsert(ctx.tenantId, rows);
      return { inserted: out.inserted, updated: out.updated, byItemId: new Map(out.results.map((r) => [r.itemId, r])) };
    },

    async create(ctx: TenantContext, row: ItemUpsert): Promise<ItemRow> {
      if (await items.getByItemId(db, ctx.tenantId, row.itemId)) {
        throw conflict(
          'CATALOG_ITEM_EXISTS',
          `An item with item_id "${row.itemId}" already exists. Update it with PUT, or use POST /api/v1/items/bulk to upsert.`,
        );
      }
      await upsert(ctx.tenantId, [row]);
      return (await items.getByItemId(db, ctx.tenantId, row.itemId))!;
    },

    async get(ctx: TenantContext, ref: string, by: 'any' | 'item_id'): Promise<ItemRow> {
      const row = by === 'any' ? await items.getByIdOrItemId(db, ctx.tenantId, ref) : await items.getByItemId(db, ctx.tenantId, ref);
      if (!row) throw notFound('CATALOG_ITEM_NOT_FOUND', 'Item');
      return row;
    },

    /**
     * Updates fields of an existing item: a field left out keeps its value, a field sent as null is cleared.
     * The item_id cannot change (it is the store's key); send it only if equal.
     */
    async update(ctx: TenantContext, ref: string, by: 'any' | 'item_id', patch: Partial<ItemUpsert>): Promise<ItemRow> {
      const cur = by === 'any' ? await items.getByIdOrItemId(db, ctx.tenantId, ref) : await items.getByItemId(db, ctx.tenantId, ref);
      if (!cur) throw notFound('CATALOG_ITEM_NOT_FOUND', 'Item');
      if (patch.itemId !== undefined && patch.itemId !== cur.itemId) {
        throw new AppError('validation', 'CATALOG_ITEM_ID_IMMUTABLE', 'item_id cannot be changed; create a new item and delete this one.', {
          details: [{ field: 'item_id', message: 'cannot be changed' }],
        });
      }
      const merged: ItemUpsert = {
        itemId: cur.itemId,
        name: patch.name ?? cur.name,
        description: patch.description !== undefined ? patch.description : cur.description,
        category: patch.category !== undefined ? patch.category : cur.categoryPath,
        brand: patch.brand !== undefined ? patch.brand : cur.brand,
        tags: patch.tags !== undefined ? patch.tags : cur.tags,
        priceMinor: patch.priceMinor !== undefined ? patch.priceMinor : cur.priceMinor === null ? null : BigInt(cur.priceMinor),
        salePriceMinor:
          patch.salePriceMinor !== undefined ? patch.salePriceMinor : cur.salePriceMinor === null ? null : BigInt(cur.salePriceMinor),
        currency: patch.currency !== undefined ? patch.currency : cur.currency,
        imageUrl: patch.imageUrl !== undefined ? patch.imageUrl : cur.imageUrl,
        url: patch.url !== undefined ? patch.url : cur.url,
        availability: patch.availability !== undefined ? patch.availability : (cur.availability as ItemUpsert['availability']),
        stock: patch.stock !== undefined ? patch.stock : cur.stock,
        gtin: patch.gtin !== undefined ? patch.gtin : cur.gtin,
        mpn: patch.mpn !== undefined ? patch.mpn : cur.mpn,
        attributes: patch.attributes !== undefined ? patch.attributes : cur.attributes,
      };
      await upsert(ctx.tenantId, [merged]);
      return (await items.getByItemId(db, ctx.tenantId, cur.itemId))!;
    },

    async remove(ctx: TenantContext, ref: string, by: 'any' | 'item_id'): Promise<ItemRow> {
      const cur = by === 'any' ? await items.getByIdOrItemId(db, ctx.tenantId, ref) : await items.getByItemId(db, ctx.tenantId, ref);
      if (!cur || !(await items.delete(db, ctx.tenantId, cur.id))) throw notFound('CATALOG_ITEM_NOT_FOUND', 'Item');
      deps.onChanged?.(ctx.tenantId, [cur.itemId]);
      return cur;
    },

    list: (ctx: TenantContext, f: ItemFilters, page: { after?: string | undefined; limit: number }) =>
      items.list(db, ctx.tenantId, f, page),
  };
}
export type ItemsService = ReturnType<typeof createItemsService>;
