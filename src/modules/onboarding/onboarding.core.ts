/**
 * The first-run checklist of a new tenant: which setup steps its real data shows done. Pure: the facts come
 * from the modules that own them (onboarding.service.ts), nothing is stored, so a step ticks itself the moment
 * the data exists (and unticks when it is gone: a deleted key, an emptied catalog).
 */

/** What the owners report about one tenant. Counts are of live rows (active items, unrevoked keys). */
export interface SetupFacts {
  catalogItems: number;
  purchases: boolean;
  trainedModels: number;
  apiKeys: number;
  storeConnections: number;
  trackedSessions: boolean;
}

export const SETUP_STEPS = [
  'import_catalog',
  'import_orders',
  'train_model',
  'create_api_key',
  'connect_store',
  'install_snippet',
] as const;
export type SetupStepKey = (typeof SETUP_STEPS)[number];

export interface SetupStep {
  key: SetupStepKey;
  done: boolean;
  /** The count behind the step when there is one (items, models, keys, connections), else null. */
  count: number | null;
}

export interface Checklist {
  steps: SetupStep[];
  completed: number;
  /** The first step not done, in checklist order (null when all are). */
  next: SetupStepKey | null;
}

/** The checklist of `facts`, steps in the order a new store takes them. */
export function checklistOf(facts: SetupFacts): Checklist {
  const byKey: Record<SetupStepKey, { done: boolean; count: number | null }> = {
    import_catalog: { done: facts.catalogItems > 0, count: facts.catalogItems },
    import_orders: { done: facts.purchases, count: null },
    train_model: { done: facts.trainedModels > 0, count: facts.trainedModels },
    create_api_key: { done: facts.apiKeys > 0, count: facts.apiKeys },
    connect_store: { done: facts.storeConnections > 0, count: facts.storeConnections },
    install_snippet: { done: facts.trackedSessions, count: null },
  };
  const steps = SETUP_STEPS.map((key) => ({ key, ...byKey[key] }));
  return {
    steps,
    completed: steps.filter((s) => s.done).length,
    next: steps.find((s) => !s.done)?.key ?? null,
  };
}
