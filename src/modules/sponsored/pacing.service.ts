/**
 * The traffic even pacing follows: placement requests counted per tenant and UTC hour (in memory, added to
 * sponsored_traffic_hours every few seconds, one statement for every tenant), and each tenant's traffic curve
 * read from the last four weeks: the same weekday's hours when there are enough of them (a shop's Sunday is not
 * its Tuesday), else every day's, else none (flat, the clock's hours).
 */
import { LRUCache } from 'lru-cache';
import { type TrafficCurve, isoWeekday, trafficCurveFor } from './sponsored.core.ts';
import type { Q, SponsoredRepository } from './sponsored.repository.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How long a tenant's curve is reused before it is read again. */
const CURVE_TTL_MS = 10 * 60_000;
/** Traffic older than this is deleted (a little more than the four weeks read). */
const KEEP_DAYS = 35;

export interface PacingTrafficDeps {
  db: Q;
  repo: SponsoredRepository;
  clock: () => Date;
  /** How often counted requests are written (default 5 s). */
  flushMs?: number;
}

export function createPacingTraffic(deps: PacingTrafficDeps) {
  const { db, repo, clock } = deps;
  let pending = new Map<string, { tenantId: string; hour: Date; requests: number }>();
  // the promise per (tenant, UTC day): a burst of first requests reads once
  const curves = new LRUCache<string, Promise<TrafficCurve | null>>({ max: 10_000, ttl: CURVE_TTL_MS });
  let lastPrune = 0;

  async function load(tenantId: string, now: Date): Promise<TrafficCurve | null> {
    const today = Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00.000Z`);
    const rows = await repo.trafficByHour(db, tenantId, new Date(today - 28 * DAY_MS), new Date(today));
    return trafficCurveFor(rows, isoWeekday(now));
  }

  async function flush(): Promise<void> {
    if (!pending.size) return;
    const batch = pending;
    pending = new Map();
    try {
      await repo.addTraffic(db, [...batch.values()]);
    } catch (err) {
      // put the counts back: a failed write loses nothing
      for (const [k, v] of batch) {
        const p = pending.get(k);
        if (p) p.requests += v.requests;
        else pending.set(k, v);
      }
      throw err;
    }
    const now = clock().getTime();
    if (now - lastPrune > HOUR_MS) {
      lastPrune = now;
      await repo.pruneTraffic(db, new Date(now - KEEP_DAYS * DAY_MS));
    }
  }

  const timer = setInterval(() => void flush().catch(() => undefined), deps.flushMs ?? 5_000);
  timer.unref();

  return {
    /** Counts one placement request of the tenant at `now`. */
    count(tenantId: string, now: Date): void {
      const hour = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
      const key = `${tenantId}|${hour.getTime()}`;
      const p = pending.get(key);
      if (p) p.requests++;
      else pending.set(key, { tenantId, hour, requests: 1 });
    },
    /** The tenant's expected share of a day's requests per UTC hour for `now`'s weekday, or null (flat). */
    curve(tenantId: string, now: Date): Promise<TrafficCurve | null> {
      const key = `${tenantId}|${now.toISOString().slice(0, 10)}`;
      const hit = curves.get(key);
      if (hit) return hit;
      const read = load(tenantId, now);
      curves.set(key, read);
      read.catch(() => curves.delete(key));
      return read;
    },
    /** Writes the requests counted since the last flush (also on close). */
    flush,
    /** Stops the timer after a last flush. */
    async stop(): Promise<void> {
      clearInterval(timer);
      await flush();
    },
  };
}
export type PacingTraffic = ReturnType<typeof createPacingTraffic>;
