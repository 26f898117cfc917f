import { describe, expect, it } from 'vitest';
import { type BusinessProfile, isTimeZone, toE164, validateProfile } from './profile.core.ts';

const GOOD: BusinessProfile = {
  name: 'Trail Shoes Co',
  address: { line1: '1 Market St', city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' },
  phone: '(415) 555-2671',
  website: 'https://trailshoes.example.com',
  categories: ['Shoe store'],
  timeZone: 'America/Los_Angeles',
  regularHours: [
    { day: 'monday', open: '09:00', close: '12:00' },
    { day: 'monday', open: '13:00', close: '18:00' },
    { day: 'saturday', open: '10:00', close: '24:00' },
  ],
  specialHours: [{ date: '2026-12-25', closed: true }],
  seo: { title: 'Trail Shoes Co: trail running shoes', description: 'Trail running shoes, fitted in store in San Francisco since 2009.' },
};

const fields = (p: BusinessProfile) => validateProfile(p).fixes.map((f) => `${f.severity}:${f.field}`);

describe('business profile validation', () => {
  it('a complete profile scores 100 with no fixes', () => {
    expect(validateProfile(GOOD)).toEqual({ score: 100, fixes: [] });
  });

  it('phones: national numbers read with the address country, E.164 out; unparseable ones are errors', () => {
    expect(toE164('(415) 555-2671', 'US')).toBe('+14155552671');
    expect(toE164('01 42 68 53 00', 'FR')).toBe('+33142685300');
    expect(toE164('+44 20 7946 0958', undefined)).toBe('+442079460958');
    expect(toE164('call us!', 'US')).toBeNull();
    expect(fields({ ...GOOD, phone: '12' })).toEqual(['error:phone']);
  });

  it('hours: end before start, equal times, overlaps, malformed times, closed-and-open days', () => {
    expect(fields({ ...GOOD, regularHours: [{ day: 'tuesday', open: '18:00', close: '09:00' }] })).toEqual(['error:regular_hours.tuesday']);
    expect(fields({ ...GOOD, regularHours: [{ day: 'tuesday', open: '09:00', close: '09:00' }] })).toEqual(['error:regular_hours.tuesday']);
    expect(
      fields({
        ...GOOD,
        regularHours: [
          { day: 'friday', open: '09:00', close: '13:00' },
          { day: 'friday', open: '12:30', close: '18:00' },
        ],
      }),
    ).toEqual(['error:regular_hours.friday']);
    expect(fields({ ...GOOD, regularHours: [{ day: 'friday', open: '9am', close: '25:00' }] })).toEqual(['error:regular_hours.friday']);
    expect(
      fields({
        ...GOOD,
        specialHours: [
          { date: '2026-12-24', closed: true },
          { date: '2026-12-24', open: '09:00', close: '12:00' },
        ],
      }),
    ).toEqual(['error:special_hours.2026-12-24']);
    expect(fields({ ...GOOD, specialHours: [{ date: '24/12/2026', closed: true }] })).toEqual(['error:special_hours']);
  });

  it('time zones, website, categories, SEO; the score falls 15 per error and 5 per warning', () => {
    expect(isTimeZone('Europe/Paris')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    const r = validateProfile({ ...GOOD, timeZone: 'PST8PDT-ish', website: 'http://trailshoes.example.com', categories: [], seo: {} });
    expect(r.fixes.map((f) => `${f.severity}:${f.field}`)).toEqual([
      'warning:website',
      'error:categories',
      'error:time_zone',
      'warning:seo.title',
      'warning:seo.description',
    ]);
    expect(r.score).toBe(100 - 2 * 15 - 3 * 5);
    expect(
      validateProfile({
        ...GOOD,
        name: '',
        address: {},
        phone: null,
        website: null,
        categories: [],
        timeZone: null,
        regularHours: [],
        seo: {},
      }).score,
    ).toBe(0);
  });
});
