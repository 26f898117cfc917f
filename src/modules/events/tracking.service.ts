import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { type Q, countryOf, newId, notFound, type TenantContext, validation } from '../../platform/index.ts';
import {
  MAX_AMOUNT_MINOR,
  checkOccurredAt,
  identityInput,
  parseUserAgent,
  pathOf,
  type PendingEvent,
  toMinorUnits,
  utmFromUrl,
} from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import type { PageViewRow, SessionRow, TrackingRepository } from './tracking.repository.ts';
import type * as s from './tracking.schemas.ts';

export interface TrackingServiceDeps {
  db: Q;
  repo: TrackingRepository;
  ingest: Pick<IngestService, 'write' | 'problemOf'>;
  clock: () => Date;
}

/** Cart event types that are also interactions (seed 003's types). */
const CART_INTERACTION: Record<string, string> = { item_added: 'add_to_cart', item_removed: 'remove_from_cart' };

const hashKey = (parts: (string | null | undefined)[]) =>
  `h:${createHash('sha256')
    .update(parts.map((p) => p ?? '').join('\u0000'))
    .digest('base64url')
    .slice(0, 32)}`;

type Ctx = Pick<TenantContext, 'tenantId'>;

/**
 * Seed 000's tracking use cases: sessions, page views (time on page, scroll depth), funnel stages and cart
 * events. Every write is idempotent on the client's id or a content hash; cart adds and removals are also
 * interactions and go through the events write door.
 */
export function createTrackingService(deps: TrackingServiceDeps) {
  const { db } = deps;
  /** The time a client gave (checked: not before 2000, not a day ahead), or now. */
  const when = (field: string, value: string | undefined, now: Date): Date => {
    if (!value) return now;
    const at = new Date(value);
    const problem = checkOccurredAt(at, now);
    if (problem) throw validation('VALIDATION_ERROR', `The request body is invalid: ${field}.`, [{ field, message: problem }]);
    return at;
  };

  return {
    /**
     * `proxy.country`: the trusted proxy's country header, passed only when the operator enabled one; the body's
     * `country` wins, an unassigned header value (`XX`, `T1`) is none.
     */
    async startSession(
      ctx: Ctx,
      b: z.infer<typeof s.sessionStartBody>,
      headerUserAgent: string | undefined,
      proxy: { country?: string | undefined } = {},
    ): Promise<SessionRow> {
      const now = deps.clock();
      const userAgent = b.user_agent ?? headerUserAgent;
      const ua = parseUserAgent(userAgent);
      const fromUrl = utmFromUrl(b.landing_url);
      return deps.repo.startSession(db, ctx.tenantId, {
        sessionId: b.session_id ?? newId(),
        userId: b.user_id ?? null,
        anonymousId: b.anonymous_id ?? null,
        deviceType: b.device_type ?? ua.deviceType,
        browser: b.browser ?? ua.browser,
        os: b.os ?? ua.os,
        userAgent: userAgent?.slice(0, 1000) ?? null,
        locale: b.locale ?? null,
        country: b.country ?? countryOf(proxy.country),
        utm: {
          source: b.utm_source ?? b.utm?.source ?? fromUrl.source,
          medium: b.utm_medium ?? b.utm?.medium ?? fromUrl.medium,
          campaign: b.utm_campaign ?? b.utm?.campaign ?? fromUrl.campaign,
          term: b.utm_term ?? b.utm?.term ?? fromUrl.term,
          content: b.utm_content ?? b.utm?.content ?? fromUrl.content,
        },
        referrer: b.referrer ?? null,
        landingUrl: b.landing_url ?? null,
        startedAt: when('started_at', b.started_at, now),
        metadata: b.metadata ?? null,
      });
    },

    async endSession(ctx: Ctx, b: z.infer<typeof s.sessionEndBody>): Promise<SessionRow> {
      const row = await deps.repo.endSession(
        db,
        ctx.tenantId,
        b.session_id,
        when('ended_at', b.ended_at, deps.clock()),
        b.exit_page_url ?? null,
      );
      if (!row) throw notFound('SESSION_NOT_FOUND', 'Session');
      return row;
    },

    async pageView(ctx: Ctx, b: z.infer<typeof s.pageViewBody>): Promise<PageViewRow> {
      const at = when('viewed_at', b.viewed_at, deps.clock());
      // Events may arrive before session/start (or without it): the session is created bare and filled in later.
      await deps.repo.ensureSession(db, ctx.tenantId, b.session_id, at, b.user_id ?? null);
      const pageViewId = b.page_view_id ?? newId();
      await deps.repo.pageView(db, ctx.tenantId, {
        pageViewId,
        sessionId: b.session_id,
        userId: b.user_id ?? null,
        pageUrl: b.page_url,
        pagePath: pathOf(b.page_url),
        pageType: b.page_type ?? b.type ?? null,
        pageTitle: b.page_title ?? null,
        productId: b.product_id ?? null,
        referrer: b.referrer ?? null,
        startedAt: at,
      });
      return (await deps.repo.getPageView(db, ctx.tenantId, pageViewId))!;
    },

    async endPageView(ctx: Ctx, b: z.infer<typeof s.pageViewEndBody>): Promise<PageViewRow> {
      const row = await deps.repo.endPageView(
        db,
        ctx.tenantId,
        b.page_view_id,
        when('ended_at', b.ended_at, deps.clock()),
        b.time_on_page_seconds ?? null,
        b.scroll_depth_percent == null ? null : Math.round(b.scroll_depth_percent),
      );
      if (!row) throw notFound('PAGE_VIEW_NOT_FOUND', 'Page view');
      return row;
    },

    /** Records a funnel stage; returns the stored row's id. */
    async funnel(ctx: Ctx, b: z.infer<typeof s.funnelBody>): Promise<string> {
      const at = when('reached_at', b.reached_at, deps.clock());
      await deps.repo.ensureSession(db, ctx.tenantId, b.session_id, at, b.user_id ?? null);
      return deps.repo.funnel(db, ctx.tenantId, {
        dedupeKey: b.event_id ? `e:${b.event_id}` : hashKey([b.session_id, b.stage, b.product_id, at.toISOString()]),
        sessionId: b.session_id,
        userId: b.user_id ?? null,
        stage: b.stage,
        productId: b.product_id ?? null,
        metadata: b.metadata ?? null,
        reachedAt: at,
      });
    },

    /** Records a cart event (adds and removals are also interactions); returns its id and the interaction's. */
    async cartEvent(ctx: Ctx, b: z.infer<typeof s.cartEventBody>): Promise<{ cartEventId: string; interactionId: string | null }> {
      const at = when('occurred_at', b.occurred_at, deps.clock());
      const currency = b.currency?.toUpperCase() ?? null;
      const unitMinor = b.price != null ? toMinorUnits(b.price, currency) : null;
      const valueMinor = b.value_cents != null ? BigInt(b.value_cents) : unitMinor != null ? unitMinor * BigInt(b.quantity ?? 1) : null;
      const dedupeKey = b.event_id ? `e:${b.event_id}` : hashKey([b.session_id, b.type, b.product_id, b.cart_item_id, at.toISOString()]);
      const type = CART_INTERACTION[b.type];
      const event: PendingEvent | null =
        type && (b.user_id || b.anonymous_id)
          ? {
              row: {
                eventId: `cart:${dedupeKey}`,
                userId: b.user_id ?? null,
                anonymousId: b.anonymous_id ?? null,
                itemId: b.product_id ?? null,
                type,
                quantity: b.quantity ?? null,
                priceMinor: unitMinor,
                currency,
                sessionId: b.session_id,
                source: 'web',
                metadata: b.cart_item_id ? { cart_item_id: b.cart_item_id } : null,
                occurredAt: at,
              },
              identity: identityInput(
                [
                  b.user_id ? { type: 'user_id', value: b.user_id } : null,
                  b.anonymous_id ? { type: 'anonymous_id', value: b.anonymous_id } : null,
                ],
                'web',
                at,
              ),
            }
          : null;
      // Amounts are checked before anything is written, so a refused cart event leaves no half behind.
      const bad = event ? deps.ingest.problemOf(event) : null;
      if (bad) throw validation('VALIDATION_ERROR', `The request body is invalid: ${bad.field}.`, [{ ...bad }]);
      if (valueMinor != null && (valueMinor > MAX_AMOUNT_MINOR || valueMinor < -MAX_AMOUNT_MINOR))
        throw validation('VALIDATION_ERROR', 'The request body is invalid: price.', [
          { field: 'price', message: 'times quantity is out of range' },
        ]);
      await deps.repo.ensureSession(db, ctx.tenantId, b.session_id, at, b.user_id ?? null);
      const interactionId = event ? (await deps.ingest.write(ctx, [event], { source: 'tracking' }))[0]!.interactionId : null;
      const cartEventId = await deps.repo.cartEvent(db, ctx.tenantId, {
        dedupeKey,
        sessionId: b.session_id,
        userId: b.user_id ?? null,
        eventType: b.type,
        productId: b.product_id ?? null,
        cartItemId: b.cart_item_id ?? null,
        quantity: b.quantity ?? null,
        valueMinor,
        currency,
        interactionId,
        metadata: b.metadata ?? null,
        occurredAt: at,
      });
      return { cartEventId, interactionId };
    },
  };
}
export type TrackingService = ReturnType<typeof createTrackingService>;
