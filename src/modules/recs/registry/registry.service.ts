/**
 * The model registry: a tenant's model versions, which one serves (active, canary with its share, previous for
 * rollback), and its hourly maintenance: retention (versions older than 30 days that do not serve are deleted
 * with their artifacts), canary promotion or rollback (`canaryDecision`), and automatic retraining when the
 * schedule, the count of new interactions or a click-through drop says so.
 */
import { z } from 'zod';
import {
  type JobQueue,
  type JobRun,
  type ObjectStorage,
  type Q,
  type TenantContext,
  notFound,
  validation,
} from '../../../platform/index.ts';
import { canaryDecision } from '../recs.core.ts';
import type { RecsRepository, VersionRow } from '../recs.repository.ts';
import { MAINTENANCE_JOB, TRAIN_JOB } from '../recs.jobs.ts';
import { recsSettings } from '../recs.settings.ts';

const HOUR = 3_600_000;

export interface RegistryDeps {
  db: Q;
  repo: RecsRepository;
  jobs: JobQueue;
  storage: ObjectStorage;
  clock: () => Date;
  /** Called after a deploy, rollback or canary change so the serving layer drops cached models. */
  onDeploymentChanged: (tenantId: string) => void;
}

export function createRegistryService(deps: RegistryDeps) {
  const { repo, jobs, storage, clock, db } = deps;

  async function scheduleMaintenance(tenantId: string): Promise<void> {
    const next = new Date(Math.ceil((clock().getTime() + 1) / HOUR) * HOUR);
    await jobs.enqueue(tenantId, MAINTENANCE_JOB, {}, { runAt: next, dedupeKey: `maintenance:${next.toISOString()}` });
  }

  /**
   * Hourly per tenant: retention (versions older than 30 days that are not serving are deleted with their
   * artifacts), canary promotion or rollback (`canaryDecision`), and automatic retraining when the schedule,
   * the count of new interactions or a click-through drop says so.
   */
  async function runMaintenance(run: JobRun<Record<string, never>>): Promise<unknown> {
    const { tenantId } = run;
    const now = clock();
    const outcome: Record<string, unknown> = {};
    for (const v of await repo.expiredVersions(db, tenantId, now)) {
      await storage.delete(tenantId, v.artifactKey);
      await repo.deleteVersion(db, tenantId, v.id);
    }
    const dep = await repo.deployment(db, tenantId);
    const settings = recsSettings(await repo.tenantSettings(tenantId));
    if (dep?.canaryVersionId && dep.activeVersionId && dep.canaryStartedAt) {
      const stats = await repo.armStats(db, tenantId, dep.canaryStartedAt);
      const arm = (id: string) => stats.find((s) => s.versionId === id) ?? { served: 0, conversions: 0 };
      const [canary, active] = await Promise.all([
        repo.getVersion(db, tenantId, dep.canaryVersionId),
        repo.getVersion(db, tenantId, dep.activeVersionId),
      ]);
      const offlineBetter = (canary?.metrics['ndcg@10'] ?? 0) > (active?.metrics['ndcg@10'] ?? 0);
      const decision = canaryDecision(arm(dep.canaryVersionId), arm(dep.activeVersionId), offlineBetter);
      outcome.canary = decision;
      if (decision === 'promote') await repo.activate(db, tenantId, dep.canaryVersionId, now);
      if (decision === 'rollback') await repo.setCanary(db, tenantId, null, 0, now);
      if (decision !== 'wait') deps.onDeploymentChanged(tenantId);
    }
    const policy = settings.retrain;
    if (policy.enabled && dep?.activeVersionId) {
      const active = await repo.getVersion(db, tenantId, dep.activeVersionId);
      const why: string[] = [];
      if (active) {
        if (now.getTime() - active.createdAt.getTime() >= policy.everyDays * 24 * HOUR) why.push('schedule');
        if ((await repo.interactionsSince(tenantId, active.createdAt)) >= policy.newInteractions) why.push('new_interactions');
        if (policy.minClickThrough > 0) {
          const s = (await repo.armStats(db, tenantId, new Date(now.getTime() - 7 * 24 * HOUR))).find((x) => x.versionId === active.id);
          if (s && s.served >= 100 && s.clicks / s.served < policy.minClickThrough) why.push('metric_drop');
        }
      }
      if (why.length) {
        await jobs.enqueue(
          tenantId,
          TRAIN_JOB,
          { modelType: policy.modelType, hyperparameters: {}, trainingMode: 'full', autoDeploy: true, trigger: `auto:${why.join('+')}` },
          { dedupeKey: 'recs.train' },
        );
        outcome.retrain = why;
      }
    }
    await scheduleMaintenance(tenantId);
    return outcome;
  }

  return {
    register(): void {
      jobs.register({
        type: MAINTENANCE_JOB,
        payload: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
        maxAttempts: 3,
        handle: runMaintenance,
      });
    },
    scheduleMaintenance,
    listVersions: (ctx: TenantContext, limit: number) => repo.listVersions(db, ctx.tenantId, limit),
    deployment: (ctx: TenantContext) => repo.deployment(db, ctx.tenantId),

    async getVersion(ctx: TenantContext, id: string): Promise<VersionRow> {
      const v = /^[0-9a-f-]{36}$/.test(id) ? await repo.getVersion(db, ctx.tenantId, id) : undefined;
      if (!v) throw notFound('RECS_MODEL_VERSION_NOT_FOUND', 'Model version');
      return v;
    },

    /** Deploys a version to everyone, or as a canary to `canaryPercent` of users (sticky per user). */
    async deploy(ctx: TenantContext, id: string, canaryPercent?: number) {
      const v = await this.getVersion(ctx, id);
      if (!(await storage.exists(ctx.tenantId, v.artifactKey)))
        throw validation('RECS_ARTIFACT_MISSING', 'The artifact of this version is missing from storage; it cannot be deployed.');
      if (canaryPercent !== undefined && canaryPercent < 100) await repo.setCanary(db, ctx.tenantId, v.id, canaryPercent, clock());
      else await repo.activate(db, ctx.tenantId, v.id, clock());
      deps.onDeploymentChanged(ctx.tenantId);
      return repo.deployment(db, ctx.tenantId);
    },

    async rollback(ctx: TenantContext) {
      const dep = await repo.deployment(db, ctx.tenantId);
      if (dep?.canaryVersionId) await repo.setCanary(db, ctx.tenantId, null, 0, clock());
      else if (dep?.previousVersionId) await repo.activate(db, ctx.tenantId, dep.previousVersionId, clock());
      else throw validation('RECS_NOTHING_TO_ROLL_BACK', 'There is no canary and no previous version to roll back to.');
      deps.onDeploymentChanged(ctx.tenantId);
      return repo.deployment(db, ctx.tenantId);
    },
    runMaintenance,
  };
}
export type RegistryService = ReturnType<typeof createRegistryService>;
