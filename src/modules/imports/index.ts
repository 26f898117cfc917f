/**
 * Imports: validated, streaming bulk uploads of items and interactions (CSV, JSON, NDJSON, gzip) with
 * import jobs, progress and error reports. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { CatalogModule } from '../catalog/index.ts';
import type { EventsModule } from '../events/index.ts';

export interface ImportsModuleDeps {
  catalog: CatalogModule;
  events: EventsModule;
}

export function createImportsModule(_platform: PlatformServices, _deps: ImportsModuleDeps) {
  return {
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type ImportsModule = ReturnType<typeof createImportsModule>;
