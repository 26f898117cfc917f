import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../platform/index.ts';
import { retentionHorizon } from './interaction-partitions.core.ts';
import type { RetentionRepository, RetentionRow } from './retention.repository.ts';

/** Where the archive of a tenant's interactions stands: the id of the last one the Parquet export wrote, or null. */
export interface InteractionArchive {
  archivedThrough(tenantId: string): Promise<string | null>;
}

export interface RetentionStatus {
  /** The tenant's own setting (null: keeps everything, up to the platform's). */
  months: number | null;
  archive: boolean;
  /** The platform-wide retention over every tenant (`LOUPE_INTERACTIONS_RETENTION_MONTHS`; null: none). */
  platformMonths: number | null;
  /** The first instant kept under both (null: everything kept). */
  keptFrom: Date | null;
  /** Stored events before `keptFrom` (counted up to `cap`), and of those the ones the export has not written yet. */
  pastRetention: { rows: number; awaitingArchive: number; capped: boolean };
  lastPurgeAt: Date | null;
  lastPurgedRows: number;
  purgedRows: number;
}

export interface PurgeResult {
  deleted: number;
  keys: number;
  /** Events past the retention still kept because the export has not written them (archive on). */
  awaitingArchive: number;
  /** False when the run stopped at its batch budget with rows left (the next run goes on). */
  done: boolean;
}

const COUNT_CAP = 100_000;

/**
 * A tenant's own retention of its interactions. The write path refuses events older than the tenant's horizon
 * (interactions.repository embeds the same horizon); `purge` deletes the stored ones in batches, with their dedupe
 * keys, and with `archive` only those the warehouse's Parquet export has already written (the export is exactly-once
 * and keyed by id, so "written" is "id at or below its watermark"). Run per tenant by the elected task
 * `events.tenant-retention` (fairly: each tenant a bounded number of batches per run, the least recently purged first)
 * and on demand from the Data page.
 */
export function createRetentionService(deps: {
  db: Db;
  repo: RetentionRepository;
  clock: () => Date;
  platformMonths: number;
  archive: () => InteractionArchive | null;
  log: Pick<FastifyBaseLogger, 'warn' | 'info'>;
  batch?: number;
}) {
  const batch = deps.batch ?? 5_000;
  const platformMonths = deps.platformMonths > 0 ? deps.platformMonths : null;

  /** The stricter (later) of the tenant's and the platform's horizons. */
  function keptFrom(months: number | null, now: Date): Date | null {
    const own = months ? retentionHorizon(now, months) : null;
    const platform = platformMonths ? retentionHorizon(now, platformMonths) : null;
    if (!own) return platform;
    if (!platform) return own;
    return own > platform ? own : platform;
  }

  /** What the purge may delete up to: null = nothing (archive on, nothing exported yet), '' = no bound. */
  async function deletableThrough(tenantId: string, archive: boolean): Promise<string | null> {
    if (!archive) return '';
    const source = deps.archive();
    return source ? source.archivedThrough(tenantId) : null;
  }

  async function purgeTenant(tenantId: string, row: { months: number; archive: boolean }, maxBatches: number): Promise<PurgeResult> {
    const now = deps.clock();
    const horizon = retentionHorizon(now, row.months)!;
    const through = await deletableThrough(tenantId, row.archive);
    let deleted = 0;
    let keys = 0;
    let done = true;
    if (through !== null) {
      for (let i = 0; ; i++) {
        if (i >= maxBatches) {
          done = false;
          break;
        }
        const r = await deps.repo.deleteBatch(deps.db, tenantId, horizon, through || null, batch);
        deleted += r.rows;
        keys += r.keys;
        if (r.rows < batch) break;
      }
    }
    await deps.repo.recordPurge(deps.db, tenantId, now, deleted);
    const awaiting = row.archive ? (await deps.repo.pastHorizon(deps.db, tenantId, horizon, through || null, COUNT_CAP)).awaiting : 0;
    return { deleted, keys, awaitingArchive: awaiting, done };
  }

  return {
    async status(tenantId: string): Promise<RetentionStatus> {
      const row: RetentionRow | null = (await deps.repo.get(deps.db, tenantId)) ?? null;
      const archive = row?.archive ?? true;
      const from = keptFrom(row?.months ?? null, deps.clock());
      const through = await deletableThrough(tenantId, archive);
      const past = from ? await deps.repo.pastHorizon(deps.db, tenantId, from, through || null, COUNT_CAP) : { total: 0, awaiting: 0 };
      return {
        months: row?.months ?? null,
        archive,
        platformMonths,
        keptFrom: from,
        pastRetention: {
          rows: past.total,
          // With archive on and nothing exported, every row past the horizon awaits the archive.
          awaitingArchive: archive ? (through === null ? past.total : past.awaiting) : 0,
          capped: past.total >= COUNT_CAP,
        },
        lastPurgeAt: row?.lastPurgeAt ?? null,
        lastPurgedRows: row?.lastPurgedRows ?? 0,
        purgedRows: row?.purgedRows ?? 0,
      };
    },

    async set(tenantId: string, months: number | null, archive: boolean): Promise<void> {
      await deps.repo.set(deps.db, tenantId, months, archive);
    },

    /** Purges one tenant now (the Data page's "Apply now"): at most `maxBatches` batches; `done` says if rows are left. */
    async purge(tenantId: string, maxBatches = 20): Promise<PurgeResult | null> {
      const row = await deps.repo.get(deps.db, tenantId);
      if (!row) return null;
      return purgeTenant(tenantId, row, maxBatches);
    },

    /** The scheduled task: every tenant with a retention, a few batches each, so one large tenant cannot hold the rest up. */
    async purgeAll(maxBatchesPerTenant = 4): Promise<{ tenants: number; deleted: number }> {
      let deleted = 0;
      const tenants = await deps.repo.tenants(deps.db);
      for (const t of tenants) {
        try {
          deleted += (await purgeTenant(t.tenantId, t, maxBatchesPerTenant)).deleted;
        } catch (err) {
          deps.log.warn({ err, tenantId: t.tenantId }, 'the interactions retention purge failed for this tenant; the next run retries');
        }
      }
      return { tenants: tenants.length, deleted };
    },
  };
}
export type RetentionService = ReturnType<typeof createRetentionService>;
