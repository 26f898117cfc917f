import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SETTINGS,
  canonicalMailbox,
  normalizeEmail,
  normalizeIdentifier,
  normalizeIdentifiers,
  normalizePhone,
  planResolution,
  profileStrength,
  strengthAfterActivity,
  type CandidateProfile,
  type IdentifierMatch,
  type NormalizedIdentifier,
} from './identity.core.ts';

const S = DEFAULT_SETTINGS;
const ident = (type: string, value: string): NormalizedIdentifier => {
  const n = normalizeIdentifier(type, value, S);
  if ('dropped' in n) throw new Error(`dropped ${type}`);
  return n;
};
const match = (i: NormalizedIdentifier, profileId: string): IdentifierMatch => ({ ...i, profileId });
const profile = (id: string, counts: Record<string, number> = {}, userIds: string[] = []): CandidateProfile => ({
  id,
  createdRank: id,
  counts,
  userIds,
});

describe('e-mail normalization', () => {
  it('trims, lower-cases, strips mailto and refuses non-addresses', () => {
    expect(normalizeEmail('  Jane.Doe+X@Example.COM ')).toBe('jane.doe+x@example.com');
    expect(normalizeEmail('mailto:a@b.io')).toBe('a@b.io');
    for (const bad of ['', 'a', 'a@', '@b.com', 'a@b', 'a b@c.com', 'a@@b.com']) expect(normalizeEmail(bad)).toBeNull();
  });
  it('canonical mailbox: +tags everywhere, dots only at gmail, frequent domain typos folded', () => {
    expect(canonicalMailbox('jane.doe+shop@gmail.com')).toBe('janedoe@gmail.com');
    expect(canonicalMailbox('jane.doe@googlemail.com')).toBe('janedoe@gmail.com');
    expect(canonicalMailbox('jane.doe+x@example.org')).toBe('jane.doe@example.org');
    expect(canonicalMailbox('bob@hotmial.com')).toBe('bob@hotmail.com');
  });
  it('property: the blocking key ignores case, surrounding space, plus tags and gmail dots', () => {
    const local = fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/);
    fc.assert(
      fc.property(local, fc.constantFrom('gmail.com', 'example.org', 'shop.fr'), local, fc.boolean(), (l, d, tag, upper) => {
        const base = ident('email', `${l}@${d}`).matchKey;
        const raw = ` ${upper ? `${l}+${tag}@${d}`.toUpperCase() : `${l}+${tag}@${d}`} `;
        expect(ident('email', raw).matchKey).toBe(base);
        if (d === 'gmail.com' && l.length > 1) expect(ident('email', `${l[0]}.${l.slice(1)}@${d}`).matchKey).toBe(base);
      }),
    );
  });
});

describe('phone normalization', () => {
  it('reads national numbers in the default region and keeps E.164', () => {
    expect(normalizePhone('(415) 555-2671', 'US')).toBe('+14155552671');
    expect(normalizePhone('06 12 34 56 78', 'FR')).toBe('+33612345678');
    expect(normalizePhone('+44 20 7946 0958', 'US')).toBe('+442079460958');
    expect(normalizePhone('whatsapp:+14155552671', 'US')).toBe('+14155552671');
    expect(normalizePhone('+1234567890', 'US')).toBe('+1234567890'); // seed 002's test number
    expect(normalizePhone('12', 'US')).toBeNull();
    expect(normalizePhone('call me', 'US')).toBeNull();
  });
  it('property: formatting characters never change the number', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2012000000, max: 9899999999 }), fc.constantFrom(' ', '-', '.', ''), (n, sep) => {
        const d = String(n);
        if (d[3] === '0' || d[3] === '1') return; // not a NANP exchange
        const plain = normalizePhone(d, 'US');
        const formatted = normalizePhone(`(${d.slice(0, 3)})${sep}${d.slice(3, 6)}${sep}${d.slice(6)}`, 'US');
        expect(formatted).toBe(plain);
        expect(normalizePhone(`+1${d}`, 'US')).toBe(plain);
      }),
    );
  });
});

describe('block list', () => {
  it('drops placeholders, repeated characters and tenant-blocked values; unknown types are refused', () => {
    for (const [type, v] of [
      ['email', 'TEST@test.com'],
      ['user_id', 'null'],
      ['user_id', ' undefined '],
      ['device_id', '00000000'],
      ['phone', '+1 111 111 1111'],
      ['loyalty_id', '123456'],
      ['anonymous_id', 'anonymous'],
    ] as const) {
      expect(normalizeIdentifier(type, v, S)).toMatchObject({ dropped: 'blocked' });
    }
    expect(normalizeIdentifier('device_id', 'kiosk-1', { ...S, blockedValues: ['KIOSK-1'] })).toMatchObject({ dropped: 'blocked' });
    expect(normalizeIdentifier('favourite_color', 'blue', S)).toMatchObject({ dropped: 'unknown_type' });
    expect(normalizeIdentifier('cookie_id', 'ck-1', S)).toMatchObject({ type: 'anonymous_id', value: 'ck-1' });
  });
  it('deduplicates and orders by confidence', () => {
    const out = normalizeIdentifiers(
      [
        { type: 'device_id', value: 'd' },
        { type: 'email', value: 'A@B.io' },
        { type: 'email', value: 'a@b.io' },
        { type: 'user_id', value: 'u' },
      ],
      S,
    );
    expect(out.identifiers.map((i) => i.type)).toEqual(['user_id', 'email', 'device_id']);
  });
});

describe('planResolution', () => {
  const email = ident('email', 'a@b.io');
  const phone = ident('phone', '+14155552671');
  const device = ident('device_id', 'dev');
  const loyalty = ident('loyalty_id', 'L1');

  it('creates when nothing matches, attaches when one profile does', () => {
    expect(planResolution([email, device], [], [], S)).toMatchObject({ kind: 'create', attach: [email, device] });
    expect(planResolution([email, device], [match(email, 'p1')], [profile('p1', { email: 1 })], S)).toMatchObject({
      kind: 'attach',
      targetId: 'p1',
      mergeIds: [],
      attach: [device],
    });
  });
  it('merges up to three profiles into the oldest (a user_id holder first); more go to review', () => {
    const three = planResolution(
      [email, phone, device],
      [match(email, 'p2'), match(phone, 'p1'), match(device, 'p3')],
      [profile('p2'), profile('p1'), profile('p3')],
      S,
    );
    expect(three).toMatchObject({ kind: 'attach', targetId: 'p1', review: null });
    if (three.kind === 'attach') expect(three.mergeIds.sort()).toEqual(['p2', 'p3']);
    const withUser = planResolution(
      [email, loyalty],
      [match(email, 'p1'), match(loyalty, 'p9')],
      [profile('p1'), profile('p9', { user_id: 1 }, ['u9'])],
      { ...S, protectWeakLinks: false },
    );
    expect(withUser).toMatchObject({ targetId: 'p9', mergeIds: ['p1'] });
    const four = planResolution(
      [email, phone, device, loyalty],
      [match(device, 'p4'), match(loyalty, 'p3'), match(phone, 'p2'), match(email, 'p1')],
      ['p1', 'p2', 'p3', 'p4'].map((id) => profile(id)),
      S,
    );
    expect(four).toMatchObject({
      kind: 'attach',
      mergeIds: [],
      review: { reason: 'too_many_profiles', profileIds: ['p1', 'p2', 'p3', 'p4'] },
    });
    if (four.kind === 'attach') expect(['p1', 'p2']).toContain(four.targetId);
  });
  it('weak-link protection: a shared device does not join two people who each have their own e-mail', () => {
    const other = ident('email', 'kid@b.io');
    const protectedPlan = planResolution([other, device], [match(device, 'p1')], [profile('p1', { email: 1, device_id: 1 })], S);
    expect(protectedPlan).toMatchObject({ kind: 'create', attach: [other] });
    const both = planResolution(
      [email, device],
      [match(email, 'p1'), match(device, 'p2')],
      [profile('p1', { email: 1 }), profile('p2', { phone: 1, device_id: 1 })],
      S,
    );
    expect(both).toMatchObject({ kind: 'attach', targetId: 'p1', mergeIds: [] });
    // Without a strong identifier on the device's profile, the device links as usual.
    expect(planResolution([other, device], [match(device, 'p1')], [profile('p1', { device_id: 1 })], S)).toMatchObject({
      kind: 'attach',
      targetId: 'p1',
      attach: [other],
    });
    expect(
      planResolution([other, device], [match(device, 'p1')], [profile('p1', { email: 1, device_id: 1 })], {
        ...S,
        protectWeakLinks: false,
      }),
    ).toMatchObject({ kind: 'attach', targetId: 'p1' });
  });
  it('never merges two user ids', () => {
    const u2 = ident('user_id', 'u2');
    const plan = planResolution([u2, device], [match(device, 'p1')], [profile('p1', { user_id: 1, device_id: 1 }, ['u1'])], S);
    expect(plan).toMatchObject({ kind: 'create', attach: [u2], review: { reason: 'conflicting_user_ids', profileIds: ['p1'] } });
  });
  it('property: a plan never merges profiles holding different user ids, never merges more than maxAutoMerge, never exceeds limits', () => {
    const arbProfile = fc.record({
      user: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
      emails: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(
        fc.array(arbProfile, { minLength: 1, maxLength: 6 }),
        fc.option(fc.constantFrom('u1', 'u2', 'u4'), { nil: undefined }),
        (ps, eventUser) => {
          const profiles = ps.map((p, i) =>
            profile(`p${i}`, { ...(p.user ? { user_id: 1 } : {}), email: p.emails }, p.user ? [p.user] : []),
          );
          // Unique user ids per profile, as the database guarantees.
          const seen = new Set<string>();
          for (const p of profiles) {
            if (p.userIds[0] && seen.has(p.userIds[0])) (p as unknown as { userIds: string[] }).userIds = [];
            if (p.userIds[0]) seen.add(p.userIds[0]);
          }
          const ids = profiles.map((p, i) => ident('device_id', `d${i}`));
          const matches = profiles.map((p, i) => match(ids[i]!, p.id));
          const event = [...ids, ...(eventUser ? [ident('user_id', eventUser)] : [])];
          const plan = planResolution(event, matches, profiles, S);
          if (plan.kind === 'attach') {
            const group = [plan.targetId, ...plan.mergeIds].map((id) => profiles.find((p) => p.id === id)!);
            expect(new Set(group.flatMap((p) => p.userIds)).size).toBeLessThanOrEqual(1);
            expect(group.length).toBeLessThanOrEqual(S.maxAutoMerge);
            const emails = group.reduce((n, p) => n + (p.counts.email ?? 0), 0);
            if (plan.mergeIds.length) expect(emails).toBeLessThanOrEqual(5);
          }
          expect(plan.attach.filter((i) => i.type === 'user_id').length).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('profileStrength', () => {
  it('is 0..100, and monotone in identifiers, orders, events and channels', () => {
    const arb = fc.record({
      identifierConfidences: fc.array(
        fc.record({
          type: fc.constantFrom('email', 'phone', 'user_id', 'device_id', 'anonymous_id'),
          confidence: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
        { maxLength: 8 },
      ),
      totalOrders: fc.nat(50),
      eventCount: fc.nat(500),
      channelCount: fc.nat(8),
    });
    fc.assert(
      fc.property(arb, fc.constantFrom('email', 'phone', 'loyalty_id'), (s, t) => {
        const v = profileStrength(s);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(100);
        expect(Number.isInteger(v)).toBe(true);
        expect(
          profileStrength({ ...s, identifierConfidences: [...s.identifierConfidences, { type: t, confidence: 0.95 }] }),
        ).toBeGreaterThanOrEqual(v);
        expect(profileStrength({ ...s, totalOrders: s.totalOrders + 1 })).toBeGreaterThanOrEqual(v);
        expect(profileStrength({ ...s, eventCount: s.eventCount + 1 })).toBeGreaterThanOrEqual(v);
        expect(profileStrength({ ...s, channelCount: s.channelCount + 1 })).toBeGreaterThanOrEqual(v);
      }),
    );
    expect(
      profileStrength({
        identifierConfidences: [{ type: 'anonymous_id', confidence: 0.3 }],
        totalOrders: 0,
        eventCount: 0,
        channelCount: 1,
      }),
    ).toBe(12);
  });

  it('property: after activity alone, the stored strength moves exactly as a full recomputation says', () => {
    const activity = fc.record({ totalOrders: fc.nat(6), eventCount: fc.nat(8), channelCount: fc.integer({ min: 1, max: 4 }) });
    const confidences = fc.array(
      fc.record({
        type: fc.constantFrom('email', 'phone', 'user_id', 'device_id', 'crm_id'),
        confidence: fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000),
      }),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(confidences, activity, fc.nat(3), fc.nat(6), fc.nat(2), (identifierConfidences, before, orders, events, channels) => {
        const after = {
          totalOrders: before.totalOrders + orders,
          eventCount: before.eventCount + events,
          channelCount: before.channelCount + channels,
        };
        const next = strengthAfterActivity(profileStrength({ identifierConfidences, ...before }), before, after);
        if (channels === 0) expect(next).not.toBeNull();
        if (next !== null) expect(next).toBe(profileStrength({ identifierConfidences, ...after }));
      }),
    );
  });
});
