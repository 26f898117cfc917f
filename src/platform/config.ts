import path from 'node:path';
import { z } from 'zod';
import { parseNetworks } from './networks.ts';
import { SEED004_SERVICE_LIMITS, type RateService } from './rate-limit.ts';

/**
 * Loupe's configuration: parsed once from the environment at start, validated, frozen and passed in.
 * Nothing reads `process.env` after this. A bad variable is reported by name, never by value.
 */
/** Operator-defined plans (LOUPE_BILLING_PLANS): the first is the one a tenant without a subscription is on. */
const limit = z.number().int().min(0).max(1e15).nullable();
const planListSchema = z
  .array(
    z
      .object({
        id: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/),
        name: z.string().min(1).max(60),
        monthly_price_minor: z.number().int().min(0).max(1e12),
        currency: z.string().regex(/^[A-Z]{3}$/),
        limits: z.object({ api_calls_per_month: limit, catalog_items: limit, feed_pushes_per_month: limit }).strict(),
      })
      .strict(),
  )
  .min(1)
  .max(20)
  .refine((l) => new Set(l.map((p) => p.id)).size === l.length, 'plan ids must be unique');
export type PlanConfig = z.infer<typeof planListSchema>[number];

/** An outbound guard's allowance of private targets: "true", "false", or comma-separated CIDRs. */
const allowPrivateEnv = z.string().superRefine((v, ctx) => {
  if (v === 'true' || v === 'false') return;
  try {
    if (parseNetworks(v).length === 0) ctx.addIssue({ code: 'custom', message: 'must be true, false or a list of networks' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be true, false or comma-separated CIDRs: ${(err as Error).message}` });
  }
});

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  // Outbound e-mail (invitations, password resets): smtp://[user:pass@]host:port or smtps://. Unset: no e-mail,
  // the dashboard shows links to copy instead.
  LOUPE_SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'must be an smtp:// or smtps:// URL')
    .optional(),
  LOUPE_MAIL_FROM: z.string().min(3).max(300).default('Loupe <no-reply@loupe.invalid>'),
  LOUPE_DATA_DIR: z.string().min(1).default('./.loupe'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  // A pool waits this long for a new connection (TCP, TLS, startup) before the request fails with 503: a blackholed
  // database host must not hold requests until the kernel's TCP timeout (minutes).
  DATABASE_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  // PostgreSQL's JIT for Loupe's connections: off by default (platform/database.ts `jitOff`: it cost the analytics
  // statements seconds of compiling); `on` leaves the server's own setting.
  DATABASE_JIT: z.enum(['on', 'off']).default('off'),
  // A streaming replica for reads that may lag (reports): used while its replay is within DATABASE_REPLICA_MAX_LAG_MS
  // of the primary, checked every DATABASE_REPLICA_CHECK_MS; the primary serves them otherwise (platform/database.replica.ts).
  DATABASE_REPLICA_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_REPLICA_MAX_LAG_MS: z.coerce.number().int().min(100).max(3_600_000).default(5000),
  DATABASE_REPLICA_CHECK_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  // How a request's tenant scope guards its reads (platform/database.ts): `transaction` is the earlier, costlier design
  // kept for measurement (bench:http runs both side by side).
  DATABASE_READ_SCOPE: z.enum(['session', 'transaction']).default('session'),
  // S3-compatible object storage for uploads and model artifacts (the local data folder when the bucket is unset).
  LOUPE_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a bucket name (3-63 lowercase letters, digits, dots, hyphens)')
    .optional(),
  LOUPE_S3_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
    .optional(),
  LOUPE_S3_REGION: z.string().min(1).max(64).default('us-east-1'),
  LOUPE_S3_ACCESS_KEY_ID: z.string().min(1).max(256).optional(),
  LOUPE_S3_SECRET_ACCESS_KEY: z.string().min(1).max(256).optional(),
  LOUPE_S3_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._/-]{0,200}$/, 'must be letters, digits, dots, hyphens, underscores and slashes')
    .default(''),
  LOUPE_S3_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  // OpenTelemetry traces over OTLP/HTTP to <endpoint>/v1/traces (platform/tracing.ts); unset: tracing off.
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
    .optional(),
  OTEL_SERVICE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 letters, digits, dots, hyphens or underscores')
    .default('loupe'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .optional(),
  LOUPE_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  LOUPE_SECRETS_KEY: z.string().min(32, 'must be at least 32 characters (64 hex digits recommended)').optional(),
  LOUPE_SECRETS_KEY_PREVIOUS: z.string().min(32, 'must be at least 32 characters').optional(),
  LOUPE_ADMIN_EMAIL: z.string().email().optional(),
  LOUPE_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  // Closed by default: self-service sign-up creates tenant owners from unverified e-mails.
  LOUPE_REGISTRATION: z.enum(['open', 'closed']).default('closed'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOUPE_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  LOUPE_UPLOAD_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 ** 3),
  LOUPE_TRUST_PROXY: z.enum(['true', 'false']).default('false'),
  // A proxy's country header for tracked sessions; unset: none is read (a client can send any header).
  LOUPE_TRUSTED_COUNTRY_HEADER: z.enum(['cf-ipcountry', 'cloudfront-viewer-country', 'x-vercel-ip-country']).optional(),
  // Unfiltered session, page and cart reports read the UTC-hour rollups (true) or the raw rows (false); filtered and
  // broken-down reads stay raw either way (see README "Analytics"); erasures reach the rollups either way.
  LOUPE_ANALYTICS_ROLLUP_READS: z.enum(['true', 'false']).default('true'),
  // How long a report waits for a rollup's first build before answering from the raw rows (the build goes on).
  LOUPE_ANALYTICS_ROLLUP_BUILD_WAIT_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  // Platform and tenant administration only from these networks (comma-separated CIDRs or addresses); unset: from anywhere.
  LOUPE_ADMIN_NETWORKS: z
    .string()
    .superRefine((v, ctx) => {
      try {
        if (parseNetworks(v).length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one network' });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `must be comma-separated CIDRs or addresses: ${(err as Error).message}` });
      }
    })
    .optional(),
  // Rate limits (seed 004): global per client address, per route group, per tenant.
  RATE_LIMIT_GLOBAL_PER_MINUTE: z.coerce.number().int().min(1).default(1000),
  RATE_LIMIT_GLOBAL_BURST: z.coerce.number().int().min(0).default(100),
  RATE_LIMIT_TENANT_PER_MINUTE: z.coerce.number().int().min(1).default(100),
  RATE_LIMIT_TENANT_BURST: z.coerce.number().int().min(0).default(20),
  RATE_LIMIT_AUTH_PER_MINUTE: z.coerce.number().int().min(1).default(500),
  // Seed 004's per-service budgets (per tenant, or per address on public routes): "integrations=200,observability=500".
  RATE_LIMIT_SERVICES: z
    .string()
    .regex(
      /^(auth|inventory|feed_jobs|business_profile|integrations|observability)=[1-9]\d{0,9}(,(auth|inventory|feed_jobs|business_profile|integrations|observability)=[1-9]\d{0,9})*$/,
      'must be service=requests_per_minute pairs (services: auth, inventory, feed_jobs, business_profile, integrations, observability)',
    )
    .optional(),
  LOUPE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  LOUPE_JOB_POLL_MS: z.coerce.number().int().min(10).default(1000),
  // A job whose worker stopped heartbeating (killed, host lost) is claimed again this long after its last heartbeat.
  LOUPE_JOB_LEASE_SECONDS: z.coerce.number().int().min(2).max(3600).default(60),
  // How often a process that may run the scheduled tasks tries the cluster's scheduler lock.
  LOUPE_SCHEDULER_CHECK_MS: z.coerce.number().int().min(50).max(600_000).default(5000),
  // Per-tenant job limits (per job type): waiting jobs, and running jobs (default: half the workers).
  LOUPE_JOBS_TENANT_MAX_QUEUED: z.coerce.number().int().min(1).default(50),
  LOUPE_JOBS_TENANT_MAX_RUNNING: z.coerce.number().int().min(1).optional(),
  // The nice value of training threads (recommendations, predictions; Linux, per thread): 19 leaves the API's thread the
  // CPU it wants; 0 trains at the API's priority (the test suite, whose parallel servers would starve niced training).
  LOUPE_TRAINING_NICE: z.coerce.number().int().min(0).max(19).default(19),
  // Changed units an experiment's rollup refresh recomputes per statement (a test knob: rollups.int lowers it to cross
  // batch boundaries with few units).
  LOUPE_EXPERIMENTS_REFRESH_BATCH: z.coerce.number().int().min(1).max(100_000).default(5000),
  // The rollup refresh task (elected): how often it runs, and how long one run (or a report's ?refresh=true) may
  // spend on batches before it stops and lets the next run go on from each experiment's cursor.
  LOUPE_EXPERIMENTS_REFRESH_EVERY_MS: z.coerce.number().int().min(100).max(3_600_000).default(15_000),
  LOUPE_EXPERIMENTS_REFRESH_BUDGET_MS: z.coerce.number().int().min(1).max(3_600_000).default(10_000),
  // Outbound webhooks (modules/webhooks): private/loopback/link-local targets are refused unless allowed here:
  // "true" for any, or comma-separated CIDRs ("127.0.0.1/32,10.0.0.0/8"). Tests and local demos need loopback.
  LOUPE_WEBHOOKS_ALLOW_PRIVATE: allowPrivateEnv.optional(),
  LOUPE_WEBHOOKS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  // Deliveries of one tenant in flight at once (its dead endpoint never takes another tenant's workers).
  LOUPE_WEBHOOKS_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(64).default(4),
  // Seconds between attempts after each failure (attempts = entries + 1); jitter ±20%.
  LOUPE_WEBHOOKS_RETRY_SCHEDULE: z
    .string()
    .regex(/^\d+(\.\d+)?(,\d+(\.\d+)?){0,19}$/, 'must be comma-separated seconds')
    .default('60,300,1800,7200,18000,36000,86400'),
  LOUPE_WEBHOOKS_DISABLE_AFTER_DAYS: z.coerce.number().min(0.0001).max(365).default(5),
  LOUPE_WEBHOOKS_SWEEP_MS: z.coerce.number().int().min(50).default(30_000),
  // Finished deliveries, their attempts and their messages older than this are deleted (hourly, in batches).
  LOUPE_WEBHOOKS_RETENTION_DAYS: z.coerce.number().min(0.0001).max(3650).default(30),
  // Interactions (modules/events): whole months older than this many months before the current one are dropped with
  // their dedupe keys, and events older are no longer stored (0: keep everything).
  LOUPE_INTERACTIONS_RETENTION_MONTHS: z.coerce.number().int().min(0).max(1200).default(0),
  // Warehouse export (modules/warehouse): the folder Parquet files and manifests go to (default <data dir>/export),
  // rows younger than the settle lag wait for the next run, the scheduled run's interval, rows per batch.
  LOUPE_EXPORT_DIR: z.string().min(1).optional(),
  LOUPE_EXPORT_SETTLE_SECONDS: z.coerce.number().min(0).max(3600).default(10),
  LOUPE_EXPORT_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(10080).default(60),
  LOUPE_EXPORT_BATCH_ROWS: z.coerce.number().int().min(1).max(1_000_000).default(50_000),
  // Warehouse marts and data-quality checks: a tenant's scheduled refresh interval (after its first refresh or import).
  LOUPE_MARTS_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(10080).default(60),
  // Predictions: profiles whose orders are kept in memory per tenant for /predict/* (0: no cache), tenants kept.
  LOUPE_PREDICTIONS_CACHE_PROFILES: z.coerce.number().int().min(0).max(10_000_000).default(100_000),
  LOUPE_PREDICTIONS_CACHE_TENANTS: z.coerce.number().int().min(1).max(10_000).default(16),
  // Reads starting this soon after their profile changed are not kept; each change-marker look reaches this far
  // before the previous one (it must exceed the longest write transaction).
  LOUPE_PREDICTIONS_CACHE_SETTLE_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  LOUPE_PREDICTIONS_CACHE_OVERLAP_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
  // Segment sizes per scoring run (prediction_segment_history) older than this are deleted (hourly, in batches).
  LOUPE_PREDICTIONS_HISTORY_DAYS: z.coerce.number().min(1).max(3650).default(400),
  // Rows per upload (a tenant may override it in settings.imports.max_rows).
  LOUPE_IMPORT_MAX_ROWS: z.coerce.number().int().min(1).default(20_000_000),
  // Rows per committed import batch. A test knob: the crash test lowers it so a small file spans many batches.
  LOUPE_IMPORT_BATCH_ROWS: z.coerce.number().int().min(1).max(100_000).default(5000),
  // Bytes of kept uploads per tenant (a tenant may override it in settings.imports.storage_quota_bytes).
  LOUPE_UPLOAD_QUOTA_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 1024 ** 3),
  // Where the Stripe API is reached (default Stripe's own); tests and local demos point it at a Stripe-protocol server.
  STRIPE_API_URL: z
    .string()
    .regex(/^https?:\/\/[^/]+\/?$/, 'must be http(s)://host[:port]')
    .optional(),
  // Billing (Loupe's own Stripe account, not a tenant's store): unset key = billing off and no plan limits.
  LOUPE_BILLING_STRIPE_SECRET_KEY: z
    .string()
    .regex(/^(sk|rk)_(test|live)_\S+$/, 'must be a Stripe secret key (sk_live_..., sk_test_...)')
    .optional(),
  LOUPE_BILLING_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_\S+$/, 'must be a Stripe webhook signing secret (whsec_...)')
    .optional(),
  // The Stripe price of each paid plan: "pro=price_123,business=price_456".
  LOUPE_BILLING_PRICES: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,30}=price_\w+(,[a-z][a-z0-9_-]{0,30}=price_\w+)*$/, 'must be plan=price_id pairs separated by commas')
    .optional(),
  // The plans and their limits as JSON (replaces the built-in free/pro/business): see modules/billing/billing.plans.core.ts.
  LOUPE_BILLING_PLANS: z
    .string()
    .superRefine((v, ctx) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return;
      }
      const r = planListSchema.safeParse(parsed);
      if (!r.success) ctx.addIssue({ code: 'custom', message: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    })
    .optional(),
  // Google (visibility module): an OAuth client of the merchant's Google Cloud project, and the endpoints
  // (overridable so tests and air-gapped installs point them at local servers).
  GOOGLE_OAUTH_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_OAUTH_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_OAUTH_REDIRECT_URI: z.url().optional(),
  GOOGLE_OAUTH_AUTHORIZE_URL: z.url().default('https://accounts.google.com/o/oauth2/v2/auth'),
  GOOGLE_OAUTH_TOKEN_URL: z.url().default('https://oauth2.googleapis.com/token'),
  GOOGLE_OAUTH_REVOKE_URL: z.url().default('https://oauth2.googleapis.com/revoke'),
  GOOGLE_MERCHANT_API_URL: z.url().default('https://merchantapi.googleapis.com'),
  // Google Business Profile APIs (business profile sync and its daily metrics).
  GOOGLE_BUSINESS_ACCOUNTS_URL: z.url().default('https://mybusinessaccountmanagement.googleapis.com'),
  GOOGLE_BUSINESS_INFORMATION_URL: z.url().default('https://mybusinessbusinessinformation.googleapis.com'),
  GOOGLE_BUSINESS_PERFORMANCE_URL: z.url().default('https://businessprofileperformance.googleapis.com'),
  // First backoff step of Merchant API (and Business Profile API) retries (429, 5xx): full jitter over base * 2^attempt, capped at 30 s.
  GOOGLE_MERCHANT_RETRY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(1000),
  // Affiliate networks (pricing): the product APIs' origins (overridable so tests point them at local servers) and
  // the first backoff step of their retries (429 without Retry-After, 5xx, network errors).
  RAKUTEN_API_URL: z.url().default('https://api.linksynergy.com'),
  CJ_API_URL: z.url().default('https://ads.api.cj.com'),
  PRICING_NETWORK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(1000),
  // The wait before a failed feed or network run's next attempt (the job queue's retry): this, then twice it, ±20%.
  PRICING_RUN_RETRY_BASE_MS: z.coerce.number().int().min(1).max(600_000).default(2000),
  // Retailer feeds by URL (pricing): private/loopback/link-local hosts are refused as for webhooks unless allowed here
  // ("true", or comma-separated CIDRs); the size limit of one feed and the time one fetch may take (all redirects).
  PRICING_FEEDS_ALLOW_PRIVATE: allowPrivateEnv.optional(),
  PRICING_FEED_MAX_BYTES: z.coerce.number().int().min(1024).max(2_000_000_000).default(200_000_000),
  PRICING_FEED_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
  // Geocoding of the business address (Google's Geocoding API): off without a key; the URL points tests elsewhere.
  LOUPE_GEOCODING_API_KEY: z.string().min(1).optional(),
  LOUPE_GEOCODING_URL: z.url().default('https://maps.googleapis.com/maps/api/geocode/json'),
  // Shopify Admin API (backfill of past orders, customers, products): unset, each shop's own https://<shop domain>;
  // set, every shop is reached there instead (a proxy, or a local server that speaks the Admin API in tests).
  LOUPE_SHOPIFY_ADMIN_URL: z.url().optional(),
  LOUPE_SHOPIFY_API_VERSION: z
    .string()
    .regex(/^\d{4}-\d{2}$/, 'must be a Shopify API version such as 2026-10')
    .default('2026-10'),
  // Base delay of the Admin API client's retries on 5xx (doubled per attempt, with jitter); tests shorten it.
  LOUPE_SHOPIFY_RETRY_BASE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string | undefined;
  /** Shopify's Admin API: where shops are reached (undefined: https://<shop domain>), which version, retry base delay. */
  readonly shopify: { readonly adminUrl: string | undefined; readonly apiVersion: string; readonly retryBaseMs: number };
  /** Outbound e-mail: smtpUrl undefined means e-mail is not configured (links are shown to copy instead). */
  readonly mail: { readonly smtpUrl: string | undefined; readonly from: string };
  readonly dataDir: string;
  readonly database:
    | { readonly kind: 'pglite'; readonly dataDir: string; readonly readScope: 'session' | 'transaction' }
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolSize: number;
        readonly readScope: 'session' | 'transaction';
        readonly connectTimeoutMs: number;
        /** Whether PostgreSQL may JIT-compile Loupe's statements (DATABASE_JIT; default off). */
        readonly jit: boolean;
        /** The streaming replica reports read from while it keeps up (undefined: everything on the primary). */
        readonly replica: { readonly url: string; readonly maxLagMs: number; readonly checkMs: number } | undefined;
      };
  readonly redisUrl: string | undefined;
  /** OpenTelemetry: the OTLP/HTTP base URL (undefined: tracing off) and the service name spans carry. */
  readonly tracing: { readonly endpoint: string | undefined; readonly serviceName: string };
  /** Where uploads and model artifacts are kept: the data folder, or an S3-compatible bucket. */
  readonly objectStore:
    | { readonly kind: 'local' }
    | {
        readonly kind: 's3';
        readonly bucket: string;
        readonly endpoint: string | undefined;
        readonly region: string;
        readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
        readonly prefix: string;
        readonly requestTimeoutMs: number;
      };
  /** Stripe API origin (`https://api.stripe.com` when unset). */
  readonly stripeApiUrl: string | undefined;
  readonly jwtSecret: string | undefined;
  /** Key for secrets stored encrypted (vendor signing secrets), and the previous one during a rotation. */
  readonly secretsKey: { readonly current: string | undefined; readonly previous: string | undefined };
  readonly admin: { readonly email: string | undefined; readonly password: string | undefined };
  readonly registration: 'open' | 'closed';
  readonly logLevel: string;
  readonly bodyLimitBytes: number;
  readonly uploadLimitBytes: number;
  readonly trustProxy: boolean;
  /** Session, page and cart reports read the hour rollups (LOUPE_ANALYTICS_ROLLUP_READS). */
  readonly analyticsRollupReads: boolean;
  /** How long a report waits for a rollup's first build before reading raw (LOUPE_ANALYTICS_ROLLUP_BUILD_WAIT_MS). */
  readonly analyticsRollupBuildWaitMs: number;
  /**
   * The request header a trusted proxy sets to the visitor's country (lower case), read for tracked sessions without
   * a country of their own; undefined: no header is read (the default: a client could send any value).
   */
  readonly trustedCountryHeader: 'cf-ipcountry' | 'cloudfront-viewer-country' | 'x-vercel-ip-country' | undefined;
  /** Networks administration is allowed from (comma-separated CIDRs), or undefined for anywhere. */
  readonly adminNetworks: string | undefined;
  readonly rateLimits: {
    readonly global: { readonly perMinute: number; readonly burst: number };
    readonly tenant: { readonly perMinute: number; readonly burst: number };
    readonly auth: { readonly perMinute: number; readonly burst: number };
    /** Seed 004's per-service budgets, requests per minute. */
    readonly services: Readonly<Record<RateService, number>>;
  };
  readonly jobs: {
    readonly concurrency: number;
    readonly pollMs: number;
    /** Seconds a claimed job stays with a worker that stopped heartbeating (kill -9) before another takes it. */
    readonly leaseSeconds: number;
    /** How often a follower tries the scheduler lock, and the leader checks it still holds it. */
    readonly schedulerCheckMs: number;
    /** Per tenant and job type: jobs waiting (beyond it enqueue answers 429), jobs running at once. */
    readonly tenantMaxQueued: number;
    readonly tenantMaxRunning: number | undefined;
    /** Nice value of training worker threads (Linux, per thread): 19 by default, the API's thread keeps its priority. */
    readonly trainingNice: number;
  };
  /** Default upload limits; a tenant's `settings.imports.max_rows` and `storage_quota_bytes` override them. */
  readonly imports: { readonly maxRows: number; readonly storageQuotaBytes: number; readonly batchRows: number };
  /** Interactions (modules/events): monthly partitions and their retention. */
  readonly interactions: {
    /** Months kept before the current one (0: keep everything); see `events.interaction-partitions`. */
    readonly retentionMonths: number;
  };
  /** Warehouse export (modules/warehouse). */
  readonly warehouse: {
    readonly exportDir: string;
    readonly settleSeconds: number;
    readonly intervalMinutes: number;
    readonly batchRows: number;
    /** Minutes between a tenant's scheduled mart refreshes and data-quality runs. */
    readonly martsIntervalMinutes: number;
  };
  /** Experiments (modules/experiments): changed units per rollup-refresh statement. */
  readonly experiments: { readonly refreshBatch: number; readonly refreshEveryMs: number; readonly refreshBudgetMs: number };
  /** Predictions (modules/predictions): the serving cache's bounds and the segment history's retention. */
  readonly predictions: {
    /** Profiles (their orders) kept in memory per tenant for `/predict/*`; 0 turns the cache off. */
    readonly cacheProfiles: number;
    /** Tenants whose profiles are kept (least recently served dropped first). */
    readonly cacheTenants: number;
    /** Reads starting this soon after a change of their profile are not kept (ms). */
    readonly cacheSettleMs: number;
    /** How far back each change-marker look reaches past the previous one (ms): longer than any write transaction. */
    readonly cacheOverlapMs: number;
    /** Segment sizes per scoring run are kept this many days. */
    readonly historyRetentionDays: number;
  };
  /** Outbound webhooks (modules/webhooks). */
  readonly webhooks: {
    /** true: any private target; a CIDR list: those networks; false: public targets only. */
    readonly allowPrivate: boolean | string;
    readonly timeoutMs: number;
    readonly maxInFlightPerTenant: number;
    /** Delay before attempt n+2 after n+1 failed attempts, in seconds. */
    readonly retryScheduleSeconds: readonly number[];
    /** An endpoint failing every attempt for this many days is disabled. */
    readonly disableAfterDays: number;
    /** How often the delivery job of tenants with due deliveries is woken (the outbox's safety net). */
    readonly sweepMs: number;
    /** Finished deliveries (with their attempts) and messages with none left unfinished are kept this many days. */
    readonly retentionDays: number;
  };
  /**
   * Billing of tenants through Loupe's own Stripe account: undefined secretKey means billing is off (every
   * tenant unlimited, /stripe/* answer 503). `plans` replaces the built-in plans when set.
   */
  readonly billing: {
    readonly secretKey: string | undefined;
    readonly webhookSecret: string | undefined;
    readonly prices: Readonly<Record<string, string>>;
    readonly plans: readonly PlanConfig[] | undefined;
  };
  /** Google OAuth client and API endpoints (visibility); clientId undefined: linking Google is not configured. */
  readonly google: {
    readonly clientId: string | undefined;
    readonly clientSecret: string | undefined;
    readonly redirectUri: string | undefined;
    readonly authorizeUrl: string;
    readonly tokenUrl: string;
    readonly revokeUrl: string;
    readonly merchantApiUrl: string;
    readonly merchantRetryBaseMs: number;
    readonly businessAccountsUrl: string;
    readonly businessInformationUrl: string;
    readonly businessPerformanceUrl: string;
    /** Geocoding of the business address: undefined key means off. */
    readonly geocodingApiKey: string | undefined;
    readonly geocodingUrl: string;
  };
  /** Pricing's affiliate network clients. */
  readonly pricing: {
    readonly rakutenApiUrl: string;
    readonly cjApiUrl: string;
    readonly networkRetryBaseMs: number;
    /** First wait before a failed feed or network run's next attempt, in ms (doubled per attempt). */
    readonly runRetryBaseMs: number;
    /** Feed URLs: true: any private host; a CIDR list: those networks; false: public hosts only. */
    readonly feedsAllowPrivate: boolean | string;
    readonly feedMaxBytes: number;
    readonly feedTimeoutMs: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment. Throws ConfigError naming each bad variable (never echoing its value). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') picked[key] = v;
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.DATABASE_REPLICA_URL && !e.DATABASE_URL) {
    throw new ConfigError(['DATABASE_REPLICA_URL: needs DATABASE_URL (the embedded database has no replica)']);
  }
  const dataDir = path.resolve(e.LOUPE_DATA_DIR);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL,
    shopify: { adminUrl: e.LOUPE_SHOPIFY_ADMIN_URL, apiVersion: e.LOUPE_SHOPIFY_API_VERSION, retryBaseMs: e.LOUPE_SHOPIFY_RETRY_BASE_MS },
    mail: { smtpUrl: e.LOUPE_SMTP_URL, from: e.LOUPE_MAIL_FROM },
    dataDir,
    database: e.DATABASE_URL
      ? {
          kind: 'postgres' as const,
          url: e.DATABASE_URL,
          poolSize: e.DATABASE_POOL_SIZE,
          readScope: e.DATABASE_READ_SCOPE,
          connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
          jit: e.DATABASE_JIT === 'on',
          replica: e.DATABASE_REPLICA_URL
            ? { url: e.DATABASE_REPLICA_URL, maxLagMs: e.DATABASE_REPLICA_MAX_LAG_MS, checkMs: e.DATABASE_REPLICA_CHECK_MS }
            : undefined,
        }
      : { kind: 'pglite' as const, dataDir: path.join(dataDir, 'db'), readScope: e.DATABASE_READ_SCOPE },
    redisUrl: e.REDIS_URL,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME },
    stripeApiUrl: e.STRIPE_API_URL,
    jwtSecret: e.LOUPE_JWT_SECRET,
    secretsKey: { current: e.LOUPE_SECRETS_KEY, previous: e.LOUPE_SECRETS_KEY_PREVIOUS },
    objectStore: e.LOUPE_S3_BUCKET
      ? {
          kind: 's3' as const,
          bucket: e.LOUPE_S3_BUCKET,
          endpoint: e.LOUPE_S3_ENDPOINT,
          region: e.LOUPE_S3_REGION,
          // Both or neither: without them the SDK's own chain (AWS_* variables, instance roles) is used.
          credentials:
            e.LOUPE_S3_ACCESS_KEY_ID && e.LOUPE_S3_SECRET_ACCESS_KEY
              ? { accessKeyId: e.LOUPE_S3_ACCESS_KEY_ID, secretAccessKey: e.LOUPE_S3_SECRET_ACCESS_KEY }
              : undefined,
          prefix: e.LOUPE_S3_PREFIX,
          requestTimeoutMs: e.LOUPE_S3_TIMEOUT_MS,
        }
      : { kind: 'local' as const },
    admin: { email: e.LOUPE_ADMIN_EMAIL, password: e.LOUPE_ADMIN_PASSWORD },
    registration: e.LOUPE_REGISTRATION,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.LOUPE_BODY_LIMIT_BYTES,
    uploadLimitBytes: e.LOUPE_UPLOAD_LIMIT_BYTES,
    trustProxy: e.LOUPE_TRUST_PROXY === 'true',
    analyticsRollupReads: e.LOUPE_ANALYTICS_ROLLUP_READS === 'true',
    analyticsRollupBuildWaitMs: e.LOUPE_ANALYTICS_ROLLUP_BUILD_WAIT_MS,
    trustedCountryHeader: e.LOUPE_TRUSTED_COUNTRY_HEADER,
    adminNetworks: e.LOUPE_ADMIN_NETWORKS,
    rateLimits: {
      global: { perMinute: e.RATE_LIMIT_GLOBAL_PER_MINUTE, burst: e.RATE_LIMIT_GLOBAL_BURST },
      tenant: { perMinute: e.RATE_LIMIT_TENANT_PER_MINUTE, burst: e.RATE_LIMIT_TENANT_BURST },
      auth: { perMinute: e.RATE_LIMIT_AUTH_PER_MINUTE, burst: 0 },
      services: {
        ...SEED004_SERVICE_LIMITS,
        ...Object.fromEntries(
          (e.RATE_LIMIT_SERVICES ?? '')
            .split(',')
            .filter(Boolean)
            .map((p) => [p.split('=')[0]!, Number(p.split('=')[1])]),
        ),
      },
    },
    jobs: {
      concurrency: e.LOUPE_WORKER_CONCURRENCY,
      pollMs: e.LOUPE_JOB_POLL_MS,
      leaseSeconds: e.LOUPE_JOB_LEASE_SECONDS,
      schedulerCheckMs: e.LOUPE_SCHEDULER_CHECK_MS,
      tenantMaxQueued: e.LOUPE_JOBS_TENANT_MAX_QUEUED,
      tenantMaxRunning: e.LOUPE_JOBS_TENANT_MAX_RUNNING,
      trainingNice: e.LOUPE_TRAINING_NICE,
    },
    imports: { maxRows: e.LOUPE_IMPORT_MAX_ROWS, storageQuotaBytes: e.LOUPE_UPLOAD_QUOTA_BYTES, batchRows: e.LOUPE_IMPORT_BATCH_ROWS },
    experiments: {
      refreshBatch: e.LOUPE_EXPERIMENTS_REFRESH_BATCH,
      refreshEveryMs: e.LOUPE_EXPERIMENTS_REFRESH_EVERY_MS,
      refreshBudgetMs: e.LOUPE_EXPERIMENTS_REFRESH_BUDGET_MS,
    },
    predictions: {
      cacheProfiles: e.LOUPE_PREDICTIONS_CACHE_PROFILES,
      cacheTenants: e.LOUPE_PREDICTIONS_CACHE_TENANTS,
      cacheSettleMs: e.LOUPE_PREDICTIONS_CACHE_SETTLE_MS,
      cacheOverlapMs: e.LOUPE_PREDICTIONS_CACHE_OVERLAP_MS,
      historyRetentionDays: e.LOUPE_PREDICTIONS_HISTORY_DAYS,
    },
    webhooks: {
      allowPrivate:
        e.LOUPE_WEBHOOKS_ALLOW_PRIVATE === undefined || e.LOUPE_WEBHOOKS_ALLOW_PRIVATE === 'false'
          ? false
          : e.LOUPE_WEBHOOKS_ALLOW_PRIVATE === 'true'
            ? true
            : e.LOUPE_WEBHOOKS_ALLOW_PRIVATE,
      timeoutMs: e.LOUPE_WEBHOOKS_TIMEOUT_MS,
      maxInFlightPerTenant: e.LOUPE_WEBHOOKS_MAX_IN_FLIGHT,
      retryScheduleSeconds: Object.freeze(e.LOUPE_WEBHOOKS_RETRY_SCHEDULE.split(',').map(Number)),
      disableAfterDays: e.LOUPE_WEBHOOKS_DISABLE_AFTER_DAYS,
      sweepMs: e.LOUPE_WEBHOOKS_SWEEP_MS,
      retentionDays: e.LOUPE_WEBHOOKS_RETENTION_DAYS,
    },
    interactions: { retentionMonths: e.LOUPE_INTERACTIONS_RETENTION_MONTHS },
    warehouse: {
      exportDir: e.LOUPE_EXPORT_DIR ? path.resolve(e.LOUPE_EXPORT_DIR) : path.join(dataDir, 'export'),
      settleSeconds: e.LOUPE_EXPORT_SETTLE_SECONDS,
      intervalMinutes: e.LOUPE_EXPORT_INTERVAL_MINUTES,
      batchRows: e.LOUPE_EXPORT_BATCH_ROWS,
      martsIntervalMinutes: e.LOUPE_MARTS_INTERVAL_MINUTES,
    },
    billing: {
      secretKey: e.LOUPE_BILLING_STRIPE_SECRET_KEY,
      webhookSecret: e.LOUPE_BILLING_WEBHOOK_SECRET,
      prices: Object.fromEntries(
        (e.LOUPE_BILLING_PRICES ?? '')
          .split(',')
          .filter(Boolean)
          .map((pair) => pair.split('=') as [string, string]),
      ),
      plans: e.LOUPE_BILLING_PLANS ? planListSchema.parse(JSON.parse(e.LOUPE_BILLING_PLANS)) : undefined,
    },
    pricing: {
      rakutenApiUrl: e.RAKUTEN_API_URL,
      cjApiUrl: e.CJ_API_URL,
      networkRetryBaseMs: e.PRICING_NETWORK_RETRY_BASE_MS,
      runRetryBaseMs: e.PRICING_RUN_RETRY_BASE_MS,
      feedsAllowPrivate:
        e.PRICING_FEEDS_ALLOW_PRIVATE === undefined || e.PRICING_FEEDS_ALLOW_PRIVATE === 'false'
          ? false
          : e.PRICING_FEEDS_ALLOW_PRIVATE === 'true'
            ? true
            : e.PRICING_FEEDS_ALLOW_PRIVATE,
      feedMaxBytes: e.PRICING_FEED_MAX_BYTES,
      feedTimeoutMs: e.PRICING_FEED_TIMEOUT_MS,
    },
    google: {
      clientId: e.GOOGLE_OAUTH_CLIENT_ID,
      clientSecret: e.GOOGLE_OAUTH_CLIENT_SECRET,
      redirectUri: e.GOOGLE_OAUTH_REDIRECT_URI,
      authorizeUrl: e.GOOGLE_OAUTH_AUTHORIZE_URL,
      tokenUrl: e.GOOGLE_OAUTH_TOKEN_URL,
      revokeUrl: e.GOOGLE_OAUTH_REVOKE_URL,
      merchantApiUrl: e.GOOGLE_MERCHANT_API_URL,
      merchantRetryBaseMs: e.GOOGLE_MERCHANT_RETRY_BASE_MS,
      businessAccountsUrl: e.GOOGLE_BUSINESS_ACCOUNTS_URL,
      businessInformationUrl: e.GOOGLE_BUSINESS_INFORMATION_URL,
      businessPerformanceUrl: e.GOOGLE_BUSINESS_PERFORMANCE_URL,
      geocodingApiKey: e.LOUPE_GEOCODING_API_KEY,
      geocodingUrl: e.LOUPE_GEOCODING_URL,
    },
  });
}
