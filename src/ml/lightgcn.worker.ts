import { getPriority } from 'node:os';
import { workerData } from 'node:worker_threads';
import { type LightGcnShared, type LightGcnTask, type LightGcnTaskReport, lightGcnTakeUnits, lightGcnViews } from './lightgcn.pool.ts';
import { serveKernelTasks } from './parallel.ts';
import { lowerThreadPriority } from './worker-thread.ts';

/**
 * Worker side of a parallel LightGCN fit (`lightgcn.pool.ts`): instantiates the SIMD kernels over the shared memory,
 * then for each task takes units from the shared counter until none is left and reports how many it ran, and at
 * which nice value.
 */
const { shared, nice } = workerData as { shared: LightGcnShared; nice: number };
lowerThreadPriority(nice);
const views = lightGcnViews(shared);

serveKernelTasks((payload): LightGcnTaskReport => ({ units: lightGcnTakeUnits(views, payload as LightGcnTask), nice: getPriority() }));
