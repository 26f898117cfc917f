import { z } from 'zod';
import {
  AppError,
  PermanentJobError,
  parseNetworks,
  type PlatformServices,
  type PrivatePolicy,
  resolveTarget,
  type TenantContext,
  isUuid,
  newId,
  notFound,
  resealColumn,
} from '../../platform/index.ts';
import { type FeedFormat, type FeedRecord, detectFormat, parseFeed } from './feed.core.ts';
import { FeedFetchError, type FeedValidators, feedUrlProblem, fetchFeed } from './feed.client.ts';
import type { FeedsService, ImportMode } from './feeds.service.ts';
import { NetworkAuthError, type NetworkHttpOptions, type NetworkPage, cjClient, rakutenClient } from './networks.client.ts';
import { pricingRepository as repo } from './pricing.repository.ts';
import { RUN_MAX_ATTEMPTS, type RunLog, createRunLog, logRetry } from './runs.service.ts';
import { type SourceRow, sourcesRepository as sources } from './sources.repository.ts';

export const NETWORK_JOB = 'pricing.network';
const payload = z.object({
  runId: z.string(),
  sourceId: z.string(),
  /** 'prices': a price-only run (absent in jobs queued before it existed: a full import). */
  mode: z.enum(['full', 'prices']).default('full'),
});
const MAX_ATTEMPTS = RUN_MAX_ATTEMPTS;
/** The share of a network run's progress that reading the pages takes (the import takes the rest). */
const READ_SHARE = 0.4;
/** Records one network import keeps in memory at most (everything is read before anything is written). */
const MAX_RECORDS = 1_000_000;

export type SourceConnect =
  | ({ network: 'rakuten'; clientId: string; clientSecret: string; sid: string; mid: string; keyword: string | null } & Schedules)
  | ({ network: 'cj'; token: string; companyId: string; partnerIds: string[] } & Schedules)
  | ({ network: 'feed'; url: string; format: FeedFormat | null } & Schedules);
export type Schedule = 'hourly' | 'daily' | 'off';
/** Full imports on `schedule`; price-only updates (known offers' prices and availability) on `priceSchedule`. */
interface Schedules {
  schedule: Schedule;
  priceSchedule: 'hourly' | 'off';
}

/** What a feed URL shows: its origin and path, never its query (often a key). */
const shownUrl = (raw: string) => {
  const u = new URL(raw);
  return `${u.origin}${u.pathname}`;
};

const secretContext = (tenantId: string, id: string) => `pricing-source:${tenantId}:${id}`;

const NETWORK_NAMES = { rakuten: 'Rakuten Advertising', cj: 'CJ', feed: 'the feed URL' } as const;

/** What an operator does after a run failed for good (the last line of its log). */
function nextStep(err: unknown, src: SourceRow): string {
  if (err instanceof NetworkAuthError)
    return `Next: renew the credentials at ${NETWORK_NAMES[src.network]} and connect the store again (Networks page, or PUT /api/v1/pricing/stores/${src.storeId}/network); until then every import of this store fails the same way.`;
  const next = src.schedule !== 'off' && src.nextRunAt ? ` The next scheduled import starts at ${src.nextRunAt.toISOString()}.` : '';
  return `Next: check that ${NETWORK_NAMES[src.network]} answers, then import again (Import now).${next}`;
}

export interface SourcesDeps {
  platform: PlatformServices;
  feeds: Pick<FeedsService, 'importRecords' | 'importPrices'>;
  /** Test hook: the clients' transport (fetch, sleep). */
  http?: NetworkHttpOptions;
}

/**
 * Affiliate network connections of stores (Rakuten Advertising, CJ): connect (credentials sealed at rest),
 * import now, scheduled imports (hourly or daily, claimed by the elected scheduler), and each one's last run.
 * An import reads every page before it writes: a network that fails halfway, refuses the credentials or
 * answers garbage changes no price (the last good prices stay) and records the error on the source.
 */
export function createSourcesService({ platform, feeds, http }: SourcesDeps) {
  const { db, jobs, clock, secrets, config } = platform;
  const transport: NetworkHttpOptions = { baseDelayMs: config.pricing.networkRetryBaseMs, ...http };

  function clientFor(src: SourceRow, tenantId: string, log: RunLog) {
    const cred = JSON.parse(secrets.open(src.credentials, secretContext(tenantId, src.id))) as Record<string, string>;
    const a = src.account as Record<string, unknown>;
    const onRetry: NetworkHttpOptions['onRetry'] = (i) => {
      transport.onRetry?.(i);
      log.warn(`${i.what}: ${i.reason}; asking again in ${(i.delayMs / 1000).toFixed(1)} s (call ${i.attempt + 1})`);
    };
    if (src.network === 'rakuten')
      return rakutenClient(
        {
          baseUrl: config.pricing.rakutenApiUrl,
          clientId: cred.client_id ?? '',
          clientSecret: cred.client_secret ?? '',
          sid: String(a.sid ?? ''),
          mid: String(a.mid ?? ''),
          keyword: typeof a.keyword === 'string' ? a.keyword : null,
        },
        { ...transport, onRetry },
      );
    return cjClient(
      {
        baseUrl: config.pricing.cjApiUrl,
        token: cred.token ?? '',
        companyId: String(a.company_id ?? ''),
        partnerIds: Array.isArray(a.partner_ids) ? a.partner_ids.map(String) : [],
      },
      { ...transport, onRetry },
    );
  }

  const feedPolicy: PrivatePolicy =
    typeof config.pricing.feedsAllowPrivate === 'string'
      ? parseNetworks(config.pricing.feedsAllowPrivate)
      : config.pricing.feedsAllowPrivate;

  /** A feed URL source's records: null when the feed is unchanged since its last good answer (304). */
  async function fetchFeedRecords(src: SourceRow, tenantId: string): Promise<{ records: FeedRecord[]; validators: FeedValidators } | null> {
    const cred = JSON.parse(secrets.open(src.credentials, secretContext(tenantId, src.id))) as Record<string, string>;
    const url = cred.url ?? '';
    const got = await fetchFeed(
      url,
      { etag: src.feedEtag, lastModified: src.feedLastModified },
      { policy: feedPolicy, maxBytes: config.pricing.feedMaxBytes, timeoutMs: config.pricing.feedTimeoutMs },
    );
    if (got.kind === 'not_modified') return null;
    const declared = (src.account as { format?: FeedFormat | null }).format ?? null;
    const format = declared ?? detectFormat(got.text, got.contentType ?? new URL(url).pathname);
    try {
      return { records: parseFeed(got.text, format), validators: { etag: got.etag, lastModified: got.lastModified } };
    } catch (err) {
      throw new PermanentJobError(`the ${format.toUpperCase()} feed could not be read: ${(err as Error).message.slice(0, 300)}`);
    }
  }

  async function queueRun(
    tenantId: string,
    src: { id: string; storeId: string; network: string },
    mode: ImportMode = 'full',
  ): Promise<{ runId: string; jobId: string } | null> {
    const runId = newId();
    // One run per store at a time, whatever its mode (the runs table's partial unique index): a price-only run never
    // writes beside a full import of the same store.
    const inserted = await repo.insertRun(db, tenantId, { id: runId, storeId: src.storeId, format: src.network, mode }, clock());
    if (!inserted) return null;
    const job = await jobs.enqueue(tenantId, NETWORK_JOB, { runId, sourceId: src.id, mode });
    await sources.recordRun(db, tenantId, src.id, { runId, status: 'queued', error: null }, clock());
    return { runId, jobId: job.id };
  }

  jobs.register({
    type: NETWORK_JOB,
    payload,
    maxAttempts: MAX_ATTEMPTS,
    retryBaseMs: config.pricing.runRetryBaseMs,
    maxRunningPerTenant: 1,
    onRetry: logRetry(platform),
    async handle(run) {
      const { runId, sourceId, mode } = run.payload;
      const tenantId = run.tenantId;
      const log = createRunLog(platform, tenantId, runId);
      const [src] = await sources.list(db, tenantId, sourceId);
      const fail = async (failure: string, next: string) => {
        log.error(`failed: ${failure}. ${next}`);
        await log.flush();
        await repo.updateRun(db, tenantId, runId, { status: 'failed', failure, finishedAt: clock() });
        if (src) await sources.recordRun(db, tenantId, src.id, { runId, status: 'failed', error: failure }, clock());
      };
      if (!src) {
        await fail('the network connection was removed', 'Next: connect the store again to import it.');
        throw new PermanentJobError('the network connection was removed');
      }
      await repo.updateRun(db, tenantId, runId, { status: 'running', attempts: run.attempt, jobId: run.id });
      await sources.recordRun(db, tenantId, src.id, { runId, status: 'running', error: null }, clock());
      // A retry starts over: its progress too.
      await run.progress({ fraction: 0, pages_read: 0, rows_read: 0 }, true);
      log.info(
        `attempt ${run.attempt} of ${MAX_ATTEMPTS} started: ${mode === 'prices' ? 'a price-only update' : 'a full import'} from ${NETWORK_NAMES[src.network]}`,
      );
      let records: FeedRecord[] = [];
      let validators: FeedValidators | null = null;
      try {
        if (src.network === 'feed') {
          const got = await fetchFeedRecords(src, tenantId);
          if (!got) {
            // 304: the feed is the one last imported; its prices stand confirmed (a success), nothing is written.
            log.info('finished: the feed is unchanged since the last import (HTTP 304); its prices stand confirmed');
            await log.flush();
            await repo.updateRun(db, tenantId, runId, { status: 'succeeded', rowsRead: 0, finishedAt: clock() });
            await sources.recordRun(db, tenantId, src.id, { runId, status: 'succeeded', error: null }, clock());
            await run.progress({ fraction: 1 });
            return { mode, not_modified: true, rows_read: 0 };
          }
          if (got.records.length > MAX_RECORDS) throw new PermanentJobError(`the feed has more than ${MAX_RECORDS} products`);
          records = got.records;
          validators = got.validators;
          log.info(`feed read: ${records.length} rows`);
          await run.progress({ rows_read: records.length, fraction: READ_SHARE });
        } else {
          let pages = 0;
          for await (const page of clientFor(src, tenantId, log).pages() as AsyncGenerator<NetworkPage>) {
            pages++;
            records.push(...page.records);
            if (records.length > MAX_RECORDS) throw new PermanentJobError(`the network answered more than ${MAX_RECORDS} products`);
            // Rakuten's total counts pages, CJ's products.
            const share = page.total ? Math.min(1, (src.network === 'rakuten' ? pages : records.length) / page.total) : 0;
            const of = page.total ? (src.network === 'rakuten' ? ` of ${page.total}` : '') : '';
            const sofar = page.total && src.network !== 'rakuten' ? `${records.length} of ${page.total}` : `${records.length}`;
            log.info(`page ${pages}${of} read: ${page.records.length} products (${sofar} so far)`);
            await run.progress({ pages_read: pages, rows_read: records.length, total: page.total, fraction: READ_SHARE * share });
          }
        }
      } catch (err) {
        const permanent =
          err instanceof NetworkAuthError || err instanceof PermanentJobError || (err instanceof FeedFetchError && err.permanent);
        const message = (err as Error).message.slice(0, 400);
        const failure = `${message}; the last good prices are kept`;
        if (permanent || run.attempt >= MAX_ATTEMPTS) {
          await fail(failure, nextStep(err, src));
          throw err instanceof PermanentJobError ? err : new PermanentJobError(failure);
        }
        await log.flush();
        await sources.recordRun(db, tenantId, src.id, { runId, status: 'retrying', error: failure }, clock());
        // Nothing is written before every page is read: the retry (the queue's, logged by logRetry) starts over.
        throw new Error(`${message} (nothing was written: the last good prices stand)`);
      }
      try {
        const importer = mode === 'prices' ? feeds.importPrices : feeds.importRecords;
        const result = await importer(
          run.ctx,
          runId,
          src.storeId,
          records,
          (p) => run.progress(typeof p.fraction === 'number' ? { ...p, fraction: READ_SHARE + (1 - READ_SHARE) * p.fraction } : p),
          log,
        );
        if (validators) await sources.saveValidators(db, tenantId, src.id, validators);
        await sources.recordRun(db, tenantId, src.id, { runId, status: 'succeeded', error: null }, clock());
        await run.progress({ fraction: 1 });
        return result;
      } catch (err) {
        if (err instanceof PermanentJobError || run.attempt >= MAX_ATTEMPTS)
          await fail('the import failed; the last good prices are kept', nextStep(err, src));
        else await log.flush();
        throw err;
      }
    },
  });

  /** A feed URL must be http(s) and its host public (or allowed by PRICING_FEEDS_ALLOW_PRIVATE), as webhook targets. */
  async function checkFeedUrl(raw: string): Promise<void> {
    const problem = feedUrlProblem(raw);
    if (problem) throw new AppError('validation', 'PRICING_FEED_URL_INVALID', `The feed URL ${problem}.`);
    const target = await resolveTarget(new URL(raw), feedPolicy);
    if (!target.ok) throw new AppError('validation', 'PRICING_FEED_URL_REFUSED', `The feed URL's host ${target.reason}.`);
  }

  return {
    /** Connects (or reconnects) a store to its network; the first scheduled import is due at once. */
    async connect(ctx: TenantContext, storeId: string, v: SourceConnect): Promise<SourceRow> {
      const [store] = isUuid(storeId) ? await repo.listStores(db, ctx.tenantId, storeId) : [];
      if (!store) throw notFound('PRICING_STORE_NOT_FOUND', 'The store');
      const [existing] = (await sources.list(db, ctx.tenantId)).filter((s) => s.storeId === storeId);
      const id = existing?.id ?? newId();
      if (v.network === 'feed') await checkFeedUrl(v.url);
      // A feed URL is sealed like credentials (feed URLs often carry a key); its account shows the host and path only.
      const credentials =
        v.network === 'rakuten'
          ? { client_id: v.clientId, client_secret: v.clientSecret }
          : v.network === 'cj'
            ? { token: v.token }
            : { url: v.url };
      const account =
        v.network === 'rakuten'
          ? { sid: v.sid, mid: v.mid, keyword: v.keyword }
          : v.network === 'cj'
            ? { company_id: v.companyId, partner_ids: v.partnerIds }
            : { url: shownUrl(v.url), format: v.format };
      const now = clock();
      await sources.upsert(
        db,
        ctx.tenantId,
        {
          id,
          storeId,
          network: v.network,
          account,
          credentials: secrets.seal(JSON.stringify(credentials), secretContext(ctx.tenantId, id)),
          schedule: v.schedule,
          nextRunAt: v.schedule === 'off' ? null : now,
          priceSchedule: v.priceSchedule,
          // The first price-only update an hour after the first full import (which is due at once).
          nextPriceRunAt: v.priceSchedule === 'off' ? null : new Date(now.getTime() + 3_600_000),
        },
        now,
      );
      const [row] = await sources.list(db, ctx.tenantId, id);
      return row!;
    },
    list: (ctx: TenantContext) => sources.list(db, ctx.tenantId),
    async get(ctx: TenantContext, id: string): Promise<SourceRow> {
      const [row] = isUuid(id) ? await sources.list(db, ctx.tenantId, id) : [];
      if (!row) throw notFound('PRICING_SOURCE_NOT_FOUND', 'The network connection');
      return row;
    },
    async remove(ctx: TenantContext, id: string): Promise<void> {
      if (!isUuid(id) || !(await sources.remove(db, ctx.tenantId, id)))
        throw notFound('PRICING_SOURCE_NOT_FOUND', 'The network connection');
    },
    /** Queues an import (or a price-only run) now; 409 PRICING_IMPORT_RUNNING while one of the store is queued or running. */
    async runNow(ctx: TenantContext, id: string, mode: ImportMode = 'full'): Promise<{ runId: string; jobId: string }> {
      const [row] = isUuid(id) ? await sources.list(db, ctx.tenantId, id) : [];
      if (!row) throw notFound('PRICING_SOURCE_NOT_FOUND', 'The network connection');
      const out = await queueRun(ctx.tenantId, row, mode);
      if (!out)
        throw new AppError(
          'conflict',
          'PRICING_IMPORT_RUNNING',
          'An import of this store is already queued or running: wait for it to finish.',
        );
      return out;
    },
    /** A stale-price refresh (the product page's, in the background): a price-only run of the source now, or null. */
    async queuePriceRefresh(tenantId: string, sourceId: string): Promise<{ runId: string; jobId: string } | null> {
      const [row] = await sources.list(db, tenantId, sourceId);
      return row ? queueRun(tenantId, row, 'prices') : null;
    },
    /**
     * The scheduler's sweep: claims the sources due now (any tenant) and queues one import each. A store whose
     * import is still running is skipped until its next slot. Returns how many were queued.
     */
    async queueDueImports(limit = 100): Promise<number> {
      const now = clock();
      // Price-only slots are claimed first, so that a source whose full import is due in the same sweep is seen as such.
      const duePrices = await sources.claimDuePrices(db, now, limit);
      const due = await sources.claimDue(db, now, limit);
      let queued = 0;
      const queue = async (d: { tenantId: string; id: string; storeId: string; network: string }, mode: ImportMode) => {
        const out = await queueRun(d.tenantId, d, mode).catch((err: unknown) => {
          platform.log.warn({ err, sourceId: d.id, mode }, 'pricing: a scheduled network import could not be queued');
          return null;
        });
        // A price-only run refused because the store's import is queued or running: that import brings the prices.
        if (!out && mode === 'prices')
          platform.log.info({ sourceId: d.id }, 'pricing: price-only run skipped, an import of the store runs');
        if (out) queued++;
      };
      for (const d of due) await queue(d, 'full');
      for (const d of duePrices) if (!d.fullDue) await queue(d, 'prices');
      return queued;
    },

    /** Start-up step: seals network credentials still under a previous key with the current one. */
    async resealSecrets(): Promise<{ resealed: number; unreadable: number }> {
      return resealColumn(db, platform.secrets, {
        table: 'pricing_network_sources',
        column: 'credentials',
        rowKey: 'id',
        context: (t, id) => secretContext(t, id!),
      });
    },
  };
}
export type SourcesService = ReturnType<typeof createSourcesService>;
