/**
 * Report rollups: seed 000's daily views (session stats, page performance, cart abandonment) kept per UTC hour (and
 * page performance per UTC hour x page x page type), so unfiltered `GET /sessions`, `/page-views`, `/top-pages` and
 * `/cart` sum a few rows per hour instead of scanning every session, page view and cart event of the window. Hours, not days: any zone whose offset is a whole
 * number of hours over the window (`hourAlignedZone`) cuts its local hours, days, weeks and months on UTC hours, so
 * the series are exact in the tenant's zone and in any other such zone; other zones (India, Nepal, Lord Howe) read
 * the raw rows and the response says `source: 'raw'`. A window's partial first and last hours are read raw in the
 * same statement (`cutWindow`).
 *
 * Changes are found from a snapshot watermark on the writing transactions' ids (as the funnel rollups), not on event
 * times: every session with a session, page or cart row written since (late and out-of-order events, page ends, late
 * starts, an erasure's renames) has every closed UTC hour it touches recounted whole from the raw rows, plus the hour
 * its start was last counted in. Only closed hours: those before the hour of the last refresh (`closedThrough`). The
 * hour holding now, where nearly every write lands, is read raw and counted once, whole, by the first refresh after it
 * ends: recounting it on every refresh cost a busy tenant most of its refresh time (bench:analytics upkeep, PostgreSQL
 * at 507 events/s: 58.7 s of 61.9). Refreshed on each report read that finds new rows; the read then sees the rollup as of
 * that refresh (rows committed by other writers between the refresh and the read wait for the next one).
 */
import type { Db, Q } from '../../platform/index.ts';
import { floorHour, hourAlignedZone } from './analytics.core.ts';
import type { CartMeasures, PageMeasures, ReportWindow, SessionFilters, SessionMeasures } from './analytics.types.ts';
import type { ReportRollupsRepository, RollupGrouping } from './report-rollups.repository.ts';
import type { RollupBuilds } from './rollup-builds.queue.ts';

export interface ReportRollupsServiceDeps {
  /** The primary: refreshes write. */
  db: Db;
  /** Where reports read (a replica when configured). */
  reader: Db;
  repo: ReportRollupsRepository;
  clock: () => Date;
  /** First builds off the read path when long (rollup-builds.queue.ts); without it a read waits for the build. */
  builds?: RollupBuilds | undefined;
}

/** Why a window cannot be read from the hour rows (null: it can). */
export function rollupMisfit(w: ReportWindow): string | null {
  if (!hourAlignedZone(w.tz, w.from, w.to))
    return `time zone ${w.tz} is not a whole number of hours from UTC over the range: read from the raw rows`;
  return null;
}

/** What a report reads: its session filters, whether it groups by a session attribute (a breakdown), its page type. */
export interface ReportShape {
  filters: SessionFilters;
  breakdown: boolean;
  pageType?: string | null;
  /** Reads the rows per hour and page (top pages, a page type's page views). */
  pages?: boolean;
}

/**
 * Top pages and a page type's page views on the embedded database (`pageRows` false): the rows per hour and page read
 * slower there than the raw page views (PGlite, 20,000 sessions, load 10-13, p50 rollup against raw: top pages 7 / 30 /
 * 84 days 285 / 1,657 / 7,151 ms against 227 / 858 / 2,850; a page type's page views over 84 days 4,995 against 1,566:
 * the exact 'other' row and page-type sessions unnest a hash for nearly every view). On PostgreSQL (50,000 sessions)
 * they are at parity unfiltered and 0.5-0.6x raw for a page type, so there they are read.
 */
const PAGE_ROWS_OFF =
  'on the embedded database top pages and page types read the raw page views: the rows per hour and page measured slower there';

/**
 * Why a report is read from the raw rows rather than the hour rows (null: the hour rows answer it: per hour, and per
 * hour x page x page type for top pages and a page type). Reads by session attribute (a filter, a breakdown) read the
 * window's raw rows. The hour rows split by every combination of attributes that answered them once barely compressed
 * at a few sessions an hour and were slower than the raw rows: PostgreSQL, 200,000 sessions, 12 weeks, page views by
 * utm_source 25 s against 9 s; PGlite, 20,000 sessions, 30 days (load 12-16): page views device=mobile 1.7 s against
 * 0.7 s raw, by utm_source 3.2 s against 2.5 s, top pages device=mobile 0.9 s against 0.6 s. They are no longer kept
 * (migration 0070): every recount wrote them for no read.
 */
export function shapeMisfit(s: ReportShape, pageRows = true): string | null {
  const filtered = Object.values(s.filters).some((v) => v !== undefined);
  if (filtered || s.breakdown) return 'filters and breakdowns read the raw rows: the hour rows keep no session attributes';
  if (!pageRows && (s.pages || (s.pageType ?? null) !== null)) return PAGE_ROWS_OFF;
  return null;
}

/** A refresh that finds more hours closed than this since the last one (a month) rebuilds instead. */
const MAX_CLOSING_HOURS = 24 * 31;

/** The UTC hour starts in [from, to). */
function hoursBetween(from: Date, to: Date): Date[] {
  const out: Date[] = [];
  for (let h = from.getTime(); h < to.getTime(); h += 3_600_000) out.push(new Date(h));
  return out;
}

export function createReportRollupsService(deps: ReportRollupsServiceDeps) {
  const { repo } = deps;
  /** The reader's closed hours' end (reads take the hours after it raw; never built: no bound). */
  const closedThrough = async (tenantId: string): Promise<Date | null> => (await repo.state(deps.reader, tenantId)).closedThrough;

  /**
   * Brings the tenant's rollup up to now: built whole the first time, then the hours of the sessions written since the
   * watermark. A warm rollup with nothing new costs two small reads and writes nothing.
   */
  async function refresh(tenantId: string): Promise<{ rebuilt: boolean; hours: number }> {
    // The hours before this one are closed: counted whole once they close, then only where a late write lands.
    const at = deps.clock();
    const closeTo = floorHour(at);
    const state = await repo.state(deps.db, tenantId);
    if (
      typeof state.watermark === 'string' &&
      state.closedThrough?.getTime() === closeTo.getTime() &&
      !(await repo.changedSessions(deps.db, tenantId, state.watermark)).length
    )
      return { rebuilt: false, hours: 0 };
    return deps.db.transaction(async (tx) => {
      // The horizon first, before this transaction writes (its own id would hold the horizon back).
      const horizon = await repo.horizon(tx);
      const since = await repo.lock(tx, tenantId);
      let out = { rebuilt: true, hours: 0 };
      const closing = since.closedThrough ? hoursBetween(since.closedThrough, closeTo) : null;
      if (since.watermark === null || closing === null || closing.length > MAX_CLOSING_HOURS) await repo.rebuild(tx, tenantId);
      else
        out = {
          rebuilt: false,
          hours: await repo.applyChanges(tx, tenantId, await repo.changedSessions(tx, tenantId, since.watermark), closeTo, closing),
        };
      // refreshed_at is the refresh's start: its hour is the first one left open (`state`'s closedThrough).
      await repo.setWatermark(tx, tenantId, horizon, at);
      return out;
    });
  }

  return {
    refresh,
    /**
     * A report's refresh: the changes since the watermark now; a first build within the builds' wait, else in the
     * background (false: not built yet, read the raw rows).
     */
    async refreshForRead(tenantId: string): Promise<boolean> {
      if (deps.builds && typeof (await repo.watermark(deps.db, tenantId)) !== 'string')
        return deps.builds.within(`report:${tenantId}`, () => refresh(tenantId));
      await refresh(tenantId);
      return true;
    },
    /** Whether the reader has the tenant's rollup built (a replica may not have replayed its first build yet). */
    ready: async (tenantId: string): Promise<boolean> => typeof (await repo.watermark(deps.reader, tenantId)) === 'string',
    /** Session measures from the hour rows the reader's rollup has closed, the rest raw (refresh first). */
    sessionMeasures: async (tenantId: string, w: ReportWindow, f: SessionFilters, g: RollupGrouping): Promise<SessionMeasures[]> =>
      repo.sessionMeasures(deps.reader, tenantId, w, f, g, await closedThrough(tenantId)),
    pageMeasures: async (
      tenantId: string,
      w: ReportWindow,
      f: SessionFilters,
      pageType: string | null,
      g: RollupGrouping,
    ): Promise<PageMeasures[]> => repo.pageMeasures(deps.reader, tenantId, w, f, pageType, g, await closedThrough(tenantId)),
    cartMeasures: async (tenantId: string, w: ReportWindow, f: SessionFilters, g: RollupGrouping): Promise<CartMeasures[]> =>
      repo.cartMeasures(deps.reader, tenantId, w, f, g, await closedThrough(tenantId)),
    /**
     * Erasure step (identity.onErasure), in the erasure's transaction after events renamed the person's sessions: the
     * hours of every session written since the watermark (the renamed ones among them) are recounted now, so no hour
     * row keeps the person's hashed id past the erasure. The watermark stays (the next refresh redoes them, idempotent).
     */
    async erasePerson(tx: Q, tenantId: string): Promise<void> {
      if (typeof (await repo.watermark(tx, tenantId)) !== 'string') return;
      const since = await repo.lock(tx, tenantId);
      if (since.watermark === null) return;
      // Every hour the renamed sessions touch, open ones too: no read uses an open hour's row, but a first build may
      // have counted it, with the person's hashed id.
      await repo.applyChanges(tx, tenantId, await repo.changedSessions(tx, tenantId, since.watermark), new Date('9999-01-01T00:00:00Z'));
    },
  };
}
export type ReportRollupsService = ReturnType<typeof createReportRollupsService>;
