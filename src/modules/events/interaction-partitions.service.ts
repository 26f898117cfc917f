import type { Db } from '../../platform/index.ts';
import { MAX_SPLITS_PER_RUN, partitionName, planPartitions } from './interaction-partitions.core.ts';
import type { InteractionPartitionsRepository } from './interaction-partitions.repository.ts';

export interface PartitionRun {
  /** Partitions made (ahead, or split out of the default partition with the rows they took). */
  created: { name: string; moved: number }[];
  dropped: string[];
  /** Rows of the default partition and dedupe keys deleted before the horizon. */
  deleted: { rows: number; keys: number };
  /** False when `interactions` is not range-partitioned here (nothing done). */
  partitioned: boolean;
}

/**
 * The `events.interaction-partitions` task (elected scheduler, hourly and on election): create this month's and the
 * next months' partitions, split months found in the default partition into their own, and apply the retention
 * (`LOUPE_INTERACTIONS_RETENTION_MONTHS`): drop whole months before the horizon, then delete the default
 * partition's rows and the dedupe keys before it. Idempotent; a crash between steps leaves a state the next run
 * completes (each partition is made in one transaction; keys are deleted after their month).
 */
export function createInteractionPartitionsService(deps: {
  db: Db;
  repo: InteractionPartitionsRepository;
  clock: () => Date;
  retentionMonths: number;
}) {
  return {
    async maintain(): Promise<PartitionRun> {
      const run: PartitionRun = { created: [], dropped: [], deleted: { rows: 0, keys: 0 }, partitioned: false };
      if (!(await deps.repo.rangePartitioned(deps.db))) return run;
      run.partitioned = true;
      const now = deps.clock();
      const plan = planPartitions(
        now,
        await deps.repo.partitions(deps.db),
        await deps.repo.defaultMonths(deps.db, MAX_SPLITS_PER_RUN * 4),
        deps.retentionMonths,
      );
      for (const month of plan.create) {
        const moved = await deps.repo.createMonth(deps.db, month);
        run.created.push({ name: partitionName(month), moved });
      }
      for (const name of plan.drop) {
        await deps.repo.dropMonth(deps.db, name);
        run.dropped.push(name);
      }
      if (plan.horizon) run.deleted = await deps.repo.deleteBefore(deps.db, plan.horizon);
      return run;
    },
  };
}
