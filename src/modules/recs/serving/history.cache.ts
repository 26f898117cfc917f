/**
 * What serving keeps in memory per tenant, and how it stays fresh: the catalog snapshot (`catalog.snapshot.ts`)
 * and the recent history of the users being served.
 *
 * Freshness, within this process: the catalog and events modules announce every write (`itemsChanged`,
 * `interactionsAppended`); the next request applies them before it ranks (a delta read of the changed items;
 * the user's history is dropped and re-read). Nothing announced is ever served stale.
 *
 * Across processes (`shared`: PostgreSQL, where an API replica or a worker may write): each tenant's change
 * markers are read at most every CHECK_AHEAD_MS under load (in the background) and before any request when
 * the last read is older than MAX_AGE_MS: the catalog's newest `updated_at` and its count of deleted items, both
 * read through an index in constant time (a delta read when the newest moved, a full reload after a deletion), and the users with interactions written in the last
 * OVERLAP_MS (UUIDv7 ids carry their time) whose newest id is newer than their cached history. So a write in
 * another process is served within about a second. Writes whose commit lands more than OVERLAP_MS after their
 * timestamp could slip between two reads; a full catalog reload and history expiry every RESYNC_MS bound that.
 * PGlite is embedded and single-process: every write is announced, no marker is read.
 */
import type { RecsRepository } from '../recs.repository.ts';
import { type CatalogSnapshot, applyItemRows, emptySnapshot } from './catalog.snapshot.ts';
import { historyBytes, snapshotBytes } from './serving.memory.ts';

const CHECK_AHEAD_MS = 400;
const MAX_AGE_MS = 1000;
const OVERLAP_MS = 5000;
const RESYNC_MS = 5 * 60_000;
/** Users per read-ahead query: small enough that requests interleave between pages. */
const WARM_PAGE = 50;
/**
 * PGlite runs the read-ahead query on the serving thread: 50 users' histories (about 2,500 rows on Yelp2018 data,
 * up to 10,000) held every request for 25-70 ms. There the users per query follow the rows the last page returned,
 * aiming at WARM_ROWS_EMBEDDED rows (a few ms) a statement.
 */
const WARM_ROWS_EMBEDDED = 500;
/**
 * Catalog rows applied per turn of the event loop in a full reload: a Yelp2018-size catalog (38k items) built in
 * one go held the loop for tens of ms, every request arriving meanwhile waiting behind it (the tail at a fixed rate).
 */
const RELOAD_CHUNK = 2000;
/**
 * Catalog rows read per statement in a full reload (keyset pages in item-id order): a 100k-item catalog read in one
 * statement held the embedded database's one connection for 10-15 s, every other request's reads queued behind it.
 */
const RELOAD_PAGE = 5000;
/** The same on PGlite, whose statements run on the serving thread: 5,000 rows held it for 60-270 ms, 500 about 6-25. */
const RELOAD_PAGE_EMBEDDED = 500;
/** Distinct interaction types kept as shared strings (built-in ones and a tenant's custom ones; beyond: as read). */
const MAX_TYPES = 1000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A user's recent interactions, newest first; `gen` is unique per read, so responses can be cached by it. */
export interface UserHistory {
  readonly gen: number;
  readonly itemIds: readonly string[];
  readonly types: readonly string[];
  /** Newest interaction id read (UUIDv7 text), to tell whether a later write is already included. */
  readonly newestId: string;
  readonly loadedAt: number;
}

interface TenantCache {
  snapshot: CatalogSnapshot | undefined;
  /** Item ids announced as changed and not applied yet; 'all' after a change of unknown extent. */
  pending: Set<string> | 'all';
  /** The one catalog read in flight (first load, announced changes, or markers). */
  syncing: Promise<void> | undefined;
  checkedAt: number;
  resyncedAt: number;
  /** The catalog's count of deleted items when the snapshot was last reloaded (shared mode; read before it). */
  deleted: string | undefined;
  users: Map<string, UserHistory>;
  userLoads: Map<string, Promise<UserHistory>>;
  /** Users announced while the read-ahead pass runs: it must not store what it read of them. */
  touched: Set<string>;
  warming: 'not yet' | 'running' | 'done';
}

export interface ServingCacheDeps {
  repo: Pick<RecsRepository, 'servingItems' | 'catalogMarker' | 'userHistories' | 'recentUsers' | 'usersWithInteractionsSince'>;
  /** True when other processes may write the same database (PostgreSQL): change markers are read. */
  shared: boolean;
  log: { warn(obj: unknown, msg: string): void };
  /** Interactions kept per user (most recent first). */
  historyLength: number;
  /** Users whose history is kept per tenant (least recently used dropped first). */
  maxUsers?: number;
  /**
   * Histories read ahead, in the background, when a tenant is first served: its most recently active users, up
   * to this many (default maxUsers; 0 = none). Without it every user's first request pays a database read.
   */
  warmUsers?: number;
  /** Tenants kept (least recently used dropped first). */
  maxTenants?: number;
  now?: () => number;
}

/** The lowest UUIDv7 (as text) of the given millisecond: ids at or after it were created at or after it. */
export function uuidv7Floor(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}

export function createServingCache(deps: ServingCacheDeps) {
  const { repo } = deps;
  const now = deps.now ?? Date.now;
  const maxUsers = deps.maxUsers ?? 100_000;
  const maxTenants = deps.maxTenants ?? 64;
  const warmUsers = deps.warmUsers ?? maxUsers;
  const tenants = new Map<string, TenantCache>();
  let gen = 0;

  function tenant(tenantId: string): TenantCache {
    let t = tenants.get(tenantId);
    if (t) {
      tenants.delete(tenantId);
      tenants.set(tenantId, t);
      return t;
    }
    t = {
      snapshot: undefined,
      pending: new Set(),
      syncing: undefined,
      checkedAt: 0,
      resyncedAt: 0,
      deleted: undefined,
      users: new Map(),
      userLoads: new Map(),
      touched: new Set(),
      warming: 'not yet',
    };
    tenants.set(tenantId, t);
    while (tenants.size > maxTenants) tenants.delete(tenants.keys().next().value!);
    return t;
  }

  const hasPending = (t: TenantCache) => t.pending === 'all' || t.pending.size > 0;
  const due = (t: TenantCache, ms: number) => deps.shared && now() - t.checkedAt > ms;

  async function reload(tenantId: string, t: TenantCache): Promise<void> {
    const started = now();
    // read before the rows: a deletion made while they are read shows at the next check, and is reloaded then
    const deleted = deps.shared ? (await repo.catalogMarker(tenantId)).deleted : undefined;
    // built beside the one being served, a page per statement and a chunk per turn of the loop, so requests go on meanwhile
    const fresh = emptySnapshot();
    let after = '';
    let pages = 0;
    const pageSize = deps.shared ? RELOAD_PAGE : RELOAD_PAGE_EMBEDDED;
    for (;;) {
      if (pages > 0) await yieldToLoop();
      const rows = await repo.servingItems(tenantId, { page: { after, limit: pageSize } });
      pages++;
      for (let at = 0; at < rows.length; at += RELOAD_CHUNK) {
        if (at > 0) await yieldToLoop();
        applyItemRows(fresh, rows.slice(at, at + RELOAD_CHUNK));
      }
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1]!.itemId;
    }
    // Pages read at different times: an item changed in another process after its page was read may be older than
    // the newest row of a later page. The next marker check then reads every change since the reload began.
    if (pages > 1 && fresh.maxUpdatedAt > started) fresh.maxUpdatedAt = started;
    // a reload is a new revision too: responses cached against the old snapshot must miss
    fresh.revision = (t.snapshot?.revision ?? 0) + 1;
    t.snapshot = fresh;
    t.deleted = deleted;
    t.resyncedAt = now();
  }

  /** Reads announced changes, then (shared) the markers; one at a time per tenant. */
  async function syncOnce(tenantId: string, t: TenantCache): Promise<void> {
    const started = now();
    const pending = t.pending;
    t.pending = new Set();
    try {
      if (!t.snapshot || pending === 'all' || (deps.shared && started - t.resyncedAt > RESYNC_MS)) {
        await reload(tenantId, t);
      } else if (pending.size) {
        const ids = [...pending];
        const rows = await repo.servingItems(tenantId, { itemIds: ids });
        const found = new Set(rows.map((r) => r.itemId));
        applyItemRows(
          t.snapshot,
          rows,
          ids.filter((id) => !found.has(id)),
        );
      }
    } catch (err) {
      // not applied: keep the announcements for the next attempt
      const since = t.pending as Set<string> | 'all'; // announced while this read ran
      if (pending === 'all' || since === 'all') t.pending = 'all';
      else for (const id of pending) since.add(id);
      throw err;
    }
    if (!deps.shared || started - t.checkedAt <= CHECK_AHEAD_MS) return;
    const [marker, users] = await Promise.all([
      repo.catalogMarker(tenantId),
      repo.usersWithInteractionsSince(tenantId, uuidv7Floor(started - OVERLAP_MS)),
    ]);
    for (const u of users) {
      const h = t.users.get(u.userId);
      if (h && h.newestId < u.newestId) t.users.delete(u.userId);
      const inflight = t.userLoads.get(u.userId);
      if (inflight) {
        t.userLoads.delete(u.userId);
        // A read in flight may have begun after this interaction was written (a history is read beside the tenant's
        // first catalog load): kept when it holds it. A later one is reported again by the next checks (OVERLAP_MS).
        inflight.then(
          (loaded) => {
            if (loaded.newestId >= u.newestId && !t.users.has(u.userId) && !t.userLoads.has(u.userId)) keep(t, u.userId, loaded);
          },
          () => undefined,
        );
      }
      if (t.warming === 'running') t.touched.add(u.userId);
    }
    const s = t.snapshot!;
    if (marker.deleted !== t.deleted) await reload(tenantId, t);
    else if (marker.updatedAt > s.maxUpdatedAt)
      applyItemRows(s, await repo.servingItems(tenantId, { updatedSince: new Date(s.maxUpdatedAt - OVERLAP_MS) }));
    t.checkedAt = started;
  }

  function sync(tenantId: string, t: TenantCache): Promise<void> {
    t.syncing ??= syncOnce(tenantId, t).finally(() => {
      t.syncing = undefined;
    });
    return t.syncing;
  }

  /** Brings the tenant's cache up to date when it must be; refreshes ahead in the background when it soon must. */
  async function fresh(tenantId: string, t: TenantCache): Promise<CatalogSnapshot> {
    while (!t.snapshot || hasPending(t) || due(t, MAX_AGE_MS)) await sync(tenantId, t);
    if (due(t, CHECK_AHEAD_MS) && !t.syncing) {
      sync(tenantId, t).catch((err: unknown) =>
        deps.log.warn({ err, tenantId }, 'serving cache refresh failed; retried on the next request'),
      );
    }
    return t.snapshot;
  }

  /** One string per interaction type across tenants: a history holds references, not a copy per row. */
  const types = new Map<string, string>();
  const sharedType = (type: string): string => {
    const known = types.get(type);
    if (known !== undefined) return known;
    if (types.size < MAX_TYPES) types.set(type, type);
    return type;
  };

  /**
   * Histories of `userIds` in one read (users without interactions get an empty history). Item ids are the
   * catalog snapshot's own strings where it holds them: a Yelp2018-size tenant's histories were over a million
   * strings read per row (and as many type names), all of them for the collector to mark on every major GC.
   */
  async function readHistories(tenantId: string, t: TenantCache, userIds: readonly string[]): Promise<Map<string, UserHistory>> {
    const rows = await repo.userHistories(tenantId, userIds, deps.historyLength);
    const at = now();
    const snapshot = t.snapshot;
    const out = new Map<string, { itemIds: string[]; types: string[]; newestId: string }>(
      userIds.map((u) => [u, { itemIds: [], types: [], newestId: '' }]),
    );
    for (const r of rows) {
      const h = out.get(r.userId)!;
      const p = snapshot?.index.get(r.itemId);
      h.itemIds.push(p === undefined ? r.itemId : snapshot!.ids[p]!);
      h.types.push(sharedType(r.type));
      if (r.id > h.newestId) h.newestId = r.id;
    }
    return new Map([...out].map(([u, h]) => [u, { ...h, gen: ++gen, loadedAt: at }]));
  }

  function keep(t: TenantCache, userId: string, h: UserHistory): void {
    t.users.set(userId, h);
    while (t.users.size > maxUsers) t.users.delete(t.users.keys().next().value!);
  }

  /**
   * Reads histories ahead: the most recently active users (up to `warmUsers`), a page of users per query (on PGlite
   * sized to about WARM_ROWS_EMBEDDED rows), and idle as long as each page took, so requests keep at least half of
   * the time. Users announced during the pass, or read on demand meanwhile, are left alone. (The per-user reads are index lookups whatever the planner's statistics: PGlite never analyzes.)
   */
  async function warm(tenantId: string, t: TenantCache): Promise<void> {
    const users = await repo.recentUsers(tenantId, Math.min(warmUsers, maxUsers));
    // PGlite: users per query follow the rows per user seen so far (WARM_ROWS_EMBEDDED); PostgreSQL: WARM_PAGE
    let pageUsers = deps.shared ? WARM_PAGE : Math.min(WARM_PAGE, 10);
    for (let start = 0; start < users.length && tenants.get(tenantId) === t; ) {
      const end = start + pageUsers;
      const page = users.slice(start, end).filter((u) => !t.users.has(u) && !t.userLoads.has(u));
      start = end;
      if (!page.length) continue;
      const started = now();
      const read = await readHistories(tenantId, t, page);
      if (!deps.shared) {
        let rows = 0;
        for (const h of read.values()) rows += h.itemIds.length;
        pageUsers = Math.max(1, Math.min(WARM_PAGE, Math.floor((page.length * WARM_ROWS_EMBEDDED) / Math.max(rows, 1))));
      }
      // at most half of the time reading ahead: on PGlite the reads and their parsing share the serving thread
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, now() - started)));
      // most recent users first in `users`: inserted in reverse so they end up last in the LRU order
      for (const u of page.reverse()) if (!t.touched.has(u) && !t.users.has(u) && !t.userLoads.has(u)) t.users.set(u, read.get(u)!);
      while (t.users.size > maxUsers) t.users.delete(t.users.keys().next().value!);
    }
  }

  /** Snapshot sizes by revision: a memory report walks each snapshot's strings once per change, not per ask. */
  const sized = new WeakMap<CatalogSnapshot, { revision: number; items: number; bytes: number }>();

  return {
    /**
     * What this cache holds for the tenant (estimated bytes, `serving.memory.ts`); zeros when it holds nothing.
     * Walks the tenant's cached histories (up to maxUsers): meant for a report, not for a request path.
     */
    memory(tenantId: string): { catalogBytes: number; catalogItems: number; historyBytes: number; historyUsers: number } {
      const t = tenants.get(tenantId);
      const s = t?.snapshot;
      let catalogBytes = 0;
      if (s) {
        let e = sized.get(s);
        if (!e || e.revision !== s.revision || e.items !== s.ids.length) {
          e = { revision: s.revision, items: s.ids.length, bytes: snapshotBytes(s) };
          sized.set(s, e);
        }
        catalogBytes = e.bytes;
      }
      let users = 0;
      if (t) for (const [u, h] of t.users) users += historyBytes(u, h);
      return { catalogBytes, catalogItems: s?.ids.length ?? 0, historyBytes: users, historyUsers: t?.users.size ?? 0 };
    },

    /** The tenant's catalog snapshot, with every announced change applied. */
    catalog: (tenantId: string): Promise<CatalogSnapshot> => fresh(tenantId, tenant(tenantId)),

    /**
     * Whether the tenant's catalog snapshot is loaded. When it is not, its load starts in the background and this
     * answers false: a caller that must not wait (the newsfeed's first page after a restart) serves without it.
     */
    catalogReady(tenantId: string): boolean {
      const t = tenant(tenantId);
      if (t.snapshot) return true;
      sync(tenantId, t).catch((err: unknown) =>
        deps.log.warn({ err, tenantId }, 'serving catalog load failed; retried on the next request'),
      );
      return false;
    },

    /**
     * A user's recent history (cached; re-read after they interact). It does not wait for the tenant's first
     * catalog load (a history needs none of it; a 100k-item catalog takes seconds on the embedded database): that
     * load starts beside it.
     */
    async history(tenantId: string, userId: string): Promise<UserHistory> {
      const t = tenant(tenantId);
      if (t.snapshot) await fresh(tenantId, t);
      else
        sync(tenantId, t).catch((err: unknown) =>
          deps.log.warn({ err, tenantId }, 'serving catalog load failed; retried on the next request'),
        );
      const h = t.users.get(userId);
      if (h && !(deps.shared && now() - h.loadedAt > RESYNC_MS)) {
        t.users.delete(userId);
        t.users.set(userId, h);
        return h;
      }
      if (t.warming === 'not yet' && warmUsers > 0) {
        t.warming = 'running';
        warm(tenantId, t)
          .catch((err: unknown) => deps.log.warn({ err, tenantId }, 'reading user histories ahead failed; they are read on demand'))
          .finally(() => {
            t.warming = 'done';
            t.touched.clear();
          });
      }
      let load = t.userLoads.get(userId);
      if (!load) {
        const p: Promise<UserHistory> = readHistories(tenantId, t, [userId]).then((read) => {
          const loaded = read.get(userId)!;
          // an interaction announced while this read was in flight removed it from userLoads: do not keep it
          if (t.userLoads.get(userId) === p) {
            t.userLoads.delete(userId);
            keep(t, userId, loaded);
          }
          return loaded;
        });
        p.catch(() => t.userLoads.get(userId) === p && t.userLoads.delete(userId));
        t.userLoads.set(userId, p);
        load = p;
      }
      return load;
    },

    /** Items written in this process (null: an unknown set, e.g. a category moved its items). */
    itemsChanged(tenantId: string, itemIds: readonly string[] | null): void {
      const t = tenants.get(tenantId);
      if (!t) return;
      if (itemIds === null || t.pending === 'all') t.pending = 'all';
      else for (const id of itemIds) t.pending.add(id);
    },

    /** Interactions written in this process: these users' histories are re-read on their next request. */
    interactionsAppended(tenantId: string, userIds: readonly string[]): void {
      const t = tenants.get(tenantId);
      if (!t) return;
      for (const u of userIds) {
        t.users.delete(u);
        t.userLoads.delete(u);
        if (t.warming === 'running') t.touched.add(u);
      }
    },
  };
}
