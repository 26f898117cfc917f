import { z } from 'zod';
import { paginationQuery } from '../../platform/pagination.ts';
import { currencyCode } from '../../platform/schemas.ts';
import { BUDGET_TYPES, CAMPAIGN_STATUSES, PACING_MODES, PRICING_MODELS } from './sponsored.core.ts';

/**
 * Public request and response schemas of sponsored content (seed 000's columns, snake_case). Money goes in
 * as decimal text or a JSON number in the campaign's currency and comes out as exact decimal text.
 */
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
const money = z.union([z.string().max(40), z.number()]);
const id = z.string().min(1).max(200);
const list = (max: number) => z.array(z.string().max(200)).max(max);

const targeting = z
  .object({
    segments: list(100).optional(),
    /** Saved cohorts (analytics' ids): the campaign serves only their members. */
    cohorts: z.array(z.string().uuid()).max(20).optional(),
    categories: list(200).optional(),
    styles: list(100).optional(),
    devices: z
      .array(z.enum(['mobile', 'tablet', 'desktop', 'other']))
      .max(4)
      .optional(),
    countries: z
      .array(z.string().regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166 alpha-2 code'))
      .max(250)
      .optional(),
    hours: z.array(z.number().int().min(0).max(23)).max(24).optional(),
    weekdays: z.array(z.number().int().min(0).max(6)).max(7).optional(),
  })
  .strict();

const frequencyCap = z
  .object({
    impressions: z.number().int().min(1).max(1_000_000),
    window_seconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 86_400),
  })
  .strict();

const creative = z
  .object({
    headline: z.string().max(300).optional(),
    body: z.string().max(2000).optional(),
    image_url: z.string().max(2000).optional(),
    link_url: z.string().max(2000).optional(),
  })
  .strict();

const campaignFields = {
  brand_id: text(200),
  name: text(300),
  creative: creative.optional(),
  promoted_item_ids: list(100).optional(),
  currency: currencyCode,
  budget_amount: money,
  budget_type: z.enum(BUDGET_TYPES),
  start_date: z.iso.datetime({ offset: true }),
  end_date: z.iso.datetime({ offset: true }).nullable().optional(),
  priority_score: z.number().min(-1e6).max(1e6).optional(),
  pricing_model: z.enum(PRICING_MODELS),
  bid_amount: money,
  targeting: targeting.optional(),
  frequency_caps: z.array(frequencyCap).max(10).optional(),
  pacing: z.enum(PACING_MODES).optional(),
  click_window_seconds: z
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .optional(),
  view_window_seconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .optional(),
};
export const campaignCreateBody = z.object(campaignFields).strict();
export type CampaignCreateBody = z.infer<typeof campaignCreateBody>;
export const campaignUpdateBody = z.object(campaignFields).partial().strict();
export type CampaignUpdateBody = z.infer<typeof campaignUpdateBody>;

export const campaignIdParams = z.object({ id: z.string().min(1).max(100) }).strict();
export const rejectBody = z.object({ reason: text(1000) }).strict();
export const campaignListQuery = z
  .object({ status: z.enum(CAMPAIGN_STATUSES).optional(), brand_id: z.string().max(200).optional(), ...paginationQuery })
  .strict();

export const campaignResponse = z.object({
  id: z.string(),
  brand_id: z.string(),
  name: z.string(),
  creative: z.record(z.string(), z.unknown()),
  promoted_item_ids: z.array(z.string()),
  currency: z.string(),
  budget_amount: z.string(),
  budget_type: z.enum(BUDGET_TYPES),
  start_date: z.string(),
  end_date: z.string().nullable(),
  status: z.enum(CAMPAIGN_STATUSES),
  status_reason: z.string().nullable(),
  priority_score: z.number(),
  pricing_model: z.enum(PRICING_MODELS),
  bid_amount: z.string(),
  targeting: z.record(z.string(), z.unknown()),
  frequency_caps: z.array(z.object({ impressions: z.number(), window_seconds: z.number() })),
  pacing: z.enum(PACING_MODES),
  click_window_seconds: z.number(),
  view_window_seconds: z.number(),
  spend: z.string().describe('Lifetime spend, exact decimal text rounded half-even to the currency'),
  budget_remaining: z
    .string()
    .describe("What the budget's scope (today for daily budgets) still holds, spend and open reservations deducted"),
  created_at: z.string(),
  updated_at: z.string(),
});
export type CampaignResponse = z.infer<typeof campaignResponse>;
export const campaignListResponse = z.object({ data: z.array(campaignResponse), next_cursor: z.string().nullable() });

export const eligibleQuery = z
  .object({
    placement: text(100),
    user_id: text(255),
    slots: z.coerce.number().int().min(1).max(10).default(1),
    device: z.enum(['mobile', 'tablet', 'desktop', 'other']).optional(),
    country: z
      .string()
      .regex(/^[A-Za-z]{2}$/)
      .optional(),
    categories: z.string().max(2000).optional().describe('Comma-separated categories of the page or the shopper'),
    segments: z.string().max(2000).optional(),
    styles: z.string().max(2000).optional(),
  })
  .strict();

export const eligibleCampaign = z.object({
  decision_id: z.string(),
  campaign_id: z.string(),
  brand_id: z.string(),
  name: z.string(),
  label: z.literal('Sponsored'),
  creative: z.record(z.string(), z.unknown()),
  promoted_item_ids: z.array(z.string()),
  slot: z.number(),
  pricing_model: z.enum(PRICING_MODELS),
  price: z.string().describe("The second price per chargeable unit (per thousand impressions for CPM), in the campaign's currency"),
  currency: z.string(),
  expires_at: z.string(),
});
export type EligibleCampaign = z.infer<typeof eligibleCampaign>;
export const eligibleResponse = z.object({ placement: z.string(), user_id: z.string(), campaigns: z.array(eligibleCampaign) });

export const impressionBody = z
  .object({
    event_id: id.optional(),
    decision_id: z.string().max(100).optional(),
    campaign_id: z.string().max(100),
    user_id: text(255),
    placement: text(100),
    viewed_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export const clickBody = z
  .object({
    event_id: id.optional(),
    impression_id: z.string().max(100),
    campaign_id: z.string().max(100).optional(),
    user_id: text(255),
    clicked_at: z.iso.datetime({ offset: true }).optional(),
    user_agent: z.string().max(1000).optional(),
  })
  .strict();
export const conversionBody = z
  .object({
    event_id: id,
    user_id: text(255),
    conversion_type: text(50).default('purchase'),
    conversion_value: money,
    currency: currencyCode,
    converted_at: z.iso.datetime({ offset: true }).optional(),
    campaign_id: z.string().max(100).optional(),
  })
  .strict();

export const OUTCOMES = [
  'charged',
  'not_chargeable',
  'already_charged',
  'budget_exhausted',
  'invalid_bot',
  'invalid_repeat',
  'unattributed',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

const eventOutcome = {
  duplicate: z.boolean().describe('true when this event id was seen before: nothing was recorded or charged again'),
  outcome: z.enum(OUTCOMES),
  charged: z.boolean(),
};
export const impressionResponse = z.object({
  id: z.string(),
  event_id: z.string(),
  campaign_id: z.string(),
  decision_id: z.string().nullable(),
  user_id: z.string(),
  placement: z.string(),
  impression_cost: z.string(),
  viewed_at: z.string(),
  ...eventOutcome,
});
export const clickResponse = z.object({
  id: z.string(),
  event_id: z.string(),
  impression_id: z.string(),
  campaign_id: z.string(),
  user_id: z.string(),
  click_cost: z.string(),
  invalid_reason: z.string().nullable(),
  clicked_at: z.string(),
  ...eventOutcome,
});
export const conversionResponse = z.object({
  id: z.string(),
  event_id: z.string(),
  user_id: z.string(),
  campaign_id: z.string().nullable(),
  click_id: z.string().nullable(),
  impression_id: z.string().nullable(),
  conversion_type: z.string(),
  conversion_value: z.string(),
  currency: z.string(),
  conversion_cost: z.string(),
  converted_at: z.string(),
  attributed: z.boolean(),
  ...eventOutcome,
});

export const performanceQuery = z.object({ days: z.coerce.number().int().min(1).max(366).default(30) }).strict();
export const performanceResponse = z.object({
  campaign_id: z.string(),
  currency: z.string(),
  impressions: z.number(),
  clicks: z.number(),
  invalid_clicks: z.number(),
  ctr: z.number(),
  spend: z.string(),
  budget_amount: z.string(),
  budget_type: z.enum(BUDGET_TYPES),
  budget_remaining: z.string(),
  pace: z.object({
    mode: z.enum(PACING_MODES),
    planned_to_now: z.string().describe("Spend the pacing plan allows by now in the budget's scope"),
    committed: z.string().describe('Spent plus reserved in the scope'),
  }),
  conversions: z.number(),
  revenue: z.string(),
  roas: z.number().nullable(),
  daily: z.array(
    z.object({
      day: z.string(),
      impressions: z.number(),
      clicks: z.number(),
      spend: z.string(),
      conversions: z.number(),
      revenue: z.string(),
    }),
  ),
});
export type PerformanceResponse = z.infer<typeof performanceResponse>;

export const statementQuery = z
  .object({ brand_id: text(200), month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM') })
  .strict();
export const statementResponse = z.object({
  brand_id: z.string(),
  month: z.string(),
  lines: z.array(
    z.object({ campaign_id: z.string(), name: z.string(), currency: z.string(), kind: z.string(), events: z.number(), amount: z.string() }),
  ),
});
