/**
 * bench/predictions training-loop: how long the API's event loop stops while a training run goes on in the worker
 * thread, without a server or a database. BENCH_PROFILES (5,000) synthetic customers are handed to `trainInWorker`
 * as the training job does; a 10 ms timer on this thread records every gap over 50 ms with the stage the run was in.
 * Prints the stalls, the longest one and the event-loop delay histogram (perf_hooks).
 *
 *   npx tsx bench/predictions/training-loop.bench.ts
 *   BENCH_PROFILES=20000 npx tsx bench/predictions/training-loop.bench.ts
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { type CustomerOrders, trainInWorker } from '../../src/modules/predictions/index.ts';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 5000);
const now = Date.now() / 86_400_000;
const rng = rngMulberry32(1);
const customers = new Map<string, CustomerOrders>();
for (let i = 0; i < PROFILES; i++) {
  const gap = 15 + rng() * 90;
  const start = now - (100 + rng() * 500);
  const stop = rng() < 0.4 ? start + rng() * (now - start) : now;
  const day: number[] = [];
  for (let at = start, k = 0; at < stop && k < 40; at += -Math.log(1 - rng()) * gap, k++) day.push(at);
  customers.set(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, {
    day: Float64Array.from(day),
    amount: Float64Array.from(day, () => 1000 + Math.floor(rng() * 9000)),
  });
}

let stage = 'handing over';
const stalls: { ms: number; stage: string; at: number }[] = [];
const t0 = performance.now();
let last = performance.now();
const timer = setInterval(() => {
  const t = performance.now();
  if (t - last > 60) stalls.push({ ms: Math.round(t - last - 10), stage, at: Math.round((t - t0) / 100) / 10 });
  last = t;
}, 10);
const h = monitorEventLoopDelay({ resolution: 10 });
h.enable();
const out = await trainInWorker(
  { customers, now, churnWindowDays: 90, ltvHorizonDays: 365, discountRatePerWeek: 0.0019, previous: [] },
  (s, f) => {
    if (s !== stage) stage = s;
    void f;
  },
  new AbortController().signal,
);
stage = 'done';
await new Promise((r) => setTimeout(r, 50));
clearInterval(timer);
h.disable();
console.log(
  `${PROFILES} customers, ${out.scores.length} scores, ${((performance.now() - t0) / 1000).toFixed(1)} s; load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}`,
);
console.log('stalls over 50 ms (ms, stage, at s):', stalls.map((s) => `${s.ms} ${s.stage} @${s.at}`).join(', ') || 'none');
console.log(
  `longest stall ${Math.max(0, ...stalls.map((s) => s.ms))} ms; event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`,
);
