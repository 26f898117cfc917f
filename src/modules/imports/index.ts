/**
 * Imports: validated, streaming bulk uploads of items and interactions (CSV, JSON, NDJSON, gzip) with
 * import jobs, progress and error reports. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { CatalogModule } from '../catalog/index.ts';
import type { EventsModule } from '../events/index.ts';
import { createImportPipeline } from './imports.pipeline.ts';
import { createImportsRepository } from './imports.repository.ts';
import { importsRoutes } from './imports.routes.ts';
import { createMappingsRepository } from './mappings.repository.ts';
import { mappingsRoutes } from './mappings.routes.ts';
import { createMappingsService } from './mappings.service.ts';
import { createImportsService } from './imports.service.ts';
import { createQualityService } from './quality.service.ts';

export interface ImportsModuleDeps {
  catalog: CatalogModule;
  events: EventsModule;
  /** A tenant's settings (`imports.max_rows` and `imports.storage_quota_bytes` override the configured limits). */
  tenantSettings?: (tenantId: string) => Promise<Record<string, unknown>>;
}

/** The row cap for a tenant: its `settings.imports.max_rows` when a positive integer, else the configured one. */
export function maxRowsOf(settings: Record<string, unknown> | undefined, configured: number): number {
  return positiveSetting(settings, 'max_rows') ?? configured;
}

/** A tenant's `settings.imports.<name>` when a positive integer. */
function positiveSetting(settings: Record<string, unknown> | undefined, name: 'max_rows' | 'storage_quota_bytes'): number | undefined {
  const v = (settings?.imports as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

export function createImportsModule(platform: PlatformServices, deps: ImportsModuleDeps) {
  const repo = createImportsRepository();
  const maxDecompressedBytes = Math.max(platform.config.uploadLimitBytes * 64, 1024 ** 4);
  const pipeline = createImportPipeline({
    db: platform.db,
    repo,
    catalog: deps.catalog,
    ingest: deps.events.ingest,
    storage: platform.storage,
    clock: platform.clock,
    log: platform.log,
    maxDecompressedBytes,
    maxRows: async (tenantId) => maxRowsOf(await deps.tenantSettings?.(tenantId).catch(() => undefined), platform.config.imports.maxRows),
    maxConcurrentBatches: platform.databaseKind === 'postgres' ? 3 : 1,
    batchRows: platform.config.imports.batchRows,
  });
  const importedListeners: Array<(tenantId: string) => Promise<void> | void> = [];
  const service = createImportsService({
    onImported: (tenantId) => {
      for (const listener of importedListeners) {
        void Promise.resolve()
          .then(() => listener(tenantId))
          .catch((err: unknown) => platform.log.warn({ err, tenantId }, 'an after-import listener failed'));
      }
    },
    db: platform.db,
    repo,
    pipeline,
    storage: platform.storage,
    jobs: platform.jobs,
    maxDecompressedBytes,
    storageQuota: async (tenantId) =>
      positiveSetting(await deps.tenantSettings?.(tenantId).catch(() => undefined), 'storage_quota_bytes') ??
      platform.config.imports.storageQuotaBytes,
  });
  service.registerJobs();
  const mappings = createMappingsService({ db: platform.db, repo: createMappingsRepository() });
  const quality = createQualityService({ db: platform.db, repo, catalog: deps.catalog, events: deps.events });
  return {
    /** Marks synchronous uploads cut off by a crash `interrupted` (call once at start). */
    interruptOrphanedRuns: () => service.interruptOrphanedRuns(platform.databaseKind === 'pglite', platform.clock()),
    /** Starts an import of a local file for a tenant (the CLI): same pipeline and records as an upload. */
    service,
    /** Registers a listener called (in the background) after each successful import of a tenant. */
    onImported(listener: (tenantId: string) => Promise<void> | void): void {
      importedListeners.push(listener);
    },
    async routes(app: FastifyInstance): Promise<void> {
      await mappingsRoutes(app, { mappings });
      await importsRoutes(app, { service, mappings, repo, quality, db: platform.db, clock: platform.clock });
    },
  };
}
