/**
 * Training jobs: a snapshot of the tenant's interactions, a model fitted in a worker thread, a new version in the
 * registry (deployed when asked). The registry itself (versions, deploy, rollback, canary, retention, automatic
 * retraining) is `registry/registry.service.ts`. Heavy work runs in a worker thread (`training.thread.ts` starts `training.worker.ts`); this file only moves data and records outcomes.
 */
import { buffer as streamToBuffer } from 'node:stream/consumers';
import { z } from 'zod';
import type { ItemAttributes } from '../../../ml/content.ts';
import {
  type Q,
  type JobQueue,
  type JobRun,
  type ObjectStorage,
  type TenantContext,
  PermanentJobError,
  newId,
  notFound,
  validation,
} from '../../../platform/index.ts';
import type { InteractionsRepository } from '../../events/index.ts';
import { fillNormal, rngMulberry32 } from '../../../ml/random.ts';
import {
  MODEL_TYPES,
  type ModelType,
  type Snapshot,
  alignItemRows,
  interactionWeight,
  packVersion,
  unpackVersionChunked,
  validateHyperparameters,
} from '../recs.core.ts';
import type { RecsRepository } from '../recs.repository.ts';
import { trainInWorker } from './training.thread.ts';
import type { TrainInput } from './training.run.ts';
import type { RegistryService } from '../registry/registry.service.ts';
import { TRAIN_JOB } from '../recs.jobs.ts';
import { recsSettings } from '../recs.settings.ts';

const RETENTION_DAYS = 30;
const HOUR = 3_600_000;

export const trainPayload = z.object({
  modelType: z.enum([...MODEL_TYPES, 'auto']),
  hyperparameters: z.record(z.string(), z.unknown()),
  trainingMode: z.enum(['full', 'incremental']),
  autoDeploy: z.boolean(),
  trigger: z.string().default('api'),
});
export type TrainPayload = z.infer<typeof trainPayload>;

export interface TrainingDeps {
  db: Q;
  repo: RecsRepository;
  interactions: InteractionsRepository;
  jobs: JobQueue;
  storage: ObjectStorage;
  clock: () => Date;
  /** Called after a deploy, rollback or canary change so the serving layer drops cached models. */
  onDeploymentChanged: (tenantId: string) => void;
  /** The registry's hourly maintenance, scheduled after each training run. */
  registry: Pick<RegistryService, 'scheduleMaintenance'>;
  /** Nice value of the training thread (config `jobs.trainingNice`; BACKGROUND_NICE when absent). */
  trainingNice?: number;
}

export function createTrainingService(deps: TrainingDeps) {
  const { repo, jobs, storage, clock, db } = deps;

  /** Streams the tenant's interactions into dense indices (weights summed per user and item, latest time kept). */
  async function loadSnapshot(
    tenantId: string,
    weights: Record<string, number>,
    extraItems: string[],
  ): Promise<{ snapshot: Snapshot; itemIds: string[]; interactions: number }> {
    const userIndex = new Map<string, number>();
    const itemIndex = new Map<string, number>();
    const pair = new Map<number, number>();
    const us: number[] = [];
    const is: number[] = [];
    const ws: number[] = [];
    const ts: number[] = [];
    let interactions = 0;
    for await (const page of deps.interactions.scanForTraining(tenantId)) {
      for (const row of page) {
        const w = interactionWeight(row.type, weights);
        if (w <= 0) continue;
        interactions++;
        let u = userIndex.get(row.userId);
        if (u === undefined) userIndex.set(row.userId, (u = userIndex.size));
        let i = itemIndex.get(row.itemId);
        if (i === undefined) itemIndex.set(row.itemId, (i = itemIndex.size));
        const key = u * 4_194_304 + i;
        const at = new Date(row.occurredAt).getTime();
        const p = pair.get(key);
        if (p === undefined) {
          pair.set(key, us.length);
          us.push(u);
          is.push(i);
          ws.push(w);
          ts.push(at);
        } else {
          ws[p]! += w;
          if (at > ts[p]!) ts[p] = at;
        }
      }
    }
    for (const id of extraItems) if (!itemIndex.has(id)) itemIndex.set(id, itemIndex.size);
    const snapshot: Snapshot = {
      users: userIndex.size,
      items: itemIndex.size,
      u: Int32Array.from(us),
      i: Int32Array.from(is),
      w: Float32Array.from(ws, (x) => Math.log1p(x)),
      t: Float64Array.from(ts),
    };
    return { snapshot, itemIds: [...itemIndex.keys()], interactions };
  }

  /**
   * What an incremental run starts from: the deployed version, when its model can continue (same type as
   * requested, or any with `auto`), with its learned item rows re-indexed to today's items. Returns the
   * reason instead when the run must be a full one.
   */
  async function warmStartFor(
    tenantId: string,
    requested: ModelType | 'auto',
    itemIds: readonly string[],
  ): Promise<TrainInput['warmStart'] | string> {
    const dep = await repo.deployment(db, tenantId);
    const active = dep?.activeVersionId ? await repo.getVersion(db, tenantId, dep.activeVersionId) : undefined;
    if (!active) return 'no deployed version to continue from: trained in full';
    const type = active.modelType as ModelType;
    if (requested !== 'auto' && requested !== type) return `the deployed version is ${type}, not ${requested}: trained in full`;
    const base = { version: active.version, modelType: type, hyperparameters: active.hyperparameters };
    if (type !== 'ials' && type !== 'lightgcn') return { ...base, itemRows: null, itemsCarried: 0 };
    let stored;
    try {
      stored = await unpackVersionChunked(await streamToBuffer(await storage.get(tenantId, active.artifactKey)));
    } catch {
      return `the artifact of ${active.version} cannot be read: trained in full`;
    }
    const prev = type === 'ials' ? stored.arrays.itemFactors : stored.arrays.itemEgo;
    const dim = Number(type === 'ials' ? stored.meta.factors : stored.meta.dim);
    if (!(prev instanceof Float32Array) || !(dim > 0)) return `${active.version} keeps no item rows to start from: trained in full`;
    const rng = rngMulberry32(17);
    const aligned = alignItemRows(stored.itemIds, prev, dim, itemIds, (row) => {
      // New items start as a cold run would: iALS uniform [0, 0.01), LightGCN N(0, 0.1²).
      if (type === 'ials') for (let k = 0; k < row.length; k++) row[k] = rng() * 0.01;
      else {
        fillNormal(row, rng);
        for (let k = 0; k < row.length; k++) row[k]! *= 0.1;
      }
    });
    return {
      ...base,
      hyperparameters: { ...active.hyperparameters, ...(type === 'ials' ? { factors: dim } : { embedding_dim: dim }) },
      itemRows: aligned.rows,
      itemsCarried: aligned.carried,
    };
  }

  async function runTraining(run: JobRun<TrainPayload>): Promise<unknown> {
    const started = performance.now();
    const { tenantId } = run;
    const p = run.payload;
    const settings = recsSettings(await repo.tenantSettings(tenantId));
    await run.progress({ status: 'loading', phase: 'loading snapshot', progress: 0 }, true);
    const wantsContent = p.modelType === 'content' || p.modelType === 'auto';
    const catalog = wantsContent ? await repo.catalogForContent(tenantId) : [];
    const { snapshot, itemIds, interactions } = await loadSnapshot(
      tenantId,
      settings.weights,
      catalog.map((c) => c.itemId),
    );
    if (snapshot.u.length === 0)
      throw new PermanentJobError('The training snapshot is empty: this tenant has no interactions with a positive weight yet.');
    let attributes: ItemAttributes[] | undefined;
    if (wantsContent) {
      const byId = new Map(catalog.map((c) => [c.itemId, c]));
      attributes = itemIds.map((id) => {
        const c = byId.get(id);
        return c ? { category: c.categoryPath, brand: c.brand, tags: c.tags, text: `${c.name} ${c.description ?? ''}` } : {};
      });
    }
    const warm = p.trainingMode === 'incremental' ? await warmStartFor(tenantId, p.modelType, itemIds) : undefined;
    await run.progress(
      { status: 'training', phase: 'training', progress: 0.02, snapshot: { users: snapshot.users, items: snapshot.items, interactions } },
      true,
    );
    let out;
    try {
      out = await trainInWorker(
        {
          modelType: p.modelType,
          hyperparameters: p.hyperparameters,
          snapshot,
          tuningBudgetMs: settings.tuningBudgetMs,
          ...(attributes ? { attributes } : {}),
          ...(typeof warm === 'object' ? { warmStart: warm } : {}),
        },
        (pr) => {
          const elapsed = (performance.now() - started) / 1000;
          const frac = Math.max(0.02, Math.min(0.99, pr.progress));
          void run.progress({
            status: 'training',
            phase: pr.phase,
            progress: frac,
            ...(pr.epoch !== undefined ? { epoch: pr.epoch, total_epochs: pr.totalEpochs } : {}),
            ...(pr.loss != null ? { train_loss: pr.loss } : {}),
            ...(pr.validation ? { validation: pr.validation } : {}),
            eta_seconds: (elapsed / frac) * (1 - frac),
          });
        },
        run.signal,
        deps.trainingNice,
      );
    } catch (err) {
      if (run.signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw message.startsWith('invalid hyperparameters') || message.startsWith('The training snapshot')
        ? new PermanentJobError(message)
        : err;
    }
    const id = newId();
    const now = clock();
    const n = (await repo.countVersions(db, tenantId)) + 1;
    const version = `v${n}_${now.toISOString().slice(0, 10).replaceAll('-', '')}`;
    const key = `models/${id}/model.bin`;
    const stored = await storage.put(tenantId, key, packVersion(itemIds, out.artifact));
    await repo.insertVersion(db, tenantId, {
      id,
      version,
      modelType: out.modelType,
      hyperparameters: out.hyperparameters,
      metrics: out.metrics as unknown as Record<string, number>,
      modelCard: {
        ...out.card,
        trigger: p.trigger,
        training_mode: typeof warm === 'string' ? 'full' : p.trainingMode,
        ...(typeof warm === 'string' ? { incremental: { note: warm } } : {}),
        interaction_weights: settings.weights,
      },
      snapshotUsers: snapshot.users,
      snapshotItems: snapshot.items,
      snapshotInteractions: interactions,
      artifactKey: key,
      artifactBytes: stored.bytes,
      jobId: run.id,
      trainingSeconds: (performance.now() - started) / 1000,
      expiresAt: new Date(now.getTime() + RETENTION_DAYS * 24 * HOUR),
    });
    let deployment = 'not_deployed';
    if (p.autoDeploy) {
      const current = await repo.deployment(db, tenantId);
      if (current?.activeVersionId && settings.canaryPercent > 0 && settings.canaryPercent < 100) {
        await repo.setCanary(db, tenantId, id, settings.canaryPercent, now);
        deployment = 'canary';
      } else {
        await repo.activate(db, tenantId, id, now);
        deployment = 'deployed';
      }
      deps.onDeploymentChanged(tenantId);
    }
    await deps.registry.scheduleMaintenance(tenantId);
    return {
      model_version_id: id,
      model_version: version,
      deployment_status: deployment,
      model_type: out.modelType,
      training_mode: typeof warm === 'string' ? 'full' : p.trainingMode,
      metrics: out.metrics,
      training_duration_seconds: (performance.now() - started) / 1000,
    };
  }

  return {
    register(): void {
      jobs.register({ type: TRAIN_JOB, payload: trainPayload, maxAttempts: 2, handle: runTraining });
    },

    /** Validates and enqueues a training job (400 naming each bad hyperparameter). */
    async startTraining(
      ctx: TenantContext,
      body: {
        modelType: ModelType | 'auto';
        hyperparameters: Record<string, unknown>;
        trainingMode: 'full' | 'incremental';
        autoDeploy: boolean;
      },
    ) {
      if (body.modelType !== 'auto') {
        const v = validateHyperparameters(body.modelType, body.hyperparameters);
        if (!v.ok)
          throw validation(
            'RECS_HYPERPARAMETERS_INVALID',
            `Invalid hyperparameters for ${body.modelType}: ${v.details.map((d) => d.field).join(', ')}.`,
            v.details,
          );
      } else if (Object.keys(body.hyperparameters).length) {
        throw validation('RECS_HYPERPARAMETERS_INVALID', 'model_type auto picks its own hyperparameters; omit hyperparameters.', [
          { field: 'hyperparameters', message: 'not accepted with auto' },
        ]);
      }
      return jobs.enqueue(ctx.tenantId, TRAIN_JOB, { ...body, trigger: 'api' } satisfies TrainPayload);
    },

    async job(ctx: TenantContext, jobId: string) {
      const job = await jobs.get(ctx.tenantId, jobId);
      if (!job || job.type !== TRAIN_JOB) throw notFound('RECS_JOB_NOT_FOUND', 'Training job');
      const version = job.status === 'succeeded' ? await repo.versionByJob(db, ctx.tenantId, jobId) : undefined;
      const dep = version ? await repo.deployment(db, ctx.tenantId) : undefined;
      return { job, version, deployment: dep };
    },

    async cancel(ctx: TenantContext, jobId: string) {
      const job = await jobs.get(ctx.tenantId, jobId);
      if (!job || job.type !== TRAIN_JOB) throw notFound('RECS_JOB_NOT_FOUND', 'Training job');
      await jobs.cancel(ctx.tenantId, jobId);
      return (await jobs.get(ctx.tenantId, jobId))!;
    },
  };
}
export type TrainingService = ReturnType<typeof createTrainingService>;
