import { type Db, inTenant } from '../../platform/index.ts';
import { type StyleSignal, confidenceOf, emptyLayers, foldSignals, signalWeight } from './newsfeed.core.ts';
import type { PreferencesRepository, StyleProfileRow } from './preferences.repository.ts';

/** An interaction as the style profile reads it (events' history: newest first per user). */
export interface ProfileInteraction {
  userId: string;
  id: string;
  itemId: string;
  type: string;
}

/** Item attributes the style layers learn from (catalog). */
export interface StyleItem {
  itemId: string;
  category: string | null;
  brand: string | null;
  priceMajor: number | null;
  style: string[];
  occasion: string[];
}

export interface StyleServiceDeps {
  db: Db;
  repo: PreferencesRepository;
  clock: () => Date;
  /** The `limit` newest interactions of each of these users (newest first per user). */
  recentInteractions(tenantId: string, userIds: readonly string[], limit: number): Promise<ProfileInteraction[]>;
  styleItems(tenantId: string, itemIds: readonly string[]): Promise<StyleItem[]>;
}

/** Milliseconds since the epoch encoded in a UUIDv7 (its first 48 bits); NaN for other ids. */
export function uuidv7Time(id: string): number {
  const hex = id.replace(/-/g, '');
  return /^[0-9a-f]{32}$/i.test(hex) && hex[12] === '7' ? Number.parseInt(hex.slice(0, 12), 16) : Number.NaN;
}

/** Snapshot reasons: the first profile, and every 50 folded interactions after it. */
const SNAPSHOT_EVERY = 50;

/**
 * Keeps style profiles current: `refreshMany` folds each user's interactions newer than their profile's last one
 * into its decayed layers, for a whole set of users at once: one read of their recent interactions, one of the
 * items, then ONE transaction with a fixed number of set-based statements whatever the number of users (advisory
 * locks on all of them in sorted order, so concurrent refreshes fold each event once; their profiles; the new
 * profiles, folded events and snapshots). `refresh` is the same for one user.
 */
export function createStyleService(deps: StyleServiceDeps) {
  const { db, repo, clock } = deps;

  async function refreshMany(
    tenantId: string,
    userIds: readonly string[],
  ): Promise<Map<string, { profile: StyleProfileRow | undefined; folded: number }>> {
    const users = [...new Set(userIds)];
    const out = new Map<string, { profile: StyleProfileRow | undefined; folded: number }>();
    if (!users.length) return out;
    const recentByUser = new Map<string, ProfileInteraction[]>();
    for (const r of await deps.recentInteractions(tenantId, users, 200)) {
      const list = recentByUser.get(r.userId) ?? [];
      list.push(r);
      recentByUser.set(r.userId, list);
    }
    const withRecent = users.filter((u) => recentByUser.has(u));
    if (withRecent.length < users.length) {
      const stored = new Map(
        (
          await repo.profilesOf(
            db,
            tenantId,
            users.filter((u) => !recentByUser.has(u)),
          )
        ).map((p) => [p.userId, p]),
      );
      for (const u of users) if (!recentByUser.has(u)) out.set(u, { profile: stored.get(u), folded: 0 });
    }
    if (!withRecent.length) return out;
    // Read before the transaction: other modules' reads run on their own handle (one session on PGlite).
    const itemIds = new Set<string>();
    for (const list of recentByUser.values()) for (const r of list) itemIds.add(r.itemId);
    const items = new Map((await deps.styleItems(tenantId, [...itemIds])).map((i) => [i.itemId, i]));
    const results = await inTenant(db, tenantId, async (tx) => {
      await repo.lockProfiles(tx, tenantId, withRecent);
      const currentOf = new Map((await repo.profilesOf(tx, tenantId, withRecent)).map((p) => [p.userId, p]));
      const now = clock();
      const saves: StyleProfileRow[] = [];
      const events: { userId: string; eventType: string; sourceType: string; sourceId: string; weight: number; createdAt: Date }[] = [];
      const snaps: { profile: StyleProfileRow; reason: string }[] = [];
      const res = new Map<string, { profile: StyleProfileRow | undefined; folded: number }>();
      for (const userId of withRecent) {
        const current = currentOf.get(userId);
        const fresh = recentByUser
          .get(userId)!
          .filter((r) => !current?.lastEventId || r.id > current.lastEventId)
          .reverse();
        if (fresh.length === 0) {
          res.set(userId, { profile: current, folded: 0 });
          continue;
        }
        const signals: StyleSignal[] = [];
        for (const f of fresh) {
          const item = items.get(f.itemId);
          const at = uuidv7Time(f.id);
          const s: StyleSignal = {
            type: f.type,
            source: 'organic',
            at: Number.isNaN(at) ? now.getTime() : at,
            style: item?.style ?? [],
            occasion: item?.occasion ?? [],
            category: item?.category ?? null,
            brand: item?.brand ?? null,
            priceMajor: item?.priceMajor ?? null,
          };
          signals.push(s);
          events.push({
            userId,
            eventType: f.type,
            sourceType: 'interaction',
            sourceId: f.id,
            weight: signalWeight(s),
            createdAt: new Date(s.at),
          });
        }
        const base = current ?? { layers: emptyLayers(), decayedAt: new Date(signals[0]!.at), eventsCount: 0 };
        const folded = foldSignals(base.layers, base.decayedAt.getTime(), signals);
        const eventsCount = base.eventsCount + fresh.length;
        const next: StyleProfileRow = {
          userId,
          layers: folded.layers,
          confidence: confidenceOf(eventsCount),
          eventsCount,
          lastEventId: fresh[fresh.length - 1]!.id,
          decayedAt: new Date(folded.asOf),
          updatedAt: now,
        };
        saves.push(next);
        if (!current) snaps.push({ profile: next, reason: 'first interactions' });
        else if (Math.floor(eventsCount / SNAPSHOT_EVERY) > Math.floor(base.eventsCount / SNAPSHOT_EVERY))
          snaps.push({ profile: next, reason: `${Math.floor(eventsCount / SNAPSHOT_EVERY) * SNAPSHOT_EVERY} interactions` });
        res.set(userId, { profile: next, folded: fresh.length });
      }
      await repo.saveProfiles(tx, tenantId, saves);
      await repo.addEvents(tx, tenantId, events);
      await repo.snapshotMany(tx, tenantId, snaps, now);
      return res;
    });
    for (const [u, r] of results) out.set(u, r);
    return out;
  }

  return {
    refreshMany,
    async refresh(tenantId: string, userId: string): Promise<{ profile: StyleProfileRow | undefined; folded: number }> {
      return (await refreshMany(tenantId, [userId])).get(userId)!;
    },
  };
}
