/**
 * Saved cohorts (segments) of unified profiles: the definition's shape and its one pure evaluation. The SQL builder
 * in `cohorts.repository.ts` answers the same definition over the owners' rows; `cohorts.int.test.ts` holds the two
 * to the same members. Every rule reads one fact of a profile:
 * - `trait`: a key of the profile's traits (identity), compared as text (`eq`, `neq`, `contains`, case-insensitive),
 *   as a JSON number (`gt`, `gte`, `lt`, `lte`; a non-number never matches) or for presence (`exists`, `not_exists`);
 * - `profile`: identity's aggregates (`total_orders`, `event_count`, `revenue_minor`) or the days since the
 *   profile was last seen (`last_seen_days`; a profile never seen never matches);
 * - `event`: how many events of one type (events' interactions, by profile) in the last `within_days` days, compared
 *   with `count` (zero events count as 0, so `lte`/`eq 0` reach people who did not do it);
 * - `segment`: the profile's RFM segment as predictions scored it (one of `segments`; unscored never matches);
 * - `score`: a prediction score (`churn_probability`, `p_alive`, `expected_purchases`; unscored never matches).
 * `match: 'all'` needs every rule, `'any'` one of them.
 */

export const COMPARE_OPS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
export const TRAIT_OPS = ['eq', 'neq', 'contains', 'gt', 'gte', 'lt', 'lte', 'exists', 'not_exists'] as const;
export type TraitOp = (typeof TRAIT_OPS)[number];
export const PROFILE_FIELDS = ['total_orders', 'event_count', 'revenue_minor', 'last_seen_days'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
export const SCORE_FIELDS = ['churn_probability', 'p_alive', 'expected_purchases'] as const;
export type ScoreField = (typeof SCORE_FIELDS)[number];

export type CohortRule =
  | { kind: 'trait'; key: string; op: TraitOp; value?: string | number | undefined }
  | { kind: 'profile'; field: ProfileField; op: CompareOp; value: number }
  | { kind: 'event'; event: string; op: CompareOp; count: number; within_days: number }
  | { kind: 'segment'; segments: string[] }
  | { kind: 'score'; score: ScoreField; op: CompareOp; value: number };

export interface CohortDefinition {
  match: 'all' | 'any';
  rules: CohortRule[];
}

/** What the evaluation reads of one profile (the rows the SQL builder joins, as plain values). */
export interface CohortPerson {
  traits: Record<string, unknown>;
  totalOrders: number;
  eventCount: number;
  revenueMinor: bigint;
  lastSeenAt: Date | null;
  /** The profile's events (type and instant); only those of the rules' types need be given. */
  events: ReadonlyArray<{ type: string; at: Date }>;
  /** Predictions' scores, or null when the profile is not scored. */
  scores: { segment: string; churnProbability: number | null; pAlive: number | null; expectedPurchases: number | null } | null;
}

const DAY_MS = 86_400_000;

/** `a op b` for numbers (bigints compare exactly with bigints). */
export function compare<T extends number | bigint>(a: T, op: CompareOp, b: T): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'neq':
      return a !== b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
  }
}

/** The trait's value as the SQL reads it with `->>`: strings as is, other JSON as its text, null/missing as null. */
function traitText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function traitMatches(traits: Record<string, unknown>, key: string, op: TraitOp, value: string | number | undefined): boolean {
  const has = Object.hasOwn(traits, key);
  const v = has ? traits[key] : undefined;
  switch (op) {
    case 'exists':
      return has && v !== null;
    case 'not_exists':
      return !has || v === null;
    case 'eq':
    case 'neq': {
      // Scalars only (objects and arrays never equal a rule's value); missing is "not equal".
      const t = traitText(v);
      const eq = t !== null && t === String(value ?? '');
      return op === 'eq' ? eq : !eq;
    }
    case 'contains': {
      const t = traitText(v);
      return t !== null && t.toLowerCase().includes(String(value ?? '').toLowerCase());
    }
    default:
      return typeof v === 'number' && typeof value === 'number' && compare(v, op, value);
  }
}

/** Whether one rule holds for a person, as of `now`. */
export function ruleMatches(rule: CohortRule, p: CohortPerson, now: Date): boolean {
  switch (rule.kind) {
    case 'trait':
      return traitMatches(p.traits, rule.key, rule.op, rule.value);
    case 'profile': {
      if (rule.field === 'last_seen_days') {
        if (!p.lastSeenAt) return false;
        return compare((now.getTime() - p.lastSeenAt.getTime()) / DAY_MS, rule.op, rule.value);
      }
      if (rule.field === 'revenue_minor') return compare(p.revenueMinor, rule.op, BigInt(rule.value));
      return compare(rule.field === 'total_orders' ? p.totalOrders : p.eventCount, rule.op, rule.value);
    }
    case 'event': {
      const since = now.getTime() - rule.within_days * DAY_MS;
      let n = 0;
      for (const e of p.events) if (e.type === rule.event && e.at.getTime() >= since && e.at.getTime() <= now.getTime()) n++;
      return compare(n, rule.op, rule.count);
    }
    case 'segment':
      return p.scores !== null && rule.segments.includes(p.scores.segment);
    case 'score': {
      const s = p.scores;
      const v =
        s === null
          ? null
          : rule.score === 'churn_probability'
            ? s.churnProbability
            : rule.score === 'p_alive'
              ? s.pAlive
              : s.expectedPurchases;
      return v !== null && compare(v, rule.op, rule.value);
    }
  }
}

/** Whether a person is in the cohort, as of `now` (no rule: everyone, as an empty AND). */
export function inCohort(def: CohortDefinition, p: CohortPerson, now: Date): boolean {
  if (def.rules.length === 0) return true;
  return def.match === 'all' ? def.rules.every((r) => ruleMatches(r, p, now)) : def.rules.some((r) => ruleMatches(r, p, now));
}
