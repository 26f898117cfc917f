import { AppError, type PlatformServices, type TenantContext, isUuid, notFound, validation } from '../../platform/index.ts';
import { pricingRepository as repo } from './pricing.repository.ts';

/** Stores, offers and match groups: the aggregator's catalog of other retailers' listings. */
export function createPricingService({ platform }: { platform: PlatformServices }) {
  const { db, clock } = platform;
  const cursorOk = (c: string | undefined) => {
    if (c !== undefined && !isUuid(c))
      throw validation('INVALID_CURSOR', 'cursor is not one this API returned.', [{ field: 'cursor', message: 'malformed' }]);
  };
  /** A filter id that is not a uuid names nothing: the answer is empty, like another tenant's id. */
  const idFilter = (id: string | undefined) => (id === undefined ? undefined : isUuid(id) ? id : '00000000-0000-0000-0000-000000000000');

  return {
    async createStore(
      ctx: TenantContext,
      s: { name: string; network: string; networkMerchantId: string | null; terms: Record<string, unknown> },
    ) {
      const row = await repo.insertStore(db, ctx.tenantId, s, clock());
      if (!row) throw new AppError('conflict', 'PRICING_STORE_EXISTS', `A store named "${s.name.slice(0, 200)}" already exists.`);
      return (await repo.listStores(db, ctx.tenantId, row.id))[0]!;
    },
    listStores: (ctx: TenantContext) => repo.listStores(db, ctx.tenantId),
    async getStore(ctx: TenantContext, id: string) {
      const [row] = isUuid(id) ? await repo.listStores(db, ctx.tenantId, id) : [];
      if (!row) throw notFound('PRICING_STORE_NOT_FOUND', 'The store');
      return row;
    },
    listOffers(
      ctx: TenantContext,
      f: {
        search?: string | undefined;
        storeId?: string | undefined;
        groupId?: string | undefined;
        after?: string | undefined;
        limit: number;
      },
    ) {
      cursorOk(f.after);
      return repo.listOffers(db, ctx.tenantId, { ...f, storeId: idFilter(f.storeId), groupId: idFilter(f.groupId) });
    },
    listGroups(ctx: TenantContext, f: { search?: string | undefined; after?: string | undefined; limit: number }) {
      cursorOk(f.after);
      return repo.listGroups(db, ctx.tenantId, f);
    },
    async getGroup(ctx: TenantContext, id: string) {
      const [row] = isUuid(id) ? await repo.listGroups(db, ctx.tenantId, { id, limit: 1 }) : [];
      if (!row) throw notFound('PRICING_GROUP_NOT_FOUND', 'The match group');
      return row;
    },
  };
}
export type PricingService = ReturnType<typeof createPricingService>;
