/**
 * Serving: models loaded per tenant (LRU across tenants), scored against the tenant's in-memory catalog snapshot
 * and the user's cached recent history (`history.cache.ts`, kept fresh by change announcements and markers), so a
 * response needs no SQL in the steady state. Filters are masks over the model's items; the served log is
 * written in batches (`served.log.ts`); each response carries a `recommendation_id` for attribution.
 */
import { buffer as streamToBuffer } from 'node:stream/consumers';
import { type Q, type ObjectStorage, type TenantContext, currencyExponent, newId, notFound } from '../../../platform/index.ts';
import { type UserHistory, createServingCache } from './history.cache.ts';
import { canaryBucket, interactionWeight, reasonFor } from '../recs.core.ts';
import { type DecodedModel, INDEX_CHUNK, decodeServingModel, yieldToLoop } from './model.load.ts';
import type { DeploymentRow, RecsRepository } from '../recs.repository.ts';
import { createServedLog } from './served.log.ts';
import {
  type CatalogSnapshot,
  type ItemFilters,
  filterKey,
  isPresent,
  positionsOfInTurns,
  servableMask,
  topAllowed,
} from './catalog.snapshot.ts';
import { recsSettings } from '../recs.settings.ts';
import { type ColdStart, coldStartOf, contentScores, type Strategy } from './cold-start.ts';
import { MAP_ENTRY_BYTES, type TenantServingMemory, objectBytes, pushedArrayBytes, stringBytes } from './serving.memory.ts';

/** A model aligned with one catalog snapshot: where each model item sits in it, and masks per filter. */
interface Alignment {
  snapshot: CatalogSnapshot;
  size: number;
  positions: Int32Array;
  revision: number;
  masks: Map<string, Uint8Array>;
}

export interface LoadedModel extends DecodedModel {
  versionId: string;
  version: string;
  alignment: Alignment | undefined;
  /** The alignment being built, for the snapshot it is built for (one build per model and snapshot). */
  aligning: { snapshot: CatalogSnapshot; size: number; done: Promise<Alignment> } | undefined;
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
/** Served-log rows per statement on PGlite (see `served.log.ts`). */
const SERVED_ROWS_PER_WRITE_EMBEDDED = 200;

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
  const colds = new Map<string, { at: number; value: Promise<ColdStart>; bytes: number }>();
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
      const entry = { at: nowMs(), value, bytes: 0 };
      colds.set(tenantId, entry);
      value.then(
        (c) => void (entry.bytes = c.scores.byteLength),
        () => colds.get(tenantId)?.value === value && colds.delete(tenantId),
      );
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
  // On PGlite a statement runs on the serving thread, 0.8 ms + 25 us per row: 200 rows (~5 ms) per statement, the
  // loop turning between them (5,000-row batches held every request for 120 ms and more).
  const served = createServedLog({
    write: (tenantId, rows) => repo.recordServedMany(db, tenantId, rows),
    log: deps.log,
    ...(deps.shared ? {} : { rowsPerWrite: SERVED_ROWS_PER_WRITE_EMBEDDED }),
  });
  const deployments = ttlCache(DEPLOYMENT_TTL_MS, nowMs, (tenantId) => repo.deployment(db, tenantId));
  const settings = ttlCache(DEPLOYMENT_TTL_MS, nowMs, async (tenantId) => {
    const value = recsSettings(await repo.tenantSettings(tenantId));
    return { ...value, key: JSON.stringify([value.weights, value.excludePurchased]) };
  });

  async function load(tenantId: string, versionId: string): Promise<LoadedModel> {
    const v = await repo.getVersion(db, tenantId, versionId);
    if (!v) throw new Error('model version not found');
    // decoded in slices and indexed in turns: a large model decoded in one go blocked every request of the process
    const decoded = await decodeServingModel(await streamToBuffer(await deps.storage.get(tenantId, v.artifactKey)));
    if (v.loadError) await repo.setLoadError(db, tenantId, v.id, null);
    return { versionId: v.id, version: v.version, ...decoded, alignment: undefined, aligning: undefined };
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

  /**
   * The model aligned with snapshot `s` (where each model item sits in it). Built in turns of the event loop when
   * the snapshot is new (a deploy, a reload, appended items); requests of the tenant meanwhile wait for it.
   */
  function alignTo(m: LoadedModel, s: CatalogSnapshot): Alignment | Promise<Alignment> {
    const a = m.alignment;
    if (a && a.snapshot === s && a.size === s.ids.length) return a;
    const b = m.aligning;
    if (b && b.snapshot === s && b.size === s.ids.length) return b.done;
    const size = s.ids.length;
    const done = positionsOfInTurns(s, m.itemIds, INDEX_CHUNK, yieldToLoop).then((positions) => {
      const fresh: Alignment = { snapshot: s, size, positions, revision: s.revision, masks: new Map() };
      // a newer snapshot's alignment may have landed first: keep the newest as the model's
      if (!m.alignment || m.alignment.snapshot === s || m.aligning?.done === done) m.alignment = fresh;
      if (m.aligning?.done === done) m.aligning = undefined;
      return fresh;
    });
    m.aligning = { snapshot: s, size, done };
    return done;
  }

  /** Which model items `filters` allow in the aligned snapshot (cached per alignment, snapshot revision and filters). */
  function maskOf(a: Alignment, filters: ItemFilters): { mask: Uint8Array; positions: Int32Array } {
    const s = a.snapshot;
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

  /** Estimated bytes this process holds for the tenant (models it loaded, caches); see `serving.memory.ts`. */
  function memory(tenantId: string): TenantServingMemory {
    const loaded: TenantServingMemory['models'] = [];
    for (const [key, m] of models) {
      if (!key.startsWith(`${tenantId}:`) || m instanceof Promise) continue;
      let masks = 0;
      if (m.alignment) {
        masks = m.alignment.positions.byteLength;
        for (const [k, mask] of m.alignment.masks) masks += MAP_ENTRY_BYTES + stringBytes(k) + mask.byteLength;
      }
      loaded.push({ versionId: m.versionId, version: m.version, bytes: m.bytes + masks });
    }
    let responseBytes = 0;
    let responseCount = 0;
    for (const [key, r] of responses) {
      if (!key.startsWith(`${tenantId}|`)) continue;
      responseCount++;
      const v = r.value;
      responseBytes += MAP_ENTRY_BYTES + stringBytes(key) + objectBytes(2) + objectBytes(3) + stringBytes(v.algorithm);
      responseBytes += pushedArrayBytes(v.items.length);
      for (const item of v.items) responseBytes += objectBytes(10) + stringBytes(item.reason);
    }
    const held = cache.memory(tenantId);
    const coldStartBytes = colds.get(tenantId)?.bytes ?? 0;
    const modelBytes = loaded.reduce((a, m) => a + m.bytes, 0);
    return {
      models: loaded,
      ...held,
      responseBytes,
      responses: responseCount,
      coldStartBytes,
      totalBytes: modelBytes + held.catalogBytes + held.historyBytes + responseBytes + coldStartBytes,
    };
  }

  return {
    stats,
    memory,
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
        // awaited before scoring: from the score buffer's first write to the ranking's last read nothing may yield
        const aligned = await alignTo(model, snapshot);
        const scores = ids.length ? model.model.scoreUser(ids, ws, model.scratch) : model.model.popularity;
        const { mask, positions } = maskOf(aligned, req.filters);
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
        const aligned = await alignTo(model, snapshot); // before scoring: nothing may yield while the score buffer is in use
        const scores = model.model.scoreSimilar(index, model.scratch);
        const { mask, positions } = maskOf(aligned, req.filters);
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
