import type * as C from './contracts.ts';
import { createTransport, paginate, paginateOffset, randomId, type ClientOptions, type Page, type Query, type Result } from './transport.ts';

/**
 * A typed client of Loupe's public API for browsers (publishable key: serving and collection) and servers
 * (secret key: everything below). One named method per endpoint, grouped by resource; request and response
 * types come from the server's contracts entry. Errors are values (`{ ok: false, error }`), never exceptions;
 * retries follow Retry-After, else exponential backoff; writes carry an Idempotency-Key, events an `event_id`,
 * so a retried write is applied once. Lists have an `all()` async iterator over their cursor pages. Pages that
 * only track never import this file (the tracker is separate), so bundlers leave it out.
 */
export type { ClientOptions, LoupeError, Page, Result } from './transport.ts';
export { LoupePaginationError, paginate, paginateOffset } from './transport.ts';

const enc = encodeURIComponent;
/** Query objects from the contracts, as the transport's flat query. */
const q = (o: object | undefined): Query | undefined => o as Query | undefined;

export function createClient(opts: ClientOptions) {
  const request = createTransport(opts);
  const get = <T>(path: string, query?: object) => request<T>('GET', path, { query: q(query) });
  const post = <T>(path: string, body?: unknown, idempotent = true) => request<T>('POST', path, { body, idempotent });
  const put = <T>(path: string, body: unknown) => request<T>('PUT', path, { body });
  const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, { body });
  const del = <T = null>(path: string, query?: object) => request<T>('DELETE', path, { query: q(query) });
  /**
   * `list(query)` and `all(query)`, the items of every page. A query with `sort` or `offset` pages by offset (the
   * server gives sorted pages no cursor, and refuses a cursor with either), from its `offset`; else by cursor.
   */
  const listing = <Q extends object, T>(path: string) => ({
    list: (query?: Q & { cursor?: string }) => get<Page<T>>(path, query),
    all: (query?: Q) => {
      const { offset, ...rest } = (query ?? {}) as Q & { sort?: unknown; offset?: number };
      return 'sort' in rest && rest.sort !== undefined || offset !== undefined
        ? paginateOffset<T>((o) => get<Page<T>>(path, { ...rest, offset: o }), offset ?? 0)
        : paginate<T>((cursor) => get<Page<T>>(path, { ...rest, cursor }));
    },
  });
  /** Events get an `event_id` here when they have none: a retried request is then stored once. */
  const withEventId = (e: C.InteractionBody): C.InteractionBody => ({ ...e, event_id: e.event_id ?? randomId() });

  return {
    // ---- serving (publishable or secret key) ----
    recommendations: (body: C.RecommendBody) => post<C.RecommendResponse>('/api/v1/recommendations', body),
    similar: (body: C.SimilarBody) => post<C.SimilarResponse>('/api/v1/recommendations/similar', body),
    search: (query: C.SearchQuery) => get<C.SearchResponse>('/api/v1/items/search', query),
    /** Every hit of a search, page after page. */
    searchAll: (query: Omit<C.SearchQuery, 'cursor'>) =>
      paginate<C.SearchResponse['data'][number]>((cursor) =>
        get<C.SearchResponse>('/api/v1/items/search', { ...query, cursor }),
      ),
    autocomplete: (query: C.AutocompleteQuery) => get<C.AutocompleteResponse>('/api/v1/items/autocomplete', query),
    newsfeed: (query: C.NewsfeedQuery) => get<C.Newsfeed>('/api/v1/newsfeed', query),
    shoppers: {
      preferences: (userId: string) => get<C.ShopperPreferences>(`/api/v1/shoppers/${enc(userId)}/preferences`),
      setPreferences: (userId: string, body: C.ShopperPreferencesBody) =>
        put<C.ShopperChange>(`/api/v1/shoppers/${enc(userId)}/preferences`, body),
      follow: (userId: string, brandId: string) => post<C.ShopperChange>(`/api/v1/shoppers/${enc(userId)}/follows`, { brand_id: brandId }),
      unfollow: (userId: string, brandId: string) => del<C.ShopperChange>(`/api/v1/shoppers/${enc(userId)}/follows/${enc(brandId)}`),
      favorite: (userId: string, itemId: string) => post<C.ShopperChange>(`/api/v1/shoppers/${enc(userId)}/favorites`, { item_id: itemId }),
      unfavorite: (userId: string, itemId: string) =>
        del<C.ShopperChange>(`/api/v1/shoppers/${enc(userId)}/favorites/${enc(itemId)}`),
      styleProfile: (userId: string) => get<C.StyleProfile>(`/api/v1/shoppers/${enc(userId)}/style-profile`),
    },
    experiments: {
      assign: (body: C.AssignBody) => post<C.AssignResponse>('/api/v1/experiments/assign', body),
      trackClick: (body: C.ExperimentClickBody) => post<C.ExperimentTrackResponse>('/api/v1/experiments/track-click', body),
      trackAddToCart: (body: C.ExperimentAddToCartBody) =>
        post<C.ExperimentTrackResponse>('/api/v1/experiments/track-add-to-cart', body),
      trackPurchase: (body: C.ExperimentPurchaseBody) =>
        post<C.ExperimentTrackResponse>('/api/v1/experiments/track-purchase', body),
      track: (body: C.ExperimentTrackBody) => post<C.ExperimentTrackResponse>('/api/v1/experiments/track', body),
    },

    // ---- collection (publishable or secret key) ----
    interactions: {
      track: (event: C.InteractionBody) => post<C.InteractionResponse>('/api/v1/interactions', withEventId(event)),
      /** Up to 1,000 events; each has its own result (stored, duplicate, or refused with the reason). */
      batch: (events: C.InteractionBody[]) =>
        post<{ results: C.InteractionBatchResult[] }>('/api/v1/interactions/batch', { events: events.map(withEventId) }),
    },

    analytics: {
      /**
       * Starts a visitor's session (device, UTM, referrer, landing page). `country`: ISO 3166-1 alpha-2, sent only
       * when you know it (a geo lookup of your own); the server otherwise uses its trusted proxy's header, if any.
       */
      startSession: (body: C.SessionStartBody) => post<C.Session>('/api/v1/analytics/session/start', body),
    },

    // ---- catalog (secret key) ----
    items: {
      ...listing<Omit<C.ItemListQuery, 'cursor'>, C.Item>('/api/v1/items'),
      get: (itemId: string) => get<C.Item>(`/api/v1/items/${enc(itemId)}`),
      /** Creates an item (409 CATALOG_ITEM_EXISTS when its `item_id` exists: a repeated create makes no second one). */
      create: (body: C.ItemCreateBody) => post<C.Item>('/api/v1/items', body),
      update: (itemId: string, body: C.ItemUpdateBody) => put<C.Item>(`/api/v1/items/${enc(itemId)}`, body),
      delete: (itemId: string) => del(`/api/v1/items/${enc(itemId)}`),
      /** Up to 1,000 items, upserted by `item_id`; per-row results. */
      bulk: (items: C.ItemCreateBody[]) => post<C.ItemBulkResponse>('/api/v1/items/bulk', items),
    },

    // ---- recommendation models (secret key) ----
    models: {
      /** Starts a training job (not repeated on a lost answer: check `list()` first). */
      train: (body: C.TrainBody) => post<C.TrainResponse>('/api/v1/train', body, false),
      progress: (jobId: string) => get<C.TrainingProgress>(`/api/v1/training/${enc(jobId)}/progress`),
      cancel: (jobId: string) => post<C.TrainingProgress>(`/api/v1/training/${enc(jobId)}/cancel`),
      list: () => get<C.VersionsResponse>('/api/v1/models'),
      get: (versionId: string) => get<C.ModelVersion>(`/api/v1/models/${enc(versionId)}`),
      deploy: (versionId: string, body: C.DeployBody = {}) => post<C.Deployment>(`/api/v1/models/${enc(versionId)}/deploy`, body),
      rollback: () => post<C.Deployment>('/api/v1/models/rollback', undefined, false),
    },

    // ---- profiles (secret key) ----
    profiles: {
      ...listing<Omit<C.ProfileListQuery, 'cursor'>, C.ProfileList['data'][number]>('/api/v1/profiles'),
      lookup: (query: C.ProfileLookupQuery) => get<C.ProfileDetail>('/api/v1/profiles/lookup', query),
      get: (profileId: string, query?: { events?: number }) => get<C.ProfileDetail>(`/api/v1/profiles/${enc(profileId)}`, query),
      mergeHistory: (profileId: string) => get<C.MergeHistory>(`/api/v1/profiles/${enc(profileId)}/merge-history`),
      /** The person's data (GDPR access). */
      export: (profileId: string) => get<C.ProfileExport>(`/api/v1/profiles/${enc(profileId)}/export`),
    },

    // ---- predictions (secret key) ----
    predictions: {
      churn: (body: C.PredictBody) => post<C.ChurnResponse>('/api/v1/predict/churn', body),
      ltv: (body: C.PredictBody) => post<C.LtvResponse>('/api/v1/predict/ltv', body),
      all: (body: C.PredictBody) => post<C.PredictAllResponse>('/api/v1/predict/all', body),
      segments: () => get<C.PredictionSegments>('/api/v1/predictions/segments'),
      atRisk: (query?: C.AtRiskQuery) => get<C.AtRiskResponse>('/api/v1/predictions/at-risk', query),
    },

    // ---- orders (secret key) ----
    orders: {
      ...listing<Omit<C.OrderListQuery, 'cursor'>, C.OrderList['data'][number]>('/api/v1/orders'),
      get: (orderId: string) => get<C.OrderDetail>(`/api/v1/orders/${enc(orderId)}`),
    },

    // ---- imports and jobs (secret key) ----
    imports: {
      ...listing<{ kind?: 'items' | 'interactions'; limit?: number }, C.ImportRun>('/api/v1/imports'),
      get: (importId: string) => get<C.ImportDetail>(`/api/v1/imports/${enc(importId)}`),
    },
    jobs: {
      ...listing<{ limit?: number; status?: C.Job['status']; type?: string }, C.Job>('/api/v1/jobs'),
      get: (jobId: string) => get<C.Job>(`/api/v1/jobs/${enc(jobId)}`),
      cancel: (jobId: string) => post<C.Job>(`/api/v1/jobs/${enc(jobId)}/cancel`),
    },

    // ---- outbound webhooks (secret key) ----
    webhooks: {
      eventTypes: () => get<C.WebhookEventTypes>('/api/v1/webhooks/event-types'),
      endpoints: {
        list: () => get<C.WebhookEndpointList>('/api/v1/webhooks/endpoints'),
        get: (id: string) => get<C.WebhookEndpoint>(`/api/v1/webhooks/endpoints/${enc(id)}`),
        /** Answers the endpoint's signing secret, once. Not repeated on a lost answer (it would make two). */
        create: (body: C.WebhookEndpointCreateBody) => post<C.WebhookEndpointWithSecret>('/api/v1/webhooks/endpoints', body, false),
        update: (id: string, body: C.WebhookEndpointUpdateBody) => patch<C.WebhookEndpoint>(`/api/v1/webhooks/endpoints/${enc(id)}`, body),
        delete: (id: string) => del(`/api/v1/webhooks/endpoints/${enc(id)}`),
        rotateSecret: (id: string, body: { grace_hours?: number } = {}) =>
          post<C.WebhookEndpointWithSecret>(`/api/v1/webhooks/endpoints/${enc(id)}/rotate-secret`, body, false),
        test: (id: string) => post<C.WebhookDelivery>(`/api/v1/webhooks/endpoints/${enc(id)}/test`, undefined, false),
      },
      deliveries: {
        ...listing<Omit<C.WebhookDeliveryListQuery, 'cursor'>, C.WebhookDelivery>('/api/v1/webhooks/deliveries'),
        get: (id: string) => get<C.WebhookDeliveryDetail>(`/api/v1/webhooks/deliveries/${enc(id)}`),
        redeliver: (id: string) => post<C.WebhookDelivery>(`/api/v1/webhooks/deliveries/${enc(id)}/redeliver`, undefined, false),
      },
    },

    /** Any other endpoint of the API, untyped (the dashboard's management routes, with a secret key). */
    request,
  };
}
export type Client = ReturnType<typeof createClient>;

/** The endpoint's item type of a `Result<Page<T>>`, e.g. `PageItem<Awaited<ReturnType<Client['items']['list']>>>`. */
export type PageItem<R> = R extends Result<Page<infer T>> ? T : never;
