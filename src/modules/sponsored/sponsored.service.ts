import {
  type Db,
  MAX_MINOR,
  type TenantContext,
  conflict,
  isUuid,
  notFound,
  parseMoney,
  requirePermission,
  sha256Hex,
  validation,
  inTenant,
} from '../../platform/index.ts';
import {
  type CampaignForDecision,
  type DecisionContext,
  type Ineligibility,
  campaignProblems,
  dayOf,
  gspAuction,
  ineligibility,
  pacingCapMilli,
  qualityOf,
  smoothedRate,
  unitCostMilli,
  attribute,
  type CampaignStatus,
} from './sponsored.core.ts';
import { clickVerdict } from './traffic.core.ts';
import type { PacingTraffic } from './pacing.service.ts';
import type { BudgetPool } from './budget.pool.ts';
import { type AudienceService, createAudienceService } from './audience.service.ts';
import type {
  CampaignRow,
  CampaignWrite,
  ClickRow,
  ConversionRow,
  DailyPoint,
  DecisionRow,
  ImpressionRow,
  Performance,
  Q,
  SponsoredRepository,
} from './sponsored.repository.ts';
import type { CampaignCreateBody, CampaignUpdateBody, Outcome } from './sponsored.schemas.ts';

/** Per-tenant sponsored settings (tenant settings `sponsored`), with their defaults. */
export interface SponsoredSettings {
  /** Reserve price per chargeable unit, minor units of the campaign's currency. */
  reserveMinor: bigint;
  /** How long a served decision keeps its budget reserved for its click, conversion or impression report. */
  reservationSeconds: number;
  /** Seconds within which a second click by the same user on the same campaign is not charged. */
  repeatClickSeconds: number;
  /** Feed positions (1-based) of sponsored modules. */
  feedPositions: number[];
}

export const DEFAULT_SPONSORED_SETTINGS: SponsoredSettings = {
  reserveMinor: 1n,
  reservationSeconds: 1800,
  repeatClickSeconds: 10,
  feedPositions: [3, 8],
};

/** Reads `settings.sponsored` of a tenant's settings object, falling back per field to the defaults. */
export function sponsoredSettingsOf(settings: Record<string, unknown>): SponsoredSettings {
  const s = (settings.sponsored ?? {}) as Record<string, unknown>;
  const int = (v: unknown, min: number, max: number) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;
  const reserve = int(s.reserve_minor, 0, 1_000_000_000);
  const positions = Array.isArray(s.feed_positions) ? s.feed_positions.filter((p) => int(p, 1, 200) !== undefined) : undefined;
  return {
    reserveMinor: reserve === undefined ? DEFAULT_SPONSORED_SETTINGS.reserveMinor : BigInt(reserve),
    reservationSeconds: int(s.reservation_seconds, 10, 86_400) ?? DEFAULT_SPONSORED_SETTINGS.reservationSeconds,
    repeatClickSeconds: int(s.repeat_click_seconds, 0, 3600) ?? DEFAULT_SPONSORED_SETTINGS.repeatClickSeconds,
    feedPositions: positions && positions.length > 0 ? (positions as number[]) : DEFAULT_SPONSORED_SETTINGS.feedPositions,
  };
}

export interface SponsoredServiceDeps {
  db: Db;
  repo: SponsoredRepository;
  clock: () => Date;
  settings: (tenantId: string) => Promise<SponsoredSettings>;
  /** Placement requests counted per hour, and the tenant's traffic curve that even pacing follows. */
  traffic: PacingTraffic;
  /** Budget blocks for pooled decisions (the feed's); without it every decision reserves on its own. */
  pool?: BudgetPool | undefined;
  /** How long pooled decisions reuse a tenant's active campaigns, and between their sweeps of expired reservations (ms). */
  pooledCacheMs?: number | undefined;
  /** Saved-cohort audiences (`targeting.cohorts`); without it a cohort-targeted campaign is refused. */
  audience?: AudienceService | undefined;
}

export interface DecisionRequest {
  placement: string;
  userId: string;
  slots: number;
  device?: string | undefined;
  country?: string | undefined;
  categories?: string[] | undefined;
  segments?: string[] | undefined;
  /**
   * Instead of `segments`: how to read the shopper's segments, called only when an active campaign targets
   * segments (the feed's placements: most tenants target none, and the lookup is a read per page), with the
   * segments those campaigns name (a `cohort:<id>` segment is answered only when named: see the feed's `segmentsFrom`).
   */
  segmentsOf?: ((wanted: readonly string[]) => Promise<string[]>) | undefined;
  styles?: string[] | undefined;
}

export interface Decision {
  decision: DecisionRow;
  campaign: CampaignRow;
  slot: number;
}

export interface EventResult<T> {
  row: T;
  /** The charged campaign's currency (charges are shown in it); the event's own currency when unattributed. */
  currency: string;
  duplicate: boolean;
  outcome: Outcome;
  charged: boolean;
}

const CAMPAIGN_NOT_FOUND = () => notFound('SPONSORED_CAMPAIGN_NOT_FOUND', 'The campaign');
/** Beyond this a budget in milli units would not fit int8. */
const MAX_BUDGET_MINOR = MAX_MINOR / 1000n;
// Predicted-rate priors: a new campaign starts at 2% CTR (100 pseudo-impressions) and 5% conversion per click (20 pseudo-clicks).
const CTR_PRIOR = 0.02;
const CTR_PRIOR_WEIGHT = 100;
const CVR_PRIOR = 0.05;
const CVR_PRIOR_WEIGHT = 20;

/** Thrown inside a transaction to roll back work done for an event that turned out to be a replay. */
class Replay extends Error {}

/** Budget-scope figures of a campaign: what it committed and what remains, milli units. */
export function scopeOf(c: CampaignRow, now: Date): { committedMilli: bigint; spentMilli: bigint; remainingMilli: bigint } {
  const today = dayOf(now);
  const [spent, reserved] =
    c.budgetType === 'daily' ? (c.budgetDay === today ? [c.daySpentMilli, c.dayReservedMilli] : [0n, 0n]) : [c.spentMilli, c.reservedMilli];
  const remaining = c.budgetMinor * 1000n - spent - reserved;
  return { committedMilli: spent + reserved, spentMilli: spent, remainingMilli: remaining < 0n ? 0n : remaining };
}

/** Default of `pooledCacheMs`. */
const POOLED_CACHE_MS = 1000;

export function createSponsoredService(deps: SponsoredServiceDeps) {
  const { db, repo, clock } = deps;
  const audience = deps.audience ?? createAudienceService(undefined);
  const pooledCacheMs = deps.pooledCacheMs ?? POOLED_CACHE_MS;
  type Active = Awaited<ReturnType<typeof repo.activeCampaigns>>;
  /**
   * Pooled decisions (the feed's) read a tenant's active campaigns and sweep its expired reservations at most
   * once per `pooledCacheMs`: the budget itself is guarded by the block's reservation, not by these figures. A
   * change made through this process (create, update, transition) is seen at once; one made through another
   * process within `pooledCacheMs`. The exact path (`GET /eligible`) reads every time.
   */
  const activeCache = new Map<string, { at: number; rows: Promise<Active> }>();
  const sweptAt = new Map<string, number>();
  function pooledActive(tenantId: string, now: Date): Promise<Active> {
    const hit = activeCache.get(tenantId);
    if (hit && now.getTime() - hit.at < pooledCacheMs && now.getTime() >= hit.at) return hit.rows;
    const rows = repo.activeCampaigns(db, tenantId, now).then((r) => {
      deps.pool?.retireExcept(tenantId, new Set(r.map((c) => c.id)));
      return r;
    });
    rows.catch(() => activeCache.delete(tenantId));
    if (activeCache.size > 10_000) activeCache.clear();
    activeCache.set(tenantId, { at: now.getTime(), rows });
    return rows;
  }
  async function pooledSweep(tenantId: string, now: Date): Promise<void> {
    const last = sweptAt.get(tenantId);
    if (last !== undefined && now.getTime() - last < pooledCacheMs && now.getTime() >= last) return;
    if (sweptAt.size > 10_000) sweptAt.clear();
    sweptAt.set(tenantId, now.getTime());
    await repo.releaseExpired(db, tenantId, now);
  }
  const changed = (tenantId: string) => {
    activeCache.delete(tenantId);
  };

  async function mustGet(q: Q, ctx: TenantContext, id: string): Promise<CampaignRow> {
    if (!isUuid(id)) throw CAMPAIGN_NOT_FOUND();
    const c = await repo.getCampaign(q, ctx.tenantId, id);
    if (!c) throw CAMPAIGN_NOT_FOUND();
    return c;
  }

  /** Under the (campaign, shopper) lock: does one more impression fit every frequency cap of the campaign? */
  async function withinCaps(tx: Q, tenantId: string, c: CampaignRow, userId: string, now: Date): Promise<boolean> {
    if (!c.frequencyCaps.length) return true;
    await repo.lockShopperCaps(tx, tenantId, c.id, userId);
    const longest = Math.max(...c.frequencyCaps.map((f) => f.windowSeconds));
    const used = await repo.capUsage(tx, tenantId, c.id, userId, new Date(now.getTime() - longest * 1000), now);
    return c.frequencyCaps.every((f) => used.filter((at) => at.getTime() > now.getTime() - f.windowSeconds * 1000).length < f.impressions);
  }

  /** Body → campaign write, with every problem named by field (money parsed exactly in the currency). */
  function toWrite(body: CampaignCreateBody, reserveMinor: bigint): CampaignWrite {
    const errors: { field: string; message: string }[] = [];
    const amount = (field: string, v: string | number): bigint => {
      const r = parseMoney(v, body.currency);
      if (!r.ok) {
        errors.push({ field, message: `${field} ${r.reason}` });
        return 0n;
      }
      if (r.minor > MAX_BUDGET_MINOR) errors.push({ field, message: `${field} is too large` });
      return r.minor;
    };
    const budgetMinor = amount('budget_amount', body.budget_amount);
    const bidMinor = amount('bid_amount', body.bid_amount);
    const startDate = new Date(body.start_date);
    const endDate = body.end_date ? new Date(body.end_date) : null;
    const frequencyCaps = (body.frequency_caps ?? []).map((c) => ({ impressions: c.impressions, windowSeconds: c.window_seconds }));
    if (errors.length === 0)
      for (const p of campaignProblems({ budgetMinor, bidMinor, reserveMinor, startDate, endDate, frequencyCaps }))
        errors.push({ field: p.field, message: `${p.field} ${p.message}` });
    if (errors.length > 0) throw validation('VALIDATION_FAILED', errors.map((e) => e.message).join('; '), errors);

    return {
      brandId: body.brand_id,
      name: body.name,
      creative: body.creative ?? {},
      promotedItemIds: body.promoted_item_ids ?? [],
      currency: body.currency,
      budgetMinor,
      budgetType: body.budget_type,
      startDate,
      endDate,
      priorityScore: body.priority_score ?? 0,
      pricingModel: body.pricing_model,
      bidMinor,
      targeting: body.targeting ?? {},
      frequencyCaps,
      pacing: body.pacing ?? 'even',
      clickWindowSeconds: body.click_window_seconds ?? 7 * 86_400,
      viewWindowSeconds: body.view_window_seconds ?? 86_400,
    };
  }

  async function transition(ctx: TenantContext, id: string, from: readonly CampaignStatus[], to: CampaignStatus, reason: string | null) {
    requirePermission(ctx, 'sponsored:manage');
    const current = await mustGet(db, ctx, id);
    const row = await repo.transition(db, ctx.tenantId, id, from, to, reason, clock());
    changed(ctx.tenantId);
    if (!row)
      throw conflict(
        'SPONSORED_INVALID_TRANSITION',
        `A campaign that is ${current.status} cannot become ${to}; it must be ${from.join(' or ')}.`,
      );
    return row;
  }

  return {
    async create(ctx: TenantContext, body: CampaignCreateBody): Promise<CampaignRow> {
      requirePermission(ctx, 'sponsored:manage');
      const s = await deps.settings(ctx.tenantId);
      const write = toWrite(body, s.reserveMinor);
      await audience.check(ctx.tenantId, write.targeting);
      changed(ctx.tenantId);
      return repo.insertCampaign(db, ctx.tenantId, write, clock());
    },

    /** Changes the given fields; the rest keep their values. A changed creative or targeting goes back to review. */
    async update(ctx: TenantContext, id: string, patch: CampaignUpdateBody, current: CampaignCreateBody): Promise<CampaignRow> {
      requirePermission(ctx, 'sponsored:manage');
      const s = await deps.settings(ctx.tenantId);
      const write = toWrite({ ...current, ...patch }, s.reserveMinor);
      if (patch.targeting !== undefined) await audience.check(ctx.tenantId, write.targeting);
      const row = await repo.updateCampaign(db, ctx.tenantId, id, write, clock());
      changed(ctx.tenantId);
      if (!row) throw CAMPAIGN_NOT_FOUND();
      const needsReview = patch.creative !== undefined || patch.promoted_item_ids !== undefined || patch.targeting !== undefined;
      if (needsReview && (row.status === 'approved' || row.status === 'active' || row.status === 'paused'))
        return (
          (await repo.transition(db, ctx.tenantId, id, [row.status], 'pending_review', 'changed creative or targeting', clock())) ?? row
        );
      return row;
    },

    get: (ctx: TenantContext, id: string) => mustGet(db, ctx, id),

    list(ctx: TenantContext, f: { status?: string | undefined; brandId?: string | undefined; after?: string | undefined; limit: number }) {
      return repo.listCampaigns(db, ctx.tenantId, f);
    },

    approve: (ctx: TenantContext, id: string) => transition(ctx, id, ['pending_review', 'rejected'], 'approved', null),
    reject: (ctx: TenantContext, id: string, reason: string) =>
      transition(ctx, id, ['pending_review', 'approved', 'active', 'paused'], 'rejected', reason),
    activate: (ctx: TenantContext, id: string) => transition(ctx, id, ['approved', 'paused'], 'active', null),
    pause: (ctx: TenantContext, id: string) => transition(ctx, id, ['active'], 'paused', null),

    /**
     * The placement's winning campaigns for a user: expired reservations released, eligible campaigns
     * (dates, status, budget left, pacing, caps, targeting) ranked by bid x predicted rate in a generalized
     * second-price auction with the tenant's reserve, and each winner's budget reserved for one chargeable
     * event before it is returned (a winner whose budget cannot hold it is dropped).
     *
     * `pooled` (the feed's sponsored modules): campaigns and the sweep of expired reservations at most once per
     * `pooledCacheMs`, and a winner without frequency caps carved from this process's budget block
     * (budget.pool.ts) with no statement on the request path; a capped winner still reserves under its lock.
     */
    async decide(
      ctx: TenantContext,
      req: DecisionRequest,
      opts: { pooled?: boolean } = {},
    ): Promise<{ decisions: Decision[]; ineligible: Map<string, Ineligibility> }> {
      const now = clock();
      deps.traffic.count(ctx.tenantId, now);
      const s = await deps.settings(ctx.tenantId);
      const pool = opts.pooled ? deps.pool : undefined;
      if (pool) await pooledSweep(ctx.tenantId, now);
      else await repo.releaseExpired(db, ctx.tenantId, now);
      const campaigns = pool ? await pooledActive(ctx.tenantId, now) : await repo.activeCampaigns(db, ctx.tenantId, now);
      const ineligible = new Map<string, Ineligibility>();
      if (campaigns.length === 0) return { decisions: [], ineligible };
      const maxWindow = Math.max(0, ...campaigns.flatMap((c) => c.frequencyCaps.map((f) => f.windowSeconds)));
      const recent =
        maxWindow > 0 ? await repo.recentImpressions(db, ctx.tenantId, req.userId, new Date(now.getTime() - maxWindow * 1000)) : [];
      const counts = new Map<string, number>();
      for (const c of campaigns)
        for (const f of c.frequencyCaps) {
          const since = now.getTime() - f.windowSeconds * 1000;
          counts.set(`${c.id}:${f.windowSeconds}`, recent.filter((r) => r.campaignId === c.id && r.viewedAt.getTime() > since).length);
        }
      const curve = campaigns.some((c) => c.pacing === 'even' && c.budgetType === 'daily')
        ? await deps.traffic.curve(ctx.tenantId, now)
        : null;
      const wanted = [...new Set(campaigns.flatMap((c) => c.targeting.segments ?? []))];
      const segments = req.segments ?? (req.segmentsOf && wanted.length > 0 ? await req.segmentsOf(wanted) : undefined);
      const targeted = [...new Set(campaigns.flatMap((c) => c.targeting.cohorts ?? []))];
      const cohorts = targeted.length ? await audience.cohortsOf(ctx.tenantId, req.userId, targeted) : undefined;
      const dctx: DecisionContext = {
        now,
        cohorts,
        trafficCurve: curve,
        placement: req.placement,
        device: req.device,
        country: req.country,
        categories: req.categories,
        segments,
        styles: req.styles,
        recentImpressions: counts,
      };
      const byId = new Map<string, CampaignRow>();
      const bidders = [];
      for (const c of campaigns) {
        const d: CampaignForDecision = {
          ...c,
          committedMilli: scopeOf(c, now).committedMilli,
          predictedCtr: smoothedRate(c.clicks, c.impressions, CTR_PRIOR, CTR_PRIOR_WEIGHT),
          predictedCvr: smoothedRate(c.conversions, c.clicks, CVR_PRIOR, CVR_PRIOR_WEIGHT),
        };
        const why = ineligibility(d, dctx, s.reserveMinor);
        if (why) {
          ineligible.set(c.id, why);
          continue;
        }
        byId.set(c.id, c);
        bidders.push({ id: c.id, bidMinor: c.bidMinor, quality: qualityOf(d), priority: c.priorityScore });
      }
      const decisions: Decision[] = [];
      for (const w of gspAuction(bidders, req.slots, s.reserveMinor)) {
        const c = byId.get(w.id)!;
        const reserve = (q: Q) =>
          repo.reserve(q, ctx.tenantId, {
            campaignId: c.id,
            userId: req.userId,
            placement: req.placement,
            priceMinor: w.priceMinor,
            costMilli: unitCostMilli(c.pricingModel, w.priceMinor),
            capMilli: pacingCapMilli(c, now, curve),
            today: dayOf(now),
            now,
            expiresAt: new Date(now.getTime() + s.reservationSeconds * 1000),
          });
        // The counts above were read outside any lock: a capped campaign re-counts and reserves under its
        // (campaign, shopper) lock, so concurrent decisions for one shopper cannot all pass the same count.
        const decision = c.frequencyCaps.length
          ? await inTenant(db, ctx.tenantId, async (tx) =>
              (await withinCaps(tx, ctx.tenantId, c, req.userId, now)) ? reserve(tx) : 'capped',
            )
          : pool
            ? await pool.take(ctx.tenantId, {
                campaignId: c.id,
                budgetMinor: c.budgetMinor,
                remainingMilli: scopeOf(c, now).remainingMilli,
                userId: req.userId,
                placement: req.placement,
                priceMinor: w.priceMinor,
                costMilli: unitCostMilli(c.pricingModel, w.priceMinor),
                capMilli: pacingCapMilli(c, now, curve),
                today: dayOf(now),
                now,
                reservationSeconds: s.reservationSeconds,
              })
            : await reserve(db);
        if (decision === 'capped') ineligible.set(c.id, 'frequency_capped');
        else if (decision) decisions.push({ decision, campaign: c, slot: decisions.length });
        else ineligible.set(c.id, 'budget_exhausted');
      }
      return { decisions, ineligible };
    },

    /**
     * Records an impression, idempotent by event id (default: the decision id) and by decision. A CPM
     * campaign is charged here from the decision's reservation; without a decision the impression reserves
     * at the campaign's bid first, and is recorded uncharged when the budget cannot hold it.
     */
    async recordImpression(
      ctx: TenantContext,
      b: {
        eventId?: string | undefined;
        decisionId?: string | undefined;
        campaignId: string;
        userId: string;
        placement: string;
        viewedAt?: Date | undefined;
      },
    ): Promise<EventResult<ImpressionRow>> {
      const now = clock();
      const viewedAt = b.viewedAt ?? now;
      const eventId =
        b.eventId ?? b.decisionId ?? sha256Hex(`${b.campaignId}\u0000${b.userId}\u0000${b.placement}\u0000${viewedAt.toISOString()}`);
      const s = await deps.settings(ctx.tenantId);
      // A decision the feed served moments ago may still wait in this process's budget pool.
      if (b.decisionId !== undefined && deps.pool?.isPending(b.decisionId)) await deps.pool.flush();
      try {
        return await inTenant(db, ctx.tenantId, async (tx) => {
          const c = await mustGet(tx, ctx, b.campaignId);
          let decision: DecisionRow | undefined;
          if (b.decisionId !== undefined) {
            decision = isUuid(b.decisionId) ? await repo.getDecision(tx, ctx.tenantId, b.decisionId) : undefined;
            if (!decision || decision.campaignId !== c.id || decision.userId !== b.userId)
              throw notFound('SPONSORED_DECISION_NOT_FOUND', 'The decision (for this campaign and user)');
          } else {
            if (c.status !== 'active')
              throw conflict('SPONSORED_CAMPAIGN_NOT_ACTIVE', `The campaign is ${c.status}: only active campaigns are served.`);
            if (!(await repo.getImpressionByEvent(tx, ctx.tenantId, eventId))) {
              if (!(await withinCaps(tx, ctx.tenantId, c, b.userId, now)))
                throw conflict(
                  'SPONSORED_FREQUENCY_CAPPED',
                  "This shopper has reached the campaign's frequency cap: the impression was not recorded.",
                );
              decision = await repo.reserve(tx, ctx.tenantId, {
                campaignId: c.id,
                userId: b.userId,
                placement: b.placement,
                priceMinor: c.bidMinor,
                costMilli: unitCostMilli(c.pricingModel, c.bidMinor),
                capMilli: c.budgetMinor * 1000n,
                today: dayOf(now),
                now,
                expiresAt: new Date(now.getTime() + s.reservationSeconds * 1000),
              });
            }
          }
          const [row, inserted] = await repo.insertImpression(tx, ctx.tenantId, {
            eventId,
            campaignId: c.id,
            decisionId: decision?.id ?? null,
            userId: b.userId,
            placement: b.placement,
            impressionCostMilli: 0n,
            viewedAt,
          });
          if (!inserted) throw new Replay();
          if (c.pricingModel !== 'cpm')
            return {
              row,
              currency: c.currency,
              duplicate: false,
              outcome: decision ? 'not_chargeable' : 'budget_exhausted',
              charged: false,
            } as EventResult<ImpressionRow>;
          const cost = unitCostMilli('cpm', decision?.priceMinor ?? c.bidMinor);
          const out = await repo.charge(tx, ctx.tenantId, {
            campaignId: c.id,
            kind: 'impression',
            sourceId: row.id,
            decisionId: decision?.id ?? null,
            costMilli: cost,
            currency: c.currency,
            today: dayOf(now),
            now,
          });
          if (out !== 'charged') return { row, currency: c.currency, duplicate: false, outcome: out, charged: false };
          await repo.setImpressionCost(tx, ctx.tenantId, row.id, cost);
          return { row: { ...row, impressionCostMilli: cost }, currency: c.currency, duplicate: false, outcome: 'charged', charged: true };
        });
      } catch (err) {
        if (!(err instanceof Replay)) throw err;
        const row =
          (await repo.getImpressionByEvent(db, ctx.tenantId, eventId)) ??
          (await repo.getImpressionByDecision(db, ctx.tenantId, b.decisionId!));
        const c = (await repo.getCampaign(db, ctx.tenantId, row!.campaignId))!;
        return {
          row: row!,
          currency: c.currency,
          duplicate: true,
          outcome: row!.impressionCostMilli > 0n ? 'charged' : 'not_chargeable',
          charged: false,
        };
      }
    },

    /**
     * Records a click, idempotent by event id (default: one click per impression). Bots and repeats within
     * the tenant's window are recorded as invalid and not charged. A CPC campaign pays at most one click per
     * impression, from the impression's reservation (or directly while the budget holds it).
     */
    async recordClick(
      ctx: TenantContext,
      b: {
        eventId?: string | undefined;
        impressionId: string;
        campaignId?: string | undefined;
        userId: string;
        clickedAt?: Date | undefined;
        userAgent?: string | undefined;
      },
    ): Promise<EventResult<ClickRow>> {
      const now = clock();
      const clickedAt = b.clickedAt ?? now;
      const eventId = b.eventId ?? `impression:${b.impressionId}`;
      const s = await deps.settings(ctx.tenantId);
      const missing = () => notFound('SPONSORED_IMPRESSION_NOT_FOUND', 'The impression');
      try {
        return await inTenant(db, ctx.tenantId, async (tx) => {
          const imp = isUuid(b.impressionId) ? await repo.getImpression(tx, ctx.tenantId, b.impressionId) : undefined;
          if (!imp || (b.campaignId !== undefined && b.campaignId !== imp.campaignId)) throw missing();
          if (imp.userId !== b.userId)
            throw validation('SPONSORED_CLICK_USER_MISMATCH', 'user_id is not the user the impression was shown to.');
          const c = await mustGet(tx, ctx, imp.campaignId);
          const previous = await repo.lastClickAt(tx, ctx.tenantId, b.userId, c.id, clickedAt);
          const verdict = clickVerdict({
            userAgent: b.userAgent,
            previousClickAt: previous,
            at: clickedAt,
            repeatSeconds: s.repeatClickSeconds,
          });
          const invalid = verdict === 'valid' ? null : verdict;
          const [row, inserted] = await repo.insertClick(tx, ctx.tenantId, {
            eventId,
            impressionId: imp.id,
            campaignId: c.id,
            userId: b.userId,
            clickCostMilli: 0n,
            invalidReason: invalid,
            clickedAt,
          });
          if (!inserted) throw new Replay();
          if (invalid)
            return {
              row,
              currency: c.currency,
              duplicate: false,
              outcome: invalid === 'bot' ? 'invalid_bot' : 'invalid_repeat',
              charged: false,
            } as EventResult<ClickRow>;
          if (c.pricingModel !== 'cpc')
            return { row, currency: c.currency, duplicate: false, outcome: 'not_chargeable', charged: false } as EventResult<ClickRow>;
          const decision = imp.decisionId ? await repo.getDecision(tx, ctx.tenantId, imp.decisionId) : undefined;
          const cost = unitCostMilli('cpc', decision?.priceMinor ?? c.bidMinor);
          const out = await repo.charge(tx, ctx.tenantId, {
            campaignId: c.id,
            // One paid click per impression: the ledger's source is the impression.
            kind: 'click',
            sourceId: imp.id,
            decisionId: decision?.id ?? null,
            costMilli: cost,
            currency: c.currency,
            today: dayOf(now),
            now,
          });
          if (out !== 'charged') return { row, currency: c.currency, duplicate: false, outcome: out, charged: false };
          await repo.setClickCost(tx, ctx.tenantId, row.id, cost);
          return { row: { ...row, clickCostMilli: cost }, currency: c.currency, duplicate: false, outcome: 'charged', charged: true };
        });
      } catch (err) {
        if (!(err instanceof Replay)) throw err;
        const row = (await repo.getClickByEvent(db, ctx.tenantId, eventId))!;
        const c = (await repo.getCampaign(db, ctx.tenantId, row.campaignId))!;
        return {
          row,
          currency: c.currency,
          duplicate: true,
          outcome: row.clickCostMilli > 0n ? 'charged' : 'not_chargeable',
          charged: false,
        };
      }
    },

    /**
     * Records a conversion, idempotent by event id, attributed to the user's last click (else impression)
     * inside its campaign's window: one campaign per conversion. A CPA campaign is charged for it.
     */
    async recordConversion(
      ctx: TenantContext,
      b: {
        eventId: string;
        userId: string;
        conversionType: string;
        value: string | number;
        currency: string;
        convertedAt?: Date | undefined;
        campaignId?: string | undefined;
      },
    ): Promise<EventResult<ConversionRow> & { attributed: boolean }> {
      const now = clock();
      const convertedAt = b.convertedAt ?? now;
      const value = parseMoney(b.value, b.currency);
      if (!value.ok)
        throw validation('VALIDATION_FAILED', `conversion_value ${value.reason}`, [{ field: 'conversion_value', message: value.reason }]);
      if (b.campaignId !== undefined && !isUuid(b.campaignId)) throw CAMPAIGN_NOT_FOUND();
      try {
        return await inTenant(db, ctx.tenantId, async (tx) => {
          if (b.campaignId !== undefined) await mustGet(tx, ctx, b.campaignId);
          if (await repo.findConversion(tx, ctx.tenantId, b.eventId)) throw new Replay();
          const since = new Date(convertedAt.getTime() - 90 * 86_400_000);
          const touches = (await repo.touches(tx, ctx.tenantId, b.userId, since, convertedAt)).filter(
            (t) => b.campaignId === undefined || t.campaignId === b.campaignId,
          );
          const touch = attribute(touches, convertedAt);
          const full = touch ? touches.find((t) => t.kind === touch.kind && t.id === touch.id)! : undefined;
          const [row, inserted] = await repo.insertConversion(tx, ctx.tenantId, {
            eventId: b.eventId,
            userId: b.userId,
            campaignId: full?.campaignId ?? null,
            clickId: full?.kind === 'click' ? full.id : null,
            impressionId: full?.impressionId ?? null,
            conversionType: b.conversionType,
            valueMinor: value.minor,
            currency: b.currency,
            costMilli: 0n,
            convertedAt,
          });
          if (!inserted) throw new Replay();
          if (!full)
            return {
              row,
              currency: b.currency,
              duplicate: false,
              outcome: 'unattributed',
              charged: false,
              attributed: false,
            } as EventResult<ConversionRow> & { attributed: boolean };
          const c = await mustGet(tx, ctx, full.campaignId);
          if (c.pricingModel !== 'cpa')
            return {
              row,
              currency: c.currency,
              duplicate: false,
              outcome: 'not_chargeable',
              charged: false,
              attributed: true,
            } as EventResult<ConversionRow> & { attributed: boolean };
          const decision = full.decisionId ? await repo.getDecision(tx, ctx.tenantId, full.decisionId) : undefined;
          const cost = unitCostMilli('cpa', decision?.priceMinor ?? c.bidMinor);
          const out = await repo.charge(tx, ctx.tenantId, {
            campaignId: c.id,
            kind: 'conversion',
            sourceId: row.id,
            decisionId: decision?.id ?? null,
            costMilli: cost,
            currency: c.currency,
            today: dayOf(now),
            now,
          });
          if (out !== 'charged') return { row, currency: c.currency, duplicate: false, outcome: out, charged: false, attributed: true };
          await repo.setConversionCost(tx, ctx.tenantId, row.id, cost);
          return {
            row: { ...row, costMilli: cost },
            currency: c.currency,
            duplicate: false,
            outcome: 'charged',
            charged: true,
            attributed: true,
          };
        });
      } catch (err) {
        if (!(err instanceof Replay)) throw err;
        const row = (await repo.findConversion(db, ctx.tenantId, b.eventId))!;
        const c = row.campaignId ? await repo.getCampaign(db, ctx.tenantId, row.campaignId) : undefined;
        return {
          row,
          currency: c?.currency ?? row.currency,
          duplicate: true,
          outcome: row.costMilli > 0n ? 'charged' : row.campaignId ? 'not_chargeable' : 'unattributed',
          charged: false,
          attributed: row.campaignId !== null,
        };
      }
    },

    async performance(
      ctx: TenantContext,
      id: string,
      days: number,
    ): Promise<{
      campaign: CampaignRow;
      perf: Performance;
      daily: DailyPoint[];
      plannedMilli: bigint;
      committedMilli: bigint;
      remainingMilli: bigint;
    }> {
      const c = await mustGet(db, ctx, id);
      const now = clock();
      const [perf, daily] = await Promise.all([
        repo.performance(db, ctx.tenantId, c.id, c.currency),
        repo.daily(db, ctx.tenantId, c.id, c.currency, new Date(now.getTime() - days * 86_400_000)),
      ]);
      const scope = scopeOf(c, now);
      const curve = c.pacing === 'even' && c.budgetType === 'daily' ? await deps.traffic.curve(ctx.tenantId, now) : null;
      return {
        campaign: c,
        perf,
        daily,
        plannedMilli: pacingCapMilli(c, now, curve),
        committedMilli: scope.committedMilli,
        remainingMilli: scope.remainingMilli,
      };
    },

    async statement(ctx: TenantContext, brandId: string, month: string) {
      const from = new Date(`${month}-01T00:00:00.000Z`);
      const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
      return repo.statement(db, ctx.tenantId, brandId, from, to);
    },
  };
}
export type SponsoredService = ReturnType<typeof createSponsoredService>;
