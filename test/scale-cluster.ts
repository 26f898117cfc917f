/**
 * A throwaway PostgreSQL cluster for the scale-out fault tests (test/scale.faults.int.test.ts): initdb into a
 * temporary folder, started with pg_ctl on a free loopback port, so a test can stop and restart its database server
 * without touching the machine's shared cluster. As root the binaries run as the `postgres` user (initdb refuses
 * root). `clusterBinaries()` says what is missing, for a clear skip.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A free loopback port (no vitest import here: bench/scale uses this file too). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}
const asRoot = process.getuid?.() === 0;

function which(bin: string): Promise<string | undefined> {
  return run('sh', ['-c', `command -v ${bin}`]).then(
    (r) => r.stdout.trim() || undefined,
    () => undefined,
  );
}

/** The binaries the cluster needs, or why it cannot be made here. */
export async function clusterBinaries(extra: string[] = []): Promise<{ ok: true } | { ok: false; reason: string }> {
  const missing = [];
  for (const b of ['initdb', 'pg_ctl', ...extra, ...(asRoot ? ['runuser'] : [])]) if (!(await which(b))) missing.push(b);
  if (missing.length) return { ok: false, reason: `missing ${missing.join(', ')} on PATH` };
  if (asRoot) {
    const user = await run('id', ['-u', 'postgres']).catch(() => undefined);
    if (!user) return { ok: false, reason: 'running as root and no postgres user to run initdb as' };
  }
  return { ok: true };
}

export interface TestCluster {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:port/postgres */
  readonly url: string;
  /** pg_ctl stop: `immediate` drops every connection at once, as a crash does. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

const sh = (bin: string, args: string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args));

/** Runs the cluster in `dir/data` on `port` (pg_ctl start/stop), removing `dir` on destroy. */
function serve(dir: string, port: number): TestCluster {
  const data = path.join(dir, 'data');
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40`;
  const start = async () => void (await sh('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']));
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => void (await sh('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']));
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async destroy() {
      await stop('immediate').catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function clusterDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-pgcluster-'));
  if (asRoot) await run('chown', ['postgres', dir]);
  return dir;
}

export async function startCluster(): Promise<TestCluster> {
  const dir = await clusterDir();
  await sh('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const cluster = serve(dir, await freePort());
  await cluster.start();
  return cluster;
}

/**
 * A streaming replica of `primary`, made as an operator makes one: `pg_basebackup -R` (a copy of the running
 * cluster plus standby.signal and primary_conninfo) started on a port of its own, read-only (hot standby). initdb's
 * trust authentication allows replication connections from loopback; wal_level is `replica` by default.
 */
export async function startStandby(primary: TestCluster): Promise<TestCluster> {
  const dir = await clusterDir();
  await sh('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    path.join(dir, 'data'),
    '-X',
    'stream',
    '-R',
    '--no-sync',
  ]);
  const standby = serve(dir, await freePort());
  await standby.start();
  return standby;
}
