/** Conversions between the experiments API's snake_case JSON and the module's types (the edge). */
import type { z } from 'zod';
import type { CreateExperimentInput, VariantInput } from './experiments.service.ts';
import type { Experiment, MetricDefinition } from './experiments.types.ts';
import { DEFAULT_BANDIT } from './bandit.core.ts';
import type { createBody, ExperimentJson, variantBody } from './experiments.schemas.ts';

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 80);

export function toVariantInputs(vs: readonly z.infer<typeof variantBody>[]): VariantInput[] {
  return vs.map((v) => ({ key: v.key ?? (slug(v.name ?? '') || 'variant'), name: v.name, weight: v.weight, config: v.config }));
}

export function toCreateInput(b: z.infer<typeof createBody>, fallbackKey: () => string): CreateExperimentInput {
  const metrics: MetricDefinition[] | undefined = b.metrics?.map((m) => ({
    name: m.name,
    type: m.type,
    event: m.event,
    value: m.value,
    cap: m.cap ?? null,
    denominatorEvent: m.denominator_event ?? null,
    guardrail: m.guardrail,
    sources: m.sources ?? null,
  }));
  return {
    key: b.key ?? (slug(b.name) || fallbackKey()),
    name: b.name,
    description: b.description,
    metrics,
    primaryMetric: b.primary_metric,
    variants: b.variants ? toVariantInputs(b.variants) : undefined,
    trafficAllocation: b.traffic_allocation,
    targeting: (b.targeting as Record<string, unknown> | undefined) ?? null,
    namespace: b.namespace ?? null,
    holdout: b.holdout ?? null,
    excludeBots: b.exclude_bots,
    engine: b.engine,
    confidence: b.confidence,
    correction: b.correction,
    sequential: b.sequential,
    minimumSampleSize: b.minimum_sample_size,
    conversionWindowHours: b.conversion_window_hours,
    currency: b.currency,
    type: b.type,
    bandit:
      b.type === 'bandit'
        ? {
            posterior: b.bandit?.posterior ?? DEFAULT_BANDIT.posterior,
            topTwo: b.bandit?.top_two ?? DEFAULT_BANDIT.topTwo,
            minWeight: b.bandit?.min_weight ?? DEFAULT_BANDIT.minWeight,
            burnInHours: b.bandit?.burn_in_hours ?? DEFAULT_BANDIT.burnInHours,
            updateEveryHours: b.bandit?.update_every_hours ?? DEFAULT_BANDIT.updateEveryHours,
          }
        : null,
  };
}

export function experimentJson(e: Experiment): ExperimentJson {
  return {
    id: e.id,
    key: e.key,
    name: e.name,
    description: e.description,
    status: e.status,
    metrics: e.metrics.map((m) => ({
      name: m.name,
      type: m.type,
      event: m.event,
      value: m.value,
      cap: m.cap,
      denominator_event: m.denominatorEvent,
      guardrail: m.guardrail,
      sources: m.sources ?? null,
    })),
    primary_metric: e.primaryMetric,
    variants: e.variants.map((v) => ({ id: v.id, key: v.key, name: v.name, weight: v.weight, config: v.config, position: v.position })),
    traffic_allocation: e.trafficAllocation,
    targeting: e.targeting,
    namespace: e.namespace ? { name: e.namespace, start: e.namespaceStart, end: e.namespaceEnd } : null,
    holdout: e.holdoutSeed ? { seed: e.holdoutSeed, percent: e.holdoutPercent } : null,
    exclude_bots: e.excludeBots,
    engine: e.engine,
    confidence: e.confidence,
    correction: e.correction,
    sequential: e.sequential,
    minimum_sample_size: e.minimumSampleSize,
    conversion_window_hours: e.conversionWindowHours,
    currency: e.currency,
    hashing: 'growthbook_fnv1a_v2',
    hash_version: e.hashVersion,
    type: e.type,
    bandit: e.bandit
      ? {
          posterior: e.bandit.posterior,
          top_two: e.bandit.topTwo,
          min_weight: e.bandit.minWeight,
          burn_in_hours: e.bandit.burnInHours,
          update_every_hours: e.bandit.updateEveryHours,
        }
      : null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    started_at: e.startedAt?.toISOString() ?? null,
    stopped_at: e.stoppedAt?.toISOString() ?? null,
  };
}
