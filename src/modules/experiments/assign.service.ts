/**
 * Assignment: which variant of each experiment a unit (person, user or anonymous visitor) sees. The tenant's
 * configuration lives in memory (dropped on every change, and after 30 s at most for changes made by another
 * replica); exposures are logged in batches, so an assignment costs no write on the request path.
 */
import Bowser from 'bowser';
import { LRUCache } from 'lru-cache';
import type { Db, TenantContext } from '../../platform/index.ts';
import { AppError, requirePermission } from '../../platform/index.ts';
import { type AssignReason, type AssignableExperiment, type Attributes, decide, hashInput } from './assign.core.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { Exposure } from './experiments.types.ts';
import type { ResolvedUnit, UnitResolver } from './units.ts';
import { type AudienceService, createAudienceService } from './audience.service.ts';

export interface AssignInput {
  userId: string | undefined;
  anonymousId: string | undefined;
  /** Experiment keys to assign, or undefined for every running experiment. */
  experimentKeys: string[] | undefined;
  attributes: Attributes;
  userAgent: string | undefined;
}

export interface Assignment {
  experimentKey: string;
  experimentId: string | null;
  variantKey: string;
  variantId: string | null;
  config: unknown;
  inExperiment: boolean;
  reason: AssignReason;
}

interface TenantConfig {
  byKey: Map<string, AssignableExperiment>;
  /** Keys of the running experiments (what "all running" assigns), computed once per configuration. */
  runningKeys: string[];
}

export interface AssignServiceDeps {
  db: Db;
  repo: ExperimentsRepository;
  units: UnitResolver;
  clock: () => Date;
  log: { error(obj: object, msg: string): void };
  /** Saved-cohort audiences (`$inCohort`); without it no unit is in any cohort. */
  audience?: AudienceService | undefined;
  /**
   * Exposure batches: first exposures flush at `maxRows` rows or after `maxWaitMs`, whichever comes first;
   * repeat exposures of units already stored only bump counters and flush every `repeatWaitMs`. Statements
   * hold at most `chunkRows` rows, with a turn of the event loop between them. At most `maxBuffered` exposures
   * wait in memory: past that (the database is down or slower than the traffic) assignments are refused with
   * 503 and Retry-After rather than growing memory without bound or dropping exposures.
   */
  batch?: { maxRows: number; maxWaitMs: number; chunkRows?: number; repeatWaitMs?: number; maxBuffered?: number };
}

/** An exposure waiting to be stored: first and last time seen, and how often. */
type Buffered = Exposure & { lastAt: Date; count: number };

export const EXPOSURE_BACKLOG = 'EXPERIMENT_EXPOSURE_BACKLOG';

/** 503: too many exposures wait to be stored; the client retries after a second. */
const exposureBacklog = (): AppError =>
  new AppError('unavailable', EXPOSURE_BACKLOG, 'Exposures are arriving faster than they can be stored: retry shortly.', {
    retryAfterSeconds: 1,
  });

const BOT_PATTERN = /bot\b|crawler|spider|headless|lighthouse/i;
/**
 * Parsing a user agent costs more than the rest of an assignment (Bowser: ~40 % of /assign's own CPU in the
 * profile), and a site sees few distinct agents: the answer is kept per agent string.
 */
const botVerdicts = new LRUCache<string, boolean>({ max: 10_000 });
const isBot = (ua: string | undefined): boolean => {
  if (!ua) return false;
  const s = ua.slice(0, 1000);
  let v = botVerdicts.get(s);
  if (v === undefined) {
    v = BOT_PATTERN.test(s) || Bowser.parse(s).platform.type === 'bot';
    botVerdicts.set(s, v);
  }
  return v;
};

export function createAssignService(deps: AssignServiceDeps) {
  const configs = new LRUCache<string, TenantConfig>({ max: 5000, ttl: 30_000 });
  const loading = new Map<string, Promise<TenantConfig>>();
  // Sticky bucketing cache: tenant|experiment|unit -> variant id (filled from the database and by new assignments).
  const sticky = new LRUCache<string, string>({ max: 200_000, ttl: 10 * 60_000 });
  const batch = deps.batch ?? { maxRows: 1000, maxWaitMs: 100 };
  const audience = deps.audience ?? createAudienceService(undefined);
  // The embedded database runs each statement on the request thread: a 1,000-row upsert held every request
  // waiting for its whole length (the p99 of seconds the bench measured). Small statements, with requests
  // served between them, bound that wait to one chunk.
  const chunkRows = batch.chunkRows ?? 200;
  const repeatWaitMs = batch.repeatWaitMs ?? 5000;
  const maxBuffered = batch.maxBuffered ?? 100_000;
  const yieldTurn = () => new Promise<void>((r) => setImmediate(r));
  // Write volume: a unit's first exposure to an experiment is one row; later exposures of a unit this process
  // has already assigned (the returning visitor, most of real traffic) only add to counters in memory, written
  // as one row per unit every few seconds however many requests it made. Both maps hold one entry per
  // (tenant, experiment, unit), so no statement touches a row twice.
  let pending = new Map<string, Buffered>();
  let repeats = new Map<string, Buffered>();
  let timer: NodeJS.Timeout | undefined;
  let repeatTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  /** Rows taken out of the maps and not yet stored (counted against `maxBuffered`). */
  let inFlight = 0;
  /** The last write failed (the database is down): retries slow down. */
  let failing = false;
  const buffered = () => pending.size + repeats.size + inFlight;

  const add = (into: Map<string, Buffered>, key: string, row: Buffered): void => {
    const seen = into.get(key);
    if (seen) {
      seen.count += row.count;
      if (row.at < seen.at) seen.at = row.at;
      if (row.lastAt > seen.lastAt) seen.lastAt = row.lastAt;
    } else into.set(key, row);
  };
  /** A first exposure waits for the next short flush; a unit known to be stored (or pending) only adds to counters. */
  const buffer = (key: string, stored: boolean, row: Buffered): void => {
    if (pending.has(key) || !stored) add(pending, key, row);
    else add(repeats, key, row);
  };

  async function loadConfig(tenantId: string): Promise<TenantConfig> {
    const hit = configs.get(tenantId);
    if (hit) return hit;
    let p = loading.get(tenantId);
    if (!p) {
      p = (async () => {
        const { experiments, variants, banditWeights } = await deps.repo.loadConfig(deps.db, tenantId);
        const byKey = new Map<string, AssignableExperiment>();
        for (const e of experiments)
          byKey.set(e.key, {
            id: e.id,
            key: e.key,
            status: e.status,
            hashSeed: e.hashSeed,
            hashVersion: e.hashVersion,
            type: e.type,
            trafficAllocation: e.trafficAllocation,
            targeting: e.targeting,
            namespace: e.namespace,
            namespaceStart: e.namespaceStart,
            namespaceEnd: e.namespaceEnd,
            holdoutSeed: e.holdoutSeed,
            holdoutPercent: e.holdoutPercent,
            excludeBots: e.excludeBots,
            // A bandit assigns new units by its current period's weights (by position); others by the stored ones.
            variants: variants
              .filter((v) => v.experimentId === e.id)
              .map((v, i, all) => {
                const w = banditWeights.get(e.id);
                const weight = w && w.length === all.length ? (w[i] as number) : v.weight;
                return { id: v.id, key: v.key, weight, config: v.config };
              }),
          });
        const cfg = { byKey, runningKeys: [...byKey.values()].filter((e) => e.status === 'running').map((e) => e.key) };
        configs.set(tenantId, cfg);
        return cfg;
      })().finally(() => loading.delete(tenantId));
      loading.set(tenantId, p);
    }
    return p;
  }

  function flushSoon(): void {
    if (pending.size >= batch.maxRows && !failing) void flushFirst();
    else if (!timer && pending.size) {
      // After a failed write, retry once a second rather than at the batch pace (one error line a second).
      timer = setTimeout(() => void flushFirst(), failing ? Math.max(batch.maxWaitMs, 1000) : batch.maxWaitMs);
      timer.unref();
    }
    if (repeats.size >= batch.maxRows) void flush();
    else if (!repeatTimer && repeats.size) {
      repeatTimer = setTimeout(() => void flush(), repeatWaitMs);
      repeatTimer.unref();
    }
  }

  /** Writes one map's rows (one statement per tenant and chunk). Rows that fail go back to be retried. */
  async function write(rows: Buffered[], keyOf: (r: Buffered) => string, back: () => Map<string, Buffered>): Promise<void> {
    const byTenant = new Map<string, Buffered[]>();
    for (const r of rows) {
      const list = byTenant.get(r.tenantId);
      if (list) list.push(r);
      else byTenant.set(r.tenantId, [r]);
    }
    for (const [tenantId, list] of byTenant) {
      for (let i = 0; i < list.length; i += chunkRows) {
        const chunk = list.slice(i, i + chunkRows);
        try {
          await deps.repo.recordExposures(deps.db, tenantId, chunk);
          failing = false;
        } catch (err) {
          failing = true;
          // Kept for the next flush (the buffer bound turns a long outage into 503s, not lost exposures).
          deps.log.error({ err, tenantId, rows: chunk.length }, 'experiment exposures could not be stored; retrying with the next flush');
          const into = back();
          for (const r of chunk) add(into, keyOf(r), r);
        }
        inFlight -= chunk.length;
        await yieldTurn();
      }
    }
  }

  const keyOf = (r: Buffered) => `${r.tenantId}|${r.experimentId}|${r.unitId}`;

  /** Writes buffered first exposures (the repeats wait for their own timer). */
  function flushFirst(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const rows = [...pending.values()];
    pending = new Map();
    inFlight += rows.length;
    flushing = flushing.then(() => write(rows, keyOf, () => pending)).finally(flushSoon);
    return flushing;
  }

  /** Writes every buffered exposure, first and repeat. Resolves when they are stored (or kept for a retry). */
  function flush(): Promise<void> {
    if (repeatTimer) clearTimeout(repeatTimer);
    repeatTimer = undefined;
    const rows = [...repeats.values()];
    repeats = new Map();
    inFlight += rows.length;
    void flushFirst();
    flushing = flushing.then(() => write(rows, keyOf, () => repeats));
    return flushing;
  }

  return {
    /** Drops a tenant's configuration (after any change to its experiments). */
    invalidate(tenantId: string): void {
      configs.delete(tenantId);
    },

    flush,
    assignIn,

    /** The tenant's experiments as assignment sees them (in memory), by key: the flags payload builds on it. */
    async experimentsOf(tenantId: string): Promise<ReadonlyMap<string, AssignableExperiment>> {
      return (await loadConfig(tenantId)).byKey;
    },

    /**
     * Exposures an SDK reports after evaluating an experiment locally (GrowthBook's trackingCallback): stored
     * as assignments like the server's own, batched. Exposures of unknown or not running experiments, of a
     * variant index the experiment does not have, or of a unit already assigned another variant are skipped.
     * Returns how many were accepted.
     */
    async logExposures(
      tenantId: string,
      items: readonly { experimentKey: string; variant: number; userId: string | undefined; anonymousId: string | undefined }[],
    ): Promise<number> {
      if (buffered() + items.length > maxBuffered) throw exposureBacklog();
      const cfg = await loadConfig(tenantId);
      const now = deps.clock();
      let accepted = 0;
      const units = await Promise.all(items.map((i) => deps.units.resolve(tenantId, i.userId, i.anonymousId)));
      items.forEach((item, j) => {
        const e = cfg.byKey.get(item.experimentKey);
        const v = e?.variants[item.variant];
        if (!e || e.status !== 'running' || !v) return;
        const unit = (units[j] as ResolvedUnit).primary;
        const sk = `${tenantId}|${e.id}|${unit}`;
        const known = sticky.get(sk);
        if (known && known !== v.id) return;
        sticky.set(sk, v.id);
        buffer(sk, known !== undefined, { tenantId, experimentId: e.id, unitId: unit, variantId: v.id, at: now, lastAt: now, count: 1 });
        accepted++;
      });
      if (accepted) flushSoon();
      return accepted;
    },

    async assign(ctx: TenantContext, input: AssignInput): Promise<{ unitId: string; assignments: Assignment[] }> {
      requirePermission(ctx, 'interactions:write');
      return assignIn(ctx.tenantId, input);
    },
  };

  /**
   * The assignment itself, for a caller that checked its own permission: the API above, and another module's
   * serving path (the newsfeed's module order) through the public entry.
   */
  async function assignIn(tenantId: string, input: AssignInput): Promise<{ unitId: string; assignments: Assignment[] }> {
    if (buffered() >= maxBuffered) throw exposureBacklog();
    const [cfg, unit] = await Promise.all([loadConfig(tenantId), deps.units.resolve(tenantId, input.userId, input.anonymousId)]);
    const keys = input.experimentKeys ?? cfg.runningKeys;
    const running = keys.map((k) => cfg.byKey.get(k)).filter((e): e is AssignableExperiment => !!e && e.status === 'running');
    // Sticky assignments: the cache first, the database for units this process has not seen.
    const stickyOf = new Map<string, { unitId: string; variantId: string }>();
    const missing: string[] = [];
    for (const e of running) {
      let found = false;
      for (const u of unit.candidates) {
        const v = sticky.get(`${tenantId}|${e.id}|${u}`);
        if (v) {
          stickyOf.set(e.id, { unitId: u, variantId: v });
          found = true;
          break;
        }
      }
      if (!found) missing.push(e.id);
    }
    // One id and no person behind it: the hash alone is sticky (a standard experiment's arms and weights cannot
    // change while it runs), so the database is asked only when several ids may hold an earlier assignment, or
    // for a bandit, whose weights move every period (the stored assignment holds its units, as GrowthBook's
    // sticky bucketing does for its bandits).
    const banditMissing = missing.some((id) => running.some((e) => e.id === id && e.type === 'bandit'));
    if (missing.length && (unit.candidates.length > 1 || banditMissing)) {
      const rows = await deps.repo.stickyAssignments(deps.db, tenantId, missing, unit.candidates);
      for (const u of unit.candidates)
        for (const r of rows)
          if (r.unitId === u && !stickyOf.has(r.experimentId)) stickyOf.set(r.experimentId, { unitId: r.unitId, variantId: r.variantId });
    }
    const now = deps.clock();
    const bot = isBot(input.userAgent);
    const attributes = await audience.attributes(
      tenantId,
      unit.primary,
      running.map((e) => e.targeting),
      input.attributes,
    );
    const assignments: Assignment[] = [];
    for (const key of keys) {
      const e = cfg.byKey.get(key);
      if (!e) {
        assignments.push({
          experimentKey: key,
          experimentId: null,
          variantKey: 'control',
          variantId: null,
          config: {},
          inExperiment: false,
          reason: 'unknown',
        });
        continue;
      }
      const st = stickyOf.get(e.id);
      const d = decide(e, hashInput(e, unit), { attributes, isBot: bot, stickyVariantId: st?.variantId });
      const v = e.variants[d.variant];
      assignments.push({
        experimentKey: key,
        experimentId: e.id,
        variantKey: v?.key ?? 'control',
        variantId: v?.id ?? null,
        config: v?.config ?? {},
        inExperiment: d.inExperiment,
        reason: d.reason,
      });
      if (!d.inExperiment || !v) continue;
      if (st && st.unitId !== unit.primary) {
        // An anonymous visitor became a known person: the assignment follows the person (counted once).
        await flush();
        await deps.repo.moveAssignment(deps.db, tenantId, e.id, st.unitId, unit.primary);
        sticky.delete(`${tenantId}|${e.id}|${st.unitId}`);
      }
      const pk = `${tenantId}|${e.id}|${unit.primary}`;
      // A returning unit's cached entry already says this (its lookup above refreshed its recency): setting it
      // again would only redo the cache's bookkeeping. Entries read from the database are cached here.
      if (sticky.peek(pk) !== v.id) sticky.set(pk, v.id);
      buffer(pk, st !== undefined && st.unitId === unit.primary, {
        tenantId,
        experimentId: e.id,
        unitId: unit.primary,
        variantId: v.id,
        at: now,
        lastAt: now,
        count: 1,
      });
    }
    flushSoon();
    return { unitId: unit.primary, assignments };
  }
}
export type AssignService = ReturnType<typeof createAssignService>;
