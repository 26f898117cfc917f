/**
 * Recs: training jobs, offline evaluation, model registry, serving, real-time updates. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { CatalogModule } from '../catalog/index.ts';
import type { InteractionsRepository } from '../events/index.ts';

export interface RecsModuleDeps {
  catalog: CatalogModule;
  interactions: InteractionsRepository;
}

export function createRecsModule(_platform: PlatformServices, _deps: RecsModuleDeps) {
  return {
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type RecsModule = ReturnType<typeof createRecsModule>;
