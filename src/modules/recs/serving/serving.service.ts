/**
 * Serving: models loaded per tenant (LRU across tenants), scored against the tenant's in-memory catalog snapshot
 * and the user's cached recent history (`history.cache.ts`, kept fresh by change announcements and markers), so a
 * response needs no SQL in the steady state. Filters are masks over the model's items; the served log is
 * written in batches (`served.log.ts`); each response carries a `recommendation_id` for attribution.
 */
import { buffer as streamToBuffer } from 'node:stream/consumers';
import { type Q, type ObjectStorage, type TenantContext, currencyExponent, newId, notFound } from '../../../platform/index.ts';
import { type UserHistory, createServingCache } from './history.cache.ts';
import { canaryBucket, interactionWeight, reasonFor, unpackVersionChunked } from '../recs.core.ts';
import { type ServingModel, servingModel } from '../recs.models.ts';
import type { DeploymentRow, RecsRepository } from '../recs.repository.ts';
import { createServedLog } from './served.log.ts';
import { type CatalogSnapshot, type ItemFilters, filterKey, isPresent, positionsOf, servableMask, topAllowed } from './catalog.snapshot.ts';
import { recsSettings } from '../recs.settings.ts';
import { type ColdStart, coldStartOf, contentScores, type Strategy } from './cold-start.ts';

/** A model aligned with one catalog snapshot: where each model item sits in it, and masks per filter. */
interface Alignment {
  snapshot: CatalogSnapshot;
  size: number;
  positions: Int32Array;
  revision: number;
  masks: Map<string, Uint8Array>;
}

export interface LoadedModel {
  versionId: string;
  version: string;
  model: ServingModel;
  itemIds: string[];
  itemIndex: Map<string, number>;
  /** Score buffer reused by every request: scoring and ranking are synchronous, so requests never share it mid-use. */
  scratch: Float32Array;
  maxPopularity: number;
  alignment: Alignment | undefined;
}

export interface RecommendRequest {
  userId?: string | undefined;
  recentItems?: string[] | undefined;
  count: number;
  filters: ItemFilters & { excludeIds?: string[] | undefined };
  context: { page?: string | undefined; device?: string | undefined; currentItem?: string | undefined };
}

export interface CatalogFields {
  itemId: string;
  name: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  currency: string | null;
  imageUrl: string | null;
  availability: string;
}

export interface RecommendedItem extends CatalogFields {
  score: number;
  reason: string;
}

export interface ServingDeps {
  /** The process clock (cache ages, served-log times). */
  clock: () => Date;
  db: Q;
  repo: RecsRepository;
  storage: ObjectStorage;
  log: { warn(obj: unknown, msg: string): void; error(obj: unknown, msg: string): void };
  /** True on PostgreSQL, where other processes may write: caches also read change markers. */
  shared: boolean;
  maxModels?: number;
  /**
   * The model version a running recommender experiment gives this user (its variant's `model_version`), or null
   * when no such experiment runs or the user is not in it. The experiment logs the exposure.
   */
  modelExperiment?: (tenantId: string, userId: string) => Promise<string | null>;
}

const HISTORY = 200;
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 20_000;
const DEPLOYMENT_TTL_MS = 2000;
const MASKS_PER_MODEL = 64;
/** Cold start (no model yet): how many recent shoppers' latest interactions make the trending list, how often it is rebuilt. */
const COLD_USERS = 500;
const COLD_HISTORY = 20;
const COLD_TTL_MS = 30_000;

function fieldsAt(s: CatalogSnapshot, p: number): CatalogFields {
  const minor = s.priceMinor[p]!;
  const currency = s.currency[p]!;
  return {
    itemId: s.ids[p]!,
    name: s.name[p]!,
    category: s.category[p]!,
    brand: s.brand[p]!,
    price: Number.isNaN(minor) ? null : minor / 10 ** currencyExponent(currency ?? 'USD'),
    currency,
    imageUrl: s.imageUrl[p]!,
    availability: s.availability[p]!,
  };
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** A value read at most every `ttlMs`; concurrent readers share one load. */
function ttlCache<T>(ttlMs: number, now: () => number, load: (key: string) => Promise<T>) {
  const entries = new Map<string, { at: number; value: Promise<T> }>();
  return {
    get(key: string): Promise<T> {
      const e = entries.get(key);
      if (e && now() - e.at < ttlMs) return e.value;
      const value = load(key);
      entries.set(key, { at: now(), value });
      value.catch(() => entries.get(key)?.value === value && entries.delete(key));
      return value;
    },
    delete: (key: string) => entries.delete(key),
  };
}

export function createServingService(deps: ServingDeps) {
  const nowMs = () => deps.clock().getTime();
  const { repo, db } = deps;
  const models = new Map<string, LoadedModel | Promise<LoadedModel>>(); // key tenant:version, insertion order = LRU
  const responses = new Map<string, { at: number; value: { items: RecommendedItem[]; algorithm: string; strategy: Strategy } }>();
  const colds = new Map<string, { at: number; value: Promise<ColdStart> }>();
  const identities = new WeakMap<CatalogSnapshot, Int32Array>();

  /** The tenant's cold-start ranking for this snapshot (rebuilt every COLD_TTL_MS or when the catalog changes). */
  function coldOf(tenantId: string, snapshot: CatalogSnapshot, weights: Record<string, number>): Promise<ColdStart> {
    const e = colds.get(tenantId);
    if (e && nowMs() - e.at < COLD_TTL_MS) {
      const v = e.value;
      return v.then((c) => (c.snapshot === snapshot && c.revision === snapshot.revision ? c : rebuild()));
    }
    return rebuild();
    function rebuild(): Promise<ColdStart> {
      const value = (async () => {
        const users = await repo.recentUsers(tenantId, COLD_USERS);
        const rows = users.length ? await repo.userHistories(tenantId, users, COLD_HISTORY) : [];
        return coldStartOf(snapshot, rows, weights);
      })();
      colds.set(tenantId, { at: nowMs(), value });
      value.catch(() => colds.get(tenantId)?.value === value && colds.delete(tenantId));
      return value;
    }
  }

  /** Which snapshot positions `filters` allow (every catalog item is its own index). */
  function snapshotMask(snapshot: CatalogSnapshot, filters: ItemFilters): Uint8Array {
    let ids = identities.get(snapshot);
    if (!ids || ids.length !== snapshot.ids.length) identities.set(snapshot, (ids = Int32Array.from(snapshot.ids, (_, i) => i)));
    return servableMask(snapshot, ids, filters);
  }

  const positionsIn = (snapshot: CatalogSnapshot, ids: Iterable<string>): number[] => {
    const out: number[] = [];
    for (const id of ids) {
      const p = snapshot.index.get(id);
      if (p !== undefined) out.push(p);
    }
    return out;
  };
  const stats = { cacheHits: 0, cacheMisses: 0 };
  const cache = createServingCache({ repo, shared: deps.shared, log: deps.log, historyLength: HISTORY });
  // On PGlite a write costs tens of ms on the serving thread whatever its size (commit to disk): fewer, larger batches.
  const served = createServedLog({
    write: (tenantId, rows) => repo.recordServedMany(db, tenantId, rows),
    log: deps.log,
    ...(deps.shared ? {} : { flushMs: 1000, maxRows: 5000 }),
  });
  const deployments = ttlCache(DEPLOYMENT_TTL_MS, nowMs, (tenantId) => repo.deployment(db, tenantId));
  const settings = ttlCache(DEPLOYMENT_TTL_MS, nowMs, async (tenantId) => {
    const value = recsSettings(await repo.tenantSettings(tenantId));
    return { ...value, key: JSON.stringify([value.weights, value.excludePurchased]) };
  });

  async function load(tenantId: string, versionId: string): Promise<LoadedModel> {
    const v = await repo.getVersion(db, tenantId, versionId);
    if (!v) throw new Error('model version not found');
    // decoded in slices: a large model copied in one go blocked every request of the process for seconds
    const { itemIds, meta, arrays } = await unpackVersionChunked(await streamToBuffer(await deps.storage.get(tenantId, v.artifactKey)));
    const model = servingModel(meta, arrays);
    if (v.loadError) await repo.setLoadError(db, tenantId, v.id, null);
    let maxPopularity = 0;
    for (const x of model.popularity) if (x > maxPopularity) maxPopularity = x;
    return {
      versionId: v.id,
      version: v.version,
      model,
      itemIds,
      itemIndex: new Map(itemIds.map((id, i) => [id, i])),
      scratch: new Float32Array(itemIds.length),
      maxPopularity,
      alignment: undefined,
    };
  }

  /** The loaded model of a version, or undefined when its artifact cannot be read (the error is recorded on the version). */
  async function modelOf(tenantId: string, versionId: string): Promise<LoadedModel | undefined> {
    const key = `${tenantId}:${versionId}`;
    let entry = models.get(key);
    if (!entry) {
      entry = load(tenantId, versionId);
      models.set(key, entry);
      try {
        const loaded = await entry;
        models.set(key, loaded);
        while (models.size > (deps.maxModels ?? 16)) models.delete(models.keys().next().value!);
        return loaded;
      } catch (err) {
        models.delete(key);
        const message = err instanceof Error ? err.message : String(err);
        deps.log.warn({ tenantId, versionId, err: message }, 'model artifact could not be loaded; serving the previous version');
        await repo.setLoadError(db, tenantId, versionId, `artifact could not be loaded: ${message}`.slice(0, 500)).catch(() => undefined);
        return undefined;
      }
    }
    const loaded = await entry;
    models.delete(key); // LRU: move to the back
    models.set(key, loaded);
    return loaded;
  }

  /** Picks the version for a user (experiment variant, then sticky canary bucket), falling back to the previous version when one fails to load. */
  async function resolveModel(tenantId: string, userKey: string | null): Promise<LoadedModel | undefined> {
    const dep: DeploymentRow | undefined = await deployments.get(tenantId);
    if (!dep) return undefined;
    const order: string[] = [];
    // A recommender experiment's variant names its version first; it falls back like any version that fails to load.
    const tested = userKey && deps.modelExperiment ? await deps.modelExperiment(tenantId, userKey) : null;
    if (tested) order.push(tested);
    if (dep.canaryVersionId && dep.canaryPercent > 0 && userKey && canaryBucket(tenantId, userKey) < dep.canaryPercent)
      order.push(dep.canaryVersionId);
    if (dep.activeVersionId) order.push(dep.activeVersionId);
    if (dep.previousVersionId) order.push(dep.previousVersionId);
    for (const id of order) {
      const m = await modelOf(tenantId, id);
      if (m) return m;
    }
    return undefined;
  }

  /** Which model items `filters` allow in this snapshot (cached per model, snapshot revision and filters). */
  function maskOf(m: LoadedModel, s: CatalogSnapshot, filters: ItemFilters): { mask: Uint8Array; positions: Int32Array } {
    let a = m.alignment;
    if (!a || a.snapshot !== s || a.size !== s.ids.length) {
      a = { snapshot: s, size: s.ids.length, positions: positionsOf(s, m.itemIds), revision: s.revision, masks: new Map() };
      m.alignment = a;
    }
    if (a.revision !== s.revision) {
      a.masks.clear();
      a.revision = s.revision;
    }
    const key = filterKey(filters);
    let mask = a.masks.get(key);
    if (!mask) {
      mask = servableMask(s, a.positions, filters);
      a.masks.set(key, mask);
      if (a.masks.size > MASKS_PER_MODEL) a.masks.delete(a.masks.keys().next().value!);
    }
    return { mask, positions: a.positions };
  }

  function exclusions(m: LoadedModel, ids: Iterable<string>): number[] {
    const out: number[] = [];
    for (const id of ids) {
      const i = m.itemIndex.get(id);
      if (i !== undefined) out.push(i);
    }
    return out;
  }

  function recordServed(
    ctx: TenantContext,
    kind: 'user' | 'similar',
    userId: string | null,
    model: LoadedModel | undefined,
    itemIds: string[],
    started: number,
    cacheHit: boolean,
  ) {
    const id = newId();
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    served.record(ctx.tenantId, {
      id,
      kind,
      userId,
      modelVersionId: model?.versionId ?? null,
      itemIds,
      latencyMs,
      cacheHit,
      createdAt: deps.clock(),
    });
    return { id, latencyMs };
  }

  function personalize(
    req: RecommendRequest,
    history: UserHistory | undefined,
    s: { weights: Record<string, number>; excludePurchased: boolean },
  ) {
    const exclude = new Set<string>(req.filters.excludeIds ?? []);
    if (req.context.currentItem) exclude.add(req.context.currentItem);
    const weightByItem = new Map<string, number>();
    const lastType = new Map<string, string>();
    if (history) {
      for (let k = 0; k < history.itemIds.length; k++) {
        const itemId = history.itemIds[k]!;
        const type = history.types[k]!;
        if (type === 'purchase' && s.excludePurchased) exclude.add(itemId);
        const w = interactionWeight(type, s.weights);
        if (w > 0) weightByItem.set(itemId, (weightByItem.get(itemId) ?? 0) + w);
        const prev = lastType.get(itemId);
        if (!prev || (s.weights[type] ?? 0) > (s.weights[prev] ?? 0)) lastType.set(itemId, type);
      }
    }
    for (const id of req.recentItems ?? []) if (!weightByItem.has(id)) weightByItem.set(id, s.weights.view ?? 1);
    if (req.context.currentItem && !weightByItem.has(req.context.currentItem))
      weightByItem.set(req.context.currentItem, s.weights.view ?? 1);
    return { exclude, weightByItem, lastType };
  }

  return {
    stats,
    /** Drops cached deployments, settings and responses of a tenant (after deploy, rollback, canary). */
    invalidate(tenantId: string): void {
      deployments.delete(tenantId);
      settings.delete(tenantId);
      for (const k of responses.keys()) if (k.startsWith(`${tenantId}|`)) responses.delete(k);
    },
    itemsChanged: cache.itemsChanged,
    /** Whether the tenant's catalog is loaded for serving; when not, its load starts in the background. */
    catalogReady: cache.catalogReady,
    interactionsAppended: cache.interactionsAppended,
    /** Whether the tenant has a model deployment (cached like the deployment `recommend` reads). */
    hasDeployment: async (tenantId: string): Promise<boolean> => (await deployments.get(tenantId)) !== undefined,
    /** Resolves once every response served so far has its recs_served row. */
    flushServed: served.flush,
    close: served.close,

    async recommend(ctx: TenantContext, req: RecommendRequest) {
      const started = performance.now();
      const tenantId = ctx.tenantId;
      const [snapshot, history, model, s] = await Promise.all([
        cache.catalog(tenantId),
        req.userId ? cache.history(tenantId, req.userId) : undefined,
        resolveModel(tenantId, req.userId ?? null),
        settings.get(tenantId),
      ]);
      // Precise invalidation: the key names the snapshot revision and the history read, so any change misses.
      const key = `${tenantId}|${model?.versionId ?? '-'}|${snapshot.revision}|${history?.gen ?? '-'}|${s.key}|${JSON.stringify([
        req.userId ?? null,
        req.recentItems,
        req.count,
        filterKey(req.filters),
        req.filters.excludeIds,
        req.context.currentItem,
      ])}`;
      const hit = responses.get(key);
      if (hit && nowMs() - hit.at < CACHE_TTL_MS) {
        stats.cacheHits++;
        const out = recordServed(
          ctx,
          'user',
          req.userId ?? null,
          model,
          hit.value.items.map((i) => i.itemId),
          started,
          true,
        );
        return { ...hit.value, model, recommendationId: out.id, latencyMs: out.latencyMs, cacheHit: true };
      }
      stats.cacheMisses++;

      const { exclude, weightByItem, lastType } = personalize(req, history, s);
      let items: RecommendedItem[] = [];
      let algorithm = 'none';
      let strategy: Strategy = 'catalog';
      if (model) {
        const known = [...weightByItem].filter(([id]) => model.itemIndex.has(id));
        const ids = Int32Array.from(known, ([id]) => model.itemIndex.get(id)!);
        const ws = Float32Array.from(known, ([, w]) => Math.log1p(w));
        const personalized = ids.length > 0 && model.model.type !== 'popularity';
        algorithm = personalized ? `${model.model.type} + real-time history` : `popularity (cold start, ${model.model.type} model)`;
        strategy = personalized ? 'personalized' : 'popularity';
        const scores = ids.length ? model.model.scoreUser(ids, ws, model.scratch) : model.model.popularity;
        const { mask, positions } = maskOf(model, snapshot, req.filters);
        // a small popularity prior breaks ties among items the model scores equally (often 0)
        const prior =
          model.maxPopularity > 0 && ids.length ? { values: model.model.popularity, scale: 1e-6 / model.maxPopularity } : undefined;
        const top = topAllowed(scores, mask, req.count, exclusions(model, exclude), prior);
        const maxScore = Math.max(top.scores[0] ?? 0, 1e-12);
        for (let r = 0; r < top.indices.length; r++) {
          const i = top.indices[r]!;
          let anchor: string | undefined;
          if (personalized) {
            let best = 0;
            for (let k = 0; k < known.length; k++) {
              const a = model.model.pair(i, ids[k]!);
              if (a > best) {
                best = a;
                anchor = known[k]![0];
              }
            }
          }
          const fields = fieldsAt(snapshot, positions[i]!);
          const anchorAt = anchor === undefined ? undefined : snapshot.index.get(anchor);
          items.push({
            ...fields,
            score: round4(Math.max(0, top.scores[r]! / maxScore)),
            reason: reasonFor({
              personalized,
              anchorName:
                anchor === undefined ? null : anchorAt !== undefined && isPresent(snapshot, anchorAt) ? snapshot.name[anchorAt]! : anchor,
              anchorType: anchor ? (lastType.get(anchor) ?? 'view') : null,
              category: req.filters.category ?? fields.category,
              trending: !req.filters.category && r < 3,
            }),
          });
        }
      }
      let cold = false;
      if (items.length === 0) {
        // No model yet (or it had nothing to serve under these filters): what recent shoppers touch, else the catalog.
        const c = await coldOf(tenantId, snapshot, s.weights);
        const top = topAllowed(c.scores, snapshotMask(snapshot, req.filters), req.count, positionsIn(snapshot, exclude));
        const maxScore = Math.max(top.scores[0] ?? 0, 1e-12);
        items = Array.from(top.indices, (p, r) => {
          const fields = fieldsAt(snapshot, p);
          return {
            ...fields,
            score: round4(Math.max(0, top.scores[r]! / maxScore)),
            reason: reasonFor({
              personalized: false,
              category: req.filters.category ?? fields.category,
              trending: c.source === 'trending' && !req.filters.category && r < 3,
            }),
          };
        });
        strategy = c.source;
        algorithm = `${c.source === 'trending' ? 'trending (recent interactions)' : 'catalog order (no interactions yet)'}, ${model ? `${model.model.type} had nothing to serve` : 'no model yet'}`;
        cold = true;
      }
      const value = { items, algorithm, strategy };
      if (!cold) {
        // a cold-start answer changes with any tenant's new interaction: it is not cached per user
        responses.set(key, { at: nowMs(), value });
        if (responses.size > CACHE_MAX) responses.delete(responses.keys().next().value!);
      }
      const out = recordServed(
        ctx,
        'user',
        req.userId ?? null,
        model,
        items.map((i) => i.itemId),
        started,
        false,
      );
      return { ...value, model, recommendationId: out.id, latencyMs: out.latencyMs, cacheHit: false };
    },

    async similar(
      ctx: TenantContext,
      req: { itemId: string; count: number; filters: ItemFilters & { excludeIds?: string[] | undefined } },
    ) {
      const started = performance.now();
      const tenantId = ctx.tenantId;
      const [snapshot, model] = await Promise.all([cache.catalog(tenantId), resolveModel(tenantId, null)]);
      const index = model?.itemIndex.get(req.itemId);
      const items: (CatalogFields & { similarityScore: number })[] = [];
      let strategy: Strategy = 'item_similarity';
      if (model && index !== undefined) {
        const scores = model.model.scoreSimilar(index, model.scratch);
        const { mask, positions } = maskOf(model, snapshot, req.filters);
        const top = topAllowed(scores, mask, req.count, [index, ...exclusions(model, req.filters.excludeIds ?? [])]);
        for (let r = 0; r < top.indices.length; r++)
          items.push({ ...fieldsAt(snapshot, positions[top.indices[r]!]!), similarityScore: round4(top.scores[r]!) });
      }
      if (items.length === 0) {
        const at = snapshot.index.get(req.itemId);
        if (at === undefined || !isPresent(snapshot, at)) throw notFound('RECS_ITEM_NOT_FOUND', 'Item');
        // No model, or an item it does not know: content neighbours (category, brand, name) first, then trending
        // items of the item's category, then any trending item.
        const c = await coldOf(tenantId, snapshot, (await settings.get(tenantId)).weights);
        const content = contentScores(c, at);
        let maxTrend = 0;
        for (const x of c.scores) if (x > maxTrend) maxTrend = x;
        const category = snapshot.category[at];
        const ranked = new Float32Array(content.length);
        for (let p = 0; p < ranked.length; p++)
          ranked[p] =
            content[p]! * 1000 +
            (category !== null && snapshot.category[p] === category ? 10 : 0) +
            (maxTrend > 0 ? c.scores[p]! / maxTrend : 0);
        ranked[at] = Number.NEGATIVE_INFINITY;
        const top = topAllowed(ranked, snapshotMask(snapshot, req.filters), req.count, positionsIn(snapshot, req.filters.excludeIds ?? []));
        for (let r = 0; r < top.indices.length; r++) {
          const p = top.indices[r]!;
          items.push({ ...fieldsAt(snapshot, p), similarityScore: round4(Math.max(0, content[p]!)) });
        }
        strategy = items[0] && items[0].similarityScore > 0 ? 'content_similarity' : 'category_popularity';
      }
      const out = recordServed(
        ctx,
        'similar',
        null,
        model,
        items.map((i) => i.itemId),
        started,
        false,
      );
      return { items, model, strategy, recommendationId: out.id, latencyMs: out.latencyMs };
    },
  };
}
export type ServingService = ReturnType<typeof createServingService>;
