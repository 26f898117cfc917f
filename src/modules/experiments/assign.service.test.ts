import { describe, expect, it } from 'vitest';
import { AppError, type Db } from '../../platform/index.ts';
import { createAssignService } from './assign.service.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { ExperimentRow, VariantRow } from './experiments.types.ts';
import { createUnitResolver } from './units.ts';

/**
 * The exposure buffer on its own (the database behind it is a stand-in that can fail on demand): repeats of a
 * stored unit are counters, not rows; a database outage keeps exposures and then refuses new assignments with a
 * retryable 503 rather than growing memory or dropping them; everything kept is stored once the database is back.
 */
const tenant = '00000000-0000-4000-8000-000000000001';
const experiment = (i: number): ExperimentRow =>
  ({
    id: `00000000-0000-4000-8000-00000000010${i}`,
    key: `exp_${i}`,
    status: 'running',
    hashSeed: `exp_${i}`,
    hashVersion: 2,
    type: 'standard',
    trafficAllocation: 1,
    targeting: null,
    namespace: null,
    namespaceStart: 0,
    namespaceEnd: 1,
    holdoutSeed: null,
    holdoutPercent: 0,
    excludeBots: true,
  }) as ExperimentRow;
const variants = (i: number): VariantRow[] =>
  ['control', 'b'].map((key, position) => ({
    id: `00000000-0000-4000-8000-0000000002${i}${position}`,
    experimentId: experiment(i).id,
    key,
    name: key,
    weight: 0.5,
    config: {},
    position,
  }));

function setup(opts: { maxBuffered: number }) {
  const stored = new Map<string, { variantId: string; exposures: number }>();
  const statements: number[] = [];
  let down = false;
  const repo = {
    loadConfig: async () => ({
      experiments: [experiment(1), experiment(2)],
      variants: [...variants(1), ...variants(2)],
      banditWeights: new Map<string, number[]>(),
    }),
    stickyAssignments: async () => [],
    moveAssignment: async () => undefined,
    recordExposures: async (
      _q: unknown,
      _t: string,
      rows: readonly { experimentId: string; unitId: string; variantId: string; count: number }[],
    ) => {
      if (down) throw new Error('database down');
      statements.push(rows.length);
      for (const r of rows) {
        const k = `${r.experimentId}|${r.unitId}`;
        const s = stored.get(k);
        if (s) s.exposures += r.count;
        else stored.set(k, { variantId: r.variantId, exposures: r.count });
      }
    },
  } as unknown as ExperimentsRepository;
  const errors: string[] = [];
  const svc = createAssignService({
    db: {} as Db,
    repo,
    units: createUnitResolver(async (_t, ids) => ids.map(() => null)),
    clock: () => new Date('2026-01-01T00:00:00Z'),
    log: { error: (_o, msg) => errors.push(msg) },
    batch: { maxRows: 1000, maxWaitMs: 5, repeatWaitMs: 20, maxBuffered: opts.maxBuffered },
  });
  const assign = (userId: string) =>
    svc.assignIn(tenant, { userId, anonymousId: undefined, experimentKeys: undefined, attributes: {}, userAgent: undefined });
  return { svc, assign, stored, statements, errors, setDown: (d: boolean) => (down = d) };
}

describe('exposure buffer', () => {
  it('writes a returning unit as one counter row per flush, whatever its number of requests', async () => {
    const t = setup({ maxBuffered: 10_000 });
    await t.assign('u1');
    await t.svc.flush();
    expect(t.stored.size).toBe(2);
    for (let i = 0; i < 50; i++) await t.assign('u1');
    await t.svc.flush();
    // Two experiments: 2 rows for the first exposure, then 2 counter rows for the 50 repeats.
    expect(t.statements).toEqual([2, 2]);
    expect([...t.stored.values()].map((s) => s.exposures)).toEqual([51, 51]);
  });

  it('keeps exposures through a database outage, refuses with a retryable 503 when the buffer is full, and stores everything once back', async () => {
    const t = setup({ maxBuffered: 20 });
    t.setDown(true);
    for (let i = 0; i < 10; i++) await t.assign(`user-${i}`); // 10 users × 2 experiments = the whole buffer
    await t.svc.flush();
    expect(t.errors.length).toBeGreaterThan(0);
    const refused = await t.assign('one-too-many').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ kind: 'unavailable', code: 'EXPERIMENT_EXPOSURE_BACKLOG', retryAfterSeconds: 1 });
    await expect(
      t.svc.logExposures(tenant, [{ experimentKey: 'exp_1', variant: 0, userId: 'sdk-user', anonymousId: undefined }]),
    ).rejects.toMatchObject({ code: 'EXPERIMENT_EXPOSURE_BACKLOG' });
    t.setDown(false);
    await t.svc.flush();
    expect(t.stored.size).toBe(20);
    expect([...t.stored.values()].every((s) => s.exposures === 1)).toBe(true);
    // The buffer is free again.
    await expect(t.assign('after')).resolves.toMatchObject({ unitId: 'u:after' });
  });
});
