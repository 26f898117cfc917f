/**
 * Funnel rollups: per (tenant, ordered list of funnel stages) each session's greedy step reach, so an ordered
 * per-session funnel reads one row per session instead of sequencing every stage event per request. Changes are
 * found from a watermark on the writing transactions' ids (as experiments' rollups), not on event times, so late
 * and out-of-order events are never skipped; an erasure's session rename is a write too. A report reads the rollup
 * plus the raw tail in one statement (`FunnelRollupsRepository.read`), so its answer equals the raw scan's whether
 * or not the rollup was refreshed (`funnel-rollups.int.test.ts`). Refreshed on each report read that finds new rows.
 *
 * Rolled up: sessions, steps all funnel stages, in order, without exclusions or a conversion window (the default
 * report and what `GET /funnel` asks most). Other funnels are sequenced raw as before.
 *
 * Per-day pre-aggregate: beside the per-session rows, `analytics_funnel_days` sums them per (UTC first day, last day,
 * dimension, value) with log-bucket histograms of the step-to-step times, under the same watermark, so a report over
 * many days reads a few rows per day instead of one per session (`dayPlan` says when). Its counts equal the raw
 * scan's; its medians come from merged histograms, within `medianBound` (funnel-histogram.core.ts).
 */
import { createHash } from 'node:crypto';
import type { Db, Q } from '../../platform/index.ts';
import type { FunnelCountRow } from './funnel.core.ts';
import type { ReportWindow, SessionFilters } from './analytics.types.ts';
import type { FunnelDimension, FunnelRollupsRepository, FunnelTrack } from './funnel-rollups.repository.ts';
import type { RollupBuilds } from './rollup-builds.queue.ts';
import { addCells, type FunnelCells, funnelRowsFromCells } from './funnel-histogram.core.ts';

/** Funnel rollups a tenant may have; a funnel past them is sequenced raw (a client cannot make rollups without end). */
const MAX_FUNNEL_ROLLUPS = 16;

export interface FunnelRollupsServiceDeps {
  /** The primary: refreshes write. */
  db: Db;
  /** Where reports read (a replica when configured): the rollup and its watermark are read in one snapshot. */
  reader: Db;
  repo: FunnelRollupsRepository;
  clock: () => Date;
  /** First builds off the read path when long (rollup-builds.queue.ts); without it a read waits for the build. */
  builds?: RollupBuilds | undefined;
}

/**
 * The rollup key's version: a change to what a rollup stores bumps it, so rollups built before are rebuilt under new
 * keys instead of being read (f2: the sessions' country, and its day rows). Rollups of older versions are not read.
 */
export const FUNNEL_KEY_VERSION = 'f2';

/** A steps list's rollup key. */
function funnelKey(steps: readonly string[]): string {
  return `${FUNNEL_KEY_VERSION}:${createHash('sha256').update(JSON.stringify(steps)).digest('hex').slice(0, 32)}`;
}

const DAY_MS = 86_400_000;

/**
 * How a read can use the day rows: the window's whole UTC days (null: none) and the dimension to read, '' for the
 * whole funnel, the breakdown's, or the one filter's (then `only` its value). Null when the day rows cannot answer:
 * two or more filters, a filter with a breakdown, or a filter on '(none)' (the raw filter never matches unset).
 */
export function dayPlan(
  w: { from: Date; to: Date },
  f: SessionFilters,
  breakdown?: { dimension: keyof SessionFilters; limit: number },
): { inner: { from: Date; to: Date }; dimension: FunnelDimension; only?: string } | null {
  const inner = {
    from: new Date(Math.ceil(w.from.getTime() / DAY_MS) * DAY_MS),
    to: new Date(Math.floor(w.to.getTime() / DAY_MS) * DAY_MS),
  };
  if (inner.from >= inner.to) return null;
  const filters = (Object.keys(f) as (keyof SessionFilters)[]).filter((k) => f[k] !== undefined);
  if (filters.length === 0) return { inner, dimension: breakdown?.dimension ?? '' };
  const k = filters[0]!;
  if (filters.length > 1 || breakdown || f[k] === '(none)') return null;
  return { inner, dimension: k, only: f[k]! };
}

/** Whether a funnel query can be answered from a rollup: sessions, in order, stages only, no exclusion or window. */
export function isRolledUpFunnel(q: {
  steps: readonly string[];
  by: 'session' | 'user';
  order: string;
  exclude: readonly string[];
  attribution: string;
  windowSeconds?: number | undefined;
}): boolean {
  return (
    q.by === 'session' &&
    q.order === 'ordered' &&
    q.exclude.length === 0 &&
    q.attribution === 'first_touch' &&
    q.windowSeconds === undefined &&
    q.steps.every((s) => !s.includes(':'))
  );
}

export function createFunnelRollupsService(deps: FunnelRollupsServiceDeps) {
  const track = (steps: readonly string[]): FunnelTrack => ({ key: funnelKey(steps), steps });

  /**
   * Brings the steps' rollup up to now: built whole the first time, then only the sessions written to since its
   * watermark. A warm rollup with nothing new costs two small reads and writes nothing. Null when the tenant already
   * has `MAX_FUNNEL_ROLLUPS` other rollups.
   */
  async function refresh(tenantId: string, steps: readonly string[]): Promise<{ rebuilt: boolean; sessions: number } | null> {
    const t = track(steps);
    const mark = await deps.repo.watermark(deps.db, tenantId, t.key);
    if (mark === undefined && (await deps.repo.count(deps.db, tenantId, `${FUNNEL_KEY_VERSION}:`)) >= MAX_FUNNEL_ROLLUPS) return null;
    if (typeof mark === 'string' && !(await deps.repo.changedSince(deps.db, tenantId, mark))) return { rebuilt: false, sessions: 0 };
    return deps.db.transaction(async (tx) => {
      // The horizon first, before this transaction writes (its own id would hold the horizon back).
      const horizon = await deps.repo.horizon(tx);
      const since = await deps.repo.lock(tx, tenantId, t);
      let out = { rebuilt: true, sessions: 0 };
      if (since === null) {
        // A build: rollups of older key versions are never read again, so their rows go in the same transaction.
        await deps.repo.dropOtherVersions(tx, tenantId, `${FUNNEL_KEY_VERSION}:`);
        await deps.repo.rebuild(tx, tenantId, t);
      } else out = { rebuilt: false, sessions: await deps.repo.applyChanges(tx, tenantId, t, since) };
      await deps.repo.setWatermark(tx, tenantId, t, horizon, deps.clock());
      return out;
    });
  }

  /** The funnel from the rollup and the raw tail (null when the rollup was never built). */
  async function read(
    tenantId: string,
    steps: readonly string[],
    w: ReportWindow,
    f: SessionFilters,
    breakdown?: { dimension: keyof SessionFilters; limit: number },
  ): Promise<FunnelCountRow[] | null> {
    const t = track(steps);
    const state = await deps.repo.state(deps.reader, tenantId, t.key);
    if (typeof state?.watermark !== 'string') return null;
    const plan = dayPlan(w, f, breakdown);
    if (!plan) return deps.repo.read(deps.reader, tenantId, t, state.watermark, w, f, breakdown);
    // Whole days from the day rows, the rest per session: counts exact, medians within medianBound.
    const rows = await deps.repo.readDays(
      deps.reader,
      tenantId,
      t,
      { watermark: state.watermark, maxSpanSeconds: state.maxSpanSeconds },
      w,
      plan.inner,
      plan.dimension,
      plan.only,
    );
    const byValue = new Map<string, FunnelCells>();
    for (const r of rows) {
      const cells = byValue.get(r.value) ?? new Map<number, number>();
      addCells(cells, r.cells, r.counts);
      byValue.set(r.value, cells);
    }
    return funnelRowsFromCells(byValue, steps.length, breakdown?.limit);
  }

  /** The funnel from the per-session rows and the raw tail only (the read before day rows existed), for benches. */
  async function readPerSession(
    tenantId: string,
    steps: readonly string[],
    w: ReportWindow,
    f: SessionFilters,
    breakdown?: { dimension: keyof SessionFilters; limit: number },
  ): Promise<FunnelCountRow[] | null> {
    const t = track(steps);
    const mark = await deps.repo.watermark(deps.reader, tenantId, t.key);
    return typeof mark === 'string' ? deps.repo.read(deps.reader, tenantId, t, mark, w, f, breakdown) : null;
  }

  return {
    refresh,
    read,
    readPerSession,
    /**
     * The ordered per-session funnel (events' `funnel` rows' shape): refresh, then read. Null when over the cap, the
     * first build has not ended within the builds' wait, or the reader does not have the rollup yet: the caller
     * sequences raw.
     */
    async funnel(
      tenantId: string,
      steps: readonly string[],
      w: ReportWindow,
      f: SessionFilters,
      breakdown?: { dimension: keyof SessionFilters; limit: number },
    ): Promise<FunnelCountRow[] | null> {
      const key = funnelKey(steps);
      if (deps.builds && typeof (await deps.repo.watermark(deps.db, tenantId, key)) !== 'string') {
        // a first build: within the builds' wait, else in the background while this read is sequenced raw
        if (!(await deps.builds.within(`funnel:${tenantId}:${key}`, () => refresh(tenantId, steps)))) return null;
      } else if (!(await refresh(tenantId, steps))) return null;
      return read(tenantId, steps, w, f, breakdown);
    },
    /** Erasure step (identity.onErasure), in the erasure's transaction: renamed sessions' rows take the new ids. */
    erasePerson: (tx: Q, tenantId: string) => deps.repo.renameErased(tx, tenantId),
  };
}
export type FunnelRollupsService = ReturnType<typeof createFunnelRollupsService>;
