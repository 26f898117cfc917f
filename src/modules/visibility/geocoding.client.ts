/**
 * Geocoding of the business address through Google's Geocoding API, with Google's official Node client
 * (`@googlemaps/google-maps-services-js`); the endpoint is configurable (`LOUPE_GEOCODING_URL`) so tests and air-gapped
 * installs point it at a server speaking the same protocol. Off when no key is configured.
 */
import { Client, Status } from '@googlemaps/google-maps-services-js';
import type { BusinessProfile, GeoLocation } from './profile.core.ts';

export interface Geocoder {
  /** Where the address is; null when it is too incomplete to look up (validation already lists what is missing). */
  locate(address: BusinessProfile['address'], now: Date): Promise<GeoLocation | null>;
}

/** The address as one line for the geocoder, and the country as a component filter; null when too little to locate. */
export function geocodeQuery(a: BusinessProfile['address']): { address: string; country: string | undefined } | null {
  const parts = [a.line1, a.line2, a.postalCode, a.city, a.region].map((x) => x?.trim()).filter((x): x is string => !!x);
  if (!a.country || parts.length < 2) return null;
  return { address: [...parts, a.country].join(', '), country: a.country.toUpperCase() };
}

export function createGeocoder(opts: { apiKey: string; url: string; timeoutMs?: number }): Geocoder {
  const client = new Client({});
  return {
    async locate(address, now) {
      const geocodedAt = now.toISOString();
      const q = geocodeQuery(address);
      if (!q) return null;
      try {
        const res = await client.geocode({
          url: opts.url,
          params: {
            key: opts.apiKey,
            address: q.address,
            ...(q.country ? { components: `country:${q.country}` } : {}),
          },
          timeout: opts.timeoutMs ?? 5_000,
        });
        const best = res.data.results[0];
        if (res.data.status === Status.ZERO_RESULTS || !best) return { status: 'not_found', geocodedAt };
        if (res.data.status !== Status.OK) return { status: 'unavailable', error: String(res.data.status), geocodedAt };
        return {
          status: 'found',
          latitude: best.geometry.location.lat,
          longitude: best.geometry.location.lng,
          precision: String(best.geometry.location_type ?? 'APPROXIMATE'),
          formattedAddress: best.formatted_address,
          placeId: best.place_id ?? null,
          partialMatch: !!best.partial_match,
          geocodedAt,
        };
      } catch (err) {
        // the client throws on HTTP errors (4xx/5xx: OVER_QUERY_LIMIT, REQUEST_DENIED come back with their body)
        const body = (err as { response?: { data?: { status?: unknown; error_message?: unknown } } }).response?.data;
        const why = body?.status
          ? `${String(body.status)}${body.error_message ? `: ${String(body.error_message)}` : ''}`
          : (err as Error).message;
        return { status: 'unavailable', error: why.slice(0, 300), geocodedAt };
      }
    },
  };
}
