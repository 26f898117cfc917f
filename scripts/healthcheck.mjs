#!/usr/bin/env node
/* global AbortSignal */
// Container health check (Dockerfile HEALTHCHECK, compose): exits 0 when this host's Loupe answers
// /health/ready (the database reachable), 1 otherwise. Plain Node, no dependencies, 3 s at most.
const port = process.env.PORT || '8000';
const url = process.argv[2] || `http://127.0.0.1:${port}/health/ready`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
