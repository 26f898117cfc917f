/**
 * Deterministic assignment, GrowthBook's scheme (FNV-1a 32-bit, hash version 2): a unit's bucket is
 * `fnv1a32(String(fnv1a32(seed + unit))) % 10000 / 10000`; variants own consecutive ranges of [0, 1) scaled by
 * the traffic allocation; namespaces use hash version 1 of `"__" + namespace`, as GrowthBook's SDKs do, so the
 * same unit lands in the same place whichever SDK evaluates it. Pure.
 */

/** FNV-1a over UTF-16 code units, 32 bit (GrowthBook's hashFnv32a). fnv1a32('a') = 0xe40c292c. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h += (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24);
  }
  return h >>> 0;
}

/** GrowthBook hash v2 (unbiased): a number in [0, 1) with 4 decimals. */
export function hashV2(seed: string, value: string): number {
  return (fnv1a32(String(fnv1a32(seed + value))) % 10000) / 10000;
}

/** GrowthBook hash v1 (used for namespaces): a number in [0, 1) with 3 decimals. */
export function hashV1(seed: string, value: string): number {
  return (fnv1a32(value + seed) % 1000) / 1000;
}

/** [start, end) of each variant: cumulative weights, each range shortened to coverage × weight. */
export function bucketRanges(weights: readonly number[], coverage: number): [number, number][] {
  const c = Math.min(1, Math.max(0, coverage));
  let cumulative = 0;
  return weights.map((w) => {
    const start = cumulative;
    cumulative += w;
    return [start, start + c * w];
  });
}

/** Index of the range holding n, or -1 (the unit is outside the traffic allocation). */
export function chooseVariant(n: number, ranges: readonly [number, number][]): number {
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i] as [number, number];
    if (n >= r[0] && n < r[1]) return i;
  }
  return -1;
}

export function inNamespace(unit: string, namespace: string, start: number, end: number): boolean {
  const n = hashV1(`__${namespace}`, unit);
  return n >= start && n < end;
}

/** Request attributes targeting rules look at (strings, numbers, booleans, lists of strings). */
export type Attributes = Record<string, unknown>;

/**
 * A targeting condition, a small and safe subset of GrowthBook's (MongoDB-style): `{attr: value}` equality,
 * `{attr: {$eq,$ne,$in,$nin,$gt,$gte,$lt,$lte,$exists}}`, `$and`, `$or`, `$not`. No regular expressions
 * (a tenant's pattern must not be able to stall assignment). Unknown operators never match.
 */
export type Condition = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function compare(actual: unknown, op: string, expected: unknown): boolean {
  switch (op) {
    case '$eq':
      return equals(actual, expected);
    case '$ne':
      return !equals(actual, expected);
    case '$in':
      return (
        Array.isArray(expected) &&
        (Array.isArray(actual) ? actual.some((a) => expected.some((e) => equals(a, e))) : expected.some((e) => equals(actual, e)))
      );
    case '$nin':
      return Array.isArray(expected) && !compare(actual, '$in', expected);
    case '$exists':
      return expected ? actual !== undefined && actual !== null : actual === undefined || actual === null;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      if (actual === undefined || actual === null) return false;
      const [a, e] = typeof expected === 'number' ? [Number(actual), expected] : [String(actual), String(expected)];
      if (typeof a === 'number' && Number.isNaN(a)) return false;
      return op === '$gt' ? a > e : op === '$gte' ? a >= e : op === '$lt' ? a < e : a <= e;
    }
    default:
      return false;
  }
}

function equals(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b) && a !== null && b !== null && a !== '' && b !== '';
  return a === b;
}

/**
 * `{"$inCohort": "<saved cohort id>"}`: the unit's person is in that saved cohort now (analytics' cohorts). Usable
 * wherever a condition is (inside `$and`, `$or`, `$not`). The server resolves it; an SDK evaluating the flags payload
 * locally does not know it and leaves the unit out.
 */
export const IN_COHORT = '$inCohort';
/** The attribute the server sets to the ids of the targeted cohorts the unit is in (a client's value is replaced). */
export const COHORT_MEMBERSHIP = '$cohorts';

/** Whether `attributes` satisfy `condition` (depth-limited: a hostile nested condition is refused at input). */
export function matches(condition: Condition | null | undefined, attributes: Attributes, depth = 0): boolean {
  if (!condition) return true;
  if (depth > 8) return false;
  for (const [key, expected] of Object.entries(condition)) {
    if (key === '$and') {
      if (!Array.isArray(expected) || !expected.every((c) => isObject(c) && matches(c, attributes, depth + 1))) return false;
    } else if (key === '$or') {
      if (!Array.isArray(expected) || (expected.length > 0 && !expected.some((c) => isObject(c) && matches(c, attributes, depth + 1))))
        return false;
    } else if (key === '$not') {
      if (!isObject(expected) || matches(expected, attributes, depth + 1)) return false;
    } else if (key === IN_COHORT) {
      // A saved cohort (analytics): the server alone fills COHORT_MEMBERSHIP (audience.service.ts), never the client.
      const m = attributes[COHORT_MEMBERSHIP];
      if (typeof expected !== 'string' || !Array.isArray(m) || !m.includes(expected)) return false;
    } else {
      const actual = attributes[key];
      if (isObject(expected) && Object.keys(expected).some((k) => k.startsWith('$'))) {
        if (!Object.entries(expected).every(([op, v]) => compare(actual, op, v))) return false;
      } else if (!equals(actual, expected)) return false;
    }
  }
  return true;
}

/** What the assignment engine needs of a running experiment (the in-memory configuration). */
export interface AssignableExperiment {
  id: string;
  key: string;
  status: 'draft' | 'running' | 'stopped' | 'archived';
  hashSeed: string;
  /** 1: hash the unit key (`u:<id>`, experiments from before the raw-id change); 2: hash the raw id (GrowthBook's). */
  hashVersion: 1 | 2;
  /** A bandit's weights change every period, so its units are held by their stored assignment, not the hash. */
  type: 'standard' | 'bandit';
  trafficAllocation: number;
  targeting: Condition | null;
  namespace: string | null;
  namespaceStart: number;
  namespaceEnd: number;
  holdoutSeed: string | null;
  holdoutPercent: number;
  excludeBots: boolean;
  variants: { id: string; key: string; weight: number; config: unknown }[];
}

/** The value an experiment hashes for a unit: its unit key (hash version 1) or the raw id (version 2). */
export function hashInput(exp: Pick<AssignableExperiment, 'hashVersion'>, unit: { primary: string; hashKey: string }): string {
  return exp.hashVersion === 1 ? unit.primary : unit.hashKey;
}

export type AssignReason =
  | 'assigned'
  | 'sticky'
  | 'not_running'
  | 'unknown'
  | 'not_targeted'
  | 'namespace'
  | 'traffic'
  | 'holdout'
  | 'bot'
  | 'no_unit';

export interface Decision {
  /** Index of the variant (0 = control). */
  variant: number;
  /** Whether the unit is in the experiment (exposure logged, counted in the report). */
  inExperiment: boolean;
  reason: AssignReason;
  bucket: number | null;
}

/**
 * Decides a unit's variant. Out of the experiment (not running, not targeted, outside the namespace slice or
 * the traffic allocation, held out, a bot): control, not counted. A stored assignment (sticky) wins over the hash.
 * `hashValue` is the raw id a GrowthBook SDK hashes (its `id` attribute), so both agree on every step: namespace
 * (hash v1), holdout and variant (hash v2).
 */
export function decide(
  exp: AssignableExperiment,
  hashValue: string,
  ctx: { attributes: Attributes; isBot: boolean; stickyVariantId?: string | undefined },
): Decision {
  const out = (reason: AssignReason): Decision => ({ variant: 0, inExperiment: false, reason, bucket: null });
  if (exp.status !== 'running' || exp.variants.length === 0) return out('not_running');
  if (exp.excludeBots && ctx.isBot) return out('bot');
  if (ctx.stickyVariantId) {
    const i = exp.variants.findIndex((v) => v.id === ctx.stickyVariantId);
    if (i >= 0) return { variant: i, inExperiment: true, reason: 'sticky', bucket: null };
  }
  if (!matches(exp.targeting, ctx.attributes)) return out('not_targeted');
  if (exp.namespace && !inNamespace(hashValue, exp.namespace, exp.namespaceStart, exp.namespaceEnd)) return out('namespace');
  if (exp.holdoutSeed && exp.holdoutPercent > 0 && hashV2(exp.holdoutSeed, hashValue) < exp.holdoutPercent) return out('holdout');
  const bucket = hashV2(exp.hashSeed, hashValue);
  const variant = chooseVariant(
    bucket,
    bucketRanges(
      exp.variants.map((v) => v.weight),
      exp.trafficAllocation,
    ),
  );
  if (variant < 0) return { ...out('traffic'), bucket };
  return { variant, inExperiment: true, reason: 'assigned', bucket };
}
