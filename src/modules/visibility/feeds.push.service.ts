import { z } from 'zod';
import { AppError, conflict, type Db, type JobQueue, notFound, type TenantContext, inTenant } from '../../platform/index.ts';
import { contentHash, planPush, toProductInput } from './feeds.push.core.ts';
import type { FeedJobRow, FeedJobStatus, FeedsRepository, ItemStateWrite } from './feeds.repository.ts';
import type { FeedsService, CatalogFeedPort } from './feeds.service.ts';
import { precheckFeed } from './feeds.precheck.core.ts';
import type { MerchantClient, MerchantOutcome } from './google.merchant.client.ts';
import type { GoogleService } from './google.service.ts';

export const FEED_PUSH_JOB = 'visibility.feed_push';
const payload = z.object({ feedJobId: z.string() });
const MAX_ATTEMPTS = 3;
/** Item states are written every this many calls, so a failed attempt keeps what it did. */
const FLUSH_EVERY = 200;

/** Manual status changes allowed by PATCH /api/feed-jobs/:id/status, by target (the worker drives the others). */
const ALLOWED_FROM = { failed: ['queued', 'retried'], retried: ['failed'] } as const satisfies Record<string, readonly FeedJobStatus[]>;

export interface FeedPushDeps {
  db: Db;
  repo: FeedsRepository;
  feeds: FeedsService;
  catalog: CatalogFeedPort;
  google: GoogleService;
  merchant: MerchantClient;
  jobs: JobQueue;
  clock: () => Date;
  random?: () => number;
}

/** A push that cannot continue: `retryable` says whether a later attempt may succeed. */
class PushAbort extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const jobNotFound = () => notFound('FEED_JOB_NOT_FOUND', 'The feed job');

/** Seed 004's feed push jobs: queued -> processing -> success | failed, failed -> retried -> processing, each change audited. */
export function createFeedPushService(deps: FeedPushDeps) {
  const { db, repo } = deps;
  const random = deps.random ?? Math.random;

  async function transition(
    tenantId: string,
    id: string,
    to: FeedJobStatus,
    actor: { type: string; id: string },
    reason: string | null,
    extra: Partial<Parameters<FeedsRepository['updateJob']>[3]> = {},
    allowedFrom?: readonly FeedJobStatus[],
  ): Promise<FeedJobRow> {
    return inTenant(db, tenantId, async (tx) => {
      const cur = await repo.lockJob(tx, tenantId, id);
      if (!cur) throw jobNotFound();
      // Checked under the row lock: a person's change never overwrites the worker's (or another person's).
      if (allowedFrom && !allowedFrom.includes(cur.status))
        throw conflict(
          'FEED_JOB_TRANSITION_INVALID',
          `A ${cur.status} job cannot be set to ${to}: only failed jobs are retried, and only waiting jobs are failed.`,
        );
      const now = deps.clock();
      const row = await repo.updateJob(tx, tenantId, id, { ...extra, status: to, now });
      await repo.insertEvent(tx, tenantId, { jobId: id, from: cur.status, to, reason, actorType: actor.type, actorId: actor.id, now });
      return row;
    });
  }

  const enqueue = (tenantId: string, feedJobId: string, runAt?: Date) =>
    deps.jobs.enqueue(tenantId, FEED_PUSH_JOB, { feedJobId }, { maxAttempts: 1, ...(runAt ? { runAt } : {}) });

  /** One attempt of a push. Throws PushAbort when the attempt cannot finish. */
  async function pushOnce(ctx: TenantContext, jobId: string, signal: AbortSignal): Promise<Record<string, number>> {
    const tenantId = ctx.tenantId;
    const link = await deps.google.merchantLink(tenantId);
    if (!link) throw new PushAbort('No Merchant Center account is set: link Google with a merchant_id and data_source_id.', false);
    let token: string;
    try {
      token = await deps.google.accessToken(tenantId);
    } catch (err) {
      throw new PushAbort(
        err instanceof AppError ? err.message : 'Could not get a Google access token.',
        !(err instanceof AppError) || err.kind === 'unavailable',
      );
    }
    const settings = await deps.feeds.settings(ctx);
    const items = await deps.feeds.catalogFeed(ctx, settings.mappingRules);
    const report = precheckFeed(items, { targetCountry: settings.targetCountry, taxonomy: await deps.catalog.googleTaxonomyPaths() });
    const target = { contentLanguage: link.contentLanguage, feedLabel: link.feedLabel };
    const states: ItemStateWrite[] = [];
    const current: { itemId: string; input: ReturnType<typeof toProductInput>; hash: string }[] = [];
    for (let i = 0; i < items.length; i++) {
      const r = report.items[i]!;
      const itemId = items[i]!.id ?? '';
      if (r.status === 'error') {
        const issues = r.issues
          .filter((x) => x.severity === 'error')
          .map((x) => ({ source: 'precheck', field: x.attribute, message: `${x.message} ${x.fix}` }));
        states.push({ itemId, contentHash: null, status: 'rejected', issues });
        continue;
      }
      const input = toProductInput(items[i]!, target);
      current.push({ itemId, input, hash: contentHash(input) });
    }
    const written = await repo.writtenHashes(db, tenantId);
    // Items refused by the precheck are not in Merchant Center's feed any more: those written before are deleted.
    const refused = new Set(states.map((x) => x.itemId));
    const plan = planPush(current, written, refused);
    for (const itemId of plan.forget) states.push({ itemId, contentHash: null, status: 'deleted', issues: [] });
    const summary = { items: items.length, inserted: 0, deleted: 0, unchanged: plan.unchanged, rejected: states.length, calls: 0 };
    const flush = async () => {
      await repo.writeItemStates(db, tenantId, jobId, states.splice(0), deps.clock());
    };
    const t = { merchantId: link.merchantId, dataSourceId: link.dataSourceId };
    let refreshed = false;
    const callWithAuth = async (fn: (tok: string) => Promise<MerchantOutcome>): Promise<MerchantOutcome> => {
      let out = await fn(token);
      summary.calls += out.calls;
      if (!out.ok && out.kind === 'unauthorized' && !refreshed) {
        // A token revoked or expired mid-push: refresh once; a withdrawn consent stops the push.
        refreshed = true;
        try {
          token = await deps.google.forceRefresh(tenantId);
        } catch (err) {
          throw new PushAbort(err instanceof AppError ? err.message : 'Google refused the access token.', false);
        }
        out = await fn(token);
        summary.calls += out.calls;
      }
      if (out.ok || out.kind === 'item') return out;
      if (out.kind === 'unauthorized') throw new PushAbort(`Google refused the access token (${out.message}). Link Google again.`, false);
      if (out.kind === 'gone') throw new PushAbort(`The Merchant API endpoint answered 410 Gone (${out.message}).`, false);
      throw new PushAbort(`The Merchant API kept failing (${out.kind}, HTTP ${out.status}: ${out.message}) after retries.`, true);
    };
    try {
      for (const u of plan.upserts) {
        if (signal.aborted) throw new PushAbort('The push was interrupted.', true);
        const out = await callWithAuth((tok) => deps.merchant.insert(tok, t, u.input, signal));
        if (out.ok) {
          summary.inserted++;
          states.push({ itemId: u.itemId, contentHash: u.hash, status: 'pushed', issues: [] });
        } else if (out.kind === 'item') {
          summary.rejected++;
          states.push({
            itemId: u.itemId,
            contentHash: null,
            status: 'rejected',
            issues: out.issues.map((x) => ({ source: 'google', ...x })),
          });
        }
        if (states.length >= FLUSH_EVERY) await flush();
      }
      for (const itemId of plan.deletes) {
        const out = await callWithAuth((tok) => deps.merchant.delete(tok, t, { ...target, offerId: itemId }, signal));
        if (out.ok) {
          summary.deleted++;
          // An item the precheck refused keeps its 'rejected' state and issues; one gone from the catalog is 'deleted'.
          if (!refused.has(itemId)) states.push({ itemId, contentHash: null, status: 'deleted', issues: [] });
        }
        if (states.length >= FLUSH_EVERY) await flush();
      }
    } finally {
      await flush();
    }
    return summary;
  }

  async function runJob(ctx: TenantContext, feedJobId: string, signal: AbortSignal): Promise<void> {
    const tenantId = ctx.tenantId;
    const cur = await repo.getJob(db, tenantId, feedJobId);
    if (!cur || (cur.status !== 'queued' && cur.status !== 'retried')) return;
    const system = { type: 'system', id: 'feed-push' };
    const attempt = cur.attempts + 1;
    await transition(tenantId, feedJobId, 'processing', system, `attempt ${attempt} of ${cur.maxAttempts}`, {
      attempts: attempt,
      started: true,
      lastError: null,
    });
    try {
      const summary = await pushOnce(ctx, feedJobId, signal);
      await transition(tenantId, feedJobId, 'success', system, null, { summary, finished: true });
    } catch (err) {
      const abort = err instanceof PushAbort ? err : new PushAbort('Unexpected error during the push.', true);
      await transition(tenantId, feedJobId, 'failed', system, abort.message, { lastError: abort.message, finished: true });
      if (abort.retryable && attempt < cur.maxAttempts) {
        // Exponential backoff with jitter between attempts: 30 s, 60 s ... (x 0.5..1.5).
        const delay = Math.round(30_000 * 2 ** (attempt - 1) * (0.5 + random()));
        await transition(tenantId, feedJobId, 'retried', system, `retry in ${Math.round(delay / 1000)} s`);
        await enqueue(tenantId, feedJobId, new Date(deps.clock().getTime() + delay));
      }
    }
  }

  return {
    register(): void {
      deps.jobs.register({
        type: FEED_PUSH_JOB,
        payload,
        maxAttempts: 1,
        handle: (run) => runJob(run.ctx, run.payload.feedJobId, run.signal),
      });
    },

    /** Queues a push of the tenant's catalog; the job's status trail starts with 'queued'. */
    async push(ctx: TenantContext, trigger: 'api' | 'google'): Promise<FeedJobRow> {
      const link = await deps.google.merchantLink(ctx.tenantId);
      if (!link)
        throw conflict(
          'GOOGLE_MERCHANT_NOT_SET',
          'No Merchant Center account is set: link Google with a merchant_id and data_source_id first.',
        );
      const job = await inTenant(db, ctx.tenantId, async (tx) => {
        const now = deps.clock();
        const row = await repo.createJob(tx, ctx.tenantId, { trigger, maxAttempts: MAX_ATTEMPTS }, now);
        await repo.insertEvent(tx, ctx.tenantId, {
          jobId: row.id,
          from: null,
          to: 'queued',
          reason: trigger,
          actorType: ctx.actor.type,
          actorId: ctx.actor.id,
          now,
        });
        return row;
      });
      await enqueue(ctx.tenantId, job.id);
      return job;
    },

    list: (ctx: TenantContext, f: { status?: string | undefined; before?: string | undefined; limit: number }) =>
      repo.listJobs(db, ctx.tenantId, f),
    async get(ctx: TenantContext, id: string) {
      const job = await repo.getJob(db, ctx.tenantId, id);
      if (!job) throw jobNotFound();
      return job;
    },
    events: (ctx: TenantContext, jobIds: readonly string[]) =>
      jobIds.length ? repo.eventsOf(db, ctx.tenantId, jobIds) : Promise.resolve([]),
    itemIssues: (ctx: TenantContext, f: { jobId?: string | undefined; limit: number }) => repo.itemIssues(db, ctx.tenantId, f),

    /**
     * A person's status change: retry a failed job (-> retried, queued again at once), or give up on a
     * waiting one (queued/retried -> failed). Anything else is 409.
     */
    async setStatus(ctx: TenantContext, id: string, to: 'retried' | 'failed', reason: string | null): Promise<FeedJobRow> {
      const actor = { type: ctx.actor.type, id: ctx.actor.id };
      if (to === 'failed')
        return transition(
          ctx.tenantId,
          id,
          'failed',
          actor,
          reason ?? 'cancelled',
          { lastError: reason ?? 'cancelled by a person', finished: true },
          ALLOWED_FROM.failed,
        );
      // A manual retry gives the job a fresh set of automatic attempts.
      const row = await transition(ctx.tenantId, id, 'retried', actor, reason ?? 'manual retry', { attempts: 0 }, ALLOWED_FROM.retried);
      await enqueue(ctx.tenantId, id);
      return row;
    },
  };
}
export type FeedPushService = ReturnType<typeof createFeedPushService>;
