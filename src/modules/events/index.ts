/**
 * Events: interactions and tracking (sessions, page views, funnel and cart events), webhook connectors,
 * Segment-compatible endpoints. Public entry.
 */
export { createInteractionsRepository } from './interactions.repository.ts';
export type { AppendResult, InteractionsRepository, StoredInteraction } from './interactions.repository.ts';
export { CUSTOM_TYPE_PATTERN, DEFAULT_INTERACTION_WEIGHTS, INTERACTION_TYPES, dedupeKeyOf } from './interactions.core.ts';
export type { BuiltInInteractionType, NewInteraction } from './interactions.core.ts';

import type { FastifyInstance } from 'fastify';
import type { PlatformServices } from '../../platform/index.ts';
import type { IdentityModule } from '../identity/index.ts';
import { createInteractionsRepository as makeInteractions } from './interactions.repository.ts';

export interface EventsModuleDeps {
  identity: IdentityModule;
}

export function createEventsModule(platform: PlatformServices, _deps: EventsModuleDeps) {
  const interactions = makeInteractions(platform.db);
  return {
    interactions,
    async routes(_app: FastifyInstance): Promise<void> {},
  };
}
export type EventsModule = ReturnType<typeof createEventsModule>;
