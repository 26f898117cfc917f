import { z } from 'zod';
import { countryCode, currencyCode } from '../../platform/schemas.ts';
import { CUSTOM_TYPE_PATTERN } from './interactions.core.ts';
import { smallObject, timestamp } from './interactions.schemas.ts';

/** Seed 000's tracking calls (`/api/v1/analytics/*`). JSON in snake_case; unknown fields refused. */
const id = z.string().trim().min(1).max(200);
const url = z.string().trim().min(1).max(2000);
const label = z.string().trim().max(200);
const stageOrType = z.string().regex(CUSTOM_TYPE_PATTERN, 'must be lower_snake_case, e.g. add_to_cart');

export const sessionStartBody = z
  .object({
    session_id: id.optional(),
    user_id: id.optional(),
    anonymous_id: id.optional(),
    device_type: z.enum(['mobile', 'tablet', 'desktop', 'bot', 'other']).optional(),
    browser: label.optional(),
    os: label.optional(),
    user_agent: z.string().max(1000).optional(),
    locale: z.string().max(35).optional(),
    /** The visitor's country (ISO 3166-1 alpha-2), when the client knows it; else a trusted proxy's header if configured. */
    country: countryCode.optional(),
    utm_source: label.optional(),
    utm_medium: label.optional(),
    utm_campaign: label.optional(),
    utm_term: label.optional(),
    utm_content: label.optional(),
    utm: z
      .object({
        source: label.optional(),
        medium: label.optional(),
        campaign: label.optional(),
        term: label.optional(),
        content: label.optional(),
      })
      .strict()
      .optional(),
    referrer: url.optional(),
    landing_url: url.optional(),
    started_at: timestamp.optional(),
    metadata: smallObject.optional(),
  })
  .strict();

export const sessionResponse = z.object({
  session_id: z.string(),
  user_id: z.string().nullable(),
  device_type: z.string().nullable(),
  browser: z.string().nullable(),
  os: z.string().nullable(),
  country: z.string().nullable(),
  utm_source: z.string().nullable(),
  utm_medium: z.string().nullable(),
  utm_campaign: z.string().nullable(),
  pages_viewed: z.number(),
  cart_adds: z.number(),
  purchases: z.number(),
  revenue_cents: z.number(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  bounce: z.boolean().nullable(),
  exit_page_url: z.string().nullable(),
});

export const sessionEndBody = z.object({ session_id: id, ended_at: timestamp.optional(), exit_page_url: url.optional() }).strict();

export const pageViewBody = z
  .object({
    session_id: id,
    page_view_id: id.optional(),
    user_id: id.optional(),
    page_url: url,
    /** Seed 000 writes `type: "product"`; page_type is accepted too. */
    type: label.optional(),
    page_type: label.optional(),
    page_title: z.string().max(500).optional(),
    product_id: id.optional(),
    referrer: url.optional(),
    viewed_at: timestamp.optional(),
  })
  .strict();
export const pageViewResponse = z.object({
  page_view_id: z.string(),
  session_id: z.string(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  time_on_page_seconds: z.number().nullable(),
  scroll_depth_percent: z.number().nullable(),
});

export const pageViewEndBody = z
  .object({
    page_view_id: id,
    ended_at: timestamp.optional(),
    time_on_page_seconds: z.number().int().min(0).max(86_400).optional(),
    scroll_depth_percent: z.number().min(0).max(100).optional(),
  })
  .strict();

export const funnelBody = z
  .object({
    session_id: id,
    stage: stageOrType,
    event_id: id.optional(),
    user_id: id.optional(),
    product_id: id.optional(),
    reached_at: timestamp.optional(),
    metadata: smallObject.optional(),
  })
  .strict();
export const funnelResponse = z.object({ status: z.literal('tracked'), funnel_event_id: z.string() });

export const cartEventBody = z
  .object({
    session_id: id,
    type: stageOrType,
    event_id: id.optional(),
    user_id: id.optional(),
    anonymous_id: id.optional(),
    product_id: id.optional(),
    cart_item_id: id.optional(),
    quantity: z.number().int().min(0).max(100_000).optional(),
    /** Value in minor units (seed 000's value_cents), or a decimal `price` per unit. */
    value_cents: z.number().int().min(-1e12).max(1e12).optional(),
    price: z.union([z.number().finite(), z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/)]).optional(),
    currency: currencyCode.optional(),
    occurred_at: timestamp.optional(),
    metadata: smallObject.optional(),
  })
  .strict();
export const cartEventResponse = z.object({
  status: z.literal('tracked'),
  cart_event_id: z.string(),
  interaction_id: z.string().nullable(),
});
