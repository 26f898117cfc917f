import Fastify, { type FastifyInstance } from 'fastify';
import multipart from '@fastify/multipart';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createAuditRepository } from './platform/audit.repository.ts';
import { createPlatformAdminEntryRecorder, registerAuditHook } from './platform/audit.hook.ts';
import { registerAuthHooks, registerPreflight } from './platform/auth.hook.ts';
import type { Config } from './platform/config.ts';
import type { Database } from './platform/database.ts';
import { registerErrorHandler } from './platform/error-handler.ts';
import { refusingUnsafeUrlText, registerJsonParser } from './platform/json-body.ts';
import { randomToken } from './platform/ids.ts';
import { createJobQueue, type JobQueue } from './platform/jobs.queue.ts';
import { loggerOptions } from './platform/logger.ts';
import { createMetrics } from './platform/metrics.ts';
import { registerOpenApi } from './platform/openapi.ts';
import { platformRoutes } from './platform/platform.routes.ts';
import { createRateLimiter, logRedisOutages } from './platform/rate-limit.ts';
import { createResponseSerializers } from './platform/serializer.ts';
import { createTracing, registerRequestTracing, type Tracing } from './platform/tracing.ts';
import { ensureSecret } from './platform/secrets.ts';
import { loadSecretBox } from './platform/secret-box.ts';
import { createSecurityEventRepository } from './platform/security-events.ts';
import { createLocalStorage, type ObjectStorage } from './platform/storage.ts';
import type { ScheduledTask } from './platform/scheduler.ts';
import { createS3Storage } from './platform/storage.s3.ts';
import { createTenancyModule, type TenancyModule } from './modules/tenancy/index.ts';
import {
  createIdentityModule,
  createMartsSources,
  createProfilesWarehouseSource,
  createCohortProfilesSource,
} from './modules/identity/index.ts';
import {
  createAnalyticsBehaviourRepository,
  createAnalyticsSourceRepository,
  createCohortEventsSource,
  createFunnelRollupSources,
  createReportRollupSources,
  createEventsModule,
  createEventsQualitySource,
  createEventsWarehouseSource,
  createExperimentMetricSource,
  createProfileLinksRepository,
  createShopperHistorySource,
} from './modules/events/index.ts';
import { createCatalogModule, createItemsWarehouseSource, createProductsMartSource } from './modules/catalog/index.ts';
import { createRecsModule, modelExperimentFrom } from './modules/recs/index.ts';
import { createImportsModule } from './modules/imports/index.ts';
import { createAnalyticsModule } from './modules/analytics/index.ts';
import { createCommerceModule, createOrdersWarehouseSource } from './modules/commerce/index.ts';
import { createPricingModule } from './modules/pricing/index.ts';
import { createSponsoredModule } from './modules/sponsored/index.ts';
import {
  bestOffersFrom,
  createNewsfeedModule,
  feedSourcesFrom,
  moduleOrderFrom,
  recentInteractionsFrom,
  segmentsFrom,
  styleItemsFrom,
} from './modules/newsfeed/index.ts';
import { createExperimentsModule } from './modules/experiments/index.ts';
import { createVisibilityModule } from './modules/visibility/index.ts';
import { createBillingModule } from './modules/billing/index.ts';
import { createPredictionsModule, createCohortScoresSource } from './modules/predictions/index.ts';
import { createWebhooksModule } from './modules/webhooks/index.ts';
import { createWarehouseModule } from './modules/warehouse/index.ts';
import { createOnboardingModule } from './modules/onboarding/index.ts';
import { registerDashboard } from './platform/dashboard.ts';
import { registerStorefront } from './platform/storefront.ts';
import { systemContext } from './platform/access.ts';
import { writeBackup } from './platform/backup.ts';
import { localRoutes } from './platform/local.routes.ts';
import type { PlatformServices } from './platform/services.ts';
import path from 'node:path';
import { VERSION } from './version.ts';

export { VERSION };

// Request ids: a random per-process prefix and a counter: unique across replicas and restarts, and far
// cheaper on the hot path than a UUID per request.
const requestIdPrefix = randomToken(8);
let requestCounter = 0;
const nextRequestId = (): string => `${requestIdPrefix}-${(++requestCounter).toString(36)}`;

export interface AppDeps {
  database: Database;
  /** Shared Redis client for rate limits and caches across replicas (from REDIS_URL when not given). */
  redis?: Redis;
  storage?: ObjectStorage;
  clock?: () => Date;
  /**
   * The per-start secret of the data-folder lock (`loupe serve` on the embedded database): enables the
   * loopback-only routes through which `loupe import` and `loupe backup` reach this server (local.routes.ts).
   */
  localSecret?: string;
}

export interface LoupeApp {
  app: FastifyInstance;
  jobs: JobQueue;
  tenancy: TenancyModule;
  modules: {
    identity: ReturnType<typeof createIdentityModule>;
    events: ReturnType<typeof createEventsModule>;
    catalog: ReturnType<typeof createCatalogModule>;
    recs: ReturnType<typeof createRecsModule>;
    imports: ReturnType<typeof createImportsModule>;
    analytics: ReturnType<typeof createAnalyticsModule>;
    commerce: ReturnType<typeof createCommerceModule>;
    pricing: ReturnType<typeof createPricingModule>;
    sponsored: ReturnType<typeof createSponsoredModule>;
    newsfeed: ReturnType<typeof createNewsfeedModule>;
    experiments: ReturnType<typeof createExperimentsModule>;
    visibility: ReturnType<typeof createVisibilityModule>;
    billing: ReturnType<typeof createBillingModule>;
    predictions: ReturnType<typeof createPredictionsModule>;
    webhooks: ReturnType<typeof createWebhooksModule>;
    warehouse: ReturnType<typeof createWarehouseModule>;
  };
  storage: ObjectStorage;
  /**
   * The periodic work of every module, run once per cluster by the elected scheduler (src/platform/scheduler.ts,
   * started by `serve` and `worker` in src/cli/shared.ts); a process that is not the scheduler runs none of it.
   */
  scheduledTasks: readonly ScheduledTask[];
  /** OpenTelemetry (off unless OTEL_EXPORTER_OTLP_ENDPOINT is set): `flush` sends the spans still buffered. */
  tracing: Tracing;
  /** Compiles every route's response serializer now (before listening); returns how many were still lazy. */
  warmSerializers(): number;
  /** Stops workers, closes HTTP and the Redis client (not the database, which the caller owns). */
  close(): Promise<void>;
}

/**
 * Builds the whole application without listening: platform hooks, every module's routes and jobs.
 * `main.ts` listens and runs workers; tests call `app.inject()`.
 */
export async function buildApp(config: Config, deps: AppDeps): Promise<LoupeApp> {
  const app = Fastify({
    logger: loggerOptions(config.logLevel),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,100}$/.test(given) ? given : nextRequestId();
    },
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false } },
    // Route params longer than this are refused before any handler runs.
    routerOptions: { maxParamLength: 500 },
  }).withTypeProvider();
  // Path and query text with a NUL or a lone surrogate is refused before any schema or handler sees it.
  app.setValidatorCompiler(refusingUnsafeUrlText(validatorCompiler));
  // Response serializers compiled from the zod schemas (fast-json-stringify): undeclared fields never leak.
  // Compiled at a route's first response (most apps built by tests and CLI commands answer few routes);
  // `loupe serve` compiles them all before listening (warmSerializers).
  const serializers = createResponseSerializers();
  app.setSerializerCompiler(serializers.compiler);
  // One JSON parser for every route: no NUL, no lone surrogate, no deep nesting gets past the edge.
  registerJsonParser(app);
  // First of the hooks, so every later hook, the handler and their statements run inside the request's span.
  const tracing = createTracing(config.tracing);
  if (tracing.tracer) registerRequestTracing(app, tracing.tracer);
  // Set when the request arrives, so every answer carries it (errors and 404s too), without an onSend step.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', String(request.id));
    done();
  });

  const { database } = deps;
  const db = database.db;
  const redis =
    deps.redis ??
    (config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: false }) : undefined);
  const ownsRedis = !deps.redis && !!redis;
  if (redis) logRedisOutages(redis, app.log);
  const metrics = createMetrics();
  metrics.install(app);
  database.replica?.onChange((s) =>
    s.target === 'replica'
      ? app.log.info({ lagMs: s.lagMs }, 'reports read from the replica again')
      : app.log.warn({ reason: s.reason }, 'reports read from the primary: the replica is not usable'),
  );
  const audit = createAuditRepository(db);
  const security = createSecurityEventRepository(db);
  const storage =
    deps.storage ??
    (config.objectStore.kind === 's3'
      ? createS3Storage({ ...config.objectStore, credentials: config.objectStore.credentials })
      : createLocalStorage(path.join(config.dataDir, 'objects')));
  /** The one clock of the process: every service, job and hook reads time from it (tests pass their own). */
  const clock = deps.clock ?? (() => new Date());
  const jobs = createJobQueue({
    db,
    logger: app.log as unknown as Logger,
    pollMs: config.jobs.pollMs,
    onJobFinished: metrics.jobFinished,
    tenantLimits: { maxQueued: config.jobs.tenantMaxQueued, maxRunning: config.jobs.tenantMaxRunning },
    exclusiveDatabase: database.kind === 'pglite',
    leaseSeconds: config.jobs.leaseSeconds,
    ...(tracing.tracer ? { tracer: tracing.tracer } : {}),
  });
  const jwtSecret = await ensureSecret(db, 'jwt', config.jwtSecret);
  const secrets = loadSecretBox({ configured: config.secretsKey.current, previous: config.secretsKey.previous, dataDir: config.dataDir });
  const tenancy = createTenancyModule({ db, config, jwtSecret, security, clock, log: app.log, secrets });
  await tenancy.resealSecrets();
  const platform: PlatformServices = {
    db,
    reader: database.reader ?? db,
    config,
    jobs,
    storage,
    secrets,
    log: app.log,
    clock,
    databaseKind: database.kind,
  };
  // Domain modules, wired by their public entries only (dependencies flow one way: identity <- events <- catalog <- recs).
  // identity sits below events but re-links a person's interactions: it declares the port, events implements it.
  const identity = createIdentityModule(platform, { events: createProfileLinksRepository() });
  const events = createEventsModule(platform, {
    identity,
    tenantActive: async (tenantId) => (await tenancy.authenticator.tenantInfo(tenantId))?.status === 'active',
    // Integrations' public base URL is a tenant setting: read and written through tenancy.
    publicUrlSetting: {
      get: async (tenantId) => {
        const v = (await tenancy.tenants.getTenant(tenantId)).settings.public_base_url;
        return typeof v === 'string' && v ? v : null;
      },
      // Tenant settings are merged on update: null clears the key.
      set: async (tenantId, url) => {
        const settings = (await tenancy.tenants.getTenant(tenantId)).settings;
        await tenancy.tenants.updateTenant(tenantId, { settings: { ...settings, public_base_url: url } });
      },
    },
  });
  // Identity owns profile aggregates, events owns the rows they come from: identity declares what it reads.
  identity.useActivitySource(events.activitySource);
  await events.resealSecrets();
  const catalog = createCatalogModule(platform);
  events.useCatalogWriter(catalog);
  const imports = createImportsModule(platform, {
    catalog,
    events,
    tenantSettings: async (id) => (await tenancy.tenants.getTenant(id)).settings,
  });
  await imports.interruptOrphanedRuns();
  // Recs reads interactions, items and tenant settings through their owners (events, catalog, tenancy).
  const recs = createRecsModule(platform, {
    catalog,
    catalogReads: catalog.serving,
    history: events.history,
    tenantSettings: tenancy.tenants.settingsOf,
    interactions: events.interactions,
    onInteractionsAppended: events.onInteractionsAppended,
    // A recommender experiment picks the model version (experiments is built below; this runs per request).
    modelExperiment: (tenantId, userId) => recsModelExperiment(tenantId, userId),
  });
  // Outbound webhooks: producers (commerce, pricing, predictions) publish in their own transactions.
  const webhooks = createWebhooksModule(platform);
  await webhooks.resealSecrets();
  // Commerce reads items and moves stock through the catalog, links shoppers through identity, writes orders into
  // events, and publishes order state changes as webhooks.
  const commerce = createCommerceModule(platform, {
    catalog: catalog.sellable,
    identity,
    events: events.ingest,
    shopperTokenSecret: await ensureSecret(db, 'shopper-token', undefined),
    webhooks: webhooks.publisher,
    // Promotion segment rules read predictions' scored RFM segments (predictions is built below; this runs per request).
    segments: {
      lookupProfiles: (tenantId, ids) => identity.lookupProfiles(tenantId, ids),
      segmentsOfProfiles: (tenantId, ids) => predictions.segmentsOfProfiles(tenantId, ids),
    },
  });
  await commerce.resealSecrets();

  // Analytics reads the tracking rows through events (its port), orders through identity and the tenant's time zone through tenancy.
  const analytics = createAnalyticsModule(platform, {
    events: { ...createAnalyticsSourceRepository(), ...createAnalyticsBehaviourRepository() },
    orders: identity.orderStats,
    tenantSettings: tenancy.tenants.settingsOf,
    // Saved cohorts join identity's profiles, predictions' scores and events' counts (SQL pieces their owners build).
    cohorts: { ...createCohortProfilesSource(), ...createCohortScoresSource(), ...createCohortEventsSource() },
    // the cohort membership cache drops what identity says changed (in this process, and by its marker on PostgreSQL)
    profileChanges: {
      onProfilesChanged: (listener) => identity.onProfilesChanged(listener),
      changedSince: (tenantId, since, limit) => identity.customerOrders.changedSince(platform.db, tenantId, since, limit),
    },
    // `cohorts.profileOfUser` / `userIn` (the feed's segments, sponsored audiences): identity's read-only lookup of a
    // shopper, kept beside the membership answers
    profileLookup: { lookupProfiles: (tenantId, ids) => identity.lookupProfiles(tenantId, ids) },
    // Funnel rollups join events' funnel rows and session attributes (SQL pieces events builds).
    funnelRollups: createFunnelRollupSources(),
    // Session, page and cart hour rollups read events' tracking rows (SQL pieces events builds).
    reportRollups: createReportRollupSources(),
    rollupReads: platform.config.analyticsRollupReads,
    rollupBuildWaitMs: platform.config.analyticsRollupBuildWaitMs,
  });
  // Pricing reads catalog items through catalog's public entry and the tenant's name through tenancy.
  const pricing = createPricingModule(platform, {
    webhooks: webhooks.publisher,
    findCatalogItem: catalog.findItem,
    tenantName: async (id) => (await tenancy.tenants.getTenant(id)).name,
    catalogGtins: async (tenantId, itemIds) =>
      new Map(
        (await catalog.serving.feedItems(tenantId, { itemIds, limit: itemIds.length }))
          .filter((r) => r.gtin)
          .map((r) => [r.itemId, r.gtin!]),
      ),
    catalogItemsByGtin: (tenantId, gtins) => catalog.serving.itemsByGtin(tenantId, gtins),
  });
  await pricing.resealSecrets();

  // serving paths read the tenant's settings on every request: tenancy keeps them a few seconds (`{}` when unknown)
  const tenantSettings = tenancy.tenants.settingsOf;
  // Sponsored content: campaigns, auction, budgets and the charges ledger; tenant settings from tenancy.
  // A campaign whose audience is a saved cohort: the shopper's person (identity's lookup, through analytics) in the cohort.
  const sponsored = createSponsoredModule(platform, {
    tenantSettings,
    cohorts: { known: analytics.cohorts.known, userIn: analytics.cohorts.userIn },
  });
  // Experiments key assignments by person: identity's read-only profile lookup makes them sticky across devices.
  const experiments = createExperimentsModule(platform, {
    lookupProfiles: (tenantId, ids) => identity.lookupProfiles(tenantId, ids),
    connectorEvents: createExperimentMetricSource(),
    // An experiment whose audience is a saved cohort asks analytics whether the unit's person is in it.
    cohorts: { known: analytics.cohorts.known, profileIn: analytics.cohorts.profileIn },
  });
  const recsModelExperiment = modelExperimentFrom(experiments, tenantSettings);
  // Predictions read profiles and orders through identity, recommendation models through recs, settings through tenancy.
  const predictions = createPredictionsModule(platform, {
    identity: {
      findActiveProfileOrders: (tenantId, ref) => identity.findActiveProfileOrders(tenantId, ref),
      customerOrders: identity.customerOrders,
      orderStats: identity.orderStats,
      onProfilesChanged: (listener) => identity.onProfilesChanged(listener),
    },
    recsModels: (ctx) => recs.modelVersions(ctx),
    itemUnits: (tenantId, opts) => events.itemUnitsByDay(tenantId, opts),
    // the feature store's sessions and category affinity from events (categories from the catalog), strength inputs from identity
    async activity(tenantId, profileIds) {
      const [sessions, bought, identifiers] = await Promise.all([
        events.profileSessions(tenantId, profileIds),
        events.profilePurchasedItems(tenantId, profileIds),
        identity.customerOrders.identifiers(platform.db, tenantId, profileIds),
      ]);
      const itemIds = [...new Set(bought.map((b) => b.itemId))];
      const category = new Map<string, string>();
      for (let s = 0; s < itemIds.length; s += 10_000) {
        const chunk = itemIds.slice(s, s + 10_000);
        for (const it of await catalog.serving.feedItems(tenantId, { itemIds: chunk, limit: chunk.length }))
          if (it.categoryPath) category.set(it.itemId, it.categoryPath);
      }
      const purchases = bought.flatMap((b) => {
        const c = category.get(b.itemId);
        return c ? [{ profileId: b.profileId, occurredAt: b.occurredAt, category: c }] : [];
      });
      return { sessions, purchases, identifiers };
    },
    tenantSettings,
    webhooks: webhooks.publisher,
  });
  // Erasing a person deletes their features and scores in the same transaction.
  identity.onErasure((tx, tenantId, person) => predictions.eraseProfiles(tx, tenantId, person.profileIds));
  // The newsfeed reads recs, catalog and events through their public entries, Pricing's best offers and price
  // drops, its module order from an Experiments variant, and a shopper's segments (sponsored targeting) from
  // identity's read-only profile lookup (kept by analytics' cohort cache), predictions' scored RFM segment and
  // analytics' saved cohorts (`cohort:<id>`).
  const newsfeed = createNewsfeedModule(platform, {
    segments: segmentsFrom({
      // identity's lookup of the shopper, kept by analytics' cohort cache (sponsored's cohort audiences ask it too)
      profileOfUser: analytics.cohorts.profileOfUser,
      segmentsOfProfiles: (tenantId, ids) => predictions.segmentsOfProfiles(tenantId, ids),
      // `cohort:<id>` segments: analytics' saved cohorts holding the shopper's profile
      cohortsHolding: (tenantId, profileId, ids) => analytics.cohorts.profileIn(tenantId, profileId, ids),
    }),
    sources: feedSourcesFrom({ recs, catalog }),
    // the shopper's recent interactions: events' SQL piece, read in the feed's one per-shopper statement
    history: createShopperHistorySource(),
    offers: bestOffersFrom(pricing),
    moduleOrder: moduleOrderFrom(experiments, tenantSettings),
    sponsored,
    tenantSettings,
    recentInteractions: recentInteractionsFrom(events),
    styleItems: styleItemsFrom(catalog),
    onInteractionsAppended: events.onInteractionsAppended,
    // a page after a price change shows it: pricing's offers and catalog's own item prices
    onPricesChanged: (listener) => {
      pricing.onOffersChanged(listener);
      catalog.onItemsChanged((tenantId) => listener(tenantId));
    },
  });

  // Visibility reads the catalog's feed rows and Google taxonomy through catalog's public entry.
  const visibility = createVisibilityModule(platform, {
    catalog: { feedRows: catalog.feedSource.feedRows, googleTaxonomyPaths: catalog.googleTaxonomyPaths },
  });
  await visibility.resealSecrets();

  // Erasing a person reaches every module holding data about them, in the erasure's one transaction: the
  // newsfeed's follows, favorites, preferences and style profiles; experiments' units; sponsored placements;
  // carts and orders; served recommendations. (Events' interactions and tracking rows go through identity's port.)
  identity.onErasure((tx, tenantId, person) => newsfeed.eraseUsers(tx, tenantId, person.userIds));
  identity.onErasure((tx, tenantId, person) => experiments.erasePerson(tx, tenantId, person));
  identity.onErasure((tx, tenantId, person) => sponsored.erasePerson(tx, tenantId, person));
  identity.onErasure(async (tx, tenantId, person) => void (await commerce.erasePerson(tx, tenantId, person)));
  identity.onErasure((tx, tenantId, person) => recs.erasePerson(tx, tenantId, person));
  // After events renamed the person's sessions: analytics' funnel rollups take the new ids.
  identity.onErasure((tx, tenantId) => analytics.erasePerson(tx, tenantId));
  // Their buffered writes (exposures, served recommendations) land before the erasure, so it reaches them.
  identity.beforeErasure(() => experiments.flushExposures());
  identity.beforeErasure(() => recs.flushServed());
  identity.beforeErasure(() => sponsored.flushDecisions());
  identity.beforeErasure(() => newsfeed.flushShown());
  // Style-profile refreshes run in the background after interactions: none of the tenant's runs during the erasure.
  identity.beforeErasure((tenantId) => newsfeed.holdStyleRefreshes(tenantId));
  identity.onErasure((tx, tenantId, person) => pricing.eraseUsers(tx, tenantId, person.userIds));
  // Webhook payloads name customers (orders, alerts, segment entries): their ids are blanked out of kept messages.
  identity.onErasure((tx, tenantId, person) =>
    webhooks.erasePerson(tx, tenantId, [...person.profileIds, ...person.userIds, ...person.anonymousIds, ...person.emails]),
  );
  // The warehouse export reads each table through its owner (events, identity, commerce, catalog).
  const warehouse = createWarehouseModule(platform, {
    sources: {
      events: createEventsWarehouseSource(),
      profiles: createProfilesWarehouseSource(),
      orders: createOrdersWarehouseSource(),
      items: createItemsWarehouseSource(),
    },
    // The marts read unified orders and profiles through identity, items through catalog; the quality checks ask
    // events for facts about recent events and send failing runs through the webhooks' signed outbox.
    martSources: { ...createMartsSources(), ...createProductsMartSource() },
    eventQuality: createEventsQualitySource(),
    webhooks: webhooks.publisher,
    version: VERSION,
  });
  // A tenant's retention with archive deletes only the events the export has written.
  events.useArchive({ archivedThrough: (tenantId) => warehouse.exportedThrough(tenantId, 'events') });
  // Each successful import refreshes the tenant's marts and runs the data-quality checks (a deduplicated job).
  imports.onImported((tenantId) => warehouse.afterImport(tenantId));
  // Billing: plans and their limits, read against the catalog's size through catalog's public entry.
  const billing = createBillingModule(platform, {
    catalogSize: (tenantId) => catalog.serving.activeItemCount(tenantId),
  });
  identity.beforeErasure(() => billing.flushUsage());
  // The first-run checklist asks each fact of its owner (counts only; a system context, so any member sees the list).
  const onboarding = createOnboardingModule({
    sources: {
      catalogItems: (tenantId) => catalog.serving.activeItemCount(tenantId),
      events: (tenantId) => events.setupFacts(tenantId),
      trainedModels: async (tenantId) => (await recs.modelVersions(systemContext(tenantId, 'onboarding'), 1)).length,
      apiKeys: async (tenantId) => (await tenancy.apiKeys.list(systemContext(tenantId, 'onboarding'), false)).length,
    },
  });

  registerErrorHandler(app, database);
  registerAuthHooks(app, {
    clock,
    authenticator: tenancy.authenticator,
    rateLimiter: createRateLimiter(redis),
    limits: config.rateLimits,
    adminNetworks: config.adminNetworks,
    onPlatformAdminEntry: createPlatformAdminEntryRecorder(audit, app.log),
  });
  registerPreflight(app);
  registerAuditHook(app, audit);
  // Plan limits run after access (they need the tenant) and before any handler; installed before the routes.
  billing.installLimits(app);
  await registerOpenApi(app, VERSION);

  await platformRoutes(app, { database, metrics, audit, jobs });
  await tenancy.routes(app);
  await identity.routes(app);
  await events.routes(app);
  await catalog.routes(app);
  // Uploads (imports, pricing's feeds and reviews) read multipart bodies. The plugin adds two async hooks and a socket
  // listener to every request of the context it is registered in, so only the two upload modules' context has it;
  // a multipart body sent anywhere else is refused as an unsupported media type (415) before any handler runs.
  await app.register(async (uploads) => {
    await uploads.register(multipart, {
      limits: { fileSize: config.uploadLimitBytes, files: 1, fields: 20, fieldSize: 1_000_000, parts: 25 },
    });
    await imports.routes(uploads);
    await pricing.routes(uploads);
  });
  await recs.routes(app);
  await analytics.routes(app);
  await commerce.routes(app);
  await sponsored.routes(app);
  await newsfeed.routes(app);
  await experiments.routes(app);
  await visibility.routes(app);
  await billing.routes(app);
  await predictions.routes(app);
  await webhooks.routes(app);
  await warehouse.routes(app);
  await onboarding.routes(app);
  if (deps.localSecret) {
    await localRoutes(app, {
      secret: deps.localSecret,
      findTenant: (slugOrId) => tenancy.findTenantId(slugOrId),
      async importFile(input, onProgress) {
        const { run, outcome } = await imports.service.importFile(
          systemContext(input.tenantId, 'cli'),
          input.kind,
          { name: input.fileName, stream: input.stream },
          { mapping: input.mapping, delimiter: input.delimiter, format: input.format, source: input.source },
          (c, total) =>
            onProgress({
              bytes_read: c.bytesRead,
              total_bytes: total,
              rows_read: c.rowsRead,
              rows_accepted: c.rowsAccepted,
              rows_rejected: c.rowsRejected,
            }),
        );
        return {
          import_id: run.id,
          rows_read: outcome.rowsRead,
          rows_accepted: outcome.rowsAccepted,
          rows_rejected: outcome.rowsRejected,
          rows_duplicate: outcome.rowsDuplicate,
          warnings: outcome.warnings,
        };
      },
      async backup(out) {
        if (!database.pglite) throw new Error('backups of a PostgreSQL server are taken with pg_dump');
        await writeBackup(out, { pglite: database.pglite, dataDir: config.dataDir });
      },
    });
  }
  await registerStorefront(app);
  await registerDashboard(app);

  await app.ready();
  return {
    app,
    jobs,
    tenancy,
    modules: {
      identity,
      events,
      catalog,
      recs,
      imports,
      analytics,
      commerce,
      pricing,
      sponsored,
      newsfeed,
      experiments,
      visibility,
      billing,
      predictions,
      webhooks,
      warehouse,
    },
    storage,
    scheduledTasks: [
      { name: 'tenancy.prune-login-throttle', everyMs: 60 * 60_000, run: () => tenancy.pruneLoginThrottle() },
      ...events.scheduledTasks(),
      ...newsfeed.scheduledTasks(),
      ...webhooks.scheduledTasks(),
      ...warehouse.scheduledTasks(),
      ...experiments.scheduledTasks(),
      ...pricing.scheduledTasks(),
      // Each pricing network connection's import is due hourly (or daily): a minute's sweep queues the due ones.
      { name: 'pricing.network-imports', everyMs: 60_000, runOnElection: true, run: () => pricing.queueDueNetworkImports() },
    ],
    tracing,
    warmSerializers: serializers.warm,
    async close() {
      await jobs.stop();
      await app.close();
      await experiments.flushExposures();
      await billing.stop();
      await sponsored.stopTraffic();
      await catalog.statistics.stop();
      newsfeed.stop();
      await newsfeed.flushShown();
      if (ownsRedis) redis?.disconnect();
      await tracing.shutdown();
    },
  };
}
