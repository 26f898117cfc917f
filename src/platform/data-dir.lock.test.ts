import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DataDirBusyError, dataDirOwner, lockDataDir, STALE_MS } from './data-dir.lock.ts';
import { loadSecretBox } from './secret-box.ts';
import { createLocalStorage } from './storage.ts';

let root: string;
let dataDir: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-lock-'));
  dataDir = path.join(root, 'data');
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const modeOf = async (p: string) => (await fs.stat(p)).mode & 0o777;

/** Leaves a lock as a process that died (or still runs) would: the lock directory and its owner record. */
async function plantLock(pid: number, opts: { ageMs?: number; port?: number } = {}) {
  await fs.mkdir(dataDir, { recursive: true });
  await fs.mkdir(path.join(dataDir, 'loupe.lock'));
  await fs.writeFile(
    path.join(dataDir, 'loupe.lock.json'),
    JSON.stringify({ pid, command: 'serve', port: opts.port ?? 8123, secret: 'planted', startedAt: new Date().toISOString() }),
  );
  if (opts.ageMs) {
    const t = new Date(Date.now() - opts.ageMs);
    await fs.utimes(path.join(dataDir, 'loupe.lock'), t, t);
  }
}

describe('the data-folder lock', () => {
  test('creates the folder 0700 and an owner record 0600 with pid, port and a secret; release removes both', async () => {
    const lock = await lockDataDir(dataDir, { command: 'serve' });
    expect(await modeOf(dataDir)).toBe(0o700);
    const file = path.join(dataDir, 'loupe.lock.json');
    expect(await modeOf(file)).toBe(0o600);
    await lock.setPort(8765);
    const record = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(record).toMatchObject({ pid: process.pid, command: 'serve', port: 8765 });
    expect(record.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await modeOf(file)).toBe(0o600);
    expect((await dataDirOwner(dataDir))?.port).toBe(8765);
    await lock.release();
    await expect(fs.access(file)).rejects.toThrow();
    await expect(fs.access(path.join(dataDir, 'loupe.lock'))).rejects.toThrow();
    expect(await dataDirOwner(dataDir)).toBeUndefined();
  });

  test('an existing folder open to others is tightened to 0700', async () => {
    await fs.mkdir(dataDir, { mode: 0o755 });
    await fs.chmod(dataDir, 0o755);
    const lock = await lockDataDir(dataDir, { command: 'migrate' });
    expect(await modeOf(dataDir)).toBe(0o700);
    await lock.release();
  });

  test('a second holder is refused with a message naming the first', async () => {
    const lock = await lockDataDir(dataDir, { command: 'serve' });
    await lock.setPort(9001);
    const err = await lockDataDir(dataDir, { command: 'import' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirBusyError);
    expect((err as Error).message).toContain(`a Loupe server (pid ${process.pid}, port 9001) is using ${dataDir}: stop it first`);
    await lock.release();
    const next = await lockDataDir(dataDir, { command: 'import' });
    await next.release();
  });

  test('a lock held by another live process is refused', async () => {
    await plantLock(process.ppid, { port: 8123 });
    const err = await lockDataDir(dataDir, { command: 'migrate' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirBusyError);
    expect((err as Error).message).toContain(`(pid ${process.ppid}, port 8123)`);
  });

  test('a lock left by a dead process (kill -9) is taken over at once', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    await plantLock(dead);
    expect(await dataDirOwner(dataDir)).toBeUndefined();
    const lock = await lockDataDir(dataDir, { command: 'serve' });
    expect(lock.owner.pid).toBe(process.pid);
    expect(JSON.parse(await fs.readFile(path.join(dataDir, 'loupe.lock.json'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  test('a lock whose live pid stopped refreshing it (a reused pid) is taken over after the stale time', async () => {
    await plantLock(process.ppid, { ageMs: STALE_MS + 5_000 });
    const lock = await lockDataDir(dataDir, { command: 'serve' });
    expect(lock.owner.pid).toBe(process.pid);
    await lock.release();
  });
});

describe('files in the data folder are private', () => {
  test('stored objects are 0600 in 0700 folders', async () => {
    const storage = createLocalStorage(path.join(dataDir, 'objects'));
    const tenant = '0190f0e0-0000-7000-8000-000000000001';
    await storage.put(tenant, 'uploads/a/file.csv', Buffer.from('a,b\n'));
    const { Readable } = await import('node:stream');
    await storage.put(tenant, 'models/b/model.bin', Readable.from([Buffer.from('x')]));
    expect(await modeOf(storage.localPath(tenant, 'uploads/a/file.csv'))).toBe(0o600);
    expect(await modeOf(storage.localPath(tenant, 'models/b/model.bin'))).toBe(0o600);
    expect(await modeOf(path.join(dataDir, 'objects'))).toBe(0o700);
    expect(await modeOf(path.join(dataDir, 'objects', tenant, 'uploads'))).toBe(0o700);
  });

  test('the generated secrets key is 0600 in a 0700 folder', async () => {
    loadSecretBox({ configured: undefined, previous: undefined, dataDir });
    expect(await modeOf(path.join(dataDir, 'secrets.key'))).toBe(0o600);
    expect(await modeOf(dataDir)).toBe(0o700);
  });
});
