import { type Db, inTenant } from '../../platform/index.ts';
import { type StyleSignal, confidenceOf, emptyLayers, foldSignals, signalWeight } from './newsfeed.core.ts';
import type { PreferencesRepository, StyleProfileRow } from './preferences.repository.ts';

/** An interaction as the style profile reads it (events' history: newest first). */
export interface ProfileInteraction {
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
  recentInteractions(tenantId: string, userId: string, limit: number): Promise<ProfileInteraction[]>;
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
 * Keeps style profiles current: `refresh` folds a user's interactions newer than the profile's last one into
 * its decayed layers (one transaction, an advisory lock per user so concurrent refreshes fold each event once).
 */
export function createStyleService(deps: StyleServiceDeps) {
  const { db, repo, clock } = deps;
  return {
    async refresh(tenantId: string, userId: string): Promise<{ profile: StyleProfileRow | undefined; folded: number }> {
      const recent = await deps.recentInteractions(tenantId, userId, 200);
      if (recent.length === 0) return { profile: await repo.profile(db, tenantId, userId), folded: 0 };
      // Read before the transaction: other modules' reads run on their own handle (one session on PGlite).
      const items = new Map((await deps.styleItems(tenantId, [...new Set(recent.map((f) => f.itemId))])).map((i) => [i.itemId, i]));
      return inTenant(db, tenantId, async (tx) => {
        await repo.lockProfile(tx, tenantId, userId);
        const current = await repo.profile(tx, tenantId, userId);
        const fresh = recent.filter((r) => !current?.lastEventId || r.id > current.lastEventId).reverse();
        if (fresh.length === 0) return { profile: current, folded: 0 };
        const now = clock();
        const signals: StyleSignal[] = [];
        const events = [];
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
          events.push({ eventType: f.type, sourceType: 'interaction', sourceId: f.id, weight: signalWeight(s), createdAt: new Date(s.at) });
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
        await repo.saveProfile(tx, tenantId, next);
        await repo.addEvents(tx, tenantId, userId, events);
        if (!current) await repo.snapshot(tx, tenantId, userId, next, 'first interactions', now);
        else if (Math.floor(eventsCount / SNAPSHOT_EVERY) > Math.floor(base.eventsCount / SNAPSHOT_EVERY))
          await repo.snapshot(tx, tenantId, userId, next, `${Math.floor(eventsCount / SNAPSHOT_EVERY) * SNAPSHOT_EVERY} interactions`, now);
        return { profile: next, folded: fresh.length };
      });
    },
  };
}
