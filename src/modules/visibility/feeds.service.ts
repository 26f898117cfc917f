import type { Db, TenantContext } from '../../platform/index.ts';
import { requirePermission } from '../../platform/index.ts';
import { type CatalogProduct, type MappingRule, toFeedItem } from './feeds.mapping.core.ts';
import { type FeedItem, type PrecheckReport, precheckFeed } from './feeds.precheck.core.ts';
import type { FeedSettingsRow, FeedsRepository } from './feeds.repository.ts';

/** What the feed services read from the catalog (its public entry implements it). */
export interface CatalogFeedPort {
  feedRows(q: Pick<Db, 'execute'>, tenantId: string, afterItemId: string | null, limit: number): Promise<CatalogProduct[]>;
  googleTaxonomyPaths(): Promise<ReadonlyMap<number, string>>;
}

export interface FeedsDeps {
  db: Db;
  repo: FeedsRepository;
  catalog: CatalogFeedPort;
  clock: () => Date;
}

const DEFAULT_SETTINGS: FeedSettingsRow = { targetCountry: 'US', contentLanguage: 'en', mappingRules: [], updatedAt: null };
const PAGE = 5000;

/** Feed settings and the precheck. */
export function createFeedsService(deps: FeedsDeps) {
  const { db, repo } = deps;
  const settings = async (ctx: TenantContext): Promise<FeedSettingsRow> => (await repo.getSettings(db, ctx.tenantId)) ?? DEFAULT_SETTINGS;

  /** The tenant's active catalog as feed items with its mapping rules applied, item id order. */
  async function catalogFeed(ctx: TenantContext, rules: readonly MappingRule[]): Promise<FeedItem[]> {
    const out: FeedItem[] = [];
    let after: string | null = null;
    for (;;) {
      const rows = await deps.catalog.feedRows(db, ctx.tenantId, after, PAGE);
      for (const r of rows) out.push(toFeedItem(r, rules));
      if (rows.length < PAGE) return out;
      after = rows[rows.length - 1]!.itemId;
    }
  }

  return {
    settings,
    catalogFeed,
    async putSettings(ctx: TenantContext, s: { targetCountry: string; contentLanguage: string; mappingRules: MappingRule[] }) {
      requirePermission(ctx, 'catalog:write');
      await repo.putSettings(db, ctx.tenantId, s, deps.clock());
      return settings(ctx);
    },

    /**
     * Prechecks the given items (already in Google's vocabulary) or, without items, the tenant's catalog
     * through its mapping rules. The target country defaults to the tenant's setting.
     */
    async precheck(
      ctx: TenantContext,
      input: { items?: FeedItem[] | undefined; targetCountry?: string | undefined },
    ): Promise<PrecheckReport & { targetCountry: string; source: 'request' | 'catalog' }> {
      const s = await settings(ctx);
      const targetCountry = input.targetCountry ?? s.targetCountry;
      const items = input.items ?? (await catalogFeed(ctx, s.mappingRules));
      const report = precheckFeed(items, { targetCountry, taxonomy: await deps.catalog.googleTaxonomyPaths() });
      return { ...report, targetCountry, source: input.items ? 'request' : 'catalog' };
    },
  };
}
export type FeedsService = ReturnType<typeof createFeedsService>;
