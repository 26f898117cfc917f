/** Repository rows → the public JSON of pricing.schemas.ts (snake_case, exact money text). */
import type { z } from 'zod';
import { formatMoney, formatMoneyDisplay, iso } from '../../platform/index.ts';
import type { AlertEventRow, AlertRow } from './alerts.repository.ts';
import type { FeedRunRow, GroupRow, OfferRow, ReviewRow, StoreRow } from './pricing.repository.ts';
import type {
  alertEventSchema,
  alertSchema,
  feedRunSchema,
  groupSchema,
  offerSchema,
  reviewSchema,
  sourceSchema,
  storeSchema,
} from './pricing.schemas.ts';
import type { SourceRow } from './sources.repository.ts';

export const toStore = (s: StoreRow): z.infer<typeof storeSchema> => ({
  id: s.id,
  name: s.name,
  network: s.network,
  network_merchant_id: s.networkMerchantId,
  terms: s.terms,
  offer_count: s.offerCount,
  last_run: s.lastRunId ? { id: s.lastRunId, status: s.lastRunStatus!, started_at: iso(s.lastRunAt)! } : null,
  created_at: iso(s.createdAt)!,
});

const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const toFeedRun = (
  r: FeedRunRow & { progress: Record<string, unknown> | null; maxAttempts: number },
): z.infer<typeof feedRunSchema> => ({
  id: r.id,
  store_id: r.storeId,
  format: r.format,
  mode: r.mode === 'prices' ? 'prices' : 'full',
  status: r.status as z.infer<typeof feedRunSchema>['status'],
  rows_read: r.rowsRead,
  rows_accepted: r.rowsAccepted,
  rows_rejected: r.rowsRejected,
  offers_created: r.offersCreated,
  prices_changed: r.pricesChanged,
  offers_unknown: r.offersUnknown,
  errors: r.errors,
  failure: r.failure,
  attempt: r.attempts,
  max_attempts: r.maxAttempts,
  progress: r.progress
    ? {
        // The run's row says it is done before the job's last progress write lands (throttled, written after the handler).
        fraction: r.status === 'succeeded' ? 1 : numOrNull(r.progress.fraction),
        pages_read: numOrNull(r.progress.pages_read),
        rows_read: numOrNull(r.progress.rows_read),
        total: numOrNull(r.progress.total),
      }
    : null,
  log: r.log,
  started_at: iso(r.startedAt)!,
  finished_at: iso(r.finishedAt),
});

export const toOffer = (o: OfferRow): z.infer<typeof offerSchema> => ({
  id: o.id,
  store_id: o.storeId,
  store: o.storeName,
  external_id: o.externalId,
  title: o.title,
  brand: o.brand,
  gtin: o.gtin,
  mpn: o.mpn,
  price: formatMoney(o.priceMinor, o.currency),
  price_minor: o.priceMinor.toString(),
  currency: o.currency,
  availability: o.availability,
  affiliate_link: o.affiliateUrl,
  image_link: o.imageUrl,
  attributes: o.attributes,
  match_group_id: o.matchGroupId,
  match_method: o.matchMethod,
  price_updated_at: iso(o.priceUpdatedAt)!,
});

export const toGroup = (g: GroupRow): z.infer<typeof groupSchema> => ({
  id: g.id,
  canonical_name: g.canonicalName,
  brand: g.brand,
  gtin: g.gtin,
  mpn: g.mpn,
  catalog_item_id: g.catalogItemId,
  pinned: g.pinned,
  offer_count: g.offerCount,
  min_price: g.minPriceMinor !== null && g.currency ? formatMoney(g.minPriceMinor, g.currency) : null,
  currency: g.currency,
  created_at: iso(g.createdAt)!,
});

/** Display text as seed 000 shows it ("$45.00"), in en-US. */
export const display = (minor: bigint, currency: string) => formatMoneyDisplay(minor, currency, 'en-US');

const money = (minor: string | null, currency: string | null) => (minor !== null && currency ? formatMoney(BigInt(minor), currency) : null);

export const toReview = (r: ReviewRow): z.infer<typeof reviewSchema> => ({
  id: r.id,
  score: Math.round(r.score * 1000) / 1000,
  status: r.status as z.infer<typeof reviewSchema>['status'],
  offer: {
    offer_id: r.offerId,
    title: r.offerTitle,
    store: r.offerStore,
    price: money(r.offerPriceMinor, r.offerCurrency),
    match_group_id: r.offerGroupId,
  },
  candidate: {
    offer_id: r.candidateOfferId,
    title: r.candidateTitle,
    store: r.candidateStore,
    price: money(r.candidatePriceMinor, r.candidateCurrency),
    match_group_id: r.candidateGroupId,
    group_name: r.candidateGroupName,
  },
  created_at: iso(r.createdAt)!,
  decided_at: iso(r.decidedAt),
});

export const toAlert = (a: AlertRow): z.infer<typeof alertSchema> => ({
  id: a.id,
  user_id: a.userId,
  product_id: a.groupId,
  product_name: a.groupName,
  kind: a.kind,
  target_price: a.targetMinor === null ? null : formatMoney(a.targetMinor, a.currency),
  drop_percent: a.dropPercent,
  days: a.windowDays,
  currency: a.currency,
  lowest_seen_price: a.kind === 'any_drop' && a.referenceMinor !== null ? formatMoney(a.referenceMinor, a.currency) : null,
  reference_price:
    (a.kind === 'percent_drop' || a.kind === 'lowest_in_days') && a.referenceMinor !== null
      ? formatMoney(a.referenceMinor, a.currency)
      : null,
  armed: a.armed,
  last_fired_at: iso(a.lastFiredAt),
  created_at: iso(a.createdAt)!,
});

export const toAlertEvent = (e: AlertEventRow): z.infer<typeof alertEventSchema> => ({
  id: e.id,
  alert_id: e.alertId,
  user_id: e.userId,
  product_id: e.groupId,
  kind: e.kind,
  price: formatMoney(e.priceMinor, e.currency),
  threshold: e.thresholdMinor === null ? null : formatMoney(e.thresholdMinor, e.currency),
  currency: e.currency,
  fired_at: iso(e.firedAt)!,
});

export const toSource = (s: SourceRow): z.infer<typeof sourceSchema> => ({
  id: s.id,
  store_id: s.storeId,
  store: s.storeName,
  network: s.network,
  account: s.account,
  schedule: s.schedule,
  next_run_at: iso(s.nextRunAt),
  price_schedule: s.priceSchedule,
  next_price_run_at: iso(s.nextPriceRunAt),
  last_run: s.lastRunId ? { id: s.lastRunId, status: s.lastStatus ?? 'queued', at: iso(s.lastRunAt), error: s.lastError } : null,
  created_at: iso(s.createdAt)!,
  updated_at: iso(s.updatedAt)!,
});
