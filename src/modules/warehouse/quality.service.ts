import { type Db, type TenantContext, inTenant, isUuid, newId, notFound } from '../../platform/index.ts';
import type { WebhookPublisher } from '../webhooks/index.ts';
import {
  EVENT_WINDOW_DAYS,
  EXPECTATIONS,
  evaluate,
  MAX_REFERENCE_IDS,
  type Measurement,
  type QualityResult,
  type QualityTrigger,
} from './quality.core.ts';
import type { QualityRepository } from './quality.repository.ts';
import type { EventQualityFacts, EventQualitySource } from './warehouse.types.ts';

export interface QualityServiceDeps {
  db: Db;
  repo: QualityRepository;
  events: EventQualitySource;
  webhooks?: WebhookPublisher | undefined;
  clock: () => Date;
  /** Runs kept per tenant (older ones are deleted after each run). */
  keepRuns?: number;
}

/** The webhook event a run with a failing check sends (once per run). */
export const QUALITY_FAILED_EVENT = 'warehouse.quality.failed';

function measureEvents(name: string, f: EventQualityFacts, now: Date): Measurement | null {
  switch (name) {
    case 'events.received_at.freshness':
      return f.newestReceivedAt
        ? { observed: Math.max(0, (now.getTime() - f.newestReceivedAt.getTime()) / 3_600_000), examples: [] }
        : { observed: null, examples: [], skipReason: 'No events received yet.' };
    case 'events.person.not_null':
      return { observed: f.withoutPerson, examples: [] };
    case 'events.occurred_at.range':
      return { observed: f.futureOccurred, examples: [] };
    case 'events.price_minor.range':
      return { observed: f.negativePrice, examples: [] };
    default:
      return null;
  }
}

/**
 * Runs every expectation of a tenant (after its marts were refreshed: the mart checks and the referential checks
 * read them), stores the results as one run in the history and, when a check failed and webhooks are wired, sends
 * one `warehouse.quality.failed` event through the webhooks module's signed outbox, in the results' transaction.
 */
export function createQualityService(deps: QualityServiceDeps) {
  const { db, repo } = deps;
  const keepRuns = deps.keepRuns ?? 200;

  return {
    async run(tenantId: string, trigger: QualityTrigger): Promise<{ runId: string; ranAt: Date; results: QualityResult[] }> {
      const ranAt = deps.clock();
      const runId = newId();
      const since = new Date(ranAt.getTime() - EVENT_WINDOW_DAYS * 86_400_000);
      const { results, published } = await inTenant(db, tenantId, async (tx) => {
        const facts = await deps.events.facts(tx, tenantId, since, ranAt, MAX_REFERENCE_IDS);
        const note = facts.idsTruncated ? `Only the first ${MAX_REFERENCE_IDS} distinct ids were checked.` : undefined;
        const results: QualityResult[] = [];
        for (const x of EXPECTATIONS) {
          let m: Measurement | null;
          if (repo.hasMartCheck(x.name)) m = await repo.measureMart(tx, tenantId, x.name, ranAt);
          else if (x.name === 'events.item_id.referential_integrity') m = await repo.missingItems(tx, tenantId, facts.itemIds);
          else if (x.name === 'events.profile_id.referential_integrity') m = await repo.missingProfiles(tx, tenantId, facts.profileIds);
          else m = measureEvents(x.name, facts, ranAt);
          if (m && note && x.kind === 'referential_integrity' && x.table === 'events') m = { ...m, note };
          results.push(evaluate(x, m ?? { observed: null, examples: [], skipReason: 'No measurement for this check.' }));
        }
        await repo.insertResults(tx, tenantId, runId, trigger, ranAt, results);
        await repo.prune(tx, tenantId, keepRuns);
        const failing = results.filter((r) => r.status === 'fail');
        const published =
          failing.length && deps.webhooks
            ? await deps.webhooks.publish(tx, tenantId, [
                {
                  type: QUALITY_FAILED_EVENT,
                  idempotencyKey: `warehouse_quality:${runId}`,
                  payload: {
                    run_id: runId,
                    ran_at: ranAt.toISOString(),
                    trigger,
                    failing: failing.map((r) => ({
                      check: r.name,
                      table: r.table,
                      kind: r.kind,
                      observed: r.observed,
                      message: r.message,
                    })),
                  },
                },
              ])
            : null;
        return { results, published };
      });
      if (published && deps.webhooks) await deps.webhooks.dispatch(published);
      return { runId, ranAt, results };
    },

    /** The latest run (or the run named) with its results, failing first; null when the tenant has none. */
    async latest(ctx: TenantContext, runId?: string) {
      if (runId !== undefined && !isUuid(runId)) throw notFound('WAREHOUSE_QUALITY_RUN_NOT_FOUND', 'The data-quality run');
      const rows = await inTenant(db, ctx.tenantId, (tx) => repo.run(tx, ctx.tenantId, runId));
      if (!rows.length) {
        if (runId !== undefined) throw notFound('WAREHOUSE_QUALITY_RUN_NOT_FOUND', 'The data-quality run');
        return null;
      }
      return { runId: rows[0]!.runId, ranAt: rows[0]!.ranAt, trigger: rows[0]!.trigger, results: rows };
    },

    /** Recent runs, newest first, with counts by status. */
    async history(ctx: TenantContext, limit: number) {
      return inTenant(db, ctx.tenantId, (tx) => repo.runs(tx, ctx.tenantId, limit));
    },
  };
}
export type QualityService = ReturnType<typeof createQualityService>;
