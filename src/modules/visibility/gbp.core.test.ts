import { describe, expect, it } from 'vitest';
import { desiredFields, insightDays, metricRows, metricsRange, planLocationPatch, profileFieldOf } from './gbp.core.ts';
import type { BusinessProfile } from './profile.core.ts';

const profile: BusinessProfile = {
  name: 'Trail Shoes Co',
  address: { line1: '1 Market St', city: 'San Francisco', region: 'CA', postalCode: '94105', country: 'US' },
  phone: '+14155552671',
  website: 'https://trailshoes.example.com',
  categories: ['gcid:shoe_store', 'gcid:sporting_goods_store', 'Running club'],
  timeZone: 'America/Los_Angeles',
  regularHours: [{ day: 'monday', open: '09:30', close: '24:00' }],
  specialHours: [{ date: '2026-12-25', closed: true }],
  seo: { description: 'x'.repeat(900) },
};

describe('business profile as a Google location', () => {
  it('maps fields, category ids only, and caps the description', () => {
    const { fields, skipped } = desiredFields(profile);
    expect(fields.get('regularHours')).toEqual({
      periods: [{ openDay: 'MONDAY', openTime: { hours: 9, minutes: 30 }, closeDay: 'MONDAY', closeTime: { hours: 24 } }],
    });
    expect(fields.get('specialHours')).toEqual({ specialHourPeriods: [{ startDate: { year: 2026, month: 12, day: 25 }, closed: true }] });
    expect(fields.get('categories')).toEqual({
      primaryCategory: { name: 'categories/gcid:shoe_store' },
      additionalCategories: [{ name: 'categories/gcid:sporting_goods_store' }],
    });
    expect((fields.get('profile.description') as string).length).toBe(750);
    expect(skipped).toEqual([expect.objectContaining({ field: 'categories', message: expect.stringContaining('Running club') })]);
  });

  it('leaves empty profile fields out (never clears Google)', () => {
    const { fields } = desiredFields({
      ...profile,
      phone: null,
      website: null,
      regularHours: [],
      specialHours: [],
      seo: {},
      categories: [],
    });
    expect([...fields.keys()].sort()).toEqual(['storefrontAddress', 'title']);
  });

  it('masks only what differs; Google dropping zero minutes is no difference', () => {
    const { fields } = desiredFields({ ...profile, regularHours: [{ day: 'monday', open: '09:00', close: '17:00' }] });
    const current = {
      title: 'Trail Shoes Co',
      regularHours: { periods: [{ openDay: 'MONDAY', openTime: { hours: 9, minutes: 0 }, closeDay: 'MONDAY', closeTime: { hours: 17 } }] },
    };
    const plan = planLocationPatch(fields, current);
    expect(plan.updateMask).not.toContain('title');
    expect(plan.updateMask).not.toContain('regularHours');
    expect(plan.updateMask).toContain('phoneNumbers.primaryPhone');
    expect(plan.location).toMatchObject({ phoneNumbers: { primaryPhone: '+14155552671' } });
    expect(plan.location).not.toHaveProperty('title');
    const all = planLocationPatch(fields, { ...plan.location, ...current, storefrontAddress: fields.get('storefrontAddress') } as never);
    expect(all.updateMask).not.toContain('phoneNumbers.primaryPhone');
  });

  it("names Google's field paths as the profile's fields", () => {
    expect(profileFieldOf('location.phone_numbers.primary_phone')).toBe('phone');
    expect(profileFieldOf('phoneNumbers.primaryPhone')).toBe('phone');
    expect(profileFieldOf('location.storefront_address.region_code')).toBe('address');
    expect(profileFieldOf('location.title')).toBe('name');
    expect(profileFieldOf('')).toBe('profile');
  });
});

describe('daily metrics', () => {
  it('reads zeros left out, drops unknown metrics, bad dates and bad values, keeps one row per day and metric', () => {
    const rows = metricRows({
      multiDailyMetricTimeSeries: [
        {
          dailyMetricTimeSeries: [
            {
              dailyMetric: 'WEBSITE_CLICKS',
              timeSeries: {
                datedValues: [
                  { date: { year: 2026, month: 3, day: 1 }, value: '12' },
                  { date: { year: 2026, month: 3, day: 2 } },
                  { date: { year: 2026, month: 2, day: 30 }, value: '5' },
                  { date: { year: 2026, month: 3 }, value: '5' },
                  { date: { year: 2026, month: 3, day: 3 }, value: '-4' },
                  { date: { year: 2026, month: 3, day: 4 }, value: '1e9' },
                  { date: { year: 2026, month: 3, day: 1 }, value: '13' },
                ],
              },
            },
            { dailyMetric: 'BUSINESS_BOOKINGS', timeSeries: { datedValues: [{ date: { year: 2026, month: 3, day: 1 }, value: '1' }] } },
          ],
        },
      ],
    });
    expect(rows).toEqual([
      { day: '2026-03-01', metric: 'WEBSITE_CLICKS', value: 13 },
      { day: '2026-03-02', metric: 'WEBSITE_CLICKS', value: 0 },
    ]);
    expect(metricRows({})).toEqual([]);
  });

  it('asks for the days ending yesterday (UTC) and fills days without figures', () => {
    expect(metricsRange(new Date('2026-03-01T00:30:00Z'), 14)).toEqual({
      start: { year: 2026, month: 2, day: 15 },
      end: { year: 2026, month: 2, day: 28 },
    });
    const days = insightDays([{ day: '2026-03-02', metric: 'CALL_CLICKS', value: 3 }], '2026-03-01', '2026-03-03');
    expect(days).toEqual([
      { date: '2026-03-01', missing: true },
      expect.objectContaining({ date: '2026-03-02', callClicks: 3, websiteClicks: 0 }),
      { date: '2026-03-03', missing: true },
    ]);
  });
});
