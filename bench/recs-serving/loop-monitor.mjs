/**
 * Preloaded into a benchmarked server (`node --import ./loop-monitor.mjs ...`) when BENCH_LOOP_FILE is set: what
 * blocked its event loop. `monitorEventLoopDelay` gives the delay distribution; a `gc` performance observer gives
 * every garbage collection pause by kind; a 10 ms ticker notes each stall over 20 ms with the GC pauses inside it,
 * so stalls that no GC explains point at synchronous work (a cache reload, a big parse). On SIGUSR2 the figures since
 * the previous signal are written to BENCH_LOOP_FILE as JSON and the counters start again (the bench signals once
 * after the warm-up and once after the measured seconds).
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_FILE;
if (file) {
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let gc = [];
  let stalls = [];
  let cpu = process.cpuUsage();
  let since = performance.now();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gc.push({ at: e.startTime, ms: e.duration, kind: KINDS[e.detail?.kind] ?? 'other' });
  }).observe({ entryTypes: ['gc'] });
  let last = performance.now();
  setInterval(() => {
    const t = performance.now();
    if (t - last > 30) stalls.push({ at: last, ms: t - last - 10 });
    last = t;
  }, 10).unref();

  process.on('SIGUSR2', () => {
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    const byKind = {};
    for (const g of gc) {
      const k = (byKind[g.kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      k.count++;
      k.totalMs = Math.round((k.totalMs + g.ms) * 100) / 100;
      k.maxMs = Math.max(k.maxMs, Math.round(g.ms * 100) / 100);
    }
    // a stall is "gc" when collections inside it account for half of it or more
    const explained = stalls.filter(
      (s) => gc.filter((g) => g.at >= s.at && g.at <= s.at + s.ms + 10).reduce((a, g) => a + g.ms, 0) >= s.ms / 2,
    );
    const used = process.cpuUsage(cpu);
    const report = {
      seconds: Math.round(performance.now() - since) / 1000,
      cpuMs: Math.round((used.user + used.system) / 1000),
      loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean) },
      gc: byKind,
      stallsOver20ms: {
        count: stalls.length,
        totalMs: Math.round(stalls.reduce((a, s) => a + s.ms, 0)),
        maxMs: Math.round(Math.max(0, ...stalls.map((s) => s.ms))),
        byGc: explained.length,
      },
      heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
    };
    writeFileSync(file, JSON.stringify(report));
    delay.reset();
    gc = [];
    stalls = [];
    cpu = process.cpuUsage();
    since = performance.now();
  });
}
