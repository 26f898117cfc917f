/**
 * Warehouse: the data out. Incremental, exactly-once Parquet export of events, profiles, orders and items
 * partitioned by tenant and date, with a manifest a warehouse loads (`warehouse.service.ts`); the rows come from
 * their owners through `WarehouseSources` (events, identity, commerce, catalog implement it; src/app.ts wires it).
 * Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import { registerWarehouseJobs } from './warehouse.jobs.ts';
import { createWarehouseRepository } from './warehouse.repository.ts';
import { warehouseRoutes } from './warehouse.routes.ts';
import { createWarehouseService } from './warehouse.service.ts';
import type { WarehouseSources } from './warehouse.types.ts';

export function createWarehouseModule(platform: PlatformServices, deps: { sources: WarehouseSources; version: string }) {
  const cfg = platform.config.warehouse;
  const service = createWarehouseService({
    db: platform.db,
    repo: createWarehouseRepository(),
    sources: deps.sources,
    exportDir: cfg.exportDir,
    settleSeconds: cfg.settleSeconds,
    batchRows: cfg.batchRows,
    databaseKind: platform.databaseKind,
    clock: platform.clock,
    version: deps.version,
  });
  registerWarehouseJobs(platform.jobs, service, { intervalMinutes: cfg.intervalMinutes, clock: platform.clock });
  return {
    /** Export one tenant now (the `loupe export` command and the job). */
    exportTenant: service.exportTenant,
    async routes(app: FastifyInstance): Promise<void> {
      await warehouseRoutes(app, { service, jobs: platform.jobs, intervalMinutes: cfg.intervalMinutes });
    },
  };
}
export { EXPORT_TABLES } from './warehouse.types.ts';
export type { ExportTable } from './warehouse.types.ts';
export type { ExportProgress } from './warehouse.service.ts';
