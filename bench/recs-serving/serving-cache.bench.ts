/**
 * bench/recs-serving/serving-cache: the two event-loop blockers of the serving cache found by `loop-monitor.mjs`,
 * measured alone in this process (no server, no database: figures that a loaded machine disturbs far less than a
 * fixed-rate HTTP run): the longest stretch a full catalog reload of a Yelp2018-size catalog (38,048 items) holds the
 * event loop, and what a Yelp2018-size tenant's cached histories (31,668 users, 1,237,259 interactions, each row's
 * strings fresh as the database driver gives them) leave on the heap and cost a full garbage collection.
 *
 *   node --expose-gc --import tsx bench/recs-serving/serving-cache.bench.ts
 *
 * Env: BENCH_ITEMS (38048), BENCH_USERS (31668), BENCH_PER_USER (39).
 */
import { createServingCache, type ServingCacheDeps } from '../../src/modules/recs/index.ts';
import { loadAverage } from '../lib/load.ts';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 38_048);
const USERS = Number(process.env.BENCH_USERS ?? 31_668);
const PER_USER = Number(process.env.BENCH_PER_USER ?? 39);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.log('run with node --expose-gc --import tsx bench/recs-serving/serving-cache.bench.ts');
  process.exit(1);
}
/** A fresh string, as the driver's row parsing gives one (never a literal the engine shares). */
const fresh = (s: string) => Buffer.from(s).toString('utf8');
const at = new Date('2026-11-01T00:00:00Z');
const items = Array.from({ length: ITEMS }, (_, k) => ({
  itemId: fresh(`I${k}`),
  name: fresh(`Business ${k}`),
  categoryPath: fresh(`Category ${k % 40} > Sub ${k % 7}`),
  brand: fresh('Acme'),
  priceMinor: String(500 + k),
  currency: 'USD',
  imageUrl: fresh(`https://cdn.example/I${k}.jpg`),
  availability: 'in_stock',
  stock: null,
  isActive: true,
  updatedAt: at,
}));
const TYPES = ['view', 'click', 'add_to_cart', 'purchase'];
const repo = {
  servingItems: async () => items,
  catalogMarker: async () => ({ deleted: '0', updatedAt: 0 }),
  userHistories: async (_t: string, users: readonly string[], limit: number) =>
    users.flatMap((u) => {
      const n = Number(u.slice(1));
      return Array.from({ length: Math.min(limit, PER_USER) }, (_, k) => ({
        userId: u,
        itemId: fresh(`I${(n * 7919 + k * 104_729) % ITEMS}`),
        type: fresh(TYPES[k % 4]!),
        id: fresh(`0190${String(n).padStart(8, '0')}${String(k).padStart(4, '0')}`),
      }));
    }),
  recentUsers: async () => [],
  usersWithInteractionsSince: async () => [],
} as unknown as ServingCacheDeps['repo'];

const cache = createServingCache({ repo, shared: false, log: { warn: () => undefined }, historyLength: 200, warmUsers: 0 });

// 1. the longest turn of the event loop during a full catalog reload
let longest = 0;
let last = performance.now();
let running = true;
const tick = () => {
  const t = performance.now();
  longest = Math.max(longest, t - last);
  last = t;
  if (running) setImmediate(tick);
};
const reloads: number[] = [];
const blocks: number[] = [];
for (let r = 0; r < 5; r++) {
  longest = 0;
  running = true;
  last = performance.now();
  setImmediate(tick);
  const t0 = performance.now();
  if (r > 0) cache.itemsChanged('t', null);
  await cache.catalog('t');
  reloads.push(performance.now() - t0);
  running = false;
  await new Promise((resolve) => setTimeout(resolve, 20));
  blocks.push(longest);
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 2. histories: heap they retain, and a full collection with them on the heap
gc();
const before = process.memoryUsage().heapUsed;
for (let u = 0; u < USERS; u += 500)
  await Promise.all(Array.from({ length: Math.min(500, USERS - u) }, (_, k) => cache.history('t', `U${u + k}`)));
gc();
const retained = process.memoryUsage().heapUsed - before;
const pauses: number[] = [];
for (let k = 0; k < 5; k++) {
  const t0 = performance.now();
  gc();
  pauses.push(performance.now() - t0);
}
console.log(
  `catalog reload of ${ITEMS} items: ${median(reloads).toFixed(1)} ms in all, longest event-loop turn ${median(blocks).toFixed(1)} ms (median of 5)`,
);
console.log(
  `histories of ${USERS} users x ${PER_USER}: ${(retained / 1e6).toFixed(1)} MB retained; a full GC with them ${median(pauses).toFixed(1)} ms (median of 5); load average ${loadAverage()}`,
);
