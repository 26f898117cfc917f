/**
 * Feature flags, pure: the checks of a flag's definition and the GrowthBook SDK payload built from a tenant's
 * flags and experiments (the format of GrowthBook's GET /api/features/:clientKey, so GrowthBook's SDKs
 * evaluate Loupe's flags locally: `{ status, features: { key: { defaultValue, rules } }, dateUpdated }`).
 * Rollouts and experiments hash with GrowthBook's hash version 2 on the rule's hash attribute, as the SDKs do.
 */
import type { AssignableExperiment, Condition } from './assign.core.ts';

export type FlagValueType = 'boolean' | 'string' | 'number' | 'json';

/** A prerequisite: another flag whose value must match `condition` (GrowthBook's `{ value: ... }` form). */
export interface FlagPrerequisite {
  flagKey: string;
  condition: Condition;
}

export interface FlagRule {
  id: string;
  /** force: the value to matching units; rollout: the value to a hashed share of them; experiment: a Loupe experiment's variants. */
  type: 'force' | 'rollout' | 'experiment';
  description: string;
  enabled: boolean;
  /** Environments the rule applies in; null: all. */
  environments: string[] | null;
  condition: Condition | null;
  prerequisites: FlagPrerequisite[];
  /** force and rollout */
  value: unknown;
  /** rollout: the share of units (0..1) that get the value. */
  coverage: number;
  /** The attribute hashed for rollouts and experiments (GrowthBook's default: `id`). */
  hashAttribute: string;
  /** rollout hash seed (default: the flag key, as GrowthBook). */
  seed: string | null;
  /** experiment: the Loupe experiment, and the flag value per variant key (default: the flag's default value). */
  experimentKey: string | null;
  variationValues: Record<string, unknown>;
}

export interface FlagDefinition {
  key: string;
  valueType: FlagValueType;
  defaultValue: unknown;
  rules: FlagRule[];
  prerequisites: FlagPrerequisite[];
  environments: string[];
  archived: boolean;
  updatedAt: Date;
}

/** Why a value does not fit the flag's type, or null. */
export function valueProblem(type: FlagValueType, value: unknown): string | null {
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a finite number';
    case 'string':
      return typeof value === 'string' ? null : 'must be a string';
    case 'json':
      return value === undefined ? 'must be a JSON value' : null;
  }
}

/**
 * Prerequisite flags that would make a cycle if `key` required `requires` (following every flag's flag-level and
 * rule-level prerequisites), or null. `graph` maps each other flag to the flags it requires.
 */
export function prerequisiteCycle(
  key: string,
  requires: readonly string[],
  graph: ReadonlyMap<string, readonly string[]>,
): string[] | null {
  const seen = new Set<string>();
  const path: string[] = [key];
  const visit = (k: string): boolean => {
    if (k === key) return true;
    if (seen.has(k)) return false;
    seen.add(k);
    path.push(k);
    for (const n of graph.get(k) ?? []) if (visit(n)) return true;
    path.pop();
    return false;
  };
  for (const r of requires) if (visit(r)) return [...path, key];
  return null;
}

/** The flags a flag requires (flag-level and rule-level). */
export function requiredFlags(f: Pick<FlagDefinition, 'prerequisites' | 'rules'>): string[] {
  return [...new Set([...f.prerequisites.map((p) => p.flagKey), ...f.rules.flatMap((r) => r.prerequisites.map((p) => p.flagKey))])];
}

// ---- the GrowthBook SDK payload ----

interface ParentCondition {
  id: string;
  condition: Condition;
  gate?: true;
}

/** One rule of GrowthBook's feature definition (the fields Loupe emits). */
export interface SdkRule {
  id: string;
  condition?: Condition;
  parentConditions?: ParentCondition[];
  force?: unknown;
  coverage?: number;
  hashAttribute?: string;
  seed?: string;
  hashVersion?: 2;
  key?: string;
  name?: string;
  variations?: unknown[];
  weights?: number[];
  meta?: { key: string; name: string }[];
  namespace?: [string, number, number];
  /** GrowthBook's filters: the unit's hash under `seed` must fall in one of `ranges` (holdouts, namespaces). */
  filters?: { seed: string; ranges: [number, number][]; hashVersion: 1 | 2; attribute: string }[];
  phase?: string;
  /**
   * GrowthBook's sticky-bucketing version: an SDK with a sticky bucket service stores the unit's variation under
   * `<key>__<bucketVersion>` and keeps it while the version stays (a bandit's moving weights then never move a unit,
   * as the server's stored assignments do not); units stored under a version below `minBucketVersion` are excluded.
   */
  bucketVersion?: number;
  minBucketVersion?: number;
}

/**
 * Loupe never re-randomizes a running experiment (its arms cannot change once started, and a restart keeps the
 * stored assignments), so every experiment is bucket version 1, GrowthBook's first version, and blocks none.
 */
export const BUCKET_VERSION = 1;

export interface SdkPayload {
  status: 200;
  features: Record<string, { defaultValue: unknown; rules?: SdkRule[] }>;
  experiments: [];
  dateUpdated: string;
}

const andConditions = (a: Condition | null, b: Condition | null): Condition | undefined =>
  a && b ? { $and: [a, b] } : (a ?? b ?? undefined);

const parents = (ps: readonly FlagPrerequisite[], gate: boolean): ParentCondition[] =>
  ps.map((p) => (gate ? { id: p.flagKey, condition: p.condition, gate: true as const } : { id: p.flagKey, condition: p.condition }));

/**
 * The payload of one environment. A flag that is archived or not served in the environment is left out (the
 * SDK answers null, "unknown feature", as GrowthBook does for a feature off in an environment); a rule
 * disabled, scoped to other environments, or naming an experiment that is not running is left out of `rules`.
 */
export function buildPayload(
  flags: readonly FlagDefinition[],
  experiments: ReadonlyMap<string, AssignableExperiment>,
  environment: string,
): SdkPayload {
  const features: SdkPayload['features'] = {};
  let updated = 0;
  for (const f of flags) {
    updated = Math.max(updated, f.updatedAt.getTime());
    if (f.archived || !f.environments.includes(environment)) continue;
    const rules: SdkRule[] = [];
    // Flag-level prerequisites: a gating rule first; when a parent does not match, the whole flag is off (null).
    if (f.prerequisites.length) rules.push({ id: `${f.key}:prerequisites`, parentConditions: parents(f.prerequisites, true) });
    for (const r of f.rules) {
      if (!r.enabled || (r.environments && !r.environments.includes(environment))) continue;
      const base: SdkRule = { id: r.id };
      if (r.prerequisites.length) base.parentConditions = parents(r.prerequisites, false);
      if (r.type === 'force' || r.type === 'rollout') {
        const condition = andConditions(r.condition, null);
        if (condition) base.condition = condition;
        base.force = r.value;
        if (r.type === 'rollout') {
          base.coverage = r.coverage;
          base.hashAttribute = r.hashAttribute;
          base.seed = r.seed ?? f.key;
          base.hashVersion = 2;
        }
        rules.push(base);
        continue;
      }
      const e = r.experimentKey ? experiments.get(r.experimentKey) : undefined;
      if (!e || e.status !== 'running' || e.variants.length === 0) continue;
      const condition = andConditions(r.condition, e.targeting);
      if (condition) base.condition = condition;
      // Hash version 1 (experiments from before the raw-id change) hashed the unit key `u:<user id>`. GrowthBook
      // hashes seed + value, so the prefix folds into the seed and an SDK whose hash attribute holds the user id
      // buckets as the server does. (Its namespace hash is value + seed and cannot fold: noted in the README.)
      const prefix = e.hashVersion === 1 ? 'u:' : '';
      Object.assign(base, {
        key: e.key,
        seed: `${e.hashSeed}${prefix}`,
        hashVersion: 2,
        hashAttribute: r.hashAttribute,
        coverage: e.trafficAllocation,
        variations: e.variants.map((v) => (v.key in r.variationValues ? r.variationValues[v.key] : f.defaultValue)),
        weights: e.variants.map((v) => v.weight),
        meta: e.variants.map((v) => ({ key: v.key, name: v.key })),
        phase: '0',
        bucketVersion: BUCKET_VERSION,
        minBucketVersion: 0,
      } satisfies Omit<SdkRule, 'id'>);
      // A holdout is a filter: units whose hash v2 under the holdout seed is below the held-out share see the
      // default. The SDKs ignore `namespace` once a rule has filters, so the namespace then becomes a filter too
      // (hash v1 of "__" + namespace, GrowthBook's namespace hash).
      if (e.holdoutSeed && e.holdoutPercent > 0) {
        base.filters = [{ seed: `${e.holdoutSeed}${prefix}`, ranges: [[e.holdoutPercent, 1]], hashVersion: 2, attribute: r.hashAttribute }];
        if (e.namespace)
          base.filters.push({
            seed: `__${e.namespace}`,
            ranges: [[e.namespaceStart, e.namespaceEnd]],
            hashVersion: 1,
            attribute: r.hashAttribute,
          });
      } else if (e.namespace) base.namespace = [e.namespace, e.namespaceStart, e.namespaceEnd];
      rules.push(base);
    }
    features[f.key] = rules.length ? { defaultValue: f.defaultValue, rules } : { defaultValue: f.defaultValue };
  }
  return { status: 200, features, experiments: [], dateUpdated: new Date(updated).toISOString() };
}
