/**
 * Experiment rollups: the report's sufficient statistics kept per (experiment, variant, day of first exposure),
 * so a report reads a few hundred rows instead of scanning the experiment's units and events. Each rollup keeps
 * every exposed unit's state (variant, day, exposures, capped value, denominator) and moves by the difference
 * when a unit changes: a new unit, a repeat exposure, a late or out-of-order event, an assignment moved to a
 * person. Changes are found from a watermark on the writing transactions (the snapshot the last refresh started
 * from, platform/snapshots.ts: rows of transactions it did not see), not on event times, so late events are never skipped. An edited metric (or window, or currency) is a new key:
 * its rollup is rebuilt from the raw rows, the old one dropped. Sums are numeric, so a rollup equals the raw scan
 * exactly (`rollups.int.test.ts`). Refreshed by the scheduled task and on every report read.
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

export function createRollupsService(deps: RollupsServiceDeps) {
  const refreshBatch = deps.refreshBatch ?? REFRESH_BATCH;
  /**
   * Brings the tracks up to now in one transaction: a never-built rollup is built whole; the others share ONE list of
   * changed units unseen by any of their watermarks (snapshots) and recompute it in batches, each batch in all of them at once,
   * each rollup only the units that can have moved in it (see `moves`). Recomputing is idempotent, so a rollup whose
   * watermark is later sees some units again at no harm.
   */
  async function refreshTracks(tenantId: string, experimentId: string, tracks: readonly RollupTrack[]) {
    return deps.db.transaction(async (tx) => {
      // The horizon first, before this transaction writes (its own id would hold the horizon back).
      const horizon = await deps.repo.horizon(tx);
      const marks = await deps.repo.lockWatermarks(
        tx,
        tenantId,
        experimentId,
        tracks.map((t) => t.metricKey),
      );
      let rebuilt = 0;
      const built: RollupTrack[] = [];
      for (const t of tracks) {
        if ((marks.get(t.metricKey) ?? null) !== null) built.push(t);
        else {
          await deps.repo.rebuild(tx, tenantId, t);
          rebuilt++;
        }
      }
      let units = 0;
      if (built.length) {
        const since = commonSnapshot(built.map((t) => marks.get(t.metricKey) as string));
        const changed = await deps.repo.changedUnits(tx, tenantId, since, eventsOf(built));
        for (let i = 0; i < changed.length; i += refreshBatch) {
          const batch = changed.slice(i, i + refreshBatch);
          await deps.repo.applyUnits(
            tx,
            tenantId,
            built.map((t) => ({ track: t, units: batch.filter((c) => moves(t, c)).map((c) => c.unitId) })),
          );
        }
        units = changed.length;
      }
      await deps.repo.setWatermarks(
        tx,
        tenantId,
        experimentId,
        tracks.map((t) => t.metricKey),
        horizon,
        deps.clock(),
      );
      return { rebuilt, units };
    });
  }

  return {
    /**
     * Brings every rollup of the experiment up to now and drops those of edited or removed metrics. Concurrent
     * refreshes of one rollup take turns on its watermark row; each applies only what the one before left. When
     * every rollup is built and the tenant wrote nothing its watermarks did not see (the common warm report), it
     * is one small read of the watermarks and two index probes, and writes nothing.
     */
    async refresh(tenantId: string, e: Experiment): Promise<{ tracks: number; rebuilt: number; units: number }> {
      const tracks = rollupTracks(e);
      const keys = new Set(tracks.map((t) => t.metricKey));
      const marks = await deps.repo.watermarks(deps.db, tenantId, e.id);
      const stale = marks.filter((m) => !keys.has(m.metricKey)).map((m) => m.metricKey);
      const built = marks.filter((m) => keys.has(m.metricKey) && m.watermark !== null).map((m) => m.watermark as string);
      if (!stale.length && built.length === keys.size) {
        if (!(await deps.repo.changedSince(deps.db, tenantId, commonSnapshot(built), eventsOf(tracks))))
          return { tracks: tracks.length, rebuilt: 0, units: 0 };
      }
      await deps.repo.dropKeys(deps.db, tenantId, e.id, stale);
      const { rebuilt, units } = await refreshTracks(tenantId, e.id, tracks);
      return { tracks: tracks.length, rebuilt, units };
    },

    /**
     * Every rollup of the experiment in one read (call `refresh` first): exposed units and exposures per variant
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
    runningExperiments: () => deps.repo.runningExperiments(deps.db),
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
