import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, normalizeIdentifier, type IdentitySettings, type NormalizedIdentifier } from './identity.core.ts';
import { chunkByKeys, mergeRounds, planBatch, type BatchInput, type BatchPlan, type BatchView } from './resolution.core.ts';

const ident = (type: string, value: string): NormalizedIdentifier => {
  const n = normalizeIdentifier(type, value, DEFAULT_SETTINGS);
  if ('dropped' in n) throw new Error(`dropped ${type}`);
  return n;
};

/** A tiny model of the store: what the writes of a plan do to the tables, as the repository's SQL does it. */
interface Store {
  identifiers: Map<
    string,
    { type: string; value: string; matchKey: string; profileId: string; originProfileId: string; confidence: number }
  >;
  profiles: Map<string, { mergedInto: string | null; traits: Record<string, unknown> }>;
  merges: string[];
  reviews: Map<string, number>;
}
const emptyStore = (): Store => ({ identifiers: new Map(), profiles: new Map(), merges: [], reviews: new Map() });

function viewOf(store: Store, inputs: readonly BatchInput[]): BatchView {
  const keys = new Set(inputs.flatMap((i) => i.identifiers.map((x) => x.matchKey)));
  const identifiers = [...store.identifiers.values()]
    .filter((i) => keys.has(i.matchKey))
    .map(({ type, value, matchKey, profileId, confidence }) => ({ type, value, matchKey, profileId, confidence }));
  const profiles = [...new Set(identifiers.map((i) => i.profileId))].map((id) => {
    const held = [...store.identifiers.values()].filter((i) => i.profileId === id);
    const counts: Record<string, number> = {};
    for (const i of held) counts[i.type] = (counts[i.type] ?? 0) + 1;
    return {
      id,
      counts,
      userIds: held
        .filter((i) => i.type === 'user_id')
        .map((i) => i.value)
        .sort(),
    };
  });
  return { identifiers, profiles };
}

function apply(store: Store, plan: BatchPlan): void {
  for (const p of plan.newProfiles) store.profiles.set(p.id, { mergedInto: null, traits: { ...p.traits } });
  for (const t of plan.traitPatches) Object.assign(store.profiles.get(t.profileId)!.traits, t.traits);
  for (const round of mergeRounds(plan.merges)) {
    for (const m of round) {
      for (const i of store.identifiers.values()) if (i.profileId === m.mergedId) i.profileId = m.survivorId;
      const survivor = store.profiles.get(m.survivorId)!;
      const merged = store.profiles.get(m.mergedId)!;
      survivor.traits = { ...merged.traits, ...survivor.traits };
      merged.mergedInto = m.survivorId;
      store.merges.push(`${m.mergedId}>${m.survivorId}:${m.via?.type}`);
    }
  }
  for (const w of plan.identifiers) {
    const key = `${w.type}\u0000${w.value}`;
    if (!store.identifiers.has(key))
      store.identifiers.set(key, {
        type: w.type,
        value: w.value,
        matchKey: w.matchKey,
        profileId: w.profileId,
        originProfileId: w.originProfileId,
        confidence: w.confidence,
      });
  }
  for (const r of plan.reviews) store.reviews.set(r.caseKey, (store.reviews.get(r.caseKey) ?? 0) + r.occurrences);
}

const survivorIn = (store: Store, id: string): string => {
  let cur = id;
  for (let next = store.profiles.get(cur)?.mergedInto; next; next = store.profiles.get(cur)?.mergedInto) cur = next;
  return cur;
};

/** Ids sort by creation, as UUIDv7 do; both runs draw the same sequence. */
const idSource = () => {
  let n = 0;
  return () => `p-${String(++n).padStart(6, '0')}`;
};

/** Each input in its own plan against the store as the previous ones left it: what the per-event resolver did. */
function oneByOne(store: Store, inputs: readonly BatchInput[], settings: IdentitySettings, newId: () => string): string[] {
  const out = inputs.map((input) => {
    const plan = planBatch([input], viewOf(store, [input]), settings, newId);
    apply(store, plan);
    return plan.profileIds[0]!;
  });
  return out.map((id) => survivorIn(store, id));
}

function atOnce(store: Store, inputs: readonly BatchInput[], settings: IdentitySettings, newId: () => string): string[] {
  const plan = planBatch(inputs, viewOf(store, inputs), settings, newId);
  apply(store, plan);
  return plan.profileIds;
}

const snapshot = (store: Store) => ({
  identifiers: [...store.identifiers.values()].map((i) => `${i.type}:${i.value}@${i.profileId}<${i.originProfileId}`).sort(),
  profiles: [...store.profiles].map(([id, p]) => `${id}>${p.mergedInto}:${JSON.stringify(Object.entries(p.traits).sort())}`).sort(),
  merges: [...store.merges].sort(),
  reviews: [...store.reviews].sort(),
});

const at = new Date('2026-03-01T00:00:00Z');
const input = (identifiers: NormalizedIdentifier[], traits?: Record<string, unknown>): BatchInput => ({
  identifiers,
  channel: 'api',
  occurredAt: at,
  traits,
  eventRef: `e${Math.random()}`,
});

describe('planBatch', () => {
  it('later inputs see earlier ones: a new person, then the same person with a new identifier, then a merge', () => {
    const store = emptyStore();
    atOnce(store, [input([ident('email', 'old@shop.test')])], DEFAULT_SETTINGS, () => 'p-000000');
    const ids = atOnce(
      store,
      [
        input([ident('user_id', 'u-1'), ident('anonymous_id', 'c-1')], { name: 'Ada' }),
        input([ident('user_id', 'u-1'), ident('device_id', 'd-1')]),
        input([ident('user_id', 'u-1'), ident('email', 'old@shop.test')], { tier: 'gold' }),
      ],
      DEFAULT_SETTINGS,
      idSource(),
    );
    expect(ids).toEqual(['p-000001', 'p-000001', 'p-000001']); // the profile with a user id survives the merge
    expect(snapshot(store).identifiers).toEqual([
      'anonymous_id:c-1@p-000001<p-000001',
      'device_id:d-1@p-000001<p-000001',
      'email:old@shop.test@p-000001<p-000000',
      'user_id:u-1@p-000001<p-000001',
    ]);
    expect(store.merges).toEqual(['p-000000>p-000001:email']);
    expect(store.profiles.get('p-000001')!.traits).toEqual({ name: 'Ada', tier: 'gold' });
  });

  it('property: planning a batch at once leaves the store as planning its inputs one by one', () => {
    const pool = [
      ident('user_id', 'u1'),
      ident('user_id', 'u2'),
      ident('user_id', 'u3'),
      ident('email', 'a@x.test'),
      ident('email', 'b@x.test'),
      ident('email', 'c@x.test'),
      ident('phone', '+12025550101'),
      ident('whatsapp', '+12025550101'),
      ident('phone', '+12025550102'),
      ident('loyalty_id', 'L1'),
      ident('device_id', 'd1'),
      ident('device_id', 'd2'),
      ident('anonymous_id', 'c1'),
      ident('anonymous_id', 'c2'),
      ident('anonymous_id', 'c3'),
    ];
    const arbInput = fc.record({
      picks: fc.uniqueArray(fc.integer({ min: 0, max: pool.length - 1 }), { minLength: 1, maxLength: 4 }),
      traits: fc.option(fc.dictionary(fc.constantFrom('name', 'tier', 'city'), fc.integer({ min: 0, max: 3 }), { maxKeys: 2 }), {
        nil: undefined,
      }),
    });
    const arbSettings = fc.record({
      maxAutoMerge: fc.integer({ min: 1, max: 3 }),
      protectWeakLinks: fc.boolean(),
      limits: fc.constantFrom<Record<string, number>>({}, { email: 2, anonymous_id: 2 }, { user_id: 2 }),
    });
    fc.assert(
      fc.property(fc.array(arbInput, { minLength: 1, maxLength: 25 }), fc.nat(), arbSettings, (raw, split, s) => {
        const settings = { ...DEFAULT_SETTINGS, ...s };
        const inputs = raw.map((r) =>
          input(
            r.picks.map((k) => pool[k]!).sort((a, b) => b.confidence - a.confidence || a.type.localeCompare(b.type)),
            r.traits,
          ),
        );
        const seedCount = split % (inputs.length + 1);
        const a = emptyStore();
        const b = emptyStore();
        const idsA = idSource();
        const idsB = idSource();
        oneByOne(a, inputs.slice(0, seedCount), settings, idsA);
        oneByOne(b, inputs.slice(0, seedCount), settings, idsB);
        const sequential = oneByOne(a, inputs.slice(seedCount), settings, idsA);
        const batched = atOnce(b, inputs.slice(seedCount), settings, idsB);
        expect(batched).toEqual(sequential);
        expect(snapshot(b)).toEqual(snapshot(a));
      }),
      { numRuns: 300 },
    );
  });
});

describe('mergeRounds', () => {
  it('puts a merge after every earlier merge sharing a profile with it', () => {
    const m = (mergedId: string, survivorId: string) => ({ mergedId, survivorId });
    expect(mergeRounds([m('b', 'a'), m('d', 'c'), m('e', 'a'), m('a', 'f'), m('g', 'h')])).toEqual([
      [m('b', 'a'), m('d', 'c'), m('g', 'h')],
      [m('e', 'a')],
      [m('a', 'f')],
    ]);
  });
  it('property: each merge once, no profile twice in a round, order kept between merges sharing a profile', () => {
    const id = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(id, id).filter(([x, y]) => x !== y),
          { maxLength: 20 },
        ),
        (pairs) => {
          const merges = pairs.map(([mergedId, survivorId], n) => ({ mergedId, survivorId, n }));
          const rounds = mergeRounds(merges);
          expect(
            rounds
              .flat()
              .map((m) => m.n)
              .sort((x, y) => x - y),
          ).toEqual(merges.map((m) => m.n));
          const roundOf = new Map<number, number>();
          rounds.forEach((r, k) => {
            const ids = r.flatMap((m) => [m.mergedId, m.survivorId]);
            expect(new Set(ids).size).toBe(ids.length);
            for (const m of r) roundOf.set(m.n, k);
          });
          for (const x of merges)
            for (const y of merges)
              if (x.n < y.n && [x.mergedId, x.survivorId].some((p) => p === y.mergedId || p === y.survivorId))
                expect(roundOf.get(x.n)!).toBeLessThan(roundOf.get(y.n)!);
        },
      ),
    );
  });
});

describe('chunkByKeys', () => {
  it('property: keeps the order, and a run holds at most the given number of keys unless one input alone has more', () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
    fc.assert(
      fc.property(
        fc.array(fc.array(key, { minLength: 1, maxLength: 5 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 6 }),
        (keys, max) => {
          const inputs = keys.map((ks, n) => ({ n, identifiers: ks.map((matchKey) => ({ matchKey })) }));
          const runs = chunkByKeys(inputs, max);
          expect(runs.flat().map((i) => i.n)).toEqual(inputs.map((i) => i.n));
          for (const run of runs) {
            expect(run.length).toBeGreaterThan(0);
            const distinct = new Set(run.flatMap((i) => i.identifiers.map((x) => x.matchKey))).size;
            if (run.length > 1) expect(distinct).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });
});
