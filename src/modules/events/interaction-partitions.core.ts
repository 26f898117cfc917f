/**
 * The monthly partitions of `interactions` (pure: `now` is passed in). A month is [first instant, first instant of
 * the next) in UTC, its partition `interactions_yYYYYmMM`. Rows of a month without a partition sit in
 * `interactions_default` until the maintenance gives that month its own partition.
 */

/** Months created ahead of the current one, so live traffic never lands in the default partition. */
export const MONTHS_AHEAD = 2;
/** Months a maintenance run splits out of the default partition at most (a big historical import takes a few runs). */
export const MAX_SPLITS_PER_RUN = 24;

const NAME = /^interactions_y(\d{4})m(\d{2})$/;

/** The first instant (UTC) of `at`'s month, shifted by `months`. */
export function monthStart(at: Date, months = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
}

/** The partition name of the month starting at `month` (a month start). */
export function partitionName(month: Date): string {
  return `interactions_y${String(month.getUTCFullYear()).padStart(4, '0')}m${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The month a partition name stands for, or null for any other name (the default partition, a stranger). */
export function monthOfPartition(name: string): Date | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const month = Number(m[2]);
  return month >= 1 && month <= 12 ? new Date(Date.UTC(Number(m[1]), month - 1, 1)) : null;
}

/**
 * The retention horizon: the first instant kept (start of the month `retentionMonths` before `now`'s), or null when
 * everything is kept (0). Events before it are dropped with their month and no longer stored.
 */
export function retentionHorizon(now: Date, retentionMonths: number): Date | null {
  return retentionMonths > 0 ? monthStart(now, -retentionMonths) : null;
}

export interface PartitionPlan {
  /** Month starts to give a partition (ahead of time, or split out of the default partition), oldest first. */
  create: Date[];
  /** Partitions wholly before the horizon, to drop. */
  drop: string[];
  /** Rows and keys before it are deleted (the default partition's and the keys table's), or null. */
  horizon: Date | null;
}

/**
 * What one maintenance run does: partitions for this month and `MONTHS_AHEAD` more, and for the months found in the
 * default partition (`defaultMonths`, at most `MAX_SPLITS_PER_RUN`) that the retention keeps; drops the monthly
 * partitions that end at or before the horizon. `existing` are the current partitions' names.
 */
export function planPartitions(
  now: Date,
  existing: readonly string[],
  defaultMonths: readonly Date[],
  retentionMonths: number,
): PartitionPlan {
  const horizon = retentionHorizon(now, retentionMonths);
  const have = new Set(existing);
  const wanted = new Map<string, Date>();
  for (let k = 0; k <= MONTHS_AHEAD; k++) {
    const m = monthStart(now, k);
    wanted.set(partitionName(m), m);
  }
  const splits = [...defaultMonths]
    .map((d) => monthStart(d))
    .filter((m) => !horizon || m.getTime() >= horizon.getTime())
    .sort((a, b) => a.getTime() - b.getTime())
    .slice(0, MAX_SPLITS_PER_RUN);
  for (const m of splits) wanted.set(partitionName(m), m);
  const create = [...wanted.entries()]
    .filter(([name]) => !have.has(name))
    .map(([, m]) => m)
    .sort((a, b) => a.getTime() - b.getTime());
  const drop = horizon
    ? existing.filter((name) => {
        const m = monthOfPartition(name);
        return m !== null && monthStart(m, 1).getTime() <= horizon.getTime();
      })
    : [];
  return { create, drop: drop.sort(), horizon };
}
