/**
 * Warehouse: the data out. Incremental, exactly-once Parquet export of events, profiles, orders and items
 * partitioned by tenant and date, with a manifest a warehouse loads (`warehouse.service.ts`); the rows come from
 * their owners through `WarehouseSources` (events, identity, commerce, catalog implement it; src/app.ts wires it).
 * Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices, ScheduledTask } from '../../platform/index.ts';
import type { WebhookPublisher } from '../webhooks/index.ts';
import { createMartsRepository } from './marts.repository.ts';
import { martsRoutes } from './marts.routes.ts';
import { createMartsService } from './marts.service.ts';
import { createQualityRepository } from './quality.repository.ts';
import { createQualityService } from './quality.service.ts';
import { bookScheduledExports, bookScheduledMarts, MARTS_JOB, registerMartsJobs, registerWarehouseJobs } from './warehouse.jobs.ts';
import { createWarehouseRepository } from './warehouse.repository.ts';
import { warehouseRoutes } from './warehouse.routes.ts';
import { createWarehouseService } from './warehouse.service.ts';
import { createFolderExportStore, createObjectExportStore } from './warehouse.store.ts';
import type { EventQualitySource, ExportTable, MartSources, WarehouseSources } from './warehouse.types.ts';

export interface WarehouseModuleDeps {
  sources: WarehouseSources;
  /** The marts' rows, read through their owners (identity, catalog). */
  martSources: MartSources;
  /** Facts about recent events for the data-quality checks (events). */
  eventQuality: EventQualitySource;
  /** The webhooks module's signed outbox: a failing data-quality run is sent through it. */
  webhooks?: WebhookPublisher | undefined;
  version: string;
}

export function createWarehouseModule(platform: PlatformServices, deps: WarehouseModuleDeps) {
  const cfg = platform.config.warehouse;
  const exportRepo = createWarehouseRepository();
  const service = createWarehouseService({
    db: platform.db,
    repo: exportRepo,
    sources: deps.sources,
    // With object storage configured (LOUPE_S3_BUCKET) the export goes to the bucket, else to the export folder.
    store:
      platform.config.objectStore.kind === 's3'
        ? createObjectExportStore(
            platform.storage,
            `s3://${platform.config.objectStore.bucket}/${platform.config.objectStore.prefix}<tenant>/warehouse/`,
          )
        : createFolderExportStore(cfg.exportDir),
    settleSeconds: cfg.settleSeconds,
    batchRows: cfg.batchRows,
    databaseKind: platform.databaseKind,
    clock: platform.clock,
    version: deps.version,
  });
  registerWarehouseJobs(platform.jobs, service);
  const martsRepo = createMartsRepository();
  const marts = createMartsService({ db: platform.db, repo: martsRepo, sources: deps.martSources, clock: platform.clock });
  const quality = createQualityService({
    db: platform.db,
    repo: createQualityRepository(),
    events: deps.eventQuality,
    webhooks: deps.webhooks,
    clock: platform.clock,
  });
  registerMartsJobs(platform.jobs, { marts, quality });
  const bookMarts = async () =>
    bookScheduledMarts(platform.jobs, await martsRepo.refreshedTenants(platform.db), {
      intervalMinutes: cfg.martsIntervalMinutes,
      now: platform.clock(),
    });
  const bookExports = async () =>
    bookScheduledExports(platform.jobs, await exportRepo.exportedTenants(platform.db), {
      intervalMinutes: cfg.intervalMinutes,
      now: platform.clock(),
    });
  return {
    /** Export one tenant now (the `loupe export` command and the job). */
    exportTenant: service.exportTenant,
    /** Rebuild one tenant's marts now (tests, benches; the job runs it with the quality checks). */
    refreshMarts: marts.refresh,
    /** Refresh one tenant's marts rewriting only the customers and products changed since the last refresh. */
    refreshMartsIncremental: marts.refreshIncremental,
    /** Rebuild one tenant's marts only if the owners' rows changed since the last refresh that day (null: skipped). */
    refreshMartsIfChanged: marts.refreshIfChanged,
    /**
     * The module's periodic work, run once per cluster by the platform scheduler (src/cli/shared.ts): booking each
     * refreshed tenant's next marts run, and each exported tenant's next export (one job per tenant and slot, however
     * many processes book it).
     */
    scheduledTasks(): ScheduledTask[] {
      return [
        { name: 'warehouse.book-marts', everyMs: cfg.martsIntervalMinutes * 60_000, runOnElection: true, run: bookMarts },
        { name: 'warehouse.book-exports', everyMs: cfg.intervalMinutes * 60_000, runOnElection: true, run: bookExports },
      ];
    },
    /**
     * The id of the last row of `table` the export has written for the tenant (its watermark; null: nothing yet).
     * Ids are UUIDv7 in insertion order, so every row at or below it is in a committed Parquet file (events'
     * retention deletes only those when the tenant asks for an archive).
     */
    async exportedThrough(tenantId: string, table: ExportTable): Promise<string | null> {
      const w = (await exportRepo.watermarks(platform.db, tenantId)).find((x) => x.table === table);
      return w?.keyId ?? null;
    },
    /** Books the next scheduled export of every tenant that exported before (what the scheduled task runs; tests). */
    bookScheduledExports: bookExports,
    /** Books the next scheduled marts run of every refreshed tenant now (what the scheduled task runs; tests). */
    bookScheduledMarts: bookMarts,
    /** Run one tenant's data-quality checks now (after a refresh). */
    runQuality: quality.run,
    /**
     * After an import committed rows: refresh the tenant's marts and run the checks (a job, deduplicated while one
     * waits). Never throws: a failed enqueue is logged, the schedule catches up.
     */
    async afterImport(tenantId: string): Promise<void> {
      await platform.jobs
        .enqueue(tenantId, MARTS_JOB, { trigger: 'import' }, { dedupeKey: `${MARTS_JOB}:import` })
        .catch((err: unknown) => platform.log.warn({ err, tenantId }, 'could not queue the marts refresh after an import'));
    },
    async routes(app: FastifyInstance): Promise<void> {
      await warehouseRoutes(app, { service, jobs: platform.jobs, intervalMinutes: cfg.intervalMinutes });
      await martsRoutes(app, { marts, quality, jobs: platform.jobs });
    },
  };
}
export type { EventQualitySource, ExportTable, MartSources } from './warehouse.types.ts';
export type { ExportProgress } from './warehouse.service.ts';
