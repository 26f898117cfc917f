import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type LoadRow, loadAverage } from './load.ts';
import { processCpuMs } from './process.ts';

/**
 * A fixed offered load, open loop: request k is due at start + k / rate whatever happened to the earlier ones, and
 * its latency is counted from when it was DUE, not from when a socket was free to send it (so a server that holds
 * requests is not excused by the client waiting: no coordinated omission). Up to `connections` keep-alive sockets;
 * requests due while all are busy wait in the agent's queue, and that wait counts.
 *
 * Why not autocannon's `overallRate`: each connection sends its share of the second back to back as soon as the
 * second starts, then idles (lib/httpClient.js resets `reqsMadeThisSecond` on a 1 s interval), so "500/s over 50
 * connections" is 50 clients at full speed for the first ~100 ms of every second; and it corrects latencies with an
 * expected interval of ceil(1 / per-connection rate) = 1 ms, recording a 30 ms answer as 30 samples of 30, 29, ... 1.
 *
 * `senderLagP99` is how late this process's own timer sent requests (p99, ms): when it is large, the client, not the
 * server, made the tail.
 */
export async function runPaced(opts: {
  scenario: string;
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  warmupSeconds?: number;
  headers?: Record<string, string>;
  /** With a body, every request is a POST of a fresh body. */
  body?: () => string;
  pid?: number;
  afterWarmup?: () => Promise<void>;
}): Promise<LoadRow & { senderLagP99: number; clientLoopP99: number }> {
  const target = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const send = (due: number, lags: number[], latencies: number[], failures: { n: number }) =>
    new Promise<void>((resolve) => {
      lags.push(performance.now() - due);
      const body = opts.body?.();
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: body === undefined ? 'GET' : 'POST',
          headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) latencies.push(performance.now() - due);
            else failures.n++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failures.n++;
        resolve();
      });
      req.end(body);
    });

  const phase = async (seconds: number) => {
    const lags: number[] = [];
    const latencies: number[] = [];
    const failures = { n: 0 };
    const inflight: Promise<void>[] = [];
    const total = Math.round(seconds * opts.rate);
    const interval = 1000 / opts.rate;
    const start = performance.now();
    let next = 0;
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now();
        while (next < total && start + next * interval <= now) inflight.push(send(start + next++ * interval, lags, latencies, failures));
        if (next >= total) return done();
        setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
      };
      tick();
    });
    await Promise.all(inflight);
    return { lags, latencies, failures: failures.n, elapsed: (performance.now() - start) / 1000 };
  };

  if (opts.warmupSeconds) await phase(opts.warmupSeconds);
  await opts.afterWarmup?.();
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpuBefore = opts.pid === undefined ? Number.NaN : await processCpuMs(opts.pid);
  const measured = await phase(opts.seconds);
  const cpu = opts.pid === undefined ? Number.NaN : (await processCpuMs(opts.pid)) - cpuBefore;
  loop.disable();
  agent.destroy();
  const pct = (xs: number[], q: number) => {
    if (xs.length === 0) return Number.NaN;
    const sorted = [...xs].sort((a, b) => a - b);
    return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 10) / 10;
  };
  const row = {
    scenario: opts.scenario,
    rps: Math.round(measured.latencies.length / measured.elapsed),
    p50: pct(measured.latencies, 0.5),
    p90: pct(measured.latencies, 0.9),
    p99: pct(measured.latencies, 0.99),
    errors: measured.failures,
    cpuMs: Math.round((cpu / Math.max(1, measured.latencies.length + measured.failures)) * 100) / 100,
    load: loadAverage(),
    senderLagP99: pct(measured.lags, 0.99),
    clientLoopP99: Math.round(loop.percentile(99) / 1e4) / 100,
  };
  console.log(JSON.stringify(row));
  return row;
}
