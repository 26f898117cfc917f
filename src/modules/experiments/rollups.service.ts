/**
 * Experiment rollups: the report's sufficient statistics kept per (experiment, variant, day of first exposure),
 * so a report reads a few hundred rows instead of scanning the experiment's units and events. Each rollup keeps
 * every exposed unit's state (variant, day, exposures, capped value, denominator) and moves by the difference
 * when a unit changes: a new unit, a repeat exposure, a late or out-of-order event, an assignment moved to a
 * person. Changes are found from a watermark on the writing transactions (the snapshot the last refresh started
 * from, platform/snapshots.ts: rows of transactions it did not see), not on event times, so late events are never skipped. An edited metric (or window, or currency) is a new key:
 * its rollup is rebuilt from the raw rows, the old one dropped. Sums are numeric, so a rollup equals the raw scan
 * exactly (`rollups.int.test.ts`). Refreshed in bounded batches, each its own transaction, by the scheduled task
 * (tenants taking turns), by a forced report refresh and when an experiment stops; a report reads them as they are
 * and says how fresh they are (`freshness`), so it never waits for a refresh.
 *
 * Not rolled up (the report scans them raw): metrics with `sources` (their events are the events module's
 * interactions, which carry no watermark here) and bandits' per-period sums.
 */
import { createHash } from 'node:crypto';
import { commonSnapshot, type Db } from '../../platform/index.ts';
import type { Experiment, MetricDefinition, MetricSums } from './experiments.types.ts';
import type { ChangedUnit, RollupsRepository, RollupTrack } from './rollups.repository.ts';

export interface RollupsServiceDeps {
  db: Db;
  repo: RollupsRepository;
  clock: () => Date;
  /** Changed units recomputed per statement (default REFRESH_BATCH). */
  refreshBatch?: number;
}

/** The units rollup's key (exposed units and exposures per variant). */
export const UNITS_KEY = 'units';

/** Whether a metric's report can come from a rollup (metrics fed by the events module's interactions cannot). */
export const isRolledUp = (m: MetricDefinition): boolean => !m.sources?.length;

/**
 * A metric's rollup key: a hash of everything that decides a unit's value (the definition's counting fields, the
 * experiment's conversion window and currency; not the name, guardrail flag or position), so any edit that would
 * change a value makes a new rollup.
 */
export function metricKey(m: MetricDefinition, windowHours: number, currency: string): string {
  const decides = [m.type, m.event, m.value, m.cap, m.denominatorEvent, m.sources ?? null, windowHours, currency];
  return `m1:${createHash('sha256').update(JSON.stringify(decides)).digest('hex').slice(0, 32)}`;
}

/** The rollups of an experiment: units first, then each rolled-up metric once (two metrics may share a key). */
export function rollupTracks(e: Experiment): RollupTrack[] {
  const base = { experimentId: e.id, windowHours: e.conversionWindowHours, currency: e.currency };
  const tracks: RollupTrack[] = [{ ...base, metricKey: UNITS_KEY, metric: null }];
  for (const m of e.metrics.filter(isRolledUp)) {
    const key = metricKey(m, e.conversionWindowHours, e.currency);
    if (!tracks.some((t) => t.metricKey === key)) tracks.push({ ...base, metricKey: key, metric: m });
  }
  return tracks;
}

/** Changed units recomputed per statement: the batch is an array parameter probed by id (see `applyUnits`). */
const REFRESH_BATCH = 5000;
/** A never-built rollup walks every unit of the experiment: larger batches (still one bounded statement each). */
const BUILD_FACTOR = 10;

/** How fresh an experiment's rollups are (what a report says beside its numbers). */
export interface Freshness {
  /** Every row committed before this time is in every rollup of the report (null: a rollup not built yet). */
  asOf: Date | null;
  /** Rows were written that some rollup does not hold yet (or a rollup is not built): the next refresh brings them. */
  pending: boolean;
  /** A refresh cycle is under way (its committed batches are in the rollups already). */
  refreshing: boolean;
}

/** One refresh batch's outcome: `done` when the experiment's rollups reached the cycle's target (or had nothing new). */
export interface BatchResult {
  done: boolean;
  units: number;
}

export function createRollupsService(deps: RollupsServiceDeps) {
  const refreshBatch = deps.refreshBatch ?? REFRESH_BATCH;

  /**
   * One bounded step of the experiment's refresh, in its own transaction. A refresh is a cycle: its first batch takes
   * the current snapshot as the target; each batch recomputes the next units in unit id order past the cycle's cursor
   * (every unit for a rollup never built, else the units changed since the rollups' watermarks) and records the
   * cursor; the last one makes the target the watermark. Every row the target sees was committed before the cycle's
   * first batch, so the batch that passed its unit saw it; rows it does not see are the next cycle's. The watermark
   * rows' locks make concurrent batches (the task, a forced refresh, a stop) take turns on one shared cursor;
   * recomputing is idempotent, so a unit seen twice is harmless. Rollups added mid-cycle wait for the next one.
   */
  async function batch(tenantId: string, tracks: readonly RollupTrack[]): Promise<BatchResult> {
    const experimentId = tracks[0]!.experimentId;
    return deps.db.transaction(async (tx) => {
      // The horizon first, before this transaction writes (its own id would hold the horizon back).
      const horizon = await deps.repo.horizon(tx);
      const marks = await deps.repo.lockWatermarks(
        tx,
        tenantId,
        experimentId,
        tracks.map((t) => t.metricKey),
      );
      let cycle = tracks.filter((t) => marks.get(t.metricKey)?.target);
      if (!cycle.length) {
        const built = tracks.map((t) => marks.get(t.metricKey)?.watermark ?? null);
        if (built.every((w) => w !== null)) {
          if (!(await deps.repo.changedSince(tx, tenantId, commonSnapshot(built as string[]), eventsOf(tracks))))
            return { done: true, units: 0 };
        }
        cycle = [...tracks];
        await deps.repo.startCycle(
          tx,
          tenantId,
          experimentId,
          cycle.map((t) => t.metricKey),
          horizon,
          deps.clock(),
        );
        for (const t of cycle) {
          const m = marks.get(t.metricKey)!;
          if (m.watermark === null) await deps.repo.clear(tx, tenantId, t);
          m.target = horizon;
          m.cursor = null;
        }
      }
      const unbuilt = cycle.filter((t) => marks.get(t.metricKey)!.watermark === null);
      const built = cycle.filter((t) => marks.get(t.metricKey)!.watermark !== null);
      const limit = unbuilt.length ? refreshBatch * BUILD_FACTOR : refreshBatch;
      const after = marks.get(cycle[0]!.metricKey)!.cursor;
      const next = await deps.repo.nextUnits(tx, tenantId, experimentId, {
        build: unbuilt.length > 0,
        since: built.length ? commonSnapshot(built.map((t) => marks.get(t.metricKey)!.watermark as string)) : null,
        events: eventsOf(built),
        after,
        limit,
      });
      if (next.length) {
        // Rollups never built: every unit of the range, set-based; the others: the changed units that can move in them.
        await deps.repo.buildRange(tx, tenantId, unbuilt, { after, last: next[next.length - 1]!.unitId });
        await deps.repo.applyUnits(
          tx,
          tenantId,
          built.map((t) => ({ track: t, units: next.filter((c) => c.changed && moves(t, c)).map((c) => c.unitId) })),
        );
      }
      const keys = cycle.map((t) => t.metricKey);
      const done = next.length < limit;
      if (done) await deps.repo.finishCycle(tx, tenantId, experimentId, keys);
      else await deps.repo.advanceCycle(tx, tenantId, experimentId, keys, next[next.length - 1]!.unitId);
      return { done, units: next.length };
    });
  }

  /** The experiment's rollups, after dropping those of edited or removed metrics. */
  async function currentTracks(tenantId: string, e: Experiment): Promise<RollupTrack[]> {
    const tracks = rollupTracks(e);
    const keys = new Set(tracks.map((t) => t.metricKey));
    const marks = await deps.repo.watermarks(deps.db, tenantId, e.id);
    const stale = marks.filter((m) => !keys.has(m.metricKey)).map((m) => m.metricKey);
    await deps.repo.dropKeys(deps.db, tenantId, e.id, stale);
    return tracks;
  }

  return {
    /**
     * Runs refresh batches of the experiment until its rollups reach the cycle's target, or `budget` stops it (at
     * most `maxBatches` batches, or no new batch after `deadline`, a `performance.now()` time). When every rollup is
     * built and the tenant wrote nothing its watermarks did not see, it is a read of the watermarks and two index
     * probes, and writes nothing. Each batch commits on its own: a refresh stopped by its budget goes on from its cursor.
     */
    async refresh(
      tenantId: string,
      e: Experiment,
      budget: { maxBatches?: number; deadline?: number } = {},
    ): Promise<{ tracks: number; batches: number; units: number; done: boolean }> {
      const tracks = await currentTracks(tenantId, e);
      let batches = 0;
      let units = 0;
      for (;;) {
        const r = await batch(tenantId, tracks);
        batches++;
        units += r.units;
        if (r.done) return { tracks: tracks.length, batches, units, done: true };
        if (batches >= (budget.maxBatches ?? Number.POSITIVE_INFINITY)) break;
        if (budget.deadline !== undefined && performance.now() >= budget.deadline) break;
      }
      return { tracks: tracks.length, batches, units, done: false };
    },

    /** One bounded batch of the experiment's refresh (the scheduled task interleaves experiments and tenants with it). */
    async step(tenantId: string, e: Experiment): Promise<BatchResult> {
      return batch(tenantId, await currentTracks(tenantId, e));
    },

    /**
     * How fresh the experiment's rollups are, without refreshing them: a read of its watermark rows and two index
     * probes of the rows written since.
     */
    async freshness(tenantId: string, e: Experiment): Promise<Freshness> {
      const tracks = rollupTracks(e);
      const marks = new Map((await deps.repo.watermarks(deps.db, tenantId, e.id)).map((m) => [m.metricKey, m]));
      const own = tracks.map((t) => marks.get(t.metricKey));
      const refreshing = own.some((m) => m?.refreshing);
      if (own.some((m) => !m?.watermark || !m.refreshedAt)) return { asOf: null, pending: true, refreshing };
      const asOf = new Date(Math.min(...own.map((m) => new Date(m!.refreshedAt!).getTime())));
      const since = commonSnapshot(own.map((m) => m!.watermark!));
      const pending = await deps.repo.changedSince(deps.db, tenantId, since, eventsOf(tracks));
      return { asOf, pending, refreshing };
    },

    /**
     * Every rollup of the experiment in one read, as of its watermarks (plus any committed batch of a refresh under way): exposed units and exposures per variant
     * (the units rollup), and each rolled-up metric's sums per variant in the shape of the raw scan's `metricSums`.
     */
    async read(tenantId: string, e: Experiment): Promise<RollupRead> {
      const rows = await deps.repo.readAll(
        deps.db,
        tenantId,
        e.id,
        rollupTracks(e).map((t) => t.metricKey),
      );
      const byKey = new Map<string, MetricSums[]>();
      for (const r of rows) {
        const sums: MetricSums = {
          variantId: r.variantId,
          n: r.n,
          sum: r.sum,
          sumSquares: r.sumSquares,
          denominatorSum: r.denominatorSum,
          denominatorSumSquares: r.denominatorSumSquares,
          sumProduct: r.sumProduct,
        };
        const list = byKey.get(r.metricKey);
        if (list) list.push(sums);
        else byKey.set(r.metricKey, [sums]);
      }
      return {
        units: rows.filter((r) => r.metricKey === UNITS_KEY).map((r) => ({ variantId: r.variantId, n: r.n, exposures: r.exposures })),
        sums: (m: MetricDefinition) => byKey.get(metricKey(m, e.conversionWindowHours, e.currency)) ?? [],
      };
    },

    /** The running experiments of every tenant (what the scheduled refresh walks). */
    experimentsToRefresh: () => deps.repo.experimentsToRefresh(deps.db),
  };
}
export type RollupsService = ReturnType<typeof createRollupsService>;

/** What a report reads from the rollups. */
export interface RollupRead {
  units: { variantId: string; n: number; exposures: number }[];
  sums: (m: MetricDefinition) => MetricSums[];
}

/** Whether a changed unit's state can have moved in a rollup: its assignment changed, or it got an event the rollup counts. */
function moves(t: RollupTrack, c: ChangedUnit): boolean {
  if (c.events === null) return true;
  return !!t.metric && (c.events.includes(t.metric.event) || (!!t.metric.denominatorEvent && c.events.includes(t.metric.denominatorEvent)));
}

/** The metric events any of the tracks counts (what a change check looks for). */
function eventsOf(tracks: readonly RollupTrack[]): string[] {
  const events = new Set<string>();
  for (const t of tracks) {
    if (t.metric) events.add(t.metric.event);
    if (t.metric?.denominatorEvent) events.add(t.metric.denominatorEvent);
  }
  return [...events];
}
