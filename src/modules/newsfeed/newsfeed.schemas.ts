import { z } from 'zod';
import { currencyCode } from '../../platform/schemas.ts';

/** Public request and response schemas of the newsfeed and shopper preferences (seed 000, snake_case). */
const userId = z.string().trim().min(1, 'must not be empty').max(255);
const name = z.string().trim().min(1, 'must not be empty').max(300);
const list = z.array(z.string().trim().min(1).max(200)).max(100);

export const feedQuery = z
  .object({
    user_id: userId,
    cursor: z.string().max(20_000).optional(),
    preview: z
      .enum(['true', 'false'])
      .optional()
      .describe("true: a preview (the dashboard's) — the items are not recorded as shown to the shopper"),
  })
  .strict();

const offer = z.object({
  price: z.string(),
  currency: z.string(),
  store: z.string().nullable(),
  url: z.string().nullable(),
  was_price: z.string().nullable().describe('The lowest price of the 30 days before, when this offer is below it (a price drop)'),
});
export const feedItem = z.object({
  item_id: z.string(),
  name: z.string(),
  category: z.string().nullable(),
  brand: z.string().nullable(),
  price: z.string().nullable(),
  currency: z.string().nullable(),
  image_url: z.string().nullable(),
  module_id: z.string(),
  position: z.number().describe('1-based position in this page'),
  sponsored: z.boolean(),
  best_offer: offer.nullable(),
});
export const feedModule = z.object({
  id: z.string(),
  type: z.string(),
  title: z.string(),
  label: z.literal('Sponsored').nullable(),
  source: z.string(),
  position: z.number().describe('1-based module position in the whole feed'),
  sponsored: z.boolean(),
  campaign_id: z.string().nullable(),
  decision_id: z.string().nullable().describe('Report the impression with POST /api/v1/sponsored/impressions and this decision_id'),
  item_ids: z.array(z.string()),
});
export const feedResponse = z.object({
  user_id: z.string(),
  items: z.array(feedItem),
  modules: z.array(feedModule),
  experiment: z.object({ experiment_id: z.string().nullable(), variant: z.string(), module_order: z.array(z.string()) }),
  next_cursor: z.string().nullable(),
});
export type FeedResponse = z.infer<typeof feedResponse>;

export const shopperParams = z.object({ user_id: userId }).strict();
export const followParams = z.object({ user_id: userId, brand_id: name }).strict();
export const favoriteParams = z.object({ user_id: userId, item_id: name }).strict();
export const followBody = z.object({ brand_id: name }).strict();
export const favoriteBody = z.object({ item_id: name }).strict();
export const preferencesBody = z
  .object({
    styles: list.optional(),
    categories: list.optional(),
    brands: list.optional(),
    sizes: list.optional(),
    occasions: list.optional(),
    price_min: z
      .union([z.string().max(40), z.number()])
      .nullable()
      .optional(),
    price_max: z
      .union([z.string().max(40), z.number()])
      .nullable()
      .optional(),
    currency: currencyCode.nullable().optional(),
  })
  .strict();
export type PreferencesBody = z.infer<typeof preferencesBody>;

const layer = z.record(z.string(), z.number());
export const styleProfile = z.object({
  style_layers: layer,
  price_layers: layer,
  category_layers: layer,
  occasion_layers: layer,
  brand_layers: layer,
  commerce_intent: layer,
  confidence: z.number(),
  events_count: z.number(),
  updated_at: z.string(),
});
export const preferencesResponse = z.object({
  user_id: z.string(),
  follows: z.array(z.object({ brand_id: z.string(), created_at: z.string() })),
  favorites: z.array(z.object({ item_id: z.string(), created_at: z.string() })),
  preferences: z.object({
    styles: z.array(z.string()),
    categories: z.array(z.string()),
    brands: z.array(z.string()),
    sizes: z.array(z.string()),
    occasions: z.array(z.string()),
    price_min: z.string().nullable(),
    price_max: z.string().nullable(),
    currency: z.string().nullable(),
  }),
});
export const styleProfileResponse = z.object({
  user_id: z.string(),
  profile: styleProfile.nullable(),
  snapshots: z.array(
    z.object({ id: z.string(), reason: z.string(), snapshot_date: z.string(), confidence: z.number(), style_layers: layer }),
  ),
});
export const changedResponse = z.object({ changed: z.boolean() });
