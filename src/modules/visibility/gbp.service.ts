import { z } from 'zod';
import { AppError, conflict, type Db, type JobQueue, type TenantContext, validation } from '../../platform/index.ts';
import { GBP_DAILY_METRICS, type GbpClient } from './gbp.client.ts';
import { desiredFields, insightDays, isoDate, metricRows, metricsRange, planLocationPatch, profileFieldOf } from './gbp.core.ts';
import type { GbpIssue, GbpLocationRow, GbpRepository } from './gbp.repository.ts';
import type { GoogleOutcome } from './google.http.client.ts';
import type { GoogleService } from './google.service.ts';
import type { ProfileService } from './profile.service.ts';

/** The daily fetch of a tenant's Business Profile performance metrics. */
export const GBP_METRICS_JOB = 'visibility.gbp_metrics';
/** Hour of the day (UTC) of the daily fetch. */
const DAILY_HOUR_UTC = 6;
/** Days each fetch asks for: Google revises recent days, so each run overwrites the last two weeks. */
const FETCH_DAYS = 14;
/** The longest range the insights API answers (days). */
const MAX_RANGE_DAYS = 366;

export interface GbpDeps {
  db: Db;
  repo: GbpRepository;
  client: GbpClient;
  google: GoogleService;
  profile: ProfileService;
  jobs: JobQueue;
  clock: () => Date;
}

/** The next daily fetch after `now`, at DAILY_HOUR_UTC. */
export function nextDailyFetch(now: Date): Date {
  const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), DAILY_HOUR_UTC));
  return at > now ? at : new Date(at.getTime() + 86_400_000);
}

const noLocation = () =>
  conflict('GBP_LOCATION_NOT_SET', 'No Google Business Profile location is chosen: pick one (PUT /google/business/location) first.');
const unavailable = (what: string, out: { status: number; message: string }) =>
  new AppError(
    'unavailable',
    'GBP_UNAVAILABLE',
    `Google Business Profile did not answer ${what} (HTTP ${out.status}: ${out.message}); try again shortly.`,
  );

/**
 * The business profile on Google Business Profile: pick the location, sync the profile to it (only the fields that
 * differ are written), and the location's daily performance metrics (fetched by a daily job, stored per location,
 * day and metric).
 */
export function createGbpService(deps: GbpDeps) {
  const { db, repo, client } = deps;

  /**
   * Calls Google with the tenant's token; a 401/403 refreshes the token once and calls again. Consent withdrawn
   * surfaces as GOOGLE_CONSENT_REVOKED (409), a Google that keeps failing as GBP_UNAVAILABLE (503).
   */
  async function withToken<T>(tenantId: string, what: string, fn: (token: string) => Promise<GoogleOutcome<T>>) {
    let out = await fn(await deps.google.accessToken(tenantId));
    if (!out.ok && out.kind === 'unauthorized') out = await fn(await deps.google.forceRefresh(tenantId));
    if (out.ok || out.kind === 'invalid') return out;
    if (out.kind === 'unauthorized')
      throw new AppError(
        'conflict',
        'GBP_ACCESS_DENIED',
        `Google refused access to Business Profile (${out.message}). Link Google again and allow Business Profile management.`,
      );
    throw unavailable(what, out);
  }

  async function location(tenantId: string): Promise<GbpLocationRow> {
    const row = await repo.get(db, tenantId);
    if (!row) throw noLocation();
    return row;
  }

  const scheduleDaily = (tenantId: string) => {
    const runAt = nextDailyFetch(deps.clock());
    return deps.jobs.enqueue(tenantId, GBP_METRICS_JOB, {}, { runAt, dedupeKey: `${GBP_METRICS_JOB}:${runAt.toISOString().slice(0, 10)}` });
  };

  /** One fetch of the last FETCH_DAYS days; returns the rows written. */
  async function fetchMetrics(tenantId: string, signal?: AbortSignal): Promise<{ location: string; days: number; rows: number }> {
    const loc = await repo.get(db, tenantId);
    if (!loc) return { location: '', days: 0, rows: 0 };
    const range = metricsRange(deps.clock(), FETCH_DAYS);
    try {
      const out = await withToken(tenantId, 'the metrics fetch', (tok) =>
        client.fetchDailyMetrics(tok, loc.locationName, GBP_DAILY_METRICS, range, signal),
      );
      if (!out.ok)
        throw new AppError('validation', 'GBP_METRICS_REFUSED', `Google refused the metrics request: ${out.issues[0]?.message ?? ''}`);
      const start = isoDate(range.start);
      const end = isoDate(range.end);
      // Only the days asked for: a server answering other days does not write outside the window.
      const rows = metricRows(out.body).filter((r) => r.day >= start && r.day <= end);
      const n = await db.transaction(async (tx) => {
        const written = await repo.upsertMetrics(tx, tenantId, loc.locationName, rows, deps.clock());
        await repo.setMetricsFetch(tx, tenantId, loc.locationName, { error: null, now: deps.clock() });
        return written;
      });
      return { location: loc.locationName, days: FETCH_DAYS, rows: n };
    } catch (err) {
      const message = err instanceof AppError ? err.message : 'Unexpected error while fetching the metrics.';
      await repo.setMetricsFetch(db, tenantId, loc.locationName, { error: message.slice(0, 500), now: deps.clock() });
      throw err;
    }
  }

  return {
    register(): void {
      deps.jobs.register({
        type: GBP_METRICS_JOB,
        payload: z.object({}).strict(),
        maxAttempts: 3,
        maxRunningPerTenant: 1,
        handle: async (run) => {
          try {
            return await fetchMetrics(run.tenantId, run.signal);
          } finally {
            // the next day's run is queued whatever this one did, as long as a location is chosen
            if (await repo.get(db, run.tenantId)) await scheduleDaily(run.tenantId);
          }
        },
      });
    },

    /** The accounts the linked Google user manages and their locations (first pages: a picker). */
    async locations(ctx: TenantContext) {
      const accounts = await withToken(ctx.tenantId, 'the accounts list', (tok) => client.listAccounts(tok));
      if (!accounts.ok) throw validation('GBP_REQUEST_REFUSED', accounts.issues[0]?.message ?? 'Google refused the request.');
      const out: { account: string; accountName: string | null; name: string; title: string | null; address: string | null }[] = [];
      for (const a of accounts.body.slice(0, 20)) {
        const locs = await withToken(ctx.tenantId, 'the locations list', (tok) => client.listLocations(tok, a.name));
        if (!locs.ok) continue;
        for (const l of locs.body)
          if (l.name)
            out.push({
              account: a.name,
              accountName: a.accountName ?? null,
              name: l.name,
              title: l.title ?? null,
              address: l.storefrontAddress
                ? [...(l.storefrontAddress.addressLines ?? []), l.storefrontAddress.locality, l.storefrontAddress.regionCode]
                    .filter(Boolean)
                    .join(', ')
                : null,
            });
      }
      return out;
    },

    /** Picks the location to sync to; Google must show it to the linked user. Queues a first metrics fetch. */
    async choose(ctx: TenantContext, input: { account: string; location: string }): Promise<GbpLocationRow> {
      const got = await withToken(ctx.tenantId, 'the location lookup', (tok) => client.getLocation(tok, input.location));
      if (!got.ok)
        throw validation('GBP_LOCATION_UNKNOWN', `Google does not show ${input.location} to the linked account.`, [
          { field: 'location', message: got.issues[0]?.message ?? 'not found' },
        ]);
      const row = (await repo.put(
        db,
        ctx.tenantId,
        { accountName: input.account, locationName: input.location, title: got.body.title ?? null },
        deps.clock(),
      ))!;
      await deps.jobs.enqueue(ctx.tenantId, GBP_METRICS_JOB, {}, { dedupeKey: `${GBP_METRICS_JOB}:now` });
      return row;
    },

    async status(ctx: TenantContext): Promise<GbpLocationRow | null> {
      return (await repo.get(db, ctx.tenantId)) ?? null;
    },

    /**
     * Writes the business profile to the location: reads Google's copy, sends only the fields that differ (an
     * unchanged profile makes no write). Google's per-field refusals are the outcome 'rejected' with the fields
     * named as the profile names them; nothing is written then (Google applies a patch whole or not at all).
     */
    async sync(ctx: TenantContext): Promise<{ status: 'synced' | 'unchanged' | 'rejected'; updated: string[]; issues: GbpIssue[] }> {
      const loc = await location(ctx.tenantId);
      const profile = await deps.profile.get(ctx);
      const { fields, skipped } = desiredFields(profile);
      const skippedIssues: GbpIssue[] = skipped.map((s) => ({ field: s.field, googleField: null, message: s.message }));
      const record = async (status: 'synced' | 'unchanged' | 'rejected' | 'failed', issues: GbpIssue[]) =>
        repo.setSync(db, ctx.tenantId, { status, issues, now: deps.clock() });
      try {
        const cur = await withToken(ctx.tenantId, 'the location read', (tok) => client.getLocation(tok, loc.locationName));
        if (!cur.ok) {
          const issues = cur.issues.map((i) => ({ field: 'location', googleField: i.field || null, message: i.message }));
          await record('rejected', issues);
          return { status: 'rejected', updated: [], issues };
        }
        const plan = planLocationPatch(fields, cur.body);
        if (!plan.updateMask.length) {
          await record('unchanged', skippedIssues);
          return { status: 'unchanged', updated: [], issues: skippedIssues };
        }
        const out = await withToken(ctx.tenantId, 'the location update', (tok) =>
          client.patchLocation(tok, loc.locationName, plan.location, plan.updateMask),
        );
        if (!out.ok) {
          const issues = [
            ...out.issues.map((i) => ({ field: profileFieldOf(i.field), googleField: i.field || null, message: i.message })),
            ...skippedIssues,
          ];
          await record('rejected', issues);
          return { status: 'rejected', updated: [], issues };
        }
        await record('synced', skippedIssues);
        return { status: 'synced', updated: plan.updateMask, issues: skippedIssues };
      } catch (err) {
        if (err instanceof AppError && err.code === 'GBP_UNAVAILABLE')
          await record('failed', [{ field: 'location', googleField: null, message: err.message }]);
        throw err;
      }
    },

    /** Queues a metrics fetch now (the daily job runs anyway). */
    async refreshMetrics(ctx: TenantContext) {
      await location(ctx.tenantId);
      return deps.jobs.enqueue(ctx.tenantId, GBP_METRICS_JOB, {}, { dedupeKey: `${GBP_METRICS_JOB}:now` });
    },

    /** Daily figures over [from, to] (default: the last 28 days), a day without figures marked missing. */
    async insights(ctx: TenantContext, range: { from?: string | undefined; to?: string | undefined }) {
      const loc = await location(ctx.tenantId);
      const to = range.to ?? isoDate(metricsRange(deps.clock(), 1).end);
      const from = range.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 27 * 86_400_000).toISOString().slice(0, 10);
      const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
      if (!(span >= 0) || span >= MAX_RANGE_DAYS)
        throw validation('GBP_RANGE_INVALID', `from must be on or before to, at most ${MAX_RANGE_DAYS} days apart.`, [
          { field: 'from', message: 'out of range' },
        ]);
      const rows = await repo.metrics(db, ctx.tenantId, loc.locationName, from, to);
      return { location: loc, from, to, days: insightDays(rows, from, to) };
    },
    fetchMetrics,
  };
}
export type GbpService = ReturnType<typeof createGbpService>;
