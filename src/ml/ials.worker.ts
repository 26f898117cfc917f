import { getPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { ialsTakeUnits } from './ials.ts';
import type { IalsShared, IalsTask, IalsTaskReport } from './ials.pool.ts';
import { serveKernelTasks } from './parallel.ts';
import { lowerThreadPriority } from './worker-thread.ts';

/**
 * Worker side of a parallel iALS fit (`ials.pool.ts`): for each task, takes units from the shared
 * counter until none is left and reports how many it ran, and at which nice value.
 */
const { shared, nice } = workerData as { shared: IalsShared; nice: number };
lowerThreadPriority(nice);

serveKernelTasks((payload): IalsTaskReport => ({ units: ialsTakeUnits(shared, payload as IalsTask), nice: getPriority() }));
