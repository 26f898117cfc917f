import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import {
  AppError,
  type Config,
  type Db,
  type JobQueue,
  type JobRun,
  PermanentJobError,
  conflict,
  newId,
  notFound,
  type TenantContext,
  validation,
} from '../../platform/index.ts';
import type { ItemUpsert } from '../catalog/index.ts';
import type { IdentityApi, ResolveInput } from '../identity/index.ts';
import { createShopifyAdminClient, ShopifyAdminError, type ShopifyAdminClient } from './connectors/shopify-admin.client.ts';
import {
  BACKFILL_RESOURCES,
  countOf,
  countQuery,
  customerAsWebhook,
  orderAsWebhook,
  PAGE_SIZE,
  pageOf,
  pageQuery,
  productAsItem,
  SHOP_QUERY,
} from './connectors/shopify-admin.core.ts';
import { mapShopify } from './connectors/shopify.core.ts';
import type { PendingEvent } from './ingest.core.ts';
import { scrubValue, scrubVendorEvents } from './ingest.core.ts';
import type { IngestService } from './ingest.service.ts';
import type { ConnectionRow, IntegrationsRepository } from './integrations.repository.ts';
import type { BackfillResources, BackfillRow, ResourceProgress, ShopifyBackfillRepository } from './shopify-backfill.repository.ts';

/** The catalog's write door as the backfill needs it (implemented by catalog's `upsertItems`, wired in src/app.ts). */
export interface CatalogItemWriter {
  upsertItems(tenantId: string, rows: ItemUpsert[]): Promise<{ inserted: number; updated: number }>;
}

export const SHOPIFY_BACKFILL_JOB = 'events.shopify_backfill';
const jobPayload = z.object({ connection_id: z.string().uuid(), run_id: z.string().uuid() }).strict();
/** Attempts of one run's job: a kill (the process dies) spends one, a graceful shutdown none. */
const MAX_ATTEMPTS = 5;
const SAMPLES = 5;

export interface ShopifyBackfillDeps {
  db: Db;
  repo: ShopifyBackfillRepository;
  connections: IntegrationsRepository;
  ingest: IngestService;
  identity: Pick<IdentityApi, 'resolveMany'>;
  /** The catalog's write door; set once the catalog module exists (`useCatalog`). */
  catalog: () => CatalogItemWriter | null;
  jobs: JobQueue;
  config: Pick<Config, 'shopify'>;
  clock: () => Date;
  log: FastifyBaseLogger;
}

const fresh = (): ResourceProgress => ({ cursor: null, done: 0, rejected: 0, total: null, complete: false, samples: [] });
const reject = (p: ResourceProgress, id: string | null, reason: string) => {
  p.rejected++;
  p.samples = [...p.samples, { id, reason: reason.slice(0, 200) }].slice(-SAMPLES);
};

/**
 * The backfill of a Shopify connection: past products (catalog's write door), customers (identity) and orders
 * (events' write door, source `backfill`: a bulk load) read through the GraphQL Admin API, page by page, as a
 * durable job per connection. After each page the cursor and counts are stored, so a killed process resumes at
 * the page it was on; pages are idempotent (items upsert by id, profiles resolve by identifiers, order lines keep
 * the webhook's event ids), so a page done twice, a second run, or a webhook for the same order counts each once.
 * A row Shopify sends that cannot be stored (no id, a price beyond range) is left out and counted, never failing
 * the run; text is cleaned of NUL bytes and lone surrogates.
 */
export function createShopifyBackfillService(deps: ShopifyBackfillDeps) {
  const { db, repo } = deps;

  async function shopifyConnection(tenantId: string, connectionId: string): Promise<ConnectionRow> {
    const c = await deps.connections.get(db, tenantId, connectionId);
    if (!c) throw notFound('INTEGRATION_NOT_FOUND', 'Integration');
    if (c.type !== 'shopify' || !c.shopDomain)
      throw validation('BACKFILL_NOT_SUPPORTED', 'Only Shopify connections (with a shop domain) can be backfilled.');
    return c;
  }

  function clientFor(c: ConnectionRow, token: string, signal: AbortSignal): ShopifyAdminClient {
    return createShopifyAdminClient({
      shopDomain: c.shopDomain!,
      accessToken: token,
      apiVersion: deps.config.shopify.apiVersion,
      baseUrl: deps.config.shopify.adminUrl,
      retryBaseMs: deps.config.shopify.retryBaseMs,
      signal,
    });
  }

  async function writeProducts(tenantId: string, nodes: Record<string, unknown>[], currency: string | null, p: ResourceProgress) {
    const items: ItemUpsert[] = [];
    for (const n of nodes) {
      const r = productAsItem(n, currency);
      if (r.ok) items.push(r.item);
      else reject(p, r.id, r.reason);
    }
    const catalog = deps.catalog();
    if (!catalog) throw new Error('the catalog is not wired to the Shopify backfill');
    if (items.length) await catalog.upsertItems(tenantId, items);
    p.done += items.length;
  }

  async function resolveEach(tenantId: string, inputs: { id: string | null; input: ResolveInput }[], p: ResourceProgress) {
    if (!inputs.length) return 0;
    try {
      await deps.identity.resolveMany(tenantId, scrubValue(inputs.map((i) => i.input)));
      return inputs.length;
    } catch (err) {
      if (!(err instanceof AppError) || err.kind !== 'validation') throw err;
      // One bad customer must not sink its page: retried one by one, the bad ones left out.
      let ok = 0;
      for (const i of inputs) {
        try {
          await deps.identity.resolveMany(tenantId, scrubValue([i.input]));
          ok++;
        } catch (e) {
          if (!(e instanceof AppError) || e.kind !== 'validation') throw e;
          reject(p, i.id, e.message);
        }
      }
      return ok;
    }
  }

  async function writeCustomers(tenantId: string, nodes: Record<string, unknown>[], p: ResourceProgress) {
    const now = deps.clock();
    const inputs: { id: string | null; input: ResolveInput }[] = [];
    for (const n of nodes) {
      const body = customerAsWebhook(n);
      const mapped = body ? mapShopify('customers/create', body, now) : null;
      const input = mapped?.profiles[0];
      if (!body || !input) reject(p, body ? String(body.id) : null, mapped?.ignored ?? 'customer without an id');
      else inputs.push({ id: String(body.id), input });
    }
    p.done += await resolveEach(tenantId, inputs, p);
  }

  async function writeOrders(tenantId: string, nodes: Record<string, unknown>[], p: ResourceProgress) {
    const now = deps.clock();
    const events: PendingEvent[] = [];
    const profiles: { id: string | null; input: ResolveInput }[] = [];
    for (const n of nodes) {
      const body = orderAsWebhook(n);
      if (!body) {
        reject(p, null, 'order without an id');
        continue;
      }
      const id = String(body.id);
      const mapped = mapShopify('orders/create', body, now);
      const own = scrubVendorEvents(mapped.events);
      // An order is stored whole or not at all: one line out of range leaves the order out (counted once).
      const problem = own.map((e) => deps.ingest.problemOf(e)).find((x) => x !== null);
      if (problem) {
        reject(p, id, `${problem.field}: ${problem.message}`);
        continue;
      }
      events.push(...own);
      for (const input of mapped.profiles) profiles.push({ id, input });
      p.done++;
    }
    if (events.length) await deps.ingest.write({ tenantId }, events, { source: 'backfill' });
    if (profiles.length) await resolveEach(tenantId, profiles, p);
  }

  /** The job: resumes the connection's current run from its stored cursors. */
  async function run(job: JobRun<z.infer<typeof jobPayload>>): Promise<unknown> {
    const tenantId = job.tenantId;
    const { connection_id: connectionId, run_id: runId } = job.payload;
    const row = await repo.get(db, tenantId, connectionId);
    if (!row || row.runId !== runId || (row.status !== 'queued' && row.status !== 'running')) return { skipped: 'not the current run' };
    const c = await deps.connections.get(db, tenantId, connectionId);
    if (!c || c.type !== 'shopify' || !c.shopDomain) {
      await repo.save(db, tenantId, connectionId, runId, {
        status: 'failed',
        lastError: { code: 'INTEGRATION_NOT_FOUND', message: 'The connection was removed; the backfill stopped.' },
      });
      return { skipped: 'connection removed' };
    }
    if (row.accessToken === null) {
      const lastError = {
        code: 'SHOPIFY_TOKEN_UNREADABLE',
        message: 'The stored Admin API token cannot be decrypted with the server’s key: start the backfill again with the token.',
      };
      await repo.save(db, tenantId, connectionId, runId, { status: 'failed', lastError });
      throw new PermanentJobError(lastError.message);
    }
    const resources: BackfillResources = row.resources;
    await repo.save(db, tenantId, connectionId, runId, { status: 'running', resources });
    const client = clientFor(c, row.accessToken, job.signal);
    const save = (status: 'running') => repo.save(db, tenantId, connectionId, runId, { status, resources });
    try {
      let currency: string | null = null;
      for (const resource of BACKFILL_RESOURCES) {
        const p = (resources[resource] ??= fresh());
        if (p.complete) continue;
        if (resource === 'products' && currency === null) {
          const shop = (await client.query(SHOP_QUERY, {}, { resource, expectedCost: 2 })) as
            | { shop?: { currencyCode?: unknown } }
            | undefined;
          currency = typeof shop?.shop?.currencyCode === 'string' ? shop.shop.currencyCode : null;
        }
        if (p.total === null) {
          p.total = countOf(await client.query(countQuery(resource), {}, { resource, expectedCost: 2 }), resource);
          await save('running');
        }
        for (;;) {
          const data = await client.query(
            pageQuery(resource),
            { first: PAGE_SIZE, after: p.cursor },
            { resource, expectedCost: resource === 'orders' ? 300 : 60 },
          );
          const page = pageOf(data, resource);
          if (resource === 'products') await writeProducts(tenantId, page.nodes, currency, p);
          else if (resource === 'customers') await writeCustomers(tenantId, page.nodes, p);
          else await writeOrders(tenantId, page.nodes, p);
          if (page.hasNextPage) p.cursor = page.endCursor;
          else p.complete = true;
          // After the page's writes: a kill before this line redoes the page, which its idempotent writes allow.
          if (!(await save('running'))) return { skipped: 'superseded or cancelled' };
          void job.progress({ resource, ...summary(resources) });
          if (p.complete) break;
        }
      }
      await repo.save(db, tenantId, connectionId, runId, { status: 'succeeded', resources, lastError: null });
      return summary(resources);
    } catch (err) {
      if (job.signal.aborted) {
        const cancelled = String((job.signal.reason as Error | undefined)?.message ?? '') === 'cancelled';
        // A shutdown leaves the run running: the job comes back after the restart and resumes from the cursor.
        if (cancelled) await repo.save(db, tenantId, connectionId, runId, { status: 'cancelled', resources });
        throw err;
      }
      const e =
        err instanceof ShopifyAdminError
          ? err
          : new ShopifyAdminError('SHOPIFY_UNAVAILABLE', 'The backfill failed unexpectedly; it will try again.', false);
      if (!(err instanceof ShopifyAdminError)) deps.log.error({ err, tenantId, connectionId }, 'shopify backfill failed');
      const last = e.permanent || job.attempt >= MAX_ATTEMPTS;
      await repo.save(db, tenantId, connectionId, runId, {
        status: last ? 'failed' : 'running',
        resources,
        lastError: { code: e.code, message: e.message },
      });
      if (e.permanent) throw new PermanentJobError(e.message);
      throw err;
    }
  }

  return {
    registerJobs(): void {
      deps.jobs.register({
        type: SHOPIFY_BACKFILL_JOB,
        payload: jobPayload,
        maxAttempts: MAX_ATTEMPTS,
        maxRunningPerTenant: 1,
        handle: run,
      });
    },

    /** The connection's latest run, or null when it was never backfilled. */
    async status(ctx: TenantContext, connectionId: string): Promise<BackfillRow | null> {
      await shopifyConnection(ctx.tenantId, connectionId);
      const row = (await repo.get(db, ctx.tenantId, connectionId)) ?? null;
      if (row && row.jobId && (row.status === 'queued' || row.status === 'running')) {
        // A job that ended without its handler saying so (killed on its last attempt): the run is over, say why.
        const job = await deps.jobs.get(ctx.tenantId, row.jobId);
        if (job && (job.status === 'failed' || job.status === 'cancelled' || job.status === 'succeeded')) {
          await repo.save(db, ctx.tenantId, connectionId, row.runId, {
            status: job.status === 'cancelled' ? 'cancelled' : 'failed',
            lastError: {
              code: 'BACKFILL_INTERRUPTED',
              message:
                'The backfill stopped with its server process too many times. Run it again: it starts over, and rows already stored are not counted twice.',
            },
          });
          return (await repo.get(db, ctx.tenantId, connectionId)) ?? null;
        }
      }
      return row;
    },

    /** Starts a run (the token given, or the one the previous run used). 409 while a run is queued or running. */
    async start(ctx: TenantContext, connectionId: string, accessToken: string | undefined): Promise<BackfillRow> {
      const c = await shopifyConnection(ctx.tenantId, connectionId);
      if (c.status !== 'active') throw conflict('INTEGRATION_PAUSED', 'This connection is paused: resume it before backfilling.');
      const previous = await repo.get(db, ctx.tenantId, c.id);
      const token = accessToken ?? previous?.accessToken ?? null;
      if (!token)
        throw validation(
          'BACKFILL_TOKEN_REQUIRED',
          'Give the Admin API access token of a custom app with the read_products, read_customers and read_orders scopes (Shopify admin → Settings → Apps → Develop apps).',
          [{ field: 'access_token', message: 'required for the first backfill' }],
        );
      const runId = newId();
      const row = await repo.startRun(db, ctx.tenantId, c.id, runId, token);
      if (!row) throw conflict('BACKFILL_RUNNING', 'A backfill of this connection is already running: wait for it, or cancel it first.');
      const job = await deps.jobs.enqueue(
        ctx.tenantId,
        SHOPIFY_BACKFILL_JOB,
        { connection_id: c.id, run_id: runId },
        { dedupeKey: `${SHOPIFY_BACKFILL_JOB}:${runId}` },
      );
      await repo.setJob(db, ctx.tenantId, c.id, runId, job.id);
      return { ...row, jobId: job.id };
    },

    /** Cancels the running or queued run (its progress stays visible). 409 when none is. */
    async cancel(ctx: TenantContext, connectionId: string): Promise<BackfillRow> {
      const c = await shopifyConnection(ctx.tenantId, connectionId);
      const row = await repo.get(db, ctx.tenantId, c.id);
      if (!row || (row.status !== 'queued' && row.status !== 'running'))
        throw conflict('BACKFILL_NOT_RUNNING', 'No backfill of this connection is running.');
      await repo.save(db, ctx.tenantId, c.id, row.runId, { status: 'cancelled' });
      if (row.jobId) await deps.jobs.cancel(ctx.tenantId, row.jobId);
      return (await repo.get(db, ctx.tenantId, c.id))!;
    },
  };
}
export type ShopifyBackfillService = ReturnType<typeof createShopifyBackfillService>;

/** Totals over the resources of a run (for progress). */
export function summary(resources: BackfillResources) {
  const out: Record<string, { done: number; total: number | null; rejected: number; complete: boolean }> = {};
  for (const r of BACKFILL_RESOURCES) {
    const p = resources[r];
    out[r] = { done: p?.done ?? 0, total: p?.total ?? null, rejected: p?.rejected ?? 0, complete: p?.complete ?? false };
  }
  return out;
}
