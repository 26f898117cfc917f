/**
 * Preloaded into a benchmarked server (`node --import ./pglite-timing.mjs ...`) when BENCH_PGLITE_LOG is set: times
 * every synchronous run of the embedded database's engine (`execProtocolRawSync`, the wasm call that holds the event
 * loop) and appends those over BENCH_PGLITE_SLOW_MS (default 5) to BENCH_PGLITE_LOG as JSON lines: when, how long
 * (wall, and the process's CPU meanwhile: on a loaded machine wall time includes being descheduled), the statement's first characters (a bind or execute message shows the statement it follows). A summary line per
 * statement text is written when the process exits. Which statements held the loop, read beside loop-monitor.mjs.
 */
import { appendFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';

const file = process.env.BENCH_PGLITE_LOG;
if (file) {
  const slowMs = Number(process.env.BENCH_PGLITE_SLOW_MS ?? 5);
  const proto = PGlite.prototype;
  const original = proto.execProtocolRawSync;
  const decoder = new TextDecoder();
  let lastParse = '';
  const byText = new Map();
  const textOf = (bytes) => {
    const type = String.fromCharCode(bytes[0]);
    const body = decoder
      .decode(bytes.subarray(5, Math.min(bytes.length, 400)))
      .replace(/[^ -~]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    if (type === 'P' || type === 'Q') lastParse = body.slice(0, 160);
    return type === 'P' || type === 'Q' ? `${type} ${lastParse}` : `${type} (after: ${lastParse})`;
  };
  proto.execProtocolRawSync = function timed(message) {
    const t = performance.now();
    const cpu = process.cpuUsage();
    try {
      return original.call(this, message);
    } finally {
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      const text = textOf(message);
      const s = byText.get(text) ?? { n: 0, totalMs: 0, maxMs: 0, over: 0 };
      s.n++;
      s.totalMs += ms;
      s.maxMs = Math.max(s.maxMs, ms);
      if (ms >= slowMs) {
        s.over++;
        appendFileSync(
          file,
          `${JSON.stringify({ pid: process.pid, at: Math.round(t), ms: Math.round(ms * 10) / 10, cpuMs: Math.round((used.user + used.system) / 100) / 10, bytes: message.length, text })}\n`,
        );
      }
      byText.set(text, s);
    }
  };
  process.on('exit', () => {
    const rows = [...byText].sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, 40);
    for (const [text, s] of rows)
      appendFileSync(
        file,
        `${JSON.stringify({ pid: process.pid, summary: text, n: s.n, totalMs: Math.round(s.totalMs), maxMs: Math.round(s.maxMs * 10) / 10, overSlow: s.over })}\n`,
      );
  });
}
