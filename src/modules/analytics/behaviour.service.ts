import { type Db, type TenantContext, validation } from '../../platform/index.ts';
import { createReportWindows, filtersOf, rangeOut } from './analytics.service.ts';
import type { AnalyticsEventsPort } from './analytics.types.ts';
import { pathEdges, pathSteps, retentionMatrix } from './behaviour.core.ts';
import type * as s from './behaviour.schemas.ts';

export interface BehaviourServiceDeps {
  db: Db;
  events: Pick<AnalyticsEventsPort, 'retention' | 'pathCounts'>;
  tenantSettings(tenantId: string): Promise<Record<string, unknown>>;
  clock: () => Date;
}

/** A retention matrix has at most this many cohorts (a year of days). */
const MAX_COHORTS = 366;

/** PostHog-style behavioural reports over the tracking rows: retention cohorts and paths. */
export function createBehaviourService(deps: BehaviourServiceDeps) {
  const { db, events } = deps;
  const { windowOf } = createReportWindows(deps);

  return {
    /** Cohorts by the local period of each person's first start event in the range, and their returns per period. */
    async retention(ctx: TenantContext, q: s.RetentionQuery): Promise<s.RetentionResponse> {
      const returnEvent = q.return_event ?? q.start_event;
      // One cohort per local period of the range: the same bucket cap as a series.
      const { w, labels } = await windowOf(ctx, q, q.period);
      if (labels.length > MAX_COHORTS)
        throw validation(
          'ANALYTICS_TOO_MANY_COHORTS',
          `the range has more than ${MAX_COHORTS} ${q.period} cohorts: choose a longer period or a shorter range`,
          [{ field: 'period', message: 'too fine for this range' }],
        );
      const rows = await events.retention(db, ctx.tenantId, w, filtersOf(q), {
        startEvent: q.start_event,
        returnEvent,
        period: q.period,
        periods: q.periods,
      });
      const { cohorts, average } = retentionMatrix(labels, rows, q.criterion, q.periods);
      return {
        range: rangeOut(w),
        start_event: q.start_event,
        return_event: returnEvent,
        period: q.period,
        periods: q.periods,
        criterion: q.criterion,
        cohorts,
        average,
      };
    },

    /** The most common next (or previous) pages or events from an anchor, step by step. */
    async paths(ctx: TenantContext, q: s.PathsQuery): Promise<s.PathsResponse> {
      const { w } = await windowOf(ctx, q);
      const paths = await events.pathCounts(db, ctx.tenantId, w, filtersOf(q), {
        type: q.type,
        anchor: q.anchor,
        direction: q.direction,
        depth: q.depth,
      });
      const r = pathEdges(paths, { anchor: q.anchor, depth: q.depth, top: q.top });
      const sign = q.direction === 'next' ? 1 : -1;
      return {
        range: rangeOut(w),
        type: q.type,
        anchor: q.anchor,
        direction: q.direction,
        sessions: r.sessions,
        steps: pathSteps(r.edges, q.depth, q.direction),
        edges: r.edges.map((e) => ({ offset: e.k * sign, from: e.from, to: e.to, sessions: e.sessions })),
      };
    },
  };
}
export type BehaviourService = ReturnType<typeof createBehaviourService>;
