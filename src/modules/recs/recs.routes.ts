import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import {
  type Q,
  INTERRUPTED_PREFIX,
  type JobRecord,
  type TenantContext,
  divideMinor,
  errorResponses,
  isCurrencyCode,
  iso,
  minorToMajor,
  notFound,
  tenantContext,
} from '../../platform/index.ts';
import type { DeploymentRow, RecsRepository, VersionRow } from './recs.repository.ts';
import * as s from './recs.schemas.ts';
import type { CatalogFields, ServingService } from './serving/serving.service.ts';
import type { TenantServingMemory } from './serving/serving.memory.ts';
import type { RegistryService } from './registry/registry.service.ts';
import type { TrainingService } from './training/training.service.ts';

/** The catalog fields every recommended or similar item carries in responses (seed 003 shape). */
function catalogFields(i: CatalogFields) {
  return {
    item_id: i.itemId,
    name: i.name,
    category: i.category,
    brand: i.brand,
    price: i.price,
    currency: i.currency,
    image_url: i.imageUrl,
    availability: i.availability,
  };
}

export interface RecsRouteDeps {
  clock: () => Date;
  db: Q;
  training: TrainingService;
  registry: RegistryService;
  serving: ServingService;
  repo: RecsRepository;
}

/** Seed bodies carry `tenant_id`; another tenant's id answers exactly like a missing resource. */
function checkTenant(ctx: TenantContext, tenantId: string | undefined): void {
  if (tenantId !== undefined && tenantId !== ctx.tenantId) throw notFound('TENANT_NOT_FOUND', 'Tenant');
}

/** Prices in the request are major units (99.99), compared with each item's price in its own currency. */
function itemFilters(f: z.infer<typeof s.recommendBody>['filters']) {
  return {
    category: f.category,
    brand: f.brand,
    minPrice: f.price_range?.min ?? f.min_price,
    maxPrice: f.price_range?.max ?? f.max_price,
    inStock: f.in_stock,
    excludeIds: f.exclude_ids,
  };
}

const toDeployment = (d: DeploymentRow | undefined) => ({
  active_version_id: d?.activeVersionId ?? null,
  previous_version_id: d?.previousVersionId ?? null,
  canary_version_id: d?.canaryVersionId ?? null,
  canary_percent: d?.canaryPercent ?? 0,
});

const toMemory = (m: TenantServingMemory) => ({
  total_bytes: m.totalBytes,
  models: m.models.map((x) => ({ version_id: x.versionId, version: x.version, bytes: x.bytes })),
  catalog_bytes: m.catalogBytes,
  catalog_items: m.catalogItems,
  histories_bytes: m.historyBytes,
  history_users: m.historyUsers,
  responses_bytes: m.responseBytes,
  responses: m.responses,
  cold_start_bytes: m.coldStartBytes,
});

const NO_MEMORY: TenantServingMemory = {
  models: [],
  catalogBytes: 0,
  catalogItems: 0,
  historyBytes: 0,
  historyUsers: 0,
  responseBytes: 0,
  responses: 0,
  coldStartBytes: 0,
  totalBytes: 0,
};

const toVersion = (v: VersionRow, d: DeploymentRow | undefined, memory: TenantServingMemory) => ({
  id: v.id,
  version: v.version,
  model_type: v.modelType,
  hyperparameters: v.hyperparameters,
  metrics: Object.fromEntries(Object.entries(v.metrics).filter(([, x]) => typeof x === 'number' && Number.isFinite(x))) as Record<
    string,
    number
  >,
  model_card: v.modelCard,
  snapshot: { users: v.snapshotUsers, items: v.snapshotItems, interactions: v.snapshotInteractions },
  artifact: { location: v.artifactKey, bytes: Number(v.artifactBytes) },
  serving_bytes: memory.models.find((m) => m.versionId === v.id)?.bytes ?? null,
  training_seconds: v.trainingSeconds,
  load_error: v.loadError,
  status: (d?.activeVersionId === v.id
    ? 'active'
    : d?.canaryVersionId === v.id
      ? 'canary'
      : d?.previousVersionId === v.id
        ? 'previous'
        : 'inactive') as 'active' | 'canary' | 'previous' | 'inactive',
  created_at: iso(v.createdAt)!,
  deployed_at: iso(v.deployedAt),
  expires_at: iso(v.expiresAt)!,
});

function toProgress(job: JobRecord, version: VersionRow | undefined, dep: DeploymentRow | undefined, now: Date) {
  const p = (job.progress ?? {}) as Record<string, unknown>;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  // A job whose process died and has no attempt left shows `interrupted`, not a plain failure.
  const interrupted = job.status === 'failed' && !!job.lastError?.startsWith(INTERRUPTED_PREFIX);
  const status = interrupted
    ? 'interrupted'
    : job.status === 'succeeded'
      ? 'completed'
      : job.status === 'running'
        ? 'training'
        : job.status;
  const metrics: Record<string, number> = {};
  if (num(p.train_loss) !== null) metrics.train_loss = num(p.train_loss)!;
  for (const [k, v] of Object.entries((p.validation ?? {}) as Record<string, unknown>)) if (num(v) !== null) metrics[k] = num(v)!;
  const eta = num(p.eta_seconds);
  const result = (job.result ?? {}) as Record<string, unknown>;
  return {
    job_id: job.id,
    status: status as 'queued' | 'training' | 'completed' | 'failed' | 'cancelled' | 'interrupted',
    progress: job.status === 'succeeded' ? 1 : (num(p.progress) ?? 0),
    phase: typeof p.phase === 'string' ? p.phase : null,
    current_epoch: num(p.epoch),
    total_epochs: num(p.total_epochs),
    metrics,
    estimated_completion: job.status === 'running' && eta !== null ? new Date(now.getTime() + eta * 1000).toISOString() : null,
    model_version: version?.version ?? null,
    model_version_id: version?.id ?? null,
    final_metrics: version ? toVersion(version, dep, NO_MEMORY).metrics : null,
    model_location: version?.artifactKey ?? null,
    deployment_status: version
      ? dep?.activeVersionId === version.id
        ? 'deployed'
        : dep?.canaryVersionId === version.id
          ? 'canary'
          : String(result.deployment_status ?? 'not_deployed')
      : null,
    training_duration_seconds: num(result.training_duration_seconds),
    error: job.status === 'failed' ? (job.lastError ?? 'training failed') : null,
  };
}

export async function recsRoutes(app: FastifyInstance, deps: RecsRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { training, registry, serving, repo, db } = deps;
  // served rows still in the buffer are written before the database closes
  app.addHook('onClose', async () => serving.close());

  r.post(
    '/api/v1/train',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Start a training job (seed 003 step 6)',
        body: s.trainBody,
        response: { 202: s.trainResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'models:manage' }, audit: { action: 'model.train', resourceType: 'training_job' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const b = request.body;
      checkTenant(ctx, b.tenant_id);
      const job = await training.startTraining(ctx, {
        modelType: b.model_type,
        hyperparameters: b.hyperparameters,
        trainingMode: b.training_mode,
        autoDeploy: b.auto_deploy,
      });
      request.auditTarget = { resourceId: job.id, details: { model_type: b.model_type } };
      reply.code(202);
      return {
        job_id: job.id,
        status: 'started',
        estimated_duration_minutes: b.model_type === 'lightgcn' ? 10 : 1,
        progress_url: `/api/v1/training/${job.id}/progress`,
      };
    },
  );

  r.get(
    '/api/v1/training/:job_id/progress',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Training progress, metrics and ETA',
        params: s.jobParams,
        response: { 200: s.progressResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'models:manage' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      if (!/^[0-9a-f-]{36}$/.test(request.params.job_id)) throw notFound('RECS_JOB_NOT_FOUND', 'Training job');
      const { job, version, deployment } = await training.job(ctx, request.params.job_id);
      return toProgress(job, version, deployment, deps.clock());
    },
  );

  r.post(
    '/api/v1/training/:job_id/cancel',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Cancel a training job (its worker thread is terminated)',
        params: s.jobParams,
        response: { 200: s.progressResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'models:manage' },
        audit: { action: 'model.train.cancel', resourceType: 'training_job' },
      },
    },
    async (request) => {
      const ctx = tenantContext(request);
      if (!/^[0-9a-f-]{36}$/.test(request.params.job_id)) throw notFound('RECS_JOB_NOT_FOUND', 'Training job');
      const job = await training.cancel(ctx, request.params.job_id);
      request.auditTarget = { resourceId: job.id };
      return toProgress(job, undefined, undefined, deps.clock());
    },
  );

  r.get(
    '/api/v1/models',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Model versions, newest first, what is deployed, and what serving the tenant holds in this process’s memory',
        response: { 200: s.versionsResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const [versions, dep] = await Promise.all([registry.listVersions(ctx, 100), registry.deployment(ctx)]);
      const memory = serving.memory(ctx.tenantId);
      return { data: versions.map((v) => toVersion(v, dep, memory)), deployment: toDeployment(dep), serving_memory: toMemory(memory) };
    },
  );

  r.get(
    '/api/v1/models/:version_id',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'One model version with its metrics and model card',
        params: s.versionParams,
        response: { 200: s.versionSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const v = await registry.getVersion(ctx, request.params.version_id);
      return toVersion(v, await registry.deployment(ctx), serving.memory(ctx.tenantId));
    },
  );

  r.post(
    '/api/v1/models/:version_id/deploy',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Deploy a version to everyone, or as a canary to canary_percent of users',
        params: s.versionParams,
        body: s.deployBody,
        response: { 200: s.deploymentSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'models:manage' }, audit: { action: 'model.deploy', resourceType: 'model_version' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const dep = await registry.deploy(ctx, request.params.version_id, request.body.canary_percent);
      request.auditTarget = { resourceId: request.params.version_id, details: { canary_percent: request.body.canary_percent ?? 100 } };
      return toDeployment(dep);
    },
  );

  r.post(
    '/api/v1/models/rollback',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Stop the canary, or go back to the previous version',
        response: { 200: s.deploymentSchema, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'models:manage' }, audit: { action: 'model.rollback', resourceType: 'model_version' } },
    },
    async (request) => toDeployment(await registry.rollback(tenantContext(request))),
  );

  r.post(
    '/api/v1/recommendations',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Recommendations for a user (seed 003 step 8a)',
        body: s.recommendBody,
        response: { 200: s.recommendResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'recommendations:read', publishable: true }, rateGroup: 'serving' },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const b = request.body;
      checkTenant(ctx, b.tenant_id);
      const out = await serving.recommend(ctx, {
        userId: b.user_id,
        recentItems: b.recent_items,
        count: b.count,
        filters: itemFilters(b.filters),
        context: { page: b.context.page, device: b.context.device, currentItem: b.context.current_item },
      });
      return {
        recommendation_id: out.recommendationId,
        recommendations: out.items.map((i) => ({
          ...catalogFields(i),
          score: i.score,
          reason: i.reason,
        })),
        metadata: {
          model_version: out.model?.version ?? null,
          latency_ms: out.latencyMs,
          algorithm: out.algorithm,
          strategy: out.strategy,
          cache_hit: out.cacheHit,
        },
      };
    },
  );

  r.post(
    '/api/v1/recommendations/similar',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Items similar to an item (seed 003 step 8c)',
        body: s.similarBody,
        response: { 200: s.similarResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'recommendations:read', publishable: true }, rateGroup: 'serving' },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const b = request.body;
      checkTenant(ctx, b.tenant_id);
      const out = await serving.similar(ctx, { itemId: b.item_id, count: b.count, filters: itemFilters(b.filters) });
      return {
        recommendation_id: out.recommendationId,
        similar_items: out.items.map((i) => ({
          ...catalogFields(i),
          similarity_score: i.similarityScore,
        })),
        metadata: {
          model_version: out.model?.version ?? null,
          latency_ms: out.latencyMs,
          algorithm:
            out.strategy === 'item_similarity'
              ? `${out.model!.model.type} item similarity`
              : out.strategy === 'content_similarity'
                ? 'content similarity (category, brand, name)'
                : 'category popularity',
          strategy: out.strategy,
        },
      };
    },
  );

  r.get(
    '/api/v1/analytics/tenant/:tenantId/dashboard',
    {
      schema: {
        tags: ['recommendations'],
        summary: 'Recommendation usage and impact (seed 003 step 9)',
        params: s.dashboardParams,
        querystring: s.dashboardQuery,
        response: { 200: s.dashboardResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'analytics:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      checkTenant(ctx, request.params.tenantId);
      const days = request.query.days;
      const since = new Date(deps.clock().getTime() - days * 86_400_000);
      await serving.flushServed();
      const d = await repo.dashboard(db, ctx.tenantId, since);
      const dep = await repo.deployment(db, ctx.tenantId);
      const active = dep?.activeVersionId ? await repo.getVersion(db, ctx.tenantId, dep.activeVersionId) : undefined;
      const calls = d.served.calls;
      const revenue = d.revenue.filter((x) => isCurrencyCode(x.currency)); // most orders first
      const main = revenue[0];
      const orders = d.outcomes.orders;
      const rate = (x: number) => (calls ? Math.round((x / calls) * 10_000) / 10_000 : 0);
      return {
        period: `last_${days}_days`,
        metrics: {
          total_api_calls: calls,
          total_recommendations_served: d.served.items,
          click_through_rate: rate(d.outcomes.clicked),
          conversion_rate: rate(d.outcomes.converted),
          average_latency_ms: Math.round((d.served.avgLatency ?? 0) * 100) / 100,
          cache_hit_rate: rate(d.served.cacheHits),
          model_performance: active ? toVersion(active, dep, NO_MEMORY).metrics : {},
          revenue_impact: {
            attributed_revenue: main ? minorToMajor(main.revenueMinor, main.currency) : 0,
            attributed_orders: orders,
            average_order_value: main?.orders
              ? minorToMajor(divideMinor(BigInt(main.revenueMinor), BigInt(main.orders)), main.currency)
              : 0,
            currency: main?.currency ?? null,
            by_currency: revenue.map((x) => ({
              currency: x.currency,
              attributed_revenue: minorToMajor(x.revenueMinor, x.currency),
              attributed_orders: x.orders,
            })),
          },
        },
        model_version: active?.version ?? null,
        top_recommended_items: d.top.map((t) => ({
          item_id: t.itemId,
          impressions: t.impressions,
          clicks: t.clicks,
          purchases: t.purchases,
        })),
        data_quality: {
          items: d.quality.items,
          interactions: d.quality.interactions,
          users: d.quality.users,
          freshness_hours: d.quality.lastAt
            ? Math.round(((deps.clock().getTime() - new Date(d.quality.lastAt).getTime()) / 3_600_000) * 100) / 100
            : null,
        },
      };
    },
  );
}
