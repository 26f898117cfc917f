import { describe, expect, it } from 'vitest';
import { SETUP_STEPS, type SetupFacts, checklistOf } from './onboarding.core.ts';

const none: SetupFacts = { catalogItems: 0, purchases: false, trainedModels: 0, apiKeys: 0, storeConnections: 0, trackedSessions: false };

describe('first-run checklist', () => {
  it('starts with nothing done and the catalog import next', () => {
    const c = checklistOf(none);
    expect(c.steps.map((s) => s.key)).toEqual([...SETUP_STEPS]);
    expect(c.steps.every((s) => !s.done)).toBe(true);
    expect(c).toMatchObject({ completed: 0, next: 'import_catalog' });
  });

  it('ticks each step from its own fact only, and names the first open step next', () => {
    const cases: [Partial<SetupFacts>, string][] = [
      [{ catalogItems: 3958 }, 'import_catalog'],
      [{ purchases: true }, 'import_orders'],
      [{ trainedModels: 2 }, 'train_model'],
      [{ apiKeys: 1 }, 'create_api_key'],
      [{ storeConnections: 1 }, 'connect_store'],
      [{ trackedSessions: true }, 'install_snippet'],
    ];
    for (const [fact, key] of cases) {
      const c = checklistOf({ ...none, ...fact });
      expect(c.steps.filter((s) => s.done).map((s) => s.key)).toEqual([key]);
      expect(c.completed).toBe(1);
      expect(c.next).toBe(key === 'import_catalog' ? 'import_orders' : 'import_catalog');
    }
    expect(checklistOf({ ...none, catalogItems: 3958 }).steps[0]).toEqual({ key: 'import_catalog', done: true, count: 3958 });
  });

  it('is complete with no next step when every fact is there', () => {
    const c = checklistOf({ catalogItems: 1, purchases: true, trainedModels: 1, apiKeys: 1, storeConnections: 1, trackedSessions: true });
    expect(c).toMatchObject({ completed: SETUP_STEPS.length, next: null });
  });
});
