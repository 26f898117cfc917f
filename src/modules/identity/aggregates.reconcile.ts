import { z } from 'zod';
import { type Db, type JobQueue, inTenant } from '../../platform/index.ts';
import type { IdentityRepository } from './identity.repository.ts';
import type { ProfileActivitySource } from './identity.types.ts';
import { refreshAggregates } from './resolution.service.ts';

const RECONCILE_JOB = 'identity.reconcile_aggregates';
const PAGE = 500;

export interface ReconcileDeps {
  db: Db;
  repo: IdentityRepository;
  jobs: JobQueue;
  /** Bound at wiring time (the events module implements it; see ProfileActivitySource). */
  source: () => ProfileActivitySource | undefined;
}

/**
 * Recomputes a tenant's profile aggregates (event count, first/last seen, channels, orders, revenue net of
 * refunds, strength) from the stored events, a page of profiles per transaction. Idempotent: running it twice,
 * or again after a crash, gives the same aggregates. Repairs what incremental updates may have missed before
 * they moved into the events' transaction (M2), or any later drift.
 */
export function createAggregatesReconciler(deps: ReconcileDeps) {
  async function reconcilePage(tenantId: string, ids: readonly string[], source: ProfileActivitySource): Promise<void> {
    await inTenant(deps.db, tenantId, async (tx) => {
      // Same lock order as recordActivity (ids sorted), so live writes wait instead of deadlocking.
      await deps.repo.lockProfiles(tx, tenantId, ids);
      const facts = await source.activityOf(tx, tenantId, ids);
      await deps.repo.setActivity(tx, tenantId, ids, facts.events);
      await deps.repo.replaceOrders(tx, tenantId, ids, facts.orders);
      await refreshAggregates(deps.repo, tx, tenantId, ids, true);
    });
  }

  /** Reconciles every active profile of the tenant; reports progress per page. Returns how many were recomputed. */
  async function reconcileTenant(tenantId: string, progress: (done: number) => Promise<void> = async () => undefined): Promise<number> {
    const source = deps.source();
    if (!source) throw new Error('no profile activity source wired (events module)');
    let after: string | null = null;
    let done = 0;
    for (;;) {
      const ids = await deps.repo.profileIdsAfter(deps.db, tenantId, after, PAGE);
      if (!ids.length) return done;
      await reconcilePage(tenantId, ids, source);
      done += ids.length;
      after = ids[ids.length - 1]!;
      await progress(done);
      if (ids.length < PAGE) return done;
    }
  }

  return {
    reconcileTenant,
    registerJobs(): void {
      deps.jobs.register({
        type: RECONCILE_JOB,
        payload: z.object({}),
        maxAttempts: 3,
        async handle(job) {
          const profiles = await reconcileTenant(job.tenantId, (done) => job.progress({ profiles_reconciled: done }));
          return { profiles_reconciled: profiles };
        },
      });
    },
    /** Queues a reconciliation of the tenant (one at a time: a second request returns the queued one). */
    enqueue: (tenantId: string) => deps.jobs.enqueue(tenantId, RECONCILE_JOB, {}, { dedupeKey: 'reconcile' }),
  };
}
export type AggregatesReconciler = ReturnType<typeof createAggregatesReconciler>;
