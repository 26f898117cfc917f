/** Domain types of the experiments module (camelCase; routes convert to the public snake_case JSON). */
import type { SQL } from 'drizzle-orm';
import type { Condition } from './assign.core.ts';
import type { Correction, Engine } from './analyze.core.ts';
import type { MetricType } from './stats.metrics.core.ts';
import type { BanditSettings } from './bandit.core.ts';

export type ExperimentStatus = 'draft' | 'running' | 'stopped' | 'archived';
export type ExperimentType = 'standard' | 'bandit';

/**
 * What assignment hashes: 1 = the unit key (`u:<id>`, `a:<id>`, `p:<profile>`), experiments created before the
 * raw-id change; 2 = the raw user id (else anonymous id), as a GrowthBook SDK hashes its `id` attribute.
 */
export type HashVersion = 1 | 2;
export const CURRENT_HASH_VERSION: HashVersion = 2;

/** A metric of an experiment: which event, counted how, per unit, within the conversion window. */
export interface MetricDefinition {
  name: string;
  type: MetricType;
  /** The event counted (click, add_to_cart, purchase, or any tracked event name). */
  event: string;
  /** 'count' counts events per unit; 'value' sums their values (revenue for purchases). */
  value: 'count' | 'value';
  /** Per-unit values above this are capped (outliers), null for none. */
  cap: number | null;
  /** Ratio metrics: the denominator event (counted per unit), e.g. purchase for revenue per order. */
  denominatorEvent: string | null;
  /** A guardrail is watched for harm, not tested for a win (left out of the corrections family). */
  guardrail: boolean;
  /**
   * Null: the metric counts events sent to /experiments/track*. A list: it counts the interactions that arrived
   * through these channels instead (shopify, segment, api, web ...), `event` naming the interaction type: a
   * Shopify purchase or a Segment track counts without a second call. Absent in metrics stored before (= null).
   */
  sources?: string[] | null;
}

/**
 * The events module's interactions as metric events (events' `createExperimentMetricSource`): an SQL subquery
 * with columns unit_id, event, value (minor units), currency, occurred_at.
 */
export interface ConnectorMetricEvents {
  metricEventsSql(tenantId: string, o: { types: readonly string[]; sources: readonly string[]; since: SQL }): SQL;
}

export interface ExperimentRow {
  id: string;
  key: string;
  name: string;
  description: string;
  status: ExperimentStatus;
  metrics: MetricDefinition[];
  primaryMetric: string;
  trafficAllocation: number;
  targeting: Condition | null;
  namespace: string | null;
  namespaceStart: number;
  namespaceEnd: number;
  holdoutSeed: string | null;
  holdoutPercent: number;
  hashSeed: string;
  hashVersion: HashVersion;
  type: ExperimentType;
  /** Bandit settings; null for a standard experiment. */
  bandit: BanditSettings | null;
  excludeBots: boolean;
  engine: Engine;
  confidence: number;
  correction: Correction;
  sequential: boolean;
  minimumSampleSize: number;
  conversionWindowHours: number;
  currency: string;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  stoppedAt: Date | null;
}

export interface VariantRow {
  id: string;
  experimentId: string;
  key: string;
  name: string;
  weight: number;
  config: unknown;
  position: number;
}

export type Experiment = ExperimentRow & { variants: VariantRow[] };

/** Per-variant sums of one metric over its exposed units (what the statistics core takes). */
export interface MetricSums {
  variantId: string;
  n: number;
  sum: number;
  sumSquares: number;
  denominatorSum: number;
  denominatorSumSquares: number;
  sumProduct: number;
}

/** One metric event to store. */
export interface NewMetricEvent {
  id: string;
  unitId: string;
  event: string;
  value: number;
  amountMinor: bigint | null;
  currency: string | null;
  dedupeKey: string;
  experimentId: string | null;
  itemId: string | null;
  recommendationId: string | null;
  occurredAt: Date;
}

/** One exposure to log (batched). */
export interface Exposure {
  tenantId: string;
  experimentId: string;
  unitId: string;
  variantId: string;
  at: Date;
}

/** One period of a bandit: the weights it started with (by variant position) and what the update saw. */
export interface BanditPeriod {
  period: number;
  startedAt: Date;
  weights: number[];
  bestArmProbabilities: number[] | null;
  arms: { n: number; sum: number; sumSquares: number }[];
  message: string;
}
