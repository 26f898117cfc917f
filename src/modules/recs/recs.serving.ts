/**
 * Serving: models loaded per tenant (LRU across tenants), a user's history re-read per request (real time
 * without retraining), precise response caching, catalog filters applied in SQL on the ranked candidates, and
 * a `recommendation_id` per response for attribution.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type ObjectStorage, type TenantContext, newId, notFound } from '../../platform/index.ts';
import { currencyExponent } from '../catalog/index.ts';
import type { InteractionsRepository, StoredInteraction } from '../events/index.ts';
import { topN } from '../../ml/item-knn.ts';
import { canaryBucket, decodeArtifact, interactionWeight, reasonFor } from './recs.core.ts';
import { type ServingModel, servingModel } from './recs.models.ts';
import type { CatalogRow, DeploymentRow, ItemFilters, RecsRepository } from './recs.repository.ts';
import { recsSettings } from './recs.training.ts';

export interface LoadedModel {
  versionId: string;
  version: string;
  model: ServingModel;
  itemIds: string[];
  itemIndex: Map<string, number>;
  scratch: Float32Array;
}

export interface RecommendRequest {
  userId?: string | undefined;
  recentItems?: string[] | undefined;
  count: number;
  filters: ItemFilters & { excludeIds?: string[] | undefined };
  context: { page?: string | undefined; device?: string | undefined; currentItem?: string | undefined };
}

export interface RecommendedItem {
  itemId: string;
  name: string;
  category: string | null;
  brand: string | null;
  price: number | null;
  currency: string | null;
  imageUrl: string | null;
  availability: string;
  score: number;
  reason: string;
}

export interface ServingDeps {
  repo: RecsRepository;
  interactions: InteractionsRepository;
  storage: ObjectStorage;
  log: { warn(obj: unknown, msg: string): void };
  maxModels?: number;
}

const HISTORY = 200;
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 20_000;
const DEPLOYMENT_TTL_MS = 2000;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const priceOf = (r: CatalogRow): number | null => (r.priceMinor == null ? null : Number(r.priceMinor) / 10 ** currencyExponent(r.currency ?? 'USD'));

export function createServingService(deps: ServingDeps) {
  const { repo } = deps;
  const models = new Map<string, LoadedModel | Promise<LoadedModel>>(); // key tenant:version, insertion order = LRU
  const deployments = new Map<string, { at: number; row: DeploymentRow | undefined }>();
  const cache = new Map<string, { at: number; value: { items: RecommendedItem[]; algorithm: string } }>();
  const settingsCache = new Map<string, { at: number; value: ReturnType<typeof recsSettings> }>();
  const stats = { cacheHits: 0, cacheMisses: 0 };

  async function settingsOf(tenantId: string) {
    const c = settingsCache.get(tenantId);
    if (c && Date.now() - c.at < DEPLOYMENT_TTL_MS) return c.value;
    const value = recsSettings(await repo.tenantSettings(tenantId));
    settingsCache.set(tenantId, { at: Date.now(), value });
    return value;
  }

  async function deploymentOf(tenantId: string): Promise<DeploymentRow | undefined> {
    const c = deployments.get(tenantId);
    if (c && Date.now() - c.at < DEPLOYMENT_TTL_MS) return c.row;
    const row = await repo.deployment(tenantId);
    deployments.set(tenantId, { at: Date.now(), row });
    return row;
  }

  async function load(tenantId: string, versionId: string): Promise<LoadedModel> {
    const v = await repo.getVersion(tenantId, versionId);
    if (!v) throw new Error('model version not found');
    const buf = await readAll(await deps.storage.get(tenantId, v.artifactKey));
    const idsLen = buf.readUInt32LE(0);
    const itemIds = JSON.parse(buf.toString('utf8', 4, 4 + idsLen)) as string[];
    const { meta, arrays } = decodeArtifact(buf.subarray(4 + idsLen));
    const model = servingModel(meta, arrays);
    if (v.loadError) await repo.setLoadError(tenantId, v.id, null);
    return { versionId: v.id, version: v.version, model, itemIds, itemIndex: new Map(itemIds.map((id, i) => [id, i])), scratch: new Float32Array(itemIds.length) };
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
        await repo.setLoadError(tenantId, versionId, `artifact could not be loaded: ${message}`.slice(0, 500)).catch(() => undefined);
        return undefined;
      }
    }
    const loaded = await entry;
    models.delete(key); // LRU: move to the back
    models.set(key, loaded);
    return loaded;
  }

  /** Picks the version for a user (sticky canary bucket), falling back to the previous version when one fails to load. */
  async function resolveModel(tenantId: string, userKey: string | null): Promise<LoadedModel | undefined> {
    const dep = await deploymentOf(tenantId);
    if (!dep) return undefined;
    const order: string[] = [];
    if (dep.canaryVersionId && dep.canaryPercent > 0 && userKey && canaryBucket(tenantId, userKey) < dep.canaryPercent) order.push(dep.canaryVersionId);
    if (dep.activeVersionId) order.push(dep.activeVersionId);
    if (dep.previousVersionId) order.push(dep.previousVersionId);
    for (const id of order) {
      const m = await modelOf(tenantId, id);
      if (m) return m;
    }
    return undefined;
  }

  /** Keeps ranked candidates that are servable (available, filters), in rank order. */
  async function hydrate(tenantId: string, ranked: string[], filters: ItemFilters, count: number): Promise<CatalogRow[]> {
    const rows = await repo.servable(tenantId, ranked, filters);
    const byId = new Map(rows.map((r) => [r.itemId, r]));
    const out: CatalogRow[] = [];
    for (const id of ranked) {
      const r = byId.get(id);
      if (r) out.push(r);
      if (out.length >= count) break;
    }
    return out;
  }

  function rankIndices(m: LoadedModel, scores: Float32Array, exclude: Set<number>, want: number): number[] {
    for (const i of exclude) scores[i] = -Infinity;
    const top = topN(scores, Math.min(want, scores.length));
    return Array.from(top.indices);
  }

  async function recordServed(ctx: TenantContext, kind: string, userId: string | null, model: LoadedModel | undefined, itemIds: string[], started: number, cacheHit: boolean) {
    const id = newId();
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    await repo.recordServed(ctx.tenantId, { id, kind, userId, modelVersionId: model?.versionId ?? null, itemIds, latencyMs, cacheHit });
    return { id, latencyMs };
  }

  return {
    stats,
    /** Drops cached deployments, models' responses and settings of a tenant (after deploy, rollback, canary). */
    invalidate(tenantId: string): void {
      deployments.delete(tenantId);
      settingsCache.delete(tenantId);
      for (const k of cache.keys()) if (k.startsWith(`${tenantId}|`)) cache.delete(k);
    },

    async recommend(ctx: TenantContext, req: RecommendRequest) {
      const started = performance.now();
      const tenantId = ctx.tenantId;
      const history: StoredInteraction[] = req.userId ? await deps.interactions.listForUser(tenantId, req.userId, HISTORY) : [];
      const model = await resolveModel(tenantId, req.userId ?? null);
      const settings = await settingsOf(tenantId);
      // Precise invalidation: the key holds the user's newest interaction id, so any new interaction misses.
      const key = `${tenantId}|${model?.versionId ?? '-'}|${createHash('sha1')
        .update(JSON.stringify([req.userId ?? null, history[0]?.id ?? null, history.length, req.recentItems, req.count, req.filters, req.context.currentItem]))
        .digest('base64url')}`;
      const hit = cache.get(key);
      if (hit && Date.now() - hit.at < CACHE_TTL_MS) {
        stats.cacheHits++;
        const served = await recordServed(ctx, 'user', req.userId ?? null, model, hit.value.items.map((i) => i.itemId), started, true);
        return { ...hit.value, model, recommendationId: served.id, latencyMs: served.latencyMs, cacheHit: true };
      }
      stats.cacheMisses++;

      const exclude = new Set<string>(req.filters.excludeIds ?? []);
      if (req.context.currentItem) exclude.add(req.context.currentItem);
      const weightByItem = new Map<string, number>();
      const lastType = new Map<string, string>();
      for (const h of history) {
        if (!h.itemId) continue;
        if (h.type === 'purchase' && settings.excludePurchased) exclude.add(h.itemId);
        const w = interactionWeight(h.type, settings.weights);
        if (w > 0) weightByItem.set(h.itemId, (weightByItem.get(h.itemId) ?? 0) + w);
        const prev = lastType.get(h.itemId);
        if (!prev || (settings.weights[h.type] ?? 0) > (settings.weights[prev] ?? 0)) lastType.set(h.itemId, h.type);
      }
      for (const id of req.recentItems ?? []) if (!weightByItem.has(id)) weightByItem.set(id, settings.weights.view ?? 1);
      if (req.context.currentItem && !weightByItem.has(req.context.currentItem)) weightByItem.set(req.context.currentItem, settings.weights.view ?? 1);

      let rows: CatalogRow[] = [];
      const scoreOf = new Map<string, number>();
      const anchorOf = new Map<string, string>();
      let algorithm = 'none';
      let personalized = false;
      if (model) {
        const known = [...weightByItem].filter(([id]) => model.itemIndex.has(id));
        const ids = Int32Array.from(known, ([id]) => model.itemIndex.get(id)!);
        const ws = Float32Array.from(known, ([, w]) => Math.log1p(w));
        personalized = ids.length > 0 && model.model.type !== 'popularity';
        algorithm = personalized ? `${model.model.type} + real-time history` : `popularity (cold start, ${model.model.type} model)`;
        let scores = model.scratch;
        if (ids.length) scores = model.model.scoreUser(ids, ws, model.scratch);
        else scores.set(model.model.popularity);
        // a small popularity prior breaks ties among items the model scores equally (often 0)
        const pop = model.model.popularity;
        let maxPop = 0;
        for (let i = 0; i < pop.length; i++) if (pop[i]! > maxPop) maxPop = pop[i]!;
        if (maxPop > 0 && ids.length) for (let i = 0; i < scores.length; i++) scores[i]! += (1e-6 * pop[i]!) / maxPop;
        const ex = new Set<number>();
        for (const id of exclude) {
          const i = model.itemIndex.get(id);
          if (i !== undefined) ex.add(i);
        }
        const snapshot = Float32Array.from(scores);
        for (const want of [req.count * 4 + 20, 2000, model.itemIds.length]) {
          const ranked = rankIndices(model, Float32Array.from(snapshot), ex, want);
          rows = await hydrate(tenantId, ranked.map((i) => model.itemIds[i]!), req.filters, req.count);
          if (rows.length >= req.count || want >= model.itemIds.length) break;
        }
        const maxScore = Math.max(...rows.map((r) => snapshot[model.itemIndex.get(r.itemId)!]!), 1e-12);
        for (const r of rows) {
          const i = model.itemIndex.get(r.itemId)!;
          scoreOf.set(r.itemId, Math.max(0, snapshot[i]! / maxScore));
          if (personalized) {
            let best = 0;
            let anchor: string | undefined;
            for (const [hid] of known) {
              const a = model.model.pair(i, model.itemIndex.get(hid)!);
              if (a > best) {
                best = a;
                anchor = hid;
              }
            }
            if (anchor) anchorOf.set(r.itemId, anchor);
          }
        }
      }
      const anchors = [...new Set(anchorOf.values())];
      const anchorNames = new Map((anchors.length ? await repo.itemsByIds(tenantId, anchors) : []).map((r) => [r.itemId, r.name]));
      const items: RecommendedItem[] = rows.map((r, rank) => {
        const anchor = anchorOf.get(r.itemId);
        return {
          itemId: r.itemId,
          name: r.name,
          category: r.categoryPath,
          brand: r.brand,
          price: priceOf(r),
          currency: r.currency,
          imageUrl: r.imageUrl,
          availability: r.availability,
          score: Math.round((scoreOf.get(r.itemId) ?? 0) * 10_000) / 10_000,
          reason: reasonFor({
            personalized,
            anchorName: anchor ? (anchorNames.get(anchor) ?? anchor) : null,
            anchorType: anchor ? (lastType.get(anchor) ?? 'view') : null,
            category: req.filters.category ?? r.categoryPath,
            trending: !req.filters.category && rank < 3,
          }),
        };
      });
      const value = { items, algorithm };
      cache.set(key, { at: Date.now(), value });
      if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
      const served = await recordServed(ctx, 'user', req.userId ?? null, model, items.map((i) => i.itemId), started, false);
      return { ...value, model, recommendationId: served.id, latencyMs: served.latencyMs, cacheHit: false };
    },

    async similar(ctx: TenantContext, req: { itemId: string; count: number; filters: ItemFilters & { excludeIds?: string[] | undefined } }) {
      const started = performance.now();
      const tenantId = ctx.tenantId;
      const model = await resolveModel(tenantId, null);
      const index = model?.itemIndex.get(req.itemId);
      let rows: CatalogRow[] = [];
      const scoreOf = new Map<string, number>();
      if (model && index !== undefined) {
        const scores = model.model.scoreSimilar(index, model.scratch);
        const ex = new Set<number>([index]);
        for (const id of req.filters.excludeIds ?? []) {
          const i = model.itemIndex.get(id);
          if (i !== undefined) ex.add(i);
        }
        const snapshot = Float32Array.from(scores);
        for (const want of [req.count * 4 + 20, 2000]) {
          const ranked = rankIndices(model, Float32Array.from(snapshot), ex, want).filter((i) => snapshot[i]! > -Infinity);
          rows = await hydrate(tenantId, ranked.map((i) => model.itemIds[i]!), req.filters, req.count);
          if (rows.length >= req.count || ranked.length < want) break;
        }
        for (const r of rows) scoreOf.set(r.itemId, snapshot[model.itemIndex.get(r.itemId)!]!);
      } else {
        const [item] = await repo.itemsByIds(tenantId, [req.itemId]);
        if (!item) throw notFound('RECS_ITEM_NOT_FOUND', 'Item');
        // A cold item (no interactions in the model): the most popular items of its category.
        if (model && item.categoryPath) {
          const ranked = rankIndices(model, Float32Array.from(model.model.popularity), new Set(), 2000).map((i) => model.itemIds[i]!).filter((id) => id !== req.itemId);
          rows = await hydrate(tenantId, ranked, { ...req.filters, category: req.filters.category ?? item.categoryPath }, req.count);
        }
      }
      const items = rows.map((r) => ({
        itemId: r.itemId,
        name: r.name,
        category: r.categoryPath,
        brand: r.brand,
        price: priceOf(r),
        currency: r.currency,
        imageUrl: r.imageUrl,
        availability: r.availability,
        similarityScore: Math.round((scoreOf.get(r.itemId) ?? 0) * 10_000) / 10_000,
      }));
      const served = await recordServed(ctx, 'similar', null, model, items.map((i) => i.itemId), started, false);
      return { items, model, recommendationId: served.id, latencyMs: served.latencyMs };
    },
  };
}
export type ServingService = ReturnType<typeof createServingService>;
