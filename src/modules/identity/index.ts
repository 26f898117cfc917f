/**
 * Identity: identity resolution, profiles (Customer 360), merges, unmerge and the review queue. Public entry.
 */
import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';

export function createIdentityModule(_platform: PlatformServices) {
  return {
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type IdentityModule = ReturnType<typeof createIdentityModule>;
