import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';

/**
 * One process at a time in an embedded data folder. PGlite is a single-process database: two processes that
 * open the same folder corrupt it (issue 22, C1). Every command that opens the folder takes this lock first.
 *
 * The lock is `proper-lockfile`'s directory `<data dir>/loupe.lock` (created atomically with mkdir, its
 * mtime refreshed while held), and beside it the owner record `<data dir>/loupe.lock.json` (mode 0600):
 * pid, command, port once listening, and a random secret drawn at each start. Possession of the data folder
 * already means full control of the installation, so that secret is what lets a local `loupe import` or
 * `loupe backup` go through the running server instead of opening the folder itself.
 *
 * A lock whose owner is gone (its pid is dead, or is our own pid: a container restarted with the same pid)
 * is taken over at once; one whose owner pid is alive but stopped refreshing it for `STALE_MS` (a pid reused
 * by another program) is taken over too. Acquisitions are serialized by a short-lived second lock, so two
 * processes starting together after a crash cannot both take over.
 */
export interface DataDirOwner {
  readonly pid: number;
  /** The command holding the folder: serve, worker, import, migrate, admin, backup, restore. */
  readonly command: string;
  /** The HTTP port, once a server listens; null for commands that do not serve. */
  readonly port: number | null;
  /** Random per start: authenticates local control requests (loopback only). */
  readonly secret: string;
  readonly startedAt: string;
}

export interface DataDirLock {
  readonly owner: DataDirOwner;
  /** Records the port once the server listens (local commands find it in the owner record). */
  setPort(port: number): Promise<void>;
  release(): Promise<void>;
}

/** Thrown when a live process holds the folder. The message says who and what to do. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: DataDirOwner | undefined,
  ) {
    const who = owner
      ? `a Loupe ${owner.command === 'serve' ? 'server' : `\`${owner.command}\``} (pid ${owner.pid}${owner.port ? `, port ${owner.port}` : ''})`
      : 'another Loupe process';
    super(
      `${who} is using ${dataDir}: stop it first (only one process may open the embedded database), or set DATABASE_URL to use a PostgreSQL server that several processes can share.`,
    );
    this.name = 'DataDirBusyError';
  }
}

/** A holder that stops refreshing the lock for this long is considered gone even if its pid is alive. */
export const STALE_MS = 120_000;
const UPDATE_MS = 5_000;

// proper-lockfile locks `<file>.lock`; it keys its in-process state by `file`, so the two locks use two names.
const lockTargetOf = (dataDir: string) => path.join(dataDir, 'loupe');
const lockDirOf = (dataDir: string) => `${lockTargetOf(dataDir)}.lock`;
/** The lock's own files in the data folder (not part of an installation). */
export const LOCK_FILES: readonly string[] = ['loupe.lock', 'loupe.lock.json', 'loupe.gate.lock'];
/** Folders this process holds (a second acquisition in the same process is refused, not taken over). */
const heldHere = new Map<string, DataDirOwner>();
const ownerFileOf = (dataDir: string) => path.join(dataDir, 'loupe.lock.json');

/** Creates the data folder owner-only (0700); an existing folder is tightened to 0700 too. */
async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

async function readOwnerFile(dataDir: string): Promise<DataDirOwner | undefined> {
  try {
    const o = JSON.parse(await fs.readFile(ownerFileOf(dataDir), 'utf8')) as DataDirOwner;
    return typeof o.pid === 'number' && typeof o.secret === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

async function writeOwnerFile(dataDir: string, owner: DataDirOwner): Promise<void> {
  const file = ownerFileOf(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
}

/** Whether the lock directory exists and, if so, how long ago its holder last refreshed it. */
async function lockAge(dataDir: string): Promise<number | undefined> {
  try {
    return Date.now() - (await fs.stat(lockDirOf(dataDir))).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * The live holder of the folder, or undefined when none (no lock, or a stale one). A lock taken a moment
 * ago may not have its owner record yet: that case is retried briefly.
 */
export async function dataDirOwner(dataDir: string): Promise<DataDirOwner | undefined> {
  dataDir = path.resolve(dataDir);
  const mine = heldHere.get(dataDir);
  if (mine) return mine;
  for (let attempt = 0; attempt < 20; attempt++) {
    const age = await lockAge(dataDir);
    if (age === undefined) return undefined;
    const owner = await readOwnerFile(dataDir);
    if (owner && owner.pid !== process.pid) return pidAlive(owner.pid) && age < STALE_MS ? owner : undefined;
    if (age > 10_000) return undefined; // a lock with no record for this long: its taker died before writing one
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/**
 * Takes the data folder for this process (creating it 0700). Throws DataDirBusyError when a live process
 * holds it. `onCompromised` runs if the lock is lost while held (folder deleted, clock jump): the caller
 * should stop at once rather than keep writing.
 */
export async function lockDataDir(dataDir: string, opts: { command: string; onCompromised?: (err: Error) => void }): Promise<DataDirLock> {
  dataDir = path.resolve(dataDir);
  const mine = heldHere.get(dataDir);
  if (mine) throw new DataDirBusyError(dataDir, mine);
  await ensurePrivateDir(dataDir);
  const lockDir = lockDirOf(dataDir);
  const releaseGate = await lockfile.lock(path.join(dataDir, 'loupe.gate'), {
    realpath: false,
    stale: 5_000,
    retries: { retries: 40, minTimeout: 50, maxTimeout: 250 },
  });
  let owner: DataDirOwner;
  let release!: () => Promise<void>;
  try {
    const take = () =>
      lockfile.lock(lockTargetOf(dataDir), {
        realpath: false,
        // Staleness is decided here (dead pid, or no refresh for STALE_MS), not by proper-lockfile's mtime rule alone.
        stale: STALE_MS,
        update: UPDATE_MS,
        onCompromised:
          opts.onCompromised ??
          ((err) => {
            process.stderr.write(`loupe: the lock on ${dataDir} was lost (${err.message}); stopping to protect the database.\n`);
            process.exit(70);
          }),
      });
    try {
      release = await take();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const holder = await dataDirOwner(dataDir);
      if (holder) throw new DataDirBusyError(dataDir, holder);
      // The holder is gone: age the lock past the stale threshold so proper-lockfile replaces it.
      await fs.utimes(lockDir, 0, 0).catch(() => undefined);
      release = await take();
    }
    owner = {
      pid: process.pid,
      command: opts.command,
      port: null,
      secret: randomBytes(32).toString('base64url'),
      startedAt: new Date().toISOString(),
    };
    await writeOwnerFile(dataDir, owner);
    heldHere.set(dataDir, owner);
  } finally {
    await releaseGate().catch(() => undefined);
  }
  let released = false;
  return {
    get owner() {
      return owner;
    },
    async setPort(port) {
      owner = { ...owner, port };
      heldHere.set(dataDir, owner);
      await writeOwnerFile(dataDir, owner);
    },
    async release() {
      if (released) return;
      released = true;
      heldHere.delete(dataDir);
      await fs.rm(ownerFileOf(dataDir), { force: true });
      await release();
    },
  };
}
