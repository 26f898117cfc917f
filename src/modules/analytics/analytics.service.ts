import { type Db, type TenantContext, iso, isCurrencyCode, minorToMajor, notFound, validation } from '../../platform/index.ts';
import { MAX_BUCKETS, bucketCountEstimate, bucketLabels, funnelSteps, isTimeZone, mean, rate, resolveRange } from './analytics.core.ts';
import * as s from './analytics.schemas.ts';
import { computeFunnel, type FunnelCountRow } from './funnel.core.ts';
import { type FunnelRollupsService, isRolledUpFunnel } from './funnel-rollups.service.ts';
import { type ReportRollupsService, type ReportShape, rollupMisfit, shapeMisfit } from './report-rollups.service.ts';
import type {
  AnalyticsEventsPort,
  CartMeasures,
  CurrencyAmount,
  Granularity,
  PageMeasures,
  ReportWindow,
  SessionFilters,
  SessionMeasures,
} from './analytics.types.ts';
import type { RollupGrouping } from './report-rollups.repository.ts';

type Grouping = Exclude<RollupGrouping, { kind: 'page' }>;

export interface AnalyticsServiceDeps {
  db: Db;
  events: AnalyticsEventsPort;
  /** Ordered per-session funnels of stages read from rollups plus the raw tail (absent: every funnel is raw). */
  funnelRollups?: FunnelRollupsService | undefined;
  /** Session, page and cart measures from UTC-hour rollups when the window allows (absent: always raw). */
  reportRollups?: ReportRollupsService | undefined;
  /** Read the report rollups when the window allows (false: always the raw rows, `source_reason` says why). */
  rollupReads?: boolean | undefined;
  /** Top pages and page types from the rows per hour and page (default true; false on the embedded database: `shapeMisfit`). */
  pageRollupReads?: boolean | undefined;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  clock: () => Date;
}

type Common = { from?: string | undefined; to?: string | undefined; tz?: string | undefined } & SessionFilters;

const REALTIME_SECONDS = 300;
const TIMELINE_LIMIT = 2_000;

const moneyOut = (minor: string, currency: string) => ({ currency, amount: minorToMajor(minor, currency), amount_minor: minor });
const revenueOut = (rows: readonly CurrencyAmount[]) =>
  rows.filter((r) => isCurrencyCode(r.currency)).map((r) => ({ ...moneyOut(r.amountMinor, r.currency), count: r.count }));

const sessionStats = (m: SessionMeasures | undefined) => {
  const n = m?.sessions ?? 0;
  return {
    sessions: n,
    users: m?.users ?? 0,
    bounces: m?.bounces ?? 0,
    bounce_rate: rate(m?.bounces ?? 0, n),
    avg_duration_seconds: mean(m?.durationSum ?? 0, m?.durationCount ?? 0),
    pages_per_session: mean(m?.pageViews ?? 0, n) ?? 0,
    cart_adds: m?.cartAdds ?? 0,
    purchases: m?.purchases ?? 0,
    converted_sessions: m?.convertedSessions ?? 0,
    conversion_rate: rate(m?.convertedSessions ?? 0, n),
  };
};
const pageStats = (m: PageMeasures | undefined) => ({
  views: m?.views ?? 0,
  sessions: m?.sessions ?? 0,
  views_per_session: mean(m?.views ?? 0, m?.sessions ?? 0) ?? 0,
  avg_time_on_page_seconds: mean(m?.timeSum ?? 0, m?.timeCount ?? 0),
  avg_scroll_depth_percent: mean(m?.scrollSum ?? 0, m?.scrollCount ?? 0),
});
const cartStats = (m: CartMeasures | undefined) => {
  const carts = m?.carts ?? 0;
  const converted = m?.convertedCarts ?? 0;
  return {
    carts,
    converted_carts: converted,
    abandoned_carts: carts - converted,
    abandonment_rate: rate(carts - converted, carts),
    conversions: m?.conversions ?? 0,
    items_added: m?.itemsAdded ?? 0,
    items_removed: m?.itemsRemoved ?? 0,
  };
};

/** A series of `stats` rows on the full local axis (empty buckets as zeros). */
function series<M extends { key: string }, O>(rows: readonly M[], labels: readonly string[], stats: (m: M | undefined) => O) {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return labels.map((key) => ({ bucket: key, ...stats(byKey.get(key)) }));
}

/** The session filters a report query carries. */
export function filtersOf(q: Common): SessionFilters {
  const f: SessionFilters = {};
  for (const k of ['device', 'browser', 'os', 'country', 'utm_source', 'utm_medium', 'utm_campaign'] as const)
    if (q[k] !== undefined) f[k] = q[k];
  return f;
}

/** Session list cursor: base64url of "<started_at ISO>|<session_id>". */
const encodeCursor = (startedAt: Date, sessionId: string) => Buffer.from(`${startedAt.toISOString()}|${sessionId}`).toString('base64url');
function decodeCursor(cursor: string): { startedAt: Date; sessionId: string } {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const bar = raw.indexOf('|');
  const at = new Date(raw.slice(0, bar));
  if (bar < 0 || Number.isNaN(at.getTime()))
    throw validation('ANALYTICS_INVALID_CURSOR', 'cursor is not one this API returned', [{ field: 'cursor', message: 'unknown cursor' }]);
  return { startedAt: at, sessionId: raw.slice(bar + 1) };
}

/**
 * A query's report window: its zone (`tz`, else the tenant's `settings.timezone`, else UTC; an unknown zone is a
 * 400 naming it), its [from, to) range and, for a series, every local bucket label.
 */
export function createReportWindows(deps: Pick<AnalyticsServiceDeps, 'tenantSettings' | 'clock'>) {
  /** The query's zone: `tz`, else the tenant's `settings.timezone`, else UTC. An unknown zone is a 400 naming it. */
  async function zoneOf(ctx: TenantContext, tz: string | undefined): Promise<string> {
    if (tz !== undefined) {
      if (isTimeZone(tz)) return tz;
      const shown = /^[A-Za-z0-9_+\-/]{1,64}$/.test(tz) ? ` "${tz}"` : '';
      throw validation(
        'ANALYTICS_UNKNOWN_TIME_ZONE',
        `tz${shown} is not a known IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`,
        [{ field: 'tz', message: 'unknown time zone' }],
      );
    }
    const configured = (await deps.tenantSettings(ctx.tenantId)).timezone;
    return typeof configured === 'string' && isTimeZone(configured) ? configured : 'UTC';
  }

  async function windowOf(ctx: TenantContext, q: Common, granularity?: Granularity): Promise<{ w: ReportWindow; labels: string[] }> {
    const tz = await zoneOf(ctx, q.tz);
    const r = resolveRange({ from: q.from, to: q.to }, tz, deps.clock());
    if (!r.ok) throw validation('ANALYTICS_INVALID_RANGE', r.message, [{ field: r.field, message: r.message }]);
    let labels: string[] = [];
    if (granularity) {
      if (bucketCountEstimate(r.from, r.to, granularity) > MAX_BUCKETS + 2)
        throw validation(
          'ANALYTICS_TOO_MANY_BUCKETS',
          `the range has more than ${MAX_BUCKETS} ${granularity} buckets: choose a coarser granularity or a shorter range`,
          [{ field: 'granularity', message: 'too fine for this range' }],
        );
      labels = bucketLabels(r.from, r.to, tz, granularity);
    }
    return { w: { from: r.from, to: r.to, tz }, labels };
  }
  return { windowOf };
}

export const rangeOut = (w: ReportWindow) => ({ from: w.from.toISOString(), to: w.to.toISOString(), tz: w.tz });

/** Seed 000's reports over the tracking rows events owns (read through `AnalyticsEventsPort`). */
export function createAnalyticsService(deps: AnalyticsServiceDeps) {
  const { db, events } = deps;

  const { windowOf } = createReportWindows(deps);

  const sessionOut = (r: Awaited<ReturnType<AnalyticsEventsPort['session']>> & object) => ({
    session_id: r.sessionId,
    user_id: r.userId,
    anonymous_id: r.anonymousId,
    device_type: r.deviceType,
    browser: r.browser,
    os: r.os,
    utm_source: r.utmSource,
    utm_medium: r.utmMedium,
    utm_campaign: r.utmCampaign,
    country: r.country,
    referrer: r.referrer,
    landing_url: r.landingUrl,
    exit_page_url: r.exitPageUrl,
    pages_viewed: Number(r.pagesViewed),
    cart_adds: Number(r.cartAdds),
    purchases: Number(r.purchases),
    revenue: r.currency && isCurrencyCode(r.currency) && r.revenueMinor !== '0' ? moneyOut(r.revenueMinor, r.currency) : null,
    started_at: iso(r.startedAt)!,
    ended_at: iso(r.endedAt),
    duration_seconds: r.durationSeconds == null ? null : Number(r.durationSeconds),
  });

  /**
   * Where the window's session, page and cart measures come from: the hour rollups (refreshed first) when the zone
   * is whole hours from UTC over the window, else events' raw statements; `source` says which and why.
   */
  async function measuresOf(tenantId: string, w: ReportWindow, shape: ReportShape) {
    const rollups = deps.reportRollups;
    let misfit = !rollups
      ? 'no rollups configured'
      : !deps.rollupReads
        ? 'rollup reads are off (LOUPE_ANALYTICS_ROLLUP_READS)'
        : (rollupMisfit(w) ?? shapeMisfit(shape, deps.pageRollupReads ?? true));
    if (rollups && misfit === null) {
      if (!(await rollups.refreshForRead(tenantId)))
        misfit = 'the rollups are being built (a first build reads every tracking row): read from the raw rows until it ends';
      else if (!(await rollups.ready(tenantId))) misfit = 'the rollups are not built on the reader yet: read from the raw rows';
    }
    if (!rollups || misfit !== null)
      return {
        source: { source: 'raw' as const, source_reason: misfit },
        sessions: (f: SessionFilters, g: Grouping) => events.sessionMeasures(db, tenantId, w, f, g),
        pages: (f: SessionFilters, pageType: string | null, g: Grouping | { kind: 'page'; limit: number }) =>
          events.pageMeasures(db, tenantId, w, f, pageType, g),
        carts: (f: SessionFilters, g: Grouping) => events.cartMeasures(db, tenantId, w, f, g),
      };
    return {
      source: { source: 'rollup' as const, source_reason: null },
      sessions: (f: SessionFilters, g: Grouping) => rollups.sessionMeasures(tenantId, w, f, g),
      pages: (f: SessionFilters, pageType: string | null, g: Grouping | { kind: 'page'; limit: number }) =>
        rollups.pageMeasures(tenantId, w, f, pageType, g),
      carts: (f: SessionFilters, g: Grouping) => rollups.cartMeasures(tenantId, w, f, g),
    };
  }

  return {
    async sessions(ctx: TenantContext, q: s.SessionsQuery): Promise<s.SessionsResponse> {
      const { w, labels } = await windowOf(ctx, q, q.granularity);
      const f = filtersOf(q);
      const after = q.cursor ? decodeCursor(q.cursor) : null;
      const m = await measuresOf(ctx.tenantId, w, { filters: f, breakdown: q.breakdown !== undefined });
      const [total, bySeries, byDim, revenue, list] = await Promise.all([
        m.sessions(f, { kind: 'total' }),
        m.sessions(f, { kind: 'time', granularity: q.granularity }),
        q.breakdown ? m.sessions(f, { kind: 'dimension', dimension: q.breakdown, limit: q.top }) : null,
        events.sessionRevenue(db, ctx.tenantId, w, f),
        q.limit > 0 ? events.listSessions(db, ctx.tenantId, w, f, q.limit + 1, after) : [],
      ]);
      const more = list.length > q.limit;
      const page = more ? list.slice(0, q.limit) : list;
      const last = page[page.length - 1];
      return {
        range: { ...rangeOut(w), granularity: q.granularity },
        summary: { ...sessionStats(total[0]), revenue: revenueOut(revenue) },
        series: series(bySeries, labels, sessionStats),
        breakdown: byDim ? byDim.map((m) => ({ value: m.key, ...sessionStats(m) })) : null,
        data: page.map(sessionOut),
        next_cursor: more && last ? encodeCursor(new Date(last.startedAt), last.sessionId) : null,
        ...m.source,
      };
    },

    async pageViews(ctx: TenantContext, q: s.PageViewsQuery): Promise<s.PageViewsResponse> {
      const { w, labels } = await windowOf(ctx, q, q.granularity);
      const f = filtersOf(q);
      const pageType = q.page_type ?? null;
      const m = await measuresOf(ctx.tenantId, w, { filters: f, breakdown: q.breakdown !== undefined, pageType });
      const [total, bySeries, byDim] = await Promise.all([
        m.pages(f, pageType, { kind: 'total' }),
        m.pages(f, pageType, { kind: 'time', granularity: q.granularity }),
        q.breakdown ? m.pages(f, pageType, { kind: 'dimension', dimension: q.breakdown, limit: q.top }) : null,
      ]);
      return {
        range: { ...rangeOut(w), granularity: q.granularity },
        summary: pageStats(total[0]),
        series: series(bySeries, labels, pageStats),
        breakdown: byDim ? byDim.map((x) => ({ value: x.key, ...pageStats(x) })) : null,
        ...m.source,
      };
    },

    async topPages(ctx: TenantContext, q: s.TopPagesQuery): Promise<s.TopPagesResponse> {
      const { w } = await windowOf(ctx, q);
      const f = filtersOf(q);
      // Pages are not a session attribute: unfiltered top pages read the rows per hour and page.
      const m = await measuresOf(ctx.tenantId, w, { filters: f, breakdown: false, pageType: q.page_type ?? null, pages: true });
      const rows = await m.pages(f, q.page_type ?? null, { kind: 'page', limit: q.limit });
      return { range: rangeOut(w), data: rows.map((x) => ({ page: x.key, ...pageStats(x) })), ...m.source };
    },

    async funnel(ctx: TenantContext, q: s.FunnelQuery): Promise<s.FunnelResponse> {
      const steps = q.steps === undefined ? [...s.DEFAULT_FUNNEL_STEPS] : parseSteps(q.steps, 'steps', s.MAX_FUNNEL_STEPS);
      const exclude = q.exclude === undefined ? [] : parseSteps(q.exclude, 'exclude', s.MAX_FUNNEL_EXCLUSIONS);
      const clash = exclude.find((x) => steps.includes(x));
      if (clash)
        throw validation('ANALYTICS_INVALID_STEPS', `"${clash}" is both a step and an exclusion`, [
          { field: 'exclude', message: 'an exclusion cannot be a step' },
        ]);
      const { w } = await windowOf(ctx, q);
      const f = filtersOf(q);
      const splitBy = q.breakdown ? { dimension: q.breakdown, limit: q.top } : undefined;
      let total: FunnelCountRow[];
      let split: FunnelCountRow[] | null = null;
      const rolled =
        deps.funnelRollups &&
        isRolledUpFunnel({ steps, by: q.by, order: q.order, exclude, attribution: q.attribution, windowSeconds: q.window_seconds })
          ? deps.funnelRollups
          : null;
      const fromRollup = rolled ? await rolled.funnel(ctx.tenantId, steps, w, f) : null;
      if (rolled && fromRollup) {
        // Sessions in order over stages: the rollup plus the raw tail (equal to the raw scan at any moment).
        total = fromRollup;
        split = splitBy
          ? ((await rolled.read(ctx.tenantId, steps, w, f, splitBy)) ??
            (await events.funnel(db, ctx.tenantId, w, f, { steps, by: q.by, breakdown: splitBy })))
          : null;
      } else if (q.by === 'session' && q.order === 'ordered' && !exclude.length && q.attribution === 'first_touch') {
        // Sessions in order: events' one-statement SQL (bench/analytics: ~3x faster than sequencing here).
        const query = { steps, by: q.by, windowSeconds: q.window_seconds };
        [total, split] = await Promise.all([
          events.funnel(db, ctx.tenantId, w, f, query),
          splitBy ? events.funnel(db, ctx.tenantId, w, f, { ...query, breakdown: splitBy }) : null,
        ]);
      } else {
        const occurrences = await events.funnelOccurrences(db, ctx.tenantId, w, f, {
          names: [...new Set([...steps, ...exclude])],
          allOfKindsOf: q.order === 'strict' ? steps : [],
          by: q.by,
          breakdown: q.breakdown,
        });
        ({ total, split } = computeFunnel(occurrences, {
          steps,
          order: q.order,
          windowUs: q.window_seconds === undefined ? undefined : q.window_seconds * 1e6,
          exclude,
          attribution: q.attribution,
          breakdownLimit: splitBy?.limit,
        }));
      }
      const out = funnelSteps(steps, total);
      let breakdown: s.FunnelResponse['breakdown'] = null;
      if (split) {
        const firsts = split
          .filter((r) => r.step === 0)
          .sort((a, b) => Number(a.value === 'other') - Number(b.value === 'other') || b.count - a.count || (a.value < b.value ? -1 : 1));
        breakdown = firsts.map(({ value }) => {
          const part = funnelSteps(
            steps,
            split.filter((r) => r.value === value),
          );
          return { value, steps: part, overall_conversion_rate: part[part.length - 1]!.conversion_rate };
        });
      }
      return {
        range: rangeOut(w),
        by: q.by,
        window_seconds: q.window_seconds ?? null,
        order: q.order,
        exclude,
        attribution: q.attribution,
        steps: out,
        overall_conversion_rate: out[out.length - 1]!.conversion_rate,
        breakdown,
      };
    },

    async cart(ctx: TenantContext, q: s.CartQuery): Promise<s.CartResponse> {
      const { w, labels } = await windowOf(ctx, q, q.granularity);
      const f = filtersOf(q);
      const m = await measuresOf(ctx.tenantId, w, { filters: f, breakdown: q.breakdown !== undefined });
      const [total, bySeries, byDim, revenue] = await Promise.all([
        m.carts(f, { kind: 'total' }),
        m.carts(f, { kind: 'time', granularity: q.granularity }),
        q.breakdown ? m.carts(f, { kind: 'dimension', dimension: q.breakdown, limit: q.top }) : null,
        events.cartRevenue(db, ctx.tenantId, w, f),
      ]);
      return {
        range: { ...rangeOut(w), granularity: q.granularity },
        summary: { ...cartStats(total[0]), revenue: revenueOut(revenue) },
        series: series(bySeries, labels, cartStats),
        breakdown: byDim ? byDim.map((x) => ({ value: x.key, ...cartStats(x) })) : null,
        ...m.source,
      };
    },

    async cartProducts(ctx: TenantContext, q: s.CartProductsQuery): Promise<s.CartProductsResponse> {
      const { w } = await windowOf(ctx, q);
      const rows = await events.cartProducts(db, ctx.tenantId, w, filtersOf(q), q.limit);
      return {
        range: rangeOut(w),
        data: rows.map((m) => ({
          product_id: m.key,
          adds: m.adds,
          removes: m.removes,
          quantity_added: m.quantityAdded,
          adds_converted: m.addsConverted,
          adds_abandoned: m.adds - m.addsConverted,
          cart_conversion_rate: rate(m.addsConverted, m.adds),
        })),
      };
    },

    /** Activity in the last five minutes (events stamped up to now; clients' future timestamps are not "now"). */
    async realtime(ctx: TenantContext): Promise<s.RealtimeResponse> {
      const now = deps.clock();
      const since = new Date(now.getTime() - REALTIME_SECONDS * 1000);
      const until = new Date(now.getTime() + 1);
      const [r, pages] = await Promise.all([
        events.realtime(db, ctx.tenantId, since, until),
        events.realtimePages(db, ctx.tenantId, since, until, 10),
      ]);
      return {
        as_of: now.toISOString(),
        window_seconds: REALTIME_SECONDS,
        active_sessions: r.activeSessions,
        active_users: r.activeUsers,
        events: r.pageViews + r.funnelEvents + r.cartEvents,
        page_views: r.pageViews,
        funnel_events: r.funnelEvents,
        cart_events: r.cartEvents,
        sessions_started: r.sessionsStarted,
        top_pages: pages.map((p) => ({ page: p.key, views: p.views })),
      };
    },

    /** One session and its pages, funnel stages and cart events in order; another tenant's id is unknown (404). */
    async session(ctx: TenantContext, sessionId: string): Promise<s.SessionTimelineResponse> {
      const row = await events.session(db, ctx.tenantId, sessionId);
      if (!row) throw notFound('ANALYTICS_SESSION_NOT_FOUND', 'Session');
      const timeline = await events.timeline(db, ctx.tenantId, sessionId, TIMELINE_LIMIT + 1);
      return {
        session: sessionOut(row),
        timeline: timeline.slice(0, TIMELINE_LIMIT).map((e) => ({
          kind: e.kind,
          at: iso(e.at)!,
          name: e.name,
          page_url: e.pageUrl,
          product_id: e.productId,
          time_on_page_seconds: e.timeOnPageSeconds == null ? null : Number(e.timeOnPageSeconds),
          scroll_depth_percent: e.scrollDepthPercent == null ? null : Number(e.scrollDepthPercent),
          quantity: e.quantity == null ? null : Number(e.quantity),
          value: e.valueMinor != null && e.currency && isCurrencyCode(e.currency) ? moneyOut(e.valueMinor, e.currency) : null,
        })),
        timeline_truncated: timeline.length > TIMELINE_LIMIT,
      };
    },
  };
}
export type AnalyticsService = ReturnType<typeof createAnalyticsService>;

/** A comma-separated list of events (`steps` or `exclude`): at most `max`, each a stage, cart:<type> or page:<type>. */
function parseSteps(raw: string, field: 'steps' | 'exclude', max: number): string[] {
  const steps = raw.split(',').map((x) => x.trim());
  const bad = steps.findIndex((x) => !s.FUNNEL_STEP_RE.test(x));
  if (steps.length > max)
    throw validation('ANALYTICS_INVALID_STEPS', `a funnel has at most ${max} ${field === 'steps' ? 'steps' : 'exclusions'}`, [
      { field, message: 'too many events' },
    ]);
  if (bad >= 0)
    throw validation(
      'ANALYTICS_INVALID_STEPS',
      `${field === 'steps' ? 'step' : 'exclusion'} ${bad + 1} is not a stage name (letters, digits, _ . -), cart:<type> or page:<type>`,
      [{ field, message: 'invalid event' }],
    );
  return steps;
}
