/**
 * bench/sponsored: auction throughput and the money invariants under load. 64 concurrent streams run
 * decision (GET /eligible, 2 slots) → impression → click for new shoppers against 20 CPC campaigns with small
 * budgets (a few dozen clicks each) and a frequency cap, each click sent twice (a client retry). Printed beside
 * the baseline measured in the same run: the same decision endpoint when no campaign is active (routing, auth,
 * settings and the empty candidate read, without the auction and reservations). Then the ledger is read back:
 * total charged must never exceed any budget, and every replayed click must be charged once.
 *
 *   npm run bench:sponsored                          # embedded database (PGlite)
 *   DATABASE_URL=postgres://... npm run bench:sponsored
 *
 * Env: BENCH_SECONDS (10), BENCH_STREAMS (64). Pacing over Online Retail's trading days: bench/sponsored/pacing.bench.ts.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import { BENCH_ADMIN, postJson, startLoupe, stopServer } from '../lib/process.ts';
import { scratchDatabase } from '../lib/scratch.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 64);
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';

// Its own data folder and, on PostgreSQL, its own database (a second run against DATABASE_URL's database found its users taken).
const scratch = await scratchDatabase('sponsored');
const { server, base } = await startLoupe({
  dataDir: scratch.dataDir,
  timeoutMs: 600_000,
  env: { ...scratch.env, RATE_LIMIT_AUTH_PER_MINUTE: '100000000' },
});
const out: string[] = [];
let failed = false;
try {
  const post = (p: string, body: unknown, token?: string) => postJson(base, p, body, token);
  const getJson = async (p: string, token: string) => {
    const r = await fetch(base + p, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };
  const adminToken = (await post('/api/v1/auth/login', BENCH_ADMIN)).access_token as string;
  const tenant = await post('/api/v1/admin/tenants', { name: 'Bench Ads' }, adminToken);
  await post(
    '/api/v1/admin/users',
    { email: 'owner@bench.local', password: 'Owner-Password-1', tenant_id: tenant.id, role: 'owner' },
    adminToken,
  );
  const owner = (await post('/api/v1/auth/login', { email: 'owner@bench.local', password: 'Owner-Password-1' })).access_token as string;
  const key = (await post('/api/v1/api-keys', { name: 'bench', scopes: ['recommendations:read', 'interactions:write'] }, owner))
    .api_key as string;

  // Baseline: the decision endpoint with no active campaign.
  const eligibleUrl = `${base}/api/v1/sponsored/eligible?placement=feed&slots=2&user_id=u[<id>]`;
  await autocannon({
    url: eligibleUrl,
    connections: STREAMS,
    duration: 2,
    headers: { authorization: `Bearer ${key}` },
    idReplacement: true,
  });
  const empty = await autocannon({
    url: eligibleUrl,
    connections: STREAMS,
    duration: DURATION,
    headers: { authorization: `Bearer ${key}` },
    idReplacement: true,
  });

  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const c = await post(
      '/api/v1/sponsored/campaigns',
      {
        brand_id: `brand-${i}`,
        name: `Campaign ${i}`,
        currency: 'USD',
        budget_amount: `${(2 + (i % 5)).toFixed(2)}`,
        budget_type: 'lifetime',
        start_date: new Date(Date.now() - 3_600_000).toISOString(),
        pricing_model: 'cpc',
        bid_amount: `0.${String(10 + i).padStart(2, '0')}`,
        pacing: 'asap',
        frequency_caps: [{ impressions: 1, window_seconds: 3600 }],
        creative: { headline: `C${i}` },
        promoted_item_ids: [`sku-${i}`],
      },
      owner,
    );
    await post(`/api/v1/sponsored/campaigns/${c.id}/approve`, {}, owner);
    await post(`/api/v1/sponsored/campaigns/${c.id}/activate`, {}, owner);
    ids.push(c.id as string);
  }

  // 64 streams of decision → impression → click (twice), for DURATION seconds.
  const stop = performance.now() + DURATION * 1000;
  const latencies: number[] = [];
  let decisions = 0;
  let served = 0;
  let charged = 0;
  let duplicates = 0;
  let seq = 0;
  await Promise.all(
    Array.from({ length: STREAMS }, async () => {
      while (performance.now() < stop) {
        const user = `shopper-${seq++}`;
        const t0 = performance.now();
        const e = await getJson(`/api/v1/sponsored/eligible?placement=feed&slots=2&user_id=${user}`, key);
        latencies.push(performance.now() - t0);
        decisions++;
        for (const c of e.body.campaigns ?? []) {
          served++;
          const imp = await post(
            '/api/v1/sponsored/impressions',
            { decision_id: c.decision_id, campaign_id: c.campaign_id, user_id: user, placement: 'feed' },
            key,
          );
          for (let r = 0; r < 2; r++) {
            const k = await post(
              '/api/v1/sponsored/clicks',
              { event_id: `k-${imp.id}`, impression_id: imp.id, user_id: user, user_agent: UA },
              key,
            );
            if (k.duplicate) duplicates++;
            else if (k.charged) charged++;
          }
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;

  // The ledger: spend never past a budget; charges = charged answers.
  let overspent = 0;
  let spendTotal = 0;
  for (const id of ids) {
    const c = (await getJson(`/api/v1/sponsored/campaigns/${id}`, owner)).body;
    const perf = (await getJson(`/api/v1/sponsored/campaigns/${id}/performance`, owner)).body;
    if (Number(c.spend) > Number(c.budget_amount) + 1e-9) overspent++;
    spendTotal += Number(perf.spend);
  }
  const db = process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite';
  out.push(
    `\nbench/sponsored — ${STREAMS} streams, ${DURATION} s, 20 CPC campaigns with budgets of 2-6 USD and a cap of 1 per hour, ${os.cpus().length} cores, ${db}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    `baseline: /eligible, no active campaign  ${empty.requests.average.toFixed(0).padStart(6)} req/s  p50 ${empty.latency.p50.toFixed(1)} ms  p99 ${empty.latency.p99.toFixed(1)} ms (autocannon, ${STREAMS} connections)`,
    `auction:  /eligible, 20 campaigns         ${(decisions / DURATION).toFixed(0).padStart(6)} decisions/s  p50 ${p(0.5).toFixed(1)} ms  p99 ${p(0.99).toFixed(1)} ms (inside the streams, with impressions and clicks interleaved)`,
    `served ${served} placements, ${charged} clicks charged, ${duplicates} replays answered as duplicates (expected ${served})`,
    `campaigns over budget: ${overspent} (must be 0); total spend ${spendTotal.toFixed(2)} USD`,
  );
  failed = overspent > 0 || duplicates !== served;
} finally {
  await stopServer(server);
  await scratch.cleanup();
}
console.log(out.join('\n'));
console.log(failed ? 'INVARIANTS BROKEN' : 'invariants held: no budget exceeded, every replay charged once');
if (failed) process.exitCode = 1;
