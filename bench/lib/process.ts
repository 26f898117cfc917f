import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts a child process and resolves once `url` answers 200 (or rejects after `timeoutMs`). */
export async function startServer(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  url: string,
  timeoutMs = 60_000,
): Promise<ChildProcess> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // BENCH_SERVER_LOG=file: the server's output goes to that file too (what it logged during a run).
  if (process.env.BENCH_SERVER_LOG) {
    const log = createWriteStream(process.env.BENCH_SERVER_LOG);
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  }
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`server exited early (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(url);
      if (r.ok) return child;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`server did not answer ${url} within ${timeoutMs} ms:\n${output}`);
}

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** The platform admin every benchmark server is started with. */
export const BENCH_ADMIN = { email: 'bench@loupe.local', password: 'Bench-Password-123' };

/**
 * Starts `loupe serve --no-worker` on a free port with the bench admin and rate limits far above the offered load
 * (the limiter still runs on every request: its cost is measured, not 429s). `env` adds to or overrides that.
 */
export async function startLoupe(opts: {
  dataDir: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
  timeoutMs?: number;
  /** Another checkout of Loupe to run instead of this one (a baseline measured side by side). */
  root?: string;
  /** Run job workers and the scheduled tasks in the server (default: `--no-worker`, neither). */
  worker?: boolean;
}): Promise<{ server: ChildProcess; base: string }> {
  const port = await freePort();
  const root = opts.root ?? path.resolve(import.meta.dirname, '../..');
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOUPE_DATA_DIR: opts.dataDir,
    LOG_LEVEL: 'warn',
    LOUPE_ADMIN_EMAIL: BENCH_ADMIN.email,
    LOUPE_ADMIN_PASSWORD: BENCH_ADMIN.password,
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000000',
    RATE_LIMIT_TENANT_PER_MINUTE: '100000000',
    ...opts.env,
  };
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(
    'node',
    [...(opts.nodeArgs ?? []), path.join(root, 'bin/loupe.mjs'), 'serve', ...(opts.worker ? [] : ['--no-worker'])],
    env,
    `${base}/health/ready`,
    opts.timeoutMs ?? 180_000,
  );
  return { server, base };
}

/** POSTs JSON (with an optional bearer token) and returns the parsed answer; a non-2xx answer throws with its body. */
export async function postJson(base: string, p: string, body: unknown, token?: string): Promise<Record<string, any>> {
  const r = await fetch(base + p, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await r.json()) as Record<string, any>;
  if (!r.ok) throw new Error(`${p}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * CPU time (user + system, ms) process `pid` has used so far, from /proc (Linux); NaN elsewhere. A server's CPU
 * milliseconds per request stay meaningful on a shared, loaded machine, where latencies measure the neighbours too.
 */
export async function processCpuMs(pid: number | undefined): Promise<number> {
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}
