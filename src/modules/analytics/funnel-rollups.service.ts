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
 */
import { createHash } from 'node:crypto';
import type { Db, Q } from '../../platform/index.ts';
import type { FunnelCountRow } from './funnel.core.ts';
import type { ReportWindow, SessionFilters } from './analytics.types.ts';
import type { FunnelRollupsRepository, FunnelTrack } from './funnel-rollups.repository.ts';

/** Funnel rollups a tenant may have; a funnel past them is sequenced raw (a client cannot make rollups without end). */
const MAX_FUNNEL_ROLLUPS = 16;

export interface FunnelRollupsServiceDeps {
  /** The primary: refreshes write. */
  db: Db;
  /** Where reports read (a replica when configured): the rollup and its watermark are read in one snapshot. */
  reader: Db;
  repo: FunnelRollupsRepository;
  clock: () => Date;
}

/** A steps list's rollup key. */
function funnelKey(steps: readonly string[]): string {
  return `f1:${createHash('sha256').update(JSON.stringify(steps)).digest('hex').slice(0, 32)}`;
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
    if (mark === undefined && (await deps.repo.count(deps.db, tenantId)) >= MAX_FUNNEL_ROLLUPS) return null;
    if (typeof mark === 'string' && !(await deps.repo.changedSince(deps.db, tenantId, mark))) return { rebuilt: false, sessions: 0 };
    return deps.db.transaction(async (tx) => {
      // The horizon first, before this transaction writes (its own id would hold the horizon back).
      const horizon = await deps.repo.horizon(tx);
      const since = await deps.repo.lock(tx, tenantId, t);
      let out = { rebuilt: true, sessions: 0 };
      if (since === null) await deps.repo.rebuild(tx, tenantId, t);
      else out = { rebuilt: false, sessions: await deps.repo.applyChanges(tx, tenantId, t, since) };
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
    const mark = await deps.repo.watermark(deps.reader, tenantId, t.key);
    if (typeof mark !== 'string') return null;
    return deps.repo.read(deps.reader, tenantId, t, mark, w, f, breakdown);
  }

  return {
    refresh,
    read,
    /**
     * The ordered per-session funnel (events' `funnel` rows' shape): refresh, then read. Null when over the cap or
     * the reader does not have the rollup yet: the caller sequences raw.
     */
    async funnel(
      tenantId: string,
      steps: readonly string[],
      w: ReportWindow,
      f: SessionFilters,
      breakdown?: { dimension: keyof SessionFilters; limit: number },
    ): Promise<FunnelCountRow[] | null> {
      if (!(await refresh(tenantId, steps))) return null;
      return read(tenantId, steps, w, f, breakdown);
    },
    /** Erasure step (identity.onErasure), in the erasure's transaction: renamed sessions' rows take the new ids. */
    erasePerson: (tx: Q, tenantId: string) => deps.repo.renameErased(tx, tenantId),
  };
}
export type FunnelRollupsService = ReturnType<typeof createFunnelRollupsService>;
