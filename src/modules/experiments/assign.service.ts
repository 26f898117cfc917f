/**
 * Assignment: which variant of each experiment a unit (person, user or anonymous visitor) sees. The tenant's
 * configuration lives in memory (dropped on every change, and after 30 s at most for changes made by another
 * replica); exposures are logged in batches, so an assignment costs no write on the request path.
 */
import Bowser from 'bowser';
import { LRUCache } from 'lru-cache';
import type { Db, TenantContext } from '../../platform/index.ts';
import { requirePermission } from '../../platform/index.ts';
import { type AssignReason, type AssignableExperiment, type Attributes, decide } from './assign.core.ts';
import type { ExperimentsRepository } from './experiments.repository.ts';
import type { Exposure } from './experiments.types.ts';
import type { ResolvedUnit, UnitResolver } from './units.ts';

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
}

export interface AssignServiceDeps {
  db: Db;
  repo: ExperimentsRepository;
  units: UnitResolver;
  clock: () => Date;
  log: { error(obj: object, msg: string): void };
  /**
   * Exposure batches: flush at this many rows or after this many ms, whichever comes first, written in
   * statements of at most `chunkRows` rows with a turn of the event loop between them.
   */
  batch?: { maxRows: number; maxWaitMs: number; chunkRows?: number };
}

const isBot = (ua: string | undefined): boolean => {
  if (!ua) return false;
  const s = ua.slice(0, 1000);
  return Bowser.parse(s).platform.type === 'bot' || /bot\b|crawler|spider|headless|lighthouse/i.test(s);
};

export function createAssignService(deps: AssignServiceDeps) {
  const configs = new LRUCache<string, TenantConfig>({ max: 5000, ttl: 30_000 });
  const loading = new Map<string, Promise<TenantConfig>>();
  // Sticky bucketing cache: tenant|experiment|unit -> variant id (filled from the database and by new assignments).
  const sticky = new LRUCache<string, string>({ max: 200_000, ttl: 10 * 60_000 });
  const batch = deps.batch ?? { maxRows: 1000, maxWaitMs: 100 };
  // The embedded database runs each statement on the request thread: a 1,000-row upsert held every request
  // waiting for its whole length (the p99 of seconds the bench measured). Small statements, with requests
  // served between them, bound that wait to one chunk.
  const chunkRows = batch.chunkRows ?? 200;
  const yieldTurn = () => new Promise<void>((r) => setImmediate(r));
  // Exposures waiting for the next flush, one entry per (tenant, experiment, unit): repeats add to its count.
  let pending = new Map<string, Exposure & { count: number }>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  async function loadConfig(tenantId: string): Promise<TenantConfig> {
    const hit = configs.get(tenantId);
    if (hit) return hit;
    let p = loading.get(tenantId);
    if (!p) {
      p = (async () => {
        const { experiments, variants } = await deps.repo.loadConfig(deps.db, tenantId);
        const byKey = new Map<string, AssignableExperiment>();
        for (const e of experiments)
          byKey.set(e.key, {
            id: e.id,
            key: e.key,
            status: e.status,
            hashSeed: e.hashSeed,
            trafficAllocation: e.trafficAllocation,
            targeting: e.targeting,
            namespace: e.namespace,
            namespaceStart: e.namespaceStart,
            namespaceEnd: e.namespaceEnd,
            holdoutSeed: e.holdoutSeed,
            holdoutPercent: e.holdoutPercent,
            excludeBots: e.excludeBots,
            variants: variants
              .filter((v) => v.experimentId === e.id)
              .map((v) => ({ id: v.id, key: v.key, weight: v.weight, config: v.config })),
          });
        const cfg = { byKey };
        configs.set(tenantId, cfg);
        return cfg;
      })().finally(() => loading.delete(tenantId));
      loading.set(tenantId, p);
    }
    return p;
  }

  function flushSoon(): void {
    if (pending.size >= batch.maxRows) void flush();
    else if (!timer) {
      timer = setTimeout(() => void flush(), batch.maxWaitMs);
      timer.unref();
    }
  }

  /** Writes every buffered exposure (one statement per tenant). Resolves when they are stored. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const rows = [...pending.values()];
    pending = new Map();
    flushing = flushing.then(async () => {
      if (!rows.length) return;
      const byTenant = new Map<string, (Exposure & { count: number })[]>();
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
          } catch (err) {
            deps.log.error({ err, tenantId, rows: chunk.length }, 'experiment exposures could not be stored');
          }
          await yieldTurn();
        }
      }
    });
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
        const seen = pending.get(sk);
        if (seen) seen.count++;
        else pending.set(sk, { tenantId, experimentId: e.id, unitId: unit, variantId: v.id, at: now, count: 1 });
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
    const [cfg, unit] = await Promise.all([loadConfig(tenantId), deps.units.resolve(tenantId, input.userId, input.anonymousId)]);
    const keys = input.experimentKeys ?? [...cfg.byKey.values()].filter((e) => e.status === 'running').map((e) => e.key);
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
    // One id and no person behind it: the hash alone is sticky (a running experiment's arms and weights cannot
    // change), so the database is asked only when several ids may hold an earlier assignment.
    if (missing.length && unit.candidates.length > 1) {
      const rows = await deps.repo.stickyAssignments(deps.db, tenantId, missing, unit.candidates);
      for (const u of unit.candidates)
        for (const r of rows)
          if (r.unitId === u && !stickyOf.has(r.experimentId)) stickyOf.set(r.experimentId, { unitId: r.unitId, variantId: r.variantId });
    }
    const now = deps.clock();
    const bot = isBot(input.userAgent);
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
      const d = decide(e, unit.primary, { attributes: input.attributes, isBot: bot, stickyVariantId: st?.variantId });
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
      sticky.set(`${tenantId}|${e.id}|${unit.primary}`, v.id);
      const pk = `${tenantId}|${e.id}|${unit.primary}`;
      const seen = pending.get(pk);
      if (seen) seen.count++;
      else pending.set(pk, { tenantId, experimentId: e.id, unitId: unit.primary, variantId: v.id, at: now, count: 1 });
    }
    flushSoon();
    return { unitId: unit.primary, assignments };
  }
}
export type AssignService = ReturnType<typeof createAssignService>;
