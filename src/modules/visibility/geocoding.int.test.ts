/**
 * Geocoding of the business address (issue 16) through Google's official client against a local server speaking the
 * Geocoding API's JSON protocol: found (kept beside the profile), not found (an error in validation), approximate
 * (a warning), the provider failing (the profile is still saved), re-geocoded only when the address changes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../test/helpers.ts';
import { SAMPLE_PROFILE } from './profile.fixtures.ts';

let t: TestApp;
let server: http.Server;
const calls: URLSearchParams[] = [];
let failNext = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    calls.push(q);
    res.setHeader('content-type', 'application/json');
    if (q.get('key') !== 'test-geo-key') {
      res.statusCode = 403;
      return res.end(JSON.stringify({ status: 'REQUEST_DENIED', error_message: 'The provided API key is invalid.', results: [] }));
    }
    if (failNext > 0) {
      failNext--;
      res.statusCode = 429;
      return res.end(
        JSON.stringify({ status: 'OVER_QUERY_LIMIT', error_message: 'You have exceeded your daily request quota.', results: [] }),
      );
    }
    const address = q.get('address') ?? '';
    if (address.includes('Nowhere')) return res.end(JSON.stringify({ status: 'ZERO_RESULTS', results: [] }));
    const approximate = !address.includes('1 Market St');
    res.end(
      JSON.stringify({
        status: 'OK',
        results: [
          {
            formatted_address: approximate ? 'San Francisco, CA, USA' : '1 Market St, San Francisco, CA 94105, USA',
            place_id: approximate ? 'ChIJIQBpAG2ahYAR_6128GcTUEo' : 'ChIJ1Market',
            partial_match: approximate,
            geometry: { location: { lat: 37.7941, lng: -122.3951 }, location_type: approximate ? 'APPROXIMATE' : 'ROOFTOP' },
            address_components: [],
            types: ['street_address'],
          },
        ],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  t = await createTestApp({
    LOUPE_GEOCODING_API_KEY: 'test-geo-key',
    LOUPE_GEOCODING_URL: `http://127.0.0.1:${port}/maps/api/geocode/json`,
  });
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => server.close(r));
});

const PROFILE = SAMPLE_PROFILE;

describe('geocoding the business address', () => {
  it('places the address, re-geocodes only when it changes, and says in validation when it cannot', async () => {
    const a = await t.createTenant();
    const token = a.ownerToken;
    const c = await t.request('POST', '/tenant/profile', { token, body: PROFILE });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body.location).toMatchObject({
      status: 'found',
      latitude: 37.7941,
      longitude: -122.3951,
      precision: 'ROOFTOP',
      partial_match: false,
    });
    const sent = calls.at(-1)!;
    expect(sent.get('address')).toBe('1 Market St, 94105, San Francisco, CA, US');
    expect(sent.get('components')).toBe('country:US');
    expect((await t.request('GET', '/tenant/profile/validation', { token })).body).toEqual({ score: 100, fixes: [] });

    // a change elsewhere keeps the location without asking again
    const before = calls.length;
    const phone = await t.request('PATCH', '/tenant/profile', { token, body: { phone: '+1 415 555 0000' } });
    expect(phone.body.location).toMatchObject({ status: 'found' });
    expect(calls.length).toBe(before);

    // an address the geocoder cannot find: saved, and validation says what to fix
    const lost = await t.request('PATCH', '/tenant/profile', { token, body: { address: { line1: '9 Nowhere Lane' } } });
    expect(lost.status).toBe(200);
    expect(lost.body.location).toMatchObject({ status: 'not_found' });
    const v = await t.request('GET', '/tenant/profile/validation', { token });
    expect(v.body.score).toBe(85);
    expect(v.body.fixes).toEqual([expect.objectContaining({ field: 'address', severity: 'error' })]);

    // approximate: a warning naming where it was placed
    const approx = await t.request('PATCH', '/tenant/profile', { token, body: { address: { line1: 'Market Street' } } });
    expect(approx.body.location).toMatchObject({ status: 'found', precision: 'APPROXIMATE', partial_match: true });
    const w = await t.request('GET', '/tenant/profile/validation', { token });
    expect(w.body.fixes).toEqual([
      expect.objectContaining({ field: 'address', severity: 'warning', message: expect.stringContaining('San Francisco, CA, USA') }),
    ]);
  });

  it('a failing provider never fails the save; another tenant sees nothing of it', async () => {
    const b = await t.createTenant();
    failNext = 50; // more than the client's own retries of a 429
    const c = await t.request('POST', '/tenant/profile', { token: b.ownerToken, body: { ...PROFILE, name: 'Other store' } });
    expect(c.status).toBe(201);
    expect(c.body.location).toMatchObject({ status: 'unavailable', error: expect.stringContaining('OVER_QUERY_LIMIT') });
    failNext = 0;
    // the next address change asks again and succeeds
    const again = await t.request('PATCH', '/tenant/profile', {
      token: b.ownerToken,
      body: { address: { line1: '1 Market St', line2: 'Floor 2' } },
    });
    expect(again.body.location).toMatchObject({ status: 'found' });
    const other = await t.createTenant();
    expect((await t.request('GET', '/tenant/profile', { token: other.ownerToken })).status).toBe(404);
  });
});
