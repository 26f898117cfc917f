import { type Condition, IN_COHORT } from './assign.core.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The saved cohort ids a targeting condition names (`$inCohort`, at any depth under `$and`, `$or`, `$not`), each
 * once, in the order met. Non-string values are kept out (they never match, and are refused when saved).
 */
export function cohortIdsOf(condition: Condition | null | undefined, depth = 0): string[] {
  const out = new Set<string>();
  const walk = (c: unknown, d: number): void => {
    if (!isObject(c) || d > 8) return;
    for (const [key, v] of Object.entries(c)) {
      if (key === IN_COHORT) {
        if (typeof v === 'string') out.add(v);
      } else if (key === '$and' || key === '$or') {
        if (Array.isArray(v)) for (const x of v) walk(x, d + 1);
      } else if (key === '$not') walk(v, d + 1);
    }
  };
  walk(condition, depth);
  return [...out];
}

/** Whether the condition has an `$inCohort` whose value is not a string (refused when an experiment is saved). */
export function hasMalformedCohort(condition: Condition | null | undefined): boolean {
  let bad = false;
  const walk = (c: unknown, d: number): void => {
    if (!isObject(c) || d > 8) return;
    for (const [key, v] of Object.entries(c)) {
      if (key === IN_COHORT && typeof v !== 'string') bad = true;
      else if ((key === '$and' || key === '$or') && Array.isArray(v)) for (const x of v) walk(x, d + 1);
      else if (key === '$not') walk(v, d + 1);
    }
  };
  walk(condition, 0);
  return bad;
}
