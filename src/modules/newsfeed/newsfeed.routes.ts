import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, formatMoney, iso, tenantContext } from '../../platform/index.ts';
import * as s from './newsfeed.schemas.ts';
import type { NewsfeedService } from './newsfeed.service.ts';
import type { PreferencesService } from './preferences.service.ts';

export interface NewsfeedRouteDeps {
  feed: NewsfeedService;
  preferences: PreferencesService;
}

const money = (minor: string | null, currency: string | null) => (minor === null || !currency ? null : formatMoney(minor, currency));

export async function newsfeedRoutes(app: FastifyInstance, deps: NewsfeedRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const serve = { auth: { kind: 'tenant', permission: 'recommendations:read', publishable: true }, rateGroup: 'serving' } as const;
  const read = { auth: { kind: 'tenant', permission: 'profiles:read' } } as const;
  const write = { auth: { kind: 'tenant', permission: 'profiles:write' }, rateGroup: 'ingest' } as const;
  const tags = ['newsfeed'];

  r.get(
    '/api/v1/newsfeed',
    {
      schema: {
        tags,
        summary:
          "A shopper's personal feed: modules (For you, New from brands you follow, Because you viewed, Price drops on things you watched, Trending, Sponsored), items with best offers, the module-order experiment",
        querystring: s.feedQuery,
        response: { 200: s.feedResponse, ...errorResponses },
      },
      config: serve,
    },
    async (request) => {
      const q = request.query;
      const feed = await deps.feed.feed(tenantContext(request), q.user_id, q.cursor, { preview: q.preview === 'true' });
      let position = 0;
      const out: s.FeedResponse = {
        user_id: q.user_id,
        items: feed.modules.flatMap((m) =>
          m.items.map((i) => {
            const o = feed.offers.get(i.itemId);
            return {
              item_id: i.itemId,
              name: i.name,
              category: i.category,
              brand: i.brand,
              price: money(i.priceMinor, i.currency),
              currency: i.currency,
              image_url: i.imageUrl,
              module_id: m.id,
              position: ++position,
              sponsored: m.sponsored,
              best_offer: o
                ? {
                    price: formatMoney(o.priceMinor, o.currency),
                    currency: o.currency,
                    store: o.store,
                    url: o.url,
                    was_price: o.wasMinor === null ? null : formatMoney(o.wasMinor, o.currency),
                  }
                : null,
            };
          }),
        ),
        modules: feed.modules.map((m) => ({
          id: m.id,
          type: m.type,
          title: m.title,
          label: m.sponsored ? ('Sponsored' as const) : null,
          source: m.source,
          position: m.position,
          sponsored: m.sponsored,
          campaign_id: m.campaignId,
          decision_id: m.decisionId,
          item_ids: m.items.map((i) => i.itemId),
        })),
        experiment: { experiment_id: feed.experiment.experimentId, variant: feed.experiment.variant, module_order: feed.experiment.order },
        next_cursor: feed.nextCursor,
      };
      return out;
    },
  );

  const P = '/api/v1/shoppers/:user_id';
  r.get(
    `${P}/preferences`,
    {
      schema: {
        tags,
        summary: "A shopper's brand follows, favorites and stated preferences",
        params: s.shopperParams,
        response: { 200: s.preferencesResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const p = await deps.preferences.get(tenantContext(request), request.params.user_id);
      const cur = p.preferences.currency;
      return {
        user_id: request.params.user_id,
        follows: p.follows.map((f) => ({ brand_id: f.brandId, created_at: iso(f.createdAt)! })),
        favorites: p.favorites.map((f) => ({ item_id: f.itemId, created_at: iso(f.createdAt)! })),
        preferences: {
          styles: p.preferences.styles,
          categories: p.preferences.categories,
          brands: p.preferences.brands,
          sizes: p.preferences.sizes,
          occasions: p.preferences.occasions,
          price_min: money(p.preferences.priceMin, cur),
          price_max: money(p.preferences.priceMax, cur),
          currency: cur,
        },
      };
    },
  );
  r.put(
    `${P}/preferences`,
    {
      schema: {
        tags,
        summary: "Replace a shopper's stated preferences",
        params: s.shopperParams,
        body: s.preferencesBody,
        response: { 200: s.changedResponse, ...errorResponses },
      },
      config: write,
    },
    async (request) => {
      await deps.preferences.set(tenantContext(request), request.params.user_id, request.body);
      return { changed: true };
    },
  );
  r.post(
    `${P}/follows`,
    {
      schema: {
        tags,
        summary: 'Follow a brand (idempotent)',
        params: s.shopperParams,
        body: s.followBody,
        response: { 200: s.changedResponse, ...errorResponses },
      },
      config: write,
    },
    async (request) => ({ changed: await deps.preferences.follow(tenantContext(request), request.params.user_id, request.body.brand_id) }),
  );
  r.delete(
    `${P}/follows/:brand_id`,
    {
      schema: { tags, summary: 'Unfollow a brand', params: s.followParams, response: { 200: s.changedResponse, ...errorResponses } },
      config: write,
    },
    async (request) => ({
      changed: await deps.preferences.unfollow(tenantContext(request), request.params.user_id, request.params.brand_id),
    }),
  );
  r.post(
    `${P}/favorites`,
    {
      schema: {
        tags,
        summary: 'Favorite an item (idempotent)',
        params: s.shopperParams,
        body: s.favoriteBody,
        response: { 200: s.changedResponse, ...errorResponses },
      },
      config: write,
    },
    async (request) => ({ changed: await deps.preferences.favorite(tenantContext(request), request.params.user_id, request.body.item_id) }),
  );
  r.delete(
    `${P}/favorites/:item_id`,
    {
      schema: { tags, summary: 'Remove a favorite', params: s.favoriteParams, response: { 200: s.changedResponse, ...errorResponses } },
      config: write,
    },
    async (request) => ({
      changed: await deps.preferences.unfavorite(tenantContext(request), request.params.user_id, request.params.item_id),
    }),
  );
  r.get(
    `${P}/style-profile`,
    {
      schema: {
        tags,
        summary: "A shopper's style profile (decayed layers) and its snapshots",
        params: s.shopperParams,
        response: { 200: s.styleProfileResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const { profile, snapshots } = await deps.preferences.styleProfile(tenantContext(request), request.params.user_id);
      return {
        user_id: request.params.user_id,
        profile: profile
          ? {
              style_layers: profile.layers.style,
              price_layers: profile.layers.price,
              category_layers: profile.layers.category,
              occasion_layers: profile.layers.occasion,
              brand_layers: profile.layers.brand,
              commerce_intent: profile.layers.intent,
              confidence: profile.confidence,
              events_count: profile.eventsCount,
              updated_at: iso(profile.updatedAt)!,
            }
          : null,
        snapshots: snapshots.map((x) => ({
          id: x.id,
          reason: x.reason,
          snapshot_date: iso(x.snapshotDate)!,
          confidence: x.confidence,
          style_layers: x.layers.style,
        })),
      };
    },
  );
}
