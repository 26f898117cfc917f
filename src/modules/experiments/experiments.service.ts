/**
 * Experiment administration: create, variants, start / stop / archive, list and read. Every change drops the
 * tenant's in-memory assignment configuration (`onChanged`).
 */
import {
  type Db,
  type TenantContext,
  conflict,
  isUuid,
  newId,
  notFound,
  requirePermission,
  validation,
  inTenant,
} from '../../platform/index.ts';
import type { Condition } from './assign.core.ts';
import type { Correction, Engine } from './analyze.core.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { BanditSettings } from './bandit.core.ts';
import {
  CURRENT_HASH_VERSION,
  type Experiment,
  type ExperimentRow,
  type ExperimentStatus,
  type ExperimentType,
  type MetricDefinition,
  type VariantRow,
} from './experiments.types.ts';

/** At most this many variants per experiment (an A/B/n test with more arms cannot reach significance). */
export const MAX_VARIANTS = 50;
const WEIGHT_TOLERANCE = 1e-6;

/** The metrics an experiment gets when none are given: seed 000's click, add-to-cart (primary) and purchase. */
export const DEFAULT_METRICS: MetricDefinition[] = [
  { name: 'add_to_cart', type: 'binomial', event: 'add_to_cart', value: 'count', cap: null, denominatorEvent: null, guardrail: false },
  { name: 'click', type: 'binomial', event: 'click', value: 'count', cap: null, denominatorEvent: null, guardrail: false },
  { name: 'purchase', type: 'binomial', event: 'purchase', value: 'count', cap: null, denominatorEvent: null, guardrail: false },
  { name: 'revenue', type: 'mean', event: 'purchase', value: 'value', cap: null, denominatorEvent: null, guardrail: false },
];

export interface VariantInput {
  key: string;
  name?: string | undefined;
  weight?: number | undefined;
  config?: unknown;
}

export interface CreateExperimentInput {
  key: string;
  name: string;
  description: string;
  metrics: MetricDefinition[] | undefined;
  primaryMetric: string | undefined;
  variants: VariantInput[] | undefined;
  trafficAllocation: number;
  targeting: Condition | null;
  namespace: { name: string; start: number; end: number } | null;
  holdout: { seed: string; percent: number } | null;
  excludeBots: boolean;
  engine: Engine;
  confidence: number;
  correction: Correction;
  sequential: boolean;
  minimumSampleSize: number;
  conversionWindowHours: number;
  currency: string;
  type: ExperimentType;
  /** Bandit settings (defaults filled in), for type 'bandit' only. */
  bandit: BanditSettings | null;
}

export interface ExperimentsServiceDeps {
  db: Db;
  repo: ExperimentsRepository;
  clock: () => Date;
  /** Called after every committed change of a tenant's experiments (assignment caches drop their copy). */
  onChanged: (tenantId: string) => void;
  /** Called after a bandit experiment started (its update job gets scheduled). */
  onBanditStarted?: (tenantId: string, experimentId: string) => Promise<void>;
  /** After a stop commits: the final rollup refresh, so a stopped experiment's report is complete. */
  onStopped?: (tenantId: string, e: Experiment) => Promise<void>;
  /** Refuses targeting naming a saved cohort the tenant does not have (audience.service.ts). */
  checkTargeting?: (tenantId: string, targeting: Condition | null) => Promise<void>;
}

/**
 * Checks a full set of variants: at least one, unique keys, weights all given or none (then equal), each in
 * [0, 1] and summing to 1. Returns the weights to store.
 */
export function checkVariants(variants: readonly VariantInput[]): number[] {
  if (variants.length === 0) throw validation('EXPERIMENT_NO_VARIANTS', 'An experiment needs at least a control and one variant.');
  if (variants.length > MAX_VARIANTS)
    throw validation('EXPERIMENT_TOO_MANY_VARIANTS', `An experiment has at most ${MAX_VARIANTS} variants (got ${variants.length}).`);
  const keys = new Set<string>();
  for (const v of variants) {
    if (keys.has(v.key)) throw validation('EXPERIMENT_DUPLICATE_VARIANT', `Variant key "${v.key}" is used twice; keys must be unique.`);
    keys.add(v.key);
  }
  const given = variants.filter((v) => v.weight !== undefined).length;
  if (given === 0) return variants.map(() => 1 / variants.length);
  if (given !== variants.length)
    throw validation('EXPERIMENT_WEIGHTS_INVALID', 'Give a weight for every variant, or for none (equal split).');
  const weights = variants.map((v) => v.weight as number);
  const total = weights.reduce((s, w) => s + w, 0);
  if (Math.abs(total - 1) > WEIGHT_TOLERANCE)
    throw validation('EXPERIMENT_WEIGHTS_INVALID', `Variant weights must sum to 1 (they sum to ${Number(total.toFixed(6))}).`);
  return weights;
}

export function createExperimentsService(deps: ExperimentsServiceDeps) {
  const { db, repo } = deps;

  async function load(tenantId: string, id: string): Promise<Experiment> {
    if (!isUuid(id)) throw notFound('EXPERIMENT_NOT_FOUND', 'Experiment');
    const row = await repo.getExperiment(db, tenantId, id);
    if (!row) throw notFound('EXPERIMENT_NOT_FOUND', 'Experiment');
    return { ...row, variants: await repo.variantsOf(db, tenantId, [id]) };
  }

  function variantRows(experimentId: string, inputs: readonly VariantInput[], weights: readonly number[]): VariantRow[] {
    return inputs.map((v, i) => ({
      id: newId(),
      experimentId,
      key: v.key,
      name: v.name ?? v.key,
      weight: weights[i] as number,
      config: v.config ?? {},
      position: i,
    }));
  }

  async function transition(ctx: TenantContext, id: string, to: ExperimentStatus): Promise<Experiment> {
    requirePermission(ctx, 'experiments:manage');
    if (!isUuid(id)) throw notFound('EXPERIMENT_NOT_FOUND', 'Experiment');
    const now = deps.clock();
    await inTenant(db, ctx.tenantId, async (tx) => {
      const row = await repo.lockExperiment(tx, ctx.tenantId, id);
      if (!row) throw notFound('EXPERIMENT_NOT_FOUND', 'Experiment');
      if (to === 'running') {
        if (row.status === 'archived')
          throw conflict('EXPERIMENT_ARCHIVED', 'An archived experiment cannot be started again; create a new one.');
        const variants = await repo.variantsOf(tx, ctx.tenantId, [id]);
        if (variants.length < 2) throw validation('EXPERIMENT_NO_VARIANTS', 'Add a control and at least one variant before starting.');
        checkVariants(variants);
        // A bandit's period 0 (the burn-in) starts with the variants' own weights. Restarting a stopped bandit
        // keeps its history: the row exists already.
        if (row.type === 'bandit')
          await repo.insertBanditPeriod(tx, ctx.tenantId, id, {
            period: 0,
            startedAt: row.startedAt ?? now,
            weights: variants.map((v) => v.weight),
            bestArmProbabilities: null,
            arms: [],
            message: 'burn-in',
          });
      }
      if (to === 'stopped' && row.status !== 'running')
        throw conflict('EXPERIMENT_NOT_RUNNING', `The experiment is ${row.status}, not running.`);
      await repo.setStatus(tx, ctx.tenantId, id, to, now);
    });
    deps.onChanged(ctx.tenantId);
    const e = await load(ctx.tenantId, id);
    if (to === 'running' && e.type === 'bandit') await deps.onBanditStarted?.(ctx.tenantId, id);
    if (to === 'stopped') await deps.onStopped?.(ctx.tenantId, e);
    return e;
  }

  return {
    async create(ctx: TenantContext, input: CreateExperimentInput): Promise<Experiment> {
      requirePermission(ctx, 'experiments:manage');
      const metrics = input.metrics ?? DEFAULT_METRICS;
      const primaryMetric = input.primaryMetric ?? metrics[0]?.name;
      if (!primaryMetric || !metrics.some((m) => m.name === primaryMetric))
        throw validation(
          'EXPERIMENT_PRIMARY_METRIC_UNKNOWN',
          `primary_metric must name one of the experiment's metrics (${metrics.map((m) => m.name).join(', ')}).`,
        );
      if (input.type === 'bandit') {
        const m = metrics.find((x) => x.name === primaryMetric);
        if (input.bandit?.posterior === 'beta' && m?.type !== 'binomial')
          throw validation('EXPERIMENT_BANDIT_METRIC', 'A Beta posterior needs a binomial primary metric; use "gaussian" or "auto".');
        if (m?.type === 'ratio')
          throw validation(
            'EXPERIMENT_BANDIT_METRIC',
            'A bandit optimizes a binomial or mean primary metric; ratio metrics are not supported as its primary metric.',
          );
      }
      const weights = input.variants ? checkVariants(input.variants) : [];
      await deps.checkTargeting?.(ctx.tenantId, input.targeting);
      const now = deps.clock();
      const id = newId();
      const row: ExperimentRow = {
        id,
        key: input.key,
        name: input.name,
        description: input.description,
        status: 'draft',
        metrics,
        primaryMetric,
        trafficAllocation: input.trafficAllocation,
        targeting: input.targeting,
        namespace: input.namespace?.name ?? null,
        namespaceStart: input.namespace?.start ?? 0,
        namespaceEnd: input.namespace?.end ?? 1,
        holdoutSeed: input.holdout?.seed ?? null,
        holdoutPercent: input.holdout?.percent ?? 0,
        hashSeed: input.key,
        hashVersion: CURRENT_HASH_VERSION,
        type: input.type,
        bandit: input.type === 'bandit' ? input.bandit : null,
        excludeBots: input.excludeBots,
        engine: input.engine,
        confidence: input.confidence,
        correction: input.correction,
        sequential: input.sequential,
        minimumSampleSize: input.minimumSampleSize,
        conversionWindowHours: input.conversionWindowHours,
        currency: input.currency,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        stoppedAt: null,
      };
      await inTenant(db, ctx.tenantId, async (tx) => {
        if (await repo.keyExists(tx, ctx.tenantId, input.key))
          throw conflict('EXPERIMENT_KEY_TAKEN', `An experiment with key "${input.key}" already exists.`);
        await repo.insertExperiment(tx, ctx.tenantId, row);
        if (input.variants) await repo.replaceVariants(tx, ctx.tenantId, id, variantRows(id, input.variants, weights), now);
      });
      deps.onChanged(ctx.tenantId);
      return load(ctx.tenantId, id);
    },

    /**
     * Adds variants to a draft experiment. The whole set must stay valid: unique keys, and weights summing to 1
     * (when no weight is given anywhere, all variants get an equal share).
     */
    async addVariants(ctx: TenantContext, id: string, inputs: readonly VariantInput[]): Promise<Experiment> {
      requirePermission(ctx, 'experiments:manage');
      if (!isUuid(id)) throw notFound('EXPERIMENT_NOT_FOUND', 'Experiment');
      const now = deps.clock();
      await inTenant(db, ctx.tenantId, async (tx) => {
        const row = await repo.lockExperiment(tx, ctx.tenantId, id);
        if (!row) throw notFound('EXPERIMENT_NOT_FOUND', 'Experiment');
        if (row.status !== 'draft')
          throw conflict(
            'EXPERIMENT_NOT_DRAFT',
            `Variants can only change while the experiment is a draft (it is ${row.status}): changing arms mid-test breaks its results.`,
          );
        const existing = await repo.variantsOf(tx, ctx.tenantId, [id]);
        const allUnweighted = inputs.every((v) => v.weight === undefined);
        const all: VariantInput[] = [
          ...existing.map((v) => ({ key: v.key, name: v.name, config: v.config, weight: allUnweighted ? undefined : v.weight })),
          ...inputs,
        ];
        const weights = checkVariants(all);
        await repo.replaceVariants(tx, ctx.tenantId, id, variantRows(id, all, weights), now);
        await repo.touch(tx, ctx.tenantId, id, now);
      });
      deps.onChanged(ctx.tenantId);
      return load(ctx.tenantId, id);
    },

    start: (ctx: TenantContext, id: string) => transition(ctx, id, 'running'),
    stop: (ctx: TenantContext, id: string) => transition(ctx, id, 'stopped'),
    archive: (ctx: TenantContext, id: string) => transition(ctx, id, 'archived'),

    async get(ctx: TenantContext, id: string): Promise<Experiment> {
      requirePermission(ctx, 'analytics:read');
      return load(ctx.tenantId, id);
    },

    async list(ctx: TenantContext, opts: { includeArchived: boolean; limit: number }): Promise<Experiment[]> {
      requirePermission(ctx, 'analytics:read');
      const rows = await repo.listExperiments(db, ctx.tenantId, opts);
      const variants = await repo.variantsOf(
        db,
        ctx.tenantId,
        rows.map((r) => r.id),
      );
      return rows.map((r) => ({ ...r, variants: variants.filter((v) => v.experimentId === r.id) }));
    },

    /** For the report: the experiment or EXPERIMENT_NOT_FOUND (another tenant's id answers the same). */
    load,
  };
}
export type ExperimentsService = ReturnType<typeof createExperimentsService>;
