/**
 * bench/predictions training-loop: how much a training run in the worker thread takes from the API's thread of the
 * same process, without a server or a database. BENCH_PROFILES (5,000) synthetic customers are handed to
 * `trainInWorker` as the training job does, while this thread plays the API under load: back-to-back "requests" of
 * BENCH_REQUEST_CPU_MS (0.32 ms, the measured CPU per cached `/predict/all`) of pure CPU each, one per turn of the
 * event loop (BENCH_API_LOAD=0: an idle thread instead). A 10 ms timer records every gap over 50 ms with the stage
 * the run was in; perf_hooks gives the event-loop delay histogram.
 *
 * The run's thread at the API's priority (`nice 0 thread`, the old behaviour) and at BACKGROUND_NICE (`nice 19
 * thread`) alternate BENCH_PAIRS (1) times in one process, so both see the same machine.
 *
 *   npx tsx bench/predictions/training-loop.bench.ts
 *   BENCH_PROFILES=2000 BENCH_PAIRS=2 nice -n 15 npx tsx bench/predictions/training-loop.bench.ts
 */
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BACKGROUND_NICE } from '../../src/ml/worker-thread.ts';
import { rngMulberry32 } from '../../src/ml/random.ts';
import { type CustomerOrders, trainInWorker } from '../../src/modules/predictions/index.ts';

const PROFILES = Number(process.env.BENCH_PROFILES ?? 5000);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 1);
const API_LOAD = process.env.BENCH_API_LOAD !== '0';
const REQUEST_CPU_MS = Number(process.env.BENCH_REQUEST_CPU_MS ?? 0.32);
const load = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');

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

/**
 * A request: `ms` of this thread's CPU as a fixed number of iterations (calibrated below, this thread alone), so
 * that a request whose thread is descheduled takes longer in wall time, as a real one would.
 */
function request(ms: number): void {
  let x = 0;
  for (let i = 0; i < iterationsPerMs * ms; i++) x += Math.sqrt(i);
  sink += x;
}
let sink = 0;
/**
 * Iterations of the request loop per ms of CPU, measured before any run by CPU time, not wall time (a loaded machine
 * deschedules this thread during the measurement too); no worker runs yet, so the process's CPU is this thread's.
 */
const iterationsPerMs = (() => {
  let x = 0;
  const c = process.cpuUsage();
  for (let i = 0; i < 20_000_000; i++) x += Math.sqrt(i);
  sink += x;
  const used = process.cpuUsage(c);
  return 20_000_000 / ((used.user + used.system) / 1000);
})();

interface RunFigures {
  label: string;
  seconds: number;
  requestsPerSecond: number;
  requestP99: number;
  longestStall: number;
  stallsOver50: number;
  delayP99: number;
  delayMax: number;
  stalls: string;
  nice: number | null;
  load: string;
}

async function once(nice: number): Promise<RunFigures> {
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
  const latency: number[] = [];
  let serving = API_LOAD;
  const serve = () => {
    if (!serving) return;
    const t = performance.now();
    request(REQUEST_CPU_MS);
    latency.push(performance.now() - t);
    setImmediate(serve);
  };
  h.enable();
  setImmediate(serve);
  const out = await trainInWorker(
    { customers, now, churnWindowDays: 90, ltvHorizonDays: 365, discountRatePerWeek: 0.0019, previous: [] },
    (s) => {
      if (s !== stage) stage = s;
    },
    new AbortController().signal,
    undefined,
    nice,
  );
  stage = 'done';
  await new Promise((r) => setTimeout(r, 100));
  serving = false;
  clearInterval(timer);
  h.disable();
  const seconds = (performance.now() - t0) / 1000;
  latency.sort((a, b) => a - b);
  return {
    label: `nice ${nice} thread`,
    seconds: Math.round(seconds * 10) / 10,
    requestsPerSecond: Math.round(latency.length / seconds),
    requestP99: Math.round((latency[Math.floor(latency.length * 0.99)] ?? Number.NaN) * 100) / 100,
    longestStall: Math.max(0, ...stalls.map((s) => s.ms)),
    stallsOver50: stalls.length,
    delayP99: Math.round(h.percentile(99) / 1e5) / 10,
    delayMax: Math.round(h.max / 1e5) / 10,
    stalls: stalls
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5)
      .map((s) => `${s.ms} ${s.stage} @${s.at}`)
      .join(', '),
    nice: out.nice,
    load: load(),
  };
}

console.log(
  `${PROFILES} customers; this thread ${API_LOAD ? `serves back-to-back ${REQUEST_CPU_MS} ms requests` : 'is idle'}; load average ${load()}`,
);
const rows: RunFigures[] = [];
for (let p = 0; p < PAIRS; p++)
  for (const nice of [0, BACKGROUND_NICE]) {
    const r = await once(nice);
    console.log(JSON.stringify(r));
    rows.push(r);
  }
console.log('\nrun              seconds  requests/s  request p99 ms  stalls>50ms  longest ms  loop delay p99/max ms  load average');
for (const r of rows)
  console.log(
    `${r.label.padEnd(16)} ${String(r.seconds).padStart(7)} ${String(r.requestsPerSecond).padStart(11)} ${String(r.requestP99).padStart(15)} ${String(r.stallsOver50).padStart(12)} ${String(r.longestStall).padStart(11)} ${`${r.delayP99}/${r.delayMax}`.padStart(22)}  ${r.load}`,
  );
if (sink === 42) console.log('');
