import { z } from 'zod';

const issue = z.object({
  field: z.string().describe("The business profile's field (name, phone, address, website, regular_hours, categories ...)"),
  google_field: z.string().nullable().describe("Google's field path, when Google named one"),
  message: z.string(),
});

export const gbpLocationList = z.object({
  data: z.array(
    z.object({
      account: z.string(),
      account_name: z.string().nullable(),
      name: z.string().describe('locations/{id}'),
      title: z.string().nullable(),
      address: z.string().nullable(),
    }),
  ),
});

export const gbpChooseBody = z
  .object({
    account: z.string().regex(/^accounts\/[A-Za-z0-9_-]{1,64}$/, 'must be accounts/{id}'),
    location: z.string().regex(/^locations\/[A-Za-z0-9_-]{1,64}$/, 'must be locations/{id}'),
  })
  .strict();

export const gbpStatus = z.object({
  location: z
    .object({
      account: z.string(),
      name: z.string(),
      title: z.string().nullable(),
      sync_status: z.enum(['synced', 'unchanged', 'rejected', 'failed']).nullable(),
      sync_issues: z.array(issue),
      synced_at: z.string().nullable(),
      metrics_fetched_at: z.string().nullable(),
      metrics_error: z.string().nullable(),
    })
    .nullable(),
});

export const gbpSyncResult = z.object({
  status: z.enum(['synced', 'unchanged', 'rejected']),
  updated: z.array(z.string()).describe("Google's field paths written (update mask)"),
  issues: z.array(issue),
});

export const gbpInsightsQuery = z
  .object({
    from: z.iso.date().optional().describe('First day (YYYY-MM-DD), default 27 days before `to`'),
    to: z.iso.date().optional().describe('Last day (YYYY-MM-DD), default yesterday (UTC)'),
  })
  .strict();

const day = z.object({
  date: z.string(),
  missing: z.boolean().describe('true when no figures were fetched for this day (the counts are then 0)'),
  impressions_desktop_maps: z.number(),
  impressions_desktop_search: z.number(),
  impressions_mobile_maps: z.number(),
  impressions_mobile_search: z.number(),
  direction_requests: z.number(),
  call_clicks: z.number(),
  website_clicks: z.number(),
});
export const gbpInsights = z.object({
  location: z.string(),
  from: z.string(),
  to: z.string(),
  totals: day.omit({ date: true, missing: true }),
  days: z.array(day),
});
