/** A complete, valid business profile body (seed 004's fields) for the profile tests. */
export const SAMPLE_PROFILE = {
  name: 'Trail Shoes Co',
  address: { line1: '1 Market St', city: 'San Francisco', region: 'CA', postal_code: '94105', country: 'us' },
  phone: '(415) 555-2671',
  website: 'https://trailshoes.example.com',
  categories: ['Shoe store'],
  time_zone: 'America/Los_Angeles',
  regular_hours: [{ day: 'monday', open: '09:00', close: '18:00' }],
  seo: { title: 'Trail Shoes Co', description: 'Trail running shoes, fitted in store in San Francisco since 2009.' },
};
