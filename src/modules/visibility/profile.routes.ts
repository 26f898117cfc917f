import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, tenantContext } from '../../platform/index.ts';
import type { BusinessProfile } from './profile.core.ts';
import type { ProfileRow } from './profile.repository.ts';
import { profileBody, profilePatchBody, profileResponse, profileValidation } from './profile.schemas.ts';
import type { ProfileService } from './profile.service.ts';

type Body = z.infer<typeof profilePatchBody>;
const drop = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
const toAddress = (a: NonNullable<Body['address']>): BusinessProfile['address'] =>
  drop({ line1: a.line1, line2: a.line2, city: a.city, region: a.region, postalCode: a.postal_code, country: a.country });
const toChange = (b: Body): Partial<BusinessProfile> =>
  drop({
    name: b.name,
    address: b.address ? toAddress(b.address) : undefined,
    phone: b.phone,
    website: b.website,
    categories: b.categories,
    timeZone: b.time_zone,
    regularHours: b.regular_hours,
    specialHours: b.special_hours?.map((s) => drop(s)),
    seo: b.seo ? drop(b.seo) : undefined,
  });
const toProfile = (b: Body & { name: string }): BusinessProfile => ({
  name: b.name,
  address: b.address ? toAddress(b.address) : {},
  phone: b.phone ?? null,
  website: b.website ?? null,
  categories: b.categories ?? [],
  timeZone: b.time_zone ?? null,
  regularHours: b.regular_hours ?? [],
  specialHours: (b.special_hours ?? []).map((s) => drop(s)),
  seo: b.seo ? drop(b.seo) : {},
});
const toJson = (p: ProfileRow): z.infer<typeof profileResponse> => ({
  name: p.name,
  address: drop({
    line1: p.address.line1,
    line2: p.address.line2,
    city: p.address.city,
    region: p.address.region,
    postal_code: p.address.postalCode,
    country: p.address.country,
  }),
  phone: p.phone,
  website: p.website,
  categories: p.categories,
  time_zone: p.timeZone,
  regular_hours: p.regularHours,
  special_hours: p.specialHours,
  seo: p.seo,
  location: p.location
    ? p.location.status === 'found'
      ? {
          status: 'found',
          latitude: p.location.latitude,
          longitude: p.location.longitude,
          precision: p.location.precision,
          formatted_address: p.location.formattedAddress,
          place_id: p.location.placeId,
          partial_match: p.location.partialMatch,
          geocoded_at: p.location.geocodedAt,
        }
      : p.location.status === 'not_found'
        ? { status: 'not_found', geocoded_at: p.location.geocodedAt }
        : { status: 'unavailable', error: p.location.error, geocoded_at: p.location.geocodedAt }
    : null,
  created_at: new Date(p.createdAt).toISOString(),
  updated_at: new Date(p.updatedAt).toISOString(),
});

/** Seed 004's business profile calls (the tenant comes from the credential, or X-Tenant-Id for a member of several). */
export async function profileRoutes(app: FastifyInstance, deps: { profile: ProfileService }): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = deps.profile;
  const read = { auth: { kind: 'tenant', permission: 'tenant:read' } } as const;
  const write = (action: string) =>
    ({ auth: { kind: 'tenant', permission: 'integrations:manage' }, audit: { action, resourceType: 'business_profile' } }) as const;

  r.post(
    '/tenant/profile',
    {
      schema: {
        tags: ['visibility'],
        summary: "Create the tenant's business profile (phones stored in E.164 when they parse)",
        body: profileBody,
        response: { 201: profileResponse, ...errorResponses },
      },
      config: write('business_profile.create'),
    },
    async (request, reply) => reply.code(201).send(toJson(await svc.create(tenantContext(request), toProfile(request.body)))),
  );
  r.get(
    '/tenant/profile',
    {
      schema: { tags: ['visibility'], summary: "The tenant's business profile", response: { 200: profileResponse, ...errorResponses } },
      config: read,
    },
    async (request) => toJson(await svc.get(tenantContext(request))),
  );
  r.patch(
    '/tenant/profile',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Change the business profile: given fields replace, address and seo merge',
        body: profilePatchBody,
        response: { 200: profileResponse, ...errorResponses },
      },
      config: write('business_profile.update'),
    },
    async (request) => toJson(await svc.patch(tenantContext(request), toChange(request.body))),
  );
  r.get(
    '/tenant/profile/validation',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Validate the saved business profile: a score out of 100 and the fixes to make',
        response: { 200: profileValidation, ...errorResponses },
      },
      config: read,
    },
    async (request) => svc.validation(tenantContext(request)),
  );
  r.post(
    '/tenant/profile/validation',
    {
      schema: {
        tags: ['visibility'],
        summary: 'Validate a draft business profile without saving it (live validation while editing)',
        body: profileBody,
        response: { 200: profileValidation, ...errorResponses },
      },
      config: read,
    },
    async (request) => svc.validateDraft(tenantContext(request), toProfile(request.body)),
  );
}
