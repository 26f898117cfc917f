import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, iso, tenantContext, validation } from '../../platform/index.ts';
import { averageOrderMajor, minorToMajor, type IdentitySettings } from './identity.core.ts';
import type { EventRow, IdentifierRow, MergeRow, ProfileRow, ReviewRow } from './identity.repository.ts';
import * as s from './identity.schemas.ts';
import type { ProfileDetail, ProfilesService } from './profiles.service.ts';
import { fromSettings, identitySettingsBody } from './settings.ts';

const toIdentifier = (i: IdentifierRow) => ({
  type: i.type,
  value: i.value,
  confidence: Math.round(i.confidence * 100) / 100,
  channel: i.channel,
  first_seen_at: iso(i.firstSeenAt)!,
  last_seen_at: iso(i.lastSeenAt)!,
});

/** Seed 002's profile JSON: `identifiers` maps each type to its strongest value (cookie_id = anonymous_id). */
export function toProfile(tenantId: string, p: ProfileRow, idents: IdentifierRow[]) {
  const primary: Record<string, string> = {};
  for (const i of idents) if (primary[i.type] === undefined) primary[i.type] = i.value;
  if (primary.anonymous_id !== undefined) primary.cookie_id = primary.anonymous_id;
  const net = BigInt(p.revenueMinor);
  const ltv = minorToMajor(net, p.currency);
  return {
    id: p.id,
    brand_id: tenantId,
    tenant_id: tenantId,
    status: p.status,
    identifiers: primary,
    identifier_list: idents.map(toIdentifier),
    profile_strength: p.profileStrength,
    lifetime_value: ltv,
    lifetime_value_minor: p.revenueMinor,
    refunded_minor: p.refundedMinor,
    currency: p.currency,
    total_orders: p.totalOrders,
    average_order_value: averageOrderMajor(net, p.totalOrders, p.currency),
    event_count: p.eventCount,
    channels: p.channels,
    first_seen_at: iso(p.firstSeenAt),
    last_seen_at: iso(p.lastSeenAt),
    traits: p.traits ?? {},
    created_at: iso(p.createdAt)!,
    updated_at: iso(p.updatedAt)!,
  };
}

const toEvent = (e: EventRow) => ({
  id: e.id,
  type: e.type,
  item_id: e.itemId,
  source: e.source,
  order_id: e.orderId,
  value: e.value,
  quantity: e.quantity,
  price_minor: e.priceMinor,
  currency: e.currency,
  occurred_at: iso(e.occurredAt)!,
});

const toMerge = (m: MergeRow) => ({
  id: m.id,
  kind: m.kind as 'merge' | 'unmerge',
  survivor_profile_id: m.survivorId,
  merged_profile_id: m.mergedId,
  rule: m.rule,
  identifier_type: m.identifierType,
  identifier_hash: m.identifierHash,
  event_ref: m.eventRef,
  actor: m.actor,
  reverts_merge_id: m.revertsMergeId,
  events_moved: m.movedEvents,
  created_at: iso(m.createdAt)!,
});

const toReview = (r: ReviewRow) => ({
  id: r.id,
  status: r.status,
  reason: r.reason,
  profile_ids: r.profileIds,
  event_ref: r.eventRef,
  occurrences: r.occurrences,
  decided_by: r.decidedBy,
  decided_at: iso(r.decidedAt),
  created_at: iso(r.createdAt)!,
  updated_at: iso(r.updatedAt)!,
});

const toDetail = (tenantId: string, d: ProfileDetail) => ({
  ...toProfile(tenantId, d.profile, d.identifiers),
  requested_id: d.requestedId,
  redirected: d.requestedId !== d.profile.id,
  recent_events: d.recentEvents.map(toEvent),
  merges: d.merges.map(toMerge),
});

const toSettingsView = (st: IdentitySettings) => fromSettings(st);

/**
 * The one identifier named in a query (`email=`, `phone=` ... or `identifier_type=&identifier=`). With
 * `anyType`, `identifier=` alone is a search by any type: `{ type: null }`.
 */
function identifierFromQuery(
  q: Record<string, unknown>,
  required: boolean,
  anyType: true,
): { type: string | null; value: string } | undefined;
function identifierFromQuery(q: Record<string, unknown>, required: boolean): { type: string; value: string } | undefined;
function identifierFromQuery(
  q: Record<string, unknown>,
  required: boolean,
  anyType = false,
): { type: string | null; value: string } | undefined {
  const given = s.IDENTIFIER_QUERY_KEYS.filter((k) => typeof q[k] === 'string');
  const generic = typeof q.identifier === 'string' || typeof q.identifier_type === 'string';
  if (given.length + (generic ? 1 : 0) > 1) throw validation('ONE_IDENTIFIER_ONLY', 'Search by one identifier at a time.');
  if (given.length === 1) return { type: given[0] === 'cookie_id' ? 'anonymous_id' : given[0]!, value: q[given[0]!] as string };
  if (generic) {
    if (anyType && typeof q.identifier === 'string' && typeof q.identifier_type !== 'string') return { type: null, value: q.identifier };
    if (typeof q.identifier !== 'string' || typeof q.identifier_type !== 'string') {
      throw validation('IDENTIFIER_TYPE_REQUIRED', 'Give identifier_type and identifier together.', [
        { field: 'identifier_type', message: 'required with identifier' },
      ]);
    }
    return { type: q.identifier_type, value: q.identifier };
  }
  if (required)
    throw validation(
      'IDENTIFIER_REQUIRED',
      'Give one of email, phone, user_id, whatsapp, loyalty_id, device_id, anonymous_id, or identifier_type with identifier.',
    );
  return undefined;
}

export async function identityRoutes(app: FastifyInstance, svc: ProfilesService, clock: () => Date): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const read = { auth: { kind: 'tenant' as const, permission: 'profiles:read' as const } };
  const write = { kind: 'tenant' as const, permission: 'profiles:write' as const };

  r.get(
    '/api/v1/profiles',
    {
      schema: {
        tags: ['profiles'],
        summary:
          'List and search profiles (by any identifier, strength, channel, orders, recency); `identifier` alone searches every identifier type, the profile id and the name, and each result says what matched',
        querystring: s.listQuery,
        response: { 200: s.profileList, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const q = request.query;
      const identifier = identifierFromQuery(q, false, true);
      const out = await svc.list(ctx, {
        limit: q.limit,
        ...(identifier && identifier.type !== null ? { identifier: { type: identifier.type, value: identifier.value } } : {}),
        ...(identifier && identifier.type === null ? { anyIdentifier: identifier.value } : {}),
        ...(q.min_strength !== undefined ? { minStrength: q.min_strength } : {}),
        ...(q.channel !== undefined ? { channel: q.channel } : {}),
        ...(q.min_orders !== undefined ? { minOrders: q.min_orders } : {}),
        ...(q.seen_since !== undefined ? { seenSince: new Date(q.seen_since) } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.sort !== undefined ? { sort: q.sort } : {}),
        ...(q.offset !== undefined ? { offset: q.offset } : {}),
      });
      return {
        data: out.data.map((v) => ({
          ...toProfile(ctx.tenantId, v.profile, v.identifiers),
          ...(v.matchedBy ? { matched_by: v.matchedBy } : {}),
        })),
        next_cursor: out.nextCursor,
        total: out.total,
      };
    },
  );

  r.get(
    '/api/v1/profiles/lookup',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Find the profile holding an identifier (email, phone, user_id ...)',
        querystring: s.lookupQuery,
        response: { 200: s.profileDetail, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const ctx = tenantContext(request);
      const identifier = identifierFromQuery(request.query, true)!;
      return toDetail(ctx.tenantId, await svc.lookup(ctx, identifier.type, identifier.value));
    },
  );

  r.get(
    '/api/v1/profiles/settings',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Identity resolution settings of the tenant',
        response: { 200: s.settingsResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => toSettingsView(await svc.getSettings(tenantContext(request))),
  );
  r.put(
    '/api/v1/profiles/settings',
    {
      schema: {
        tags: ['profiles'],
        summary:
          'Change identity resolution settings (default phone region, block list, per-type limits, custom identifier types, auto-merge bound)',
        body: identitySettingsBody,
        response: { 200: s.settingsResponse, ...errorResponses },
      },
      config: { auth: write, audit: { action: 'identity.settings.update', resourceType: 'identity_settings' } },
    },
    async (request) => toSettingsView(await svc.putSettings(tenantContext(request), request.body)),
  );

  r.get(
    '/api/v1/profiles/review-queue',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Merge cases waiting for a human decision',
        querystring: s.reviewListQuery,
        response: { 200: s.reviewList, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const q = request.query;
      const out = await svc.listReviews(tenantContext(request), {
        limit: q.limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return { data: out.data.map(toReview), next_cursor: out.nextCursor };
    },
  );
  r.post(
    '/api/v1/profiles/review-queue/:id/approve',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Approve a case: merge its profiles',
        params: s.idParams,
        response: { 200: s.reviewDecision, ...errorResponses },
      },
      config: { auth: write, audit: { action: 'profile.review.approve', resourceType: 'profile_review' } },
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const out = await svc.approveReview(tenantContext(request), request.params.id);
      return { review: toReview(out.review), survivor_profile_id: out.survivorId };
    },
  );
  r.post(
    '/api/v1/profiles/review-queue/:id/reject',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Reject a case: the profiles stay apart (the same case is not reopened)',
        params: s.idParams,
        response: { 200: s.reviewDecision, ...errorResponses },
      },
      config: { auth: write, audit: { action: 'profile.review.reject', resourceType: 'profile_review' } },
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      return { review: toReview(await svc.rejectReview(tenantContext(request), request.params.id)), survivor_profile_id: null };
    },
  );

  r.get(
    '/api/v1/profiles/:id',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Customer 360: one profile with recent events and merges (a merged-away id answers with its survivor)',
        params: s.idParams,
        querystring: s.detailQuery,
        response: { 200: s.profileDetail, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const ctx = tenantContext(request);
      return toDetail(ctx.tenantId, await svc.get(ctx, request.params.id, { events: request.query.events }));
    },
  );

  for (const path of ['/api/profiles/:id/merge-history', '/api/v1/profiles/:id/merge-history']) {
    r.get(
      path,
      {
        schema: {
          tags: ['profiles'],
          summary: 'Append-only merge log of a profile (seed 002)',
          params: s.idParams,
          response: { 200: s.mergeHistoryResponse, ...errorResponses },
        },
        config: read,
      },
      async (request) => {
        const out = await svc.mergeHistory(tenantContext(request), request.params.id);
        return { profile_id: out.profileId, merges: out.merges.map(toMerge) };
      },
    );
  }

  r.post(
    '/api/v1/profiles/:id/unmerge',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Split a merge: the merged profile gets back its identifiers, events and orders',
        params: s.idParams,
        body: s.unmergeBody,
        response: { 200: s.unmergeResponse, ...errorResponses },
      },
      config: { auth: write, audit: { action: 'profile.unmerge', resourceType: 'profile' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      request.auditTarget = { resourceId: request.params.id };
      const out = await svc.unmerge(ctx, request.params.id, { mergeId: request.body?.merge_id, profileId: request.body?.profile_id });
      const [ri, si] = await Promise.all([svc.get(ctx, out.restored.id, { events: 0 }), svc.get(ctx, out.survivor.id, { events: 0 })]);
      return {
        merge_id: out.mergeId,
        restored: toProfile(ctx.tenantId, ri.profile, ri.identifiers),
        survivor: toProfile(ctx.tenantId, si.profile, si.identifiers),
      };
    },
  );

  r.get(
    '/api/v1/profiles/:id/orders',
    {
      schema: {
        tags: ['profiles'],
        summary: "The person's orders, newest first (cursor paging), with totals per currency over all of them",
        params: s.idParams,
        querystring: s.ordersQuery,
        response: { 200: s.ordersResponse, ...errorResponses },
      },
      config: read,
    },
    async (request) => {
      const out = await svc.orders(tenantContext(request), request.params.id, request.query);
      const net = (r: { revenueMinor: string; refundedMinor: string }) => (BigInt(r.revenueMinor) - BigInt(r.refundedMinor)).toString();
      return {
        profile_id: out.profileId,
        data: out.data.map((o) => ({
          order_id: o.orderId,
          occurred_at: iso(o.occurredAt)!,
          currency: o.currency,
          revenue_minor: o.revenueMinor,
          refunded_minor: o.refundedMinor,
          net_minor: net(o),
        })),
        totals: out.totals.map((t) => ({
          currency: t.currency,
          orders: t.orders,
          revenue_minor: t.revenueMinor,
          refunded_minor: t.refundedMinor,
          net_minor: net(t),
        })),
        next_cursor: out.nextCursor,
      };
    },
  );

  r.get(
    '/api/v1/profiles/:id/export',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Everything stored about the person (data subject access)',
        params: s.idParams,
        response: { 200: s.exportResponse, ...errorResponses },
      },
      config: { ...read, audit: { action: 'profile.export', resourceType: 'profile' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      request.auditTarget = { resourceId: request.params.id };
      const x = await svc.exportProfile(ctx, request.params.id);
      return {
        exported_at: clock().toISOString(),
        profile: toProfile(
          ctx.tenantId,
          x.profile,
          x.identifiers.filter((i) => i.profileId === x.profile.id),
        ),
        profile_ids: x.profileIds,
        identifiers: x.identifiers.map(toIdentifier),
        orders: x.orders.map((o) => ({
          order_id: o.orderId,
          revenue_minor: o.revenueMinor,
          refunded_minor: o.refundedMinor,
          currency: o.currency,
          occurred_at: iso(o.occurredAt)!,
        })),
        events: x.events.map((e) => ({
          ...toEvent(e),
          user_id: e.userId,
          anonymous_id: e.anonymousId,
          session_id: e.sessionId,
          context: e.context,
          metadata: e.metadata,
        })),
        merges: x.merges.map(toMerge),
        review_cases: x.reviews.map(toReview),
      };
    },
  );

  r.delete(
    '/api/v1/profiles/:id',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Erase the person: identifiers deleted, events anonymized, anonymous aggregates kept',
        params: s.idParams,
        response: { 200: s.eraseResponse, ...errorResponses },
      },
      config: {
        // A signed-in user with a recent password check only: never an API key, whatever its scopes.
        auth: { kind: 'tenant', permission: 'data:delete', stepUp: true, usersOnly: true },
        audit: { action: 'profile.erase', resourceType: 'profile' },
      },
    },
    async (request) => {
      request.auditTarget = { resourceId: request.params.id };
      const out = await svc.erase(tenantContext(request), request.params.id);
      request.auditTarget = {
        resourceId: out.profileId,
        details: {
          profiles_erased: out.profilesErased,
          identifiers_deleted: out.identifiersDeleted,
          events_anonymized: out.eventsAnonymized,
        },
      };
      return {
        profile_id: out.profileId,
        status: 'erased' as const,
        profiles_erased: out.profilesErased,
        identifiers_deleted: out.identifiersDeleted,
        events_anonymized: out.eventsAnonymized,
      };
    },
  );
}
