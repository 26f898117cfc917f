import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import {
  AppError,
  PermanentJobError,
  type PlatformServices,
  type TenantContext,
  isUuid,
  newId,
  notFound,
  inTenant,
} from '../../platform/index.ts';
import {
  type FeedFormat,
  type FeedRecord,
  type OfferInput,
  type RowIssue,
  dedupeOffers,
  detectFormat,
  parseFeed,
  validateRecord,
} from './feed.core.ts';
import { offerBlockKeys } from './matcher.core.ts';
import { gtinSpellings, normalizeGtin } from './gtin.core.ts';
import { type MatchOffload, type Scorer, matchByIdentifiers, matchLearned, shippedMatcher } from './matching.service.ts';
import { createMatchingThread } from './matching.thread.ts';
import { normMpn, normText } from './pricing.core.ts';
import { pricingRepository as repo } from './pricing.repository.ts';
import { RUN_MAX_ATTEMPTS, type RunLog, createRunLog, logIssues, logRetry } from './runs.service.ts';
import { refreshGroupSummaries } from './summary.service.ts';

export const FEED_JOB = 'pricing.feed';
const feedPayload = z.object({
  runId: z.string(),
  storeId: z.string(),
  key: z.string(),
  format: z.enum(['csv', 'json', 'xml']).nullable(),
  hint: z.string(),
  /** 'prices': a price-only run (absent in jobs queued before it existed: a full import). */
  mode: z.enum(['full', 'prices']).default('full'),
});
export type ImportMode = 'full' | 'prices';
const MAX_KEPT_ERRORS = 100;
/**
 * Offers written per step of the import transaction. Between steps the import yields to the event loop: on the
 * embedded database every statement runs on this thread and resolves as a microtask, so without the yields a
 * whole import ran as one microtask chain and HTTP (even /health/live) waited for it (a 16 s stall at 10,000
 * offers on a loaded machine).
 */
const BATCH = 1000;
/** Records validated between two yields. */
const VALIDATE_SLICE = 1000;
/**
 * Offers (per learned-pass chunk of one store) from which the matcher's CPU runs on the matching thread: below it a
 * thread's start costs more than the scoring (a few dozen offers, a few ms inline).
 */
const THREAD_MIN_OFFERS = 100;

export interface FeedsDeps {
  platform: PlatformServices;
  /** Catalog: the tenant's items carrying any of these GTINs, as the catalog stores them. */
  catalogItemsByGtin(tenantId: string, gtins: readonly string[]): Promise<{ itemId: string; gtin: string }[]>;
  /** Price alerts: evaluates the alerts on the groups of these imported offers (imported at `since`); returns how many fired. */
  evaluateAlerts?: (tenantId: string, offerIds: readonly string[], since: Date) => Promise<number>;
  /** The learned matcher the import scores with; null: identifiers only (every unplaced offer starts a group). */
  matcher?: () => Scorer | null;
  /** Told after an import wrote offers, prices or groups of the tenant (the best offers of its items may have changed). */
  offersChanged?: (tenantId: string) => void;
  /** Where the learned pass scores (default: its own worker thread from THREAD_MIN_OFFERS offers); null: always inline. */
  offload?: MatchOffload | null;
}

/**
 * Retailer feed imports: an upload is kept in object storage and imported by a job (progress, retries), one
 * run per store at a time. A feed that cannot be read at all changes nothing (a failed fetch is never a price
 * change); a malformed row is a row-level error and the rest is imported.
 */
export function createFeedsService({
  platform,
  catalogItemsByGtin,
  evaluateAlerts,
  matcher = shippedMatcher,
  offersChanged = () => {},
  offload = { thread: createMatchingThread(), minOffers: THREAD_MIN_OFFERS },
}: FeedsDeps) {
  const { db, storage, jobs, clock } = platform;

  async function readAll(stream: Readable): Promise<string> {
    const parts: Buffer[] = [];
    for await (const c of stream) parts.push(c as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  async function importText(
    ctx: TenantContext,
    runId: string,
    storeId: string,
    textBody: string,
    format: FeedFormat,
    progress: (p: Record<string, unknown>) => Promise<void>,
    log: RunLog,
    mode: ImportMode = 'full',
  ) {
    let records;
    try {
      records = parseFeed(textBody, format);
    } catch (err) {
      // Unreadable as a whole: nothing is written, the last good prices stay.
      const failure = `the ${format.toUpperCase()} feed could not be read: ${(err as Error).message.slice(0, 300)}`;
      throw new PermanentJobError(failure);
    }
    return mode === 'prices'
      ? importPrices(ctx, runId, storeId, records, progress, log)
      : importRecords(ctx, runId, storeId, records, progress, log);
  }

  /** Validates records; duplicates of one external id keep the last row. Yields every VALIDATE_SLICE records. */
  async function validateAll(records: readonly FeedRecord[]) {
    const issues: RowIssue[] = [];
    const accepted: { row: number; offer: OfferInput }[] = [];
    let rejected = 0;
    for (let k = 0; k < records.length; k++) {
      const v = validateRecord(records[k]!, k + 1, null);
      issues.push(...v.issues);
      if (v.offer) accepted.push({ row: k + 1, offer: v.offer });
      else rejected++;
      if ((k + 1) % VALIDATE_SLICE === 0) await nextTurn();
    }
    const { offers, duplicates } = dedupeOffers(accepted);
    issues.push(...duplicates);
    return { issues, offers, rejected, rows: new Map(accepted.map((a) => [a.offer.externalId, a.row])) };
  }

  /**
   * A price-only run (seed 000's hourly update between daily full imports): the price, currency and availability of
   * the store's offers already known by external id, with their price history, in one transaction (a failure
   * changes nothing: the last good prices stay). It never creates an offer or a group, never rewrites identifiers
   * or blocking keys and never runs the matcher: a row naming an unknown offer is counted (`offers_unknown`) and
   * logged as a warning, left for the next full import. Alerts are evaluated on the offers whose price changed.
   */
  async function importPrices(
    ctx: TenantContext,
    runId: string,
    storeId: string,
    records: readonly FeedRecord[],
    progress: (p: Record<string, unknown>) => Promise<void>,
    log: RunLog = createRunLog(platform, ctx.tenantId, runId),
  ) {
    try {
      return await importPricesOnce(ctx, runId, storeId, records, progress, log);
    } finally {
      offersChanged(ctx.tenantId);
    }
  }

  async function importPricesOnce(
    ctx: TenantContext,
    runId: string,
    storeId: string,
    records: readonly FeedRecord[],
    progress: (p: Record<string, unknown>) => Promise<void>,
    log: RunLog,
  ) {
    const now = clock();
    const { issues, offers, rejected, rows } = await validateAll(records);
    log.info(`${records.length} rows read and checked; updating the prices of known offers`);
    logIssues(log, issues, rejected, records.length);
    await progress({ rows_read: records.length, rows_rejected: rejected, fraction: 0.1 });
    const changedIds: string[] = [];
    const touched = new Set<string | null>();
    let unknown = 0;
    await inTenant(db, ctx.tenantId, async (tx) => {
      for (let i = 0; i < offers.length; i += BATCH) {
        const part = offers.slice(i, i + BATCH);
        const up = await repo.updatePrices(tx, ctx.tenantId, storeId, part, now);
        await nextTurn();
        const found = new Set(up.map((u) => u.externalId));
        for (const o of part)
          if (!found.has(o.externalId)) {
            unknown++;
            issues.push({
              row: rows.get(o.externalId) ?? 0,
              field: 'id',
              message: `no offer ${o.externalId.slice(0, 100)} in this store yet: a price-only run creates none (the next full import will)`,
              level: 'warning',
            });
          }
        for (const u of up)
          if (u.priceChanged) {
            changedIds.push(u.id);
            touched.add(u.groupId);
          }
      }
      // Last, in the same transaction: the best prices of the groups whose offers changed (summary.service.ts).
      await refreshGroupSummaries(tx, ctx.tenantId, touched, now);
    });
    await progress({ rows_written: offers.length - unknown, fraction: 0.9 });
    const alertsFired = evaluateAlerts && changedIds.length ? await evaluateAlerts(ctx.tenantId, changedIds, now) : 0;
    if (unknown) log.warn(`${unknown} rows name no offer of this store: a price-only run creates none (the next full import will)`);
    log.info(
      `finished: ${records.length} rows read, ${rejected} rejected, ${changedIds.length} prices changed, ${unknown} unknown offers, ${alertsFired} alerts fired`,
    );
    await log.flush();
    await repo.updateRun(db, ctx.tenantId, runId, {
      status: 'succeeded',
      rowsRead: records.length,
      rowsAccepted: records.length - rejected,
      rowsRejected: rejected,
      offersCreated: 0,
      pricesChanged: changedIds.length,
      offersUnknown: unknown,
      errors: issues.slice(0, MAX_KEPT_ERRORS),
      finishedAt: clock(),
    });
    return {
      mode: 'prices',
      rows_read: records.length,
      rows_rejected: rejected,
      offers_created: 0,
      prices_changed: changedIds.length,
      offers_unknown: unknown,
      alerts_fired: alertsFired,
    };
  }

  /**
   * Validates and imports records (an uploaded feed's, or a network's pages) into one store: offers, price
   * history, identifier matching in one transaction, then the learned pass, catalog links and alerts.
   */
  async function importRecords(...args: Parameters<typeof importRecordsOnce>): Promise<Awaited<ReturnType<typeof importRecordsOnce>>> {
    try {
      return await importRecordsOnce(...args);
    } finally {
      // also after a failure: its offer transaction or learned pass may have committed before it
      offersChanged(args[0].tenantId);
    }
  }

  async function importRecordsOnce(
    ctx: TenantContext,
    runId: string,
    storeId: string,
    records: readonly FeedRecord[],
    progress: (p: Record<string, unknown>) => Promise<void>,
    log: RunLog = createRunLog(platform, ctx.tenantId, runId),
  ) {
    const now = clock();
    const { issues, offers, rejected } = await validateAll(records);
    log.info(`${records.length} rows read and checked; writing ${offers.length} offers`);
    logIssues(log, issues, rejected, records.length);
    await progress({ rows_read: records.length, rows_rejected: rejected, fraction: 0.1 });
    const brandNames = new Map<string, string>();
    for (const o of offers) if (o.brand) brandNames.set(normText(o.brand), o.brand);
    let created = 0;
    let changed = 0;
    const actor = { type: 'system', id: `feed:${runId}` };
    const importedIds: string[] = [];
    const unplaced: string[] = [];
    const previousGroups = new Map<string, string | null>();
    /**
     * Groups whose offers changed price, link or image, or left or joined them: their summaries are refreshed before
     * commit (which also tells product page caches of every process: products.cache.ts).
     */
    const touched = new Set<string | null>();
    const scorer = matcher();
    // One transaction writes the offers, their keys and what identifiers place: a failure rolls it all back
    // and the last good prices stay. The learned pass runs after it, outside (see matchLearned).
    await inTenant(db, ctx.tenantId, async (tx) => {
      const brands = await repo.ensureBrands(
        tx,
        ctx.tenantId,
        [...brandNames].filter(([norm]) => norm).map(([norm, name]) => ({ norm, name })),
      );
      for (let i = 0; i < offers.length; i += BATCH) {
        const part = offers.slice(i, i + BATCH).map((o) => ({
          ...o,
          brandId: o.brand ? (brands.get(normText(o.brand)) ?? null) : null,
          mpnNorm: normMpn(o.mpn),
        }));
        const up = await repo.upsertOffers(tx, ctx.tenantId, storeId, part, now);
        await nextTurn();
        created += up.filter((u) => u.inserted).length;
        changed += up.filter((u) => u.priceChanged).length;
        const byExternal = new Map(part.map((o) => [o.externalId, o]));
        // Only new offers and changed titles or MPNs rewrite keys: a re-import of the same feed writes none.
        await repo.replaceOfferKeys(
          tx,
          ctx.tenantId,
          up.flatMap((u) => {
            const o = byExternal.get(u.externalId)!;
            return u.keysChanged ? [{ offerId: u.id, keys: offerBlockKeys(o.title, o.mpn) }] : [];
          }),
        );
        for (const u of up) {
          importedIds.push(u.id);
          if (u.identityChanged) previousGroups.set(u.id, u.previousGroupId);
          if (u.priceChanged || u.identityChanged || u.shownChanged) touched.add(u.previousGroupId).add(u.groupId);
        }
        // Every offer of the feed is passed: those with a group are skipped, so a retry places what a failed run left.
        const placed = await matchByIdentifiers(
          tx,
          ctx.tenantId,
          up.map((u) => u.id),
          previousGroups,
          now,
          actor,
          scorer !== null,
        );
        unplaced.push(...placed.unplaced);
        for (const g of placed.touched) touched.add(g);
        await nextTurn();
        // No progress write in here: it goes through the database handle, not this transaction, and on the
        // embedded database (one connection) it would wait for this transaction to end: the import hung.
      }
      await refreshGroupSummaries(tx, ctx.tenantId, touched, now);
    });
    await progress({ rows_written: offers.length, fraction: 0.7 });
    const learned = await matchLearned(db, ctx.tenantId, unplaced, previousGroups, now, actor, scorer, offload);
    await progress({ fraction: 0.95, matched_by_model: learned.byModel, queued_for_review: learned.queued });
    const linked = await linkCatalogItems(ctx.tenantId, importedIds, now);
    const alertsFired = evaluateAlerts ? await evaluateAlerts(ctx.tenantId, importedIds, now) : 0;
    log.info(
      `finished: ${records.length} rows read, ${rejected} rejected, ${created} offers created, ${changed} prices changed, ` +
        `${learned.byModel} matched by the model, ${learned.queued} queued for review, ${alertsFired} alerts fired`,
    );
    await log.flush();
    await repo.updateRun(db, ctx.tenantId, runId, {
      status: 'succeeded',
      rowsRead: records.length,
      rowsAccepted: records.length - rejected,
      rowsRejected: rejected,
      offersCreated: created,
      pricesChanged: changed,
      errors: issues.slice(0, MAX_KEPT_ERRORS),
      finishedAt: clock(),
    });
    return {
      rows_read: records.length,
      rows_rejected: rejected,
      offers_created: created,
      prices_changed: changed,
      matched_by_model: learned.byModel,
      queued_for_review: learned.queued,
      groups_linked_to_catalog: linked,
      alerts_fired: alertsFired,
    };
  }

  /**
   * Links the groups of these offers to the tenant's catalog item of the same GTIN (catalog's answer is read
   * outside any pricing transaction). The catalog keeps GTINs as given: every 8/12/13/14-digit spelling of a
   * GTIN-14 is asked, and the answers normalized with the same GS1 rules as offers.
   */
  async function linkCatalogItems(tenantId: string, offerIds: readonly string[], now: Date): Promise<number> {
    if (!offerIds.length) return 0;
    const todo = await repo.groupsToLink(db, tenantId, offerIds);
    if (!todo.length) return 0;
    const spellings = [...new Set(todo.flatMap((t) => gtinSpellings(t.gtin)))];
    const items = await catalogItemsByGtin(tenantId, spellings);
    const itemOf = new Map<string, string>();
    for (const it of [...items].sort((a, b) => (a.itemId < b.itemId ? -1 : 1))) {
      const n = normalizeGtin(it.gtin);
      if (n.ok && !itemOf.has(n.gtin14)) itemOf.set(n.gtin14, it.itemId);
    }
    // One group per item: the oldest group holding its GTIN.
    const links = new Map<string, string>();
    const taken = new Set<string>();
    for (const t of [...todo].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.groupId < b.groupId ? -1 : 1))) {
      const itemId = itemOf.get(t.gtin);
      if (!itemId || links.has(t.groupId) || taken.has(itemId)) continue;
      links.set(t.groupId, itemId);
      taken.add(itemId);
    }
    return repo.linkCatalogItems(
      db,
      tenantId,
      [...links].map(([groupId, itemId]) => ({ groupId, itemId })),
      now,
    );
  }

  jobs.register({
    type: FEED_JOB,
    payload: feedPayload,
    maxAttempts: RUN_MAX_ATTEMPTS,
    retryBaseMs: platform.config.pricing.runRetryBaseMs,
    // One import per store at a time is held by the runs table; a tenant gets one running feed job at a time.
    maxRunningPerTenant: 1,
    onRetry: logRetry(platform),
    async handle(run) {
      const { runId, storeId, key, format, hint, mode } = run.payload;
      const log = createRunLog(platform, run.tenantId, runId);
      await repo.updateRun(db, run.tenantId, runId, { status: 'running', attempts: run.attempt, jobId: run.id });
      log.info(
        `attempt ${run.attempt} of ${RUN_MAX_ATTEMPTS} started: ${mode === 'prices' ? 'a price-only update' : 'a full import'} of the uploaded feed ${hint.slice(0, 100)}`,
      );
      try {
        const textBody = await readAll(await storage.get(run.tenantId, key));
        const chosen = format ?? detectFormat(textBody, hint);
        log.info(`feed read: ${textBody.length} characters of ${chosen.toUpperCase()}`);
        const result = await importText(run.ctx, runId, storeId, textBody, chosen, (p) => run.progress(p), log, mode);
        await storage.delete(run.tenantId, key);
        await run.progress({ fraction: 1 });
        return result;
      } catch (err) {
        if (err instanceof PermanentJobError || run.attempt >= RUN_MAX_ATTEMPTS) {
          const failure = err instanceof PermanentJobError ? err.message : 'the import failed; the last good prices are kept';
          log.error(`failed: ${failure}. Next: fix the feed and upload it again.`);
          await log.flush();
          await repo.updateRun(db, run.tenantId, runId, { status: 'failed', failure, finishedAt: clock() });
          await storage.delete(run.tenantId, key).catch(() => undefined);
        }
        throw err;
      }
    },
  });

  return {
    /** Imports records read elsewhere (a network's pages) into a store, under a run already inserted. */
    importRecords,
    /** Updates the prices of a store's known offers from records read elsewhere (a network's price-only run). */
    importPrices,
    /**
     * Keeps the upload and queues its import. Another tenant's store answers like a missing one (404); a store
     * with an import queued or running answers 409 PRICING_IMPORT_RUNNING.
     */
    async upload(
      ctx: TenantContext,
      storeId: string,
      file: { name: string; stream: Readable },
      format: FeedFormat | null,
      mode: ImportMode = 'full',
    ) {
      const [store] = await repo.listStores(db, ctx.tenantId, storeId);
      if (!store) {
        file.stream.resume();
        throw notFound('PRICING_STORE_NOT_FOUND', 'The store');
      }
      const runId = newId();
      const inserted = await repo.insertRun(db, ctx.tenantId, { id: runId, storeId, format: format ?? 'auto', mode }, clock());
      if (!inserted) {
        file.stream.resume();
        throw new AppError(
          'conflict',
          'PRICING_IMPORT_RUNNING',
          'An import of this store is already queued or running: wait for it to finish.',
        );
      }
      const key = `pricing-feeds/${runId}`;
      try {
        await storage.put(ctx.tenantId, key, file.stream);
        const job = await jobs.enqueue(ctx.tenantId, FEED_JOB, { runId, storeId, key, format, hint: file.name, mode });
        return { runId, jobId: job.id };
      } catch (err) {
        await repo.failRunsOfStore(db, ctx.tenantId, storeId, 'the upload could not be kept', clock());
        throw err;
      }
    },
    /** A run with its job's progress and attempts allowed (progress null before its job starts, or once the job is gone). */
    getRun: async (ctx: TenantContext, id: string) => {
      const run = isUuid(id) ? await repo.getRun(db, ctx.tenantId, id) : undefined;
      if (!run) throw notFound('PRICING_FEED_RUN_NOT_FOUND', 'The feed run');
      const job = run.jobId ? await jobs.get(ctx.tenantId, run.jobId) : undefined;
      return { ...run, progress: job?.progress ?? null, maxAttempts: job?.maxAttempts ?? RUN_MAX_ATTEMPTS };
    },
  };
}
export type FeedsService = ReturnType<typeof createFeedsService>;
