import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Backups of the embedded data folder (seed 004's recovery objectives), as one gzip archive:
 *
 *   gzip( "LOUPE-BACKUP 1\n", then entries, each a u32 (big-endian) header length, a JSON header
 *         {"path","size"} and `size` bytes; a last header {"end":true,"entries":N} )
 *
 * Entries: `db.tar` (PGlite's own dump of the database folder), `secrets.key` (without it, sealed vendor
 * secrets cannot be read back) and `objects/<tenant>/...` (raw uploads and model artifacts).
 *
 * Consistency: the database is dumped while no statement runs (PGlite's query lock), after a CHECKPOINT, so
 * the copy is what a crash at that instant would leave: every transaction committed before the snapshot
 * started is in it, and a transaction still open is rolled back when the copy is opened. Objects are copied
 * after the database: objects are immutable once written (written aside, then renamed), so every object a
 * row of the snapshot names is there (unless deleted in between, e.g. an expired model version).
 * The archive holds the secrets key: keep it as private as the data folder (it is written 0600).
 */
const MAGIC = Buffer.from('LOUPE-BACKUP 1\n');
const SAFE_PATH = /^(db\.tar|secrets\.key|objects\/[A-Za-z0-9][A-Za-z0-9._/-]{0,600})$/;

export interface BackupSummary {
  entries: number;
  databaseBytes: number;
  objectFiles: number;
  objectBytes: number;
}

function header(h: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify(h));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([len, json]);
}

async function* walk(root: string, rel = ''): AsyncGenerator<{ rel: string; abs: string; size: number }> {
  let names: string[];
  try {
    names = (await fs.readdir(path.join(root, rel))).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    const r = rel ? `${rel}/${name}` : name;
    const abs = path.join(root, r);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (!st) continue; // removed meanwhile
    if (st.isDirectory()) yield* walk(root, r);
    else if (st.isFile() && !name.endsWith('.part')) yield { rel: r, abs, size: st.size }; // .part: an upload still being written
  }
}

/**
 * Writes a backup archive of an embedded installation to `out` (and ends it). `pglite` is the open database
 * of `dataDir` (the running server's, or one the CLI opened under the data-folder lock).
 */
export async function writeBackup(out: Writable, source: { pglite: PGlite; dataDir: string }): Promise<BackupSummary> {
  const summary: BackupSummary = { entries: 0, databaseBytes: 0, objectFiles: 0, objectBytes: 0 };
  // CHECKPOINT first: every commit acknowledged before the backup started is in the data files.
  await source.pglite.exec('CHECKPOINT');
  const dump = Buffer.from(await (await source.pglite.dumpDataDir('none')).arrayBuffer());
  summary.databaseBytes = dump.length;
  async function* archive(): AsyncGenerator<Buffer> {
    yield MAGIC;
    yield header({ path: 'db.tar', size: dump.length });
    yield dump;
    summary.entries++;
    const keyFile = path.join(source.dataDir, 'secrets.key');
    const key = await fs.readFile(keyFile).catch(() => undefined);
    if (key) {
      yield header({ path: 'secrets.key', size: key.length });
      yield key;
      summary.entries++;
    }
    for await (const f of walk(path.join(source.dataDir, 'objects'))) {
      const p = `objects/${f.rel}`;
      if (!SAFE_PATH.test(p)) continue;
      yield header({ path: p, size: f.size });
      let sent = 0;
      for await (const chunk of createReadStream(f.abs, { start: 0, end: Math.max(0, f.size - 1) }) as AsyncIterable<Buffer>) {
        if (f.size === 0) break;
        sent += chunk.length;
        yield chunk;
      }
      if (sent !== f.size) throw new Error(`${p} changed size while it was backed up`);
      summary.entries++;
      summary.objectFiles++;
      summary.objectBytes += f.size;
    }
    yield header({ end: true, entries: summary.entries });
  }
  await pipeline(Readable.from(archive()), createGzip({ level: 6 }), out);
  return summary;
}

/** Reads exactly `n` bytes at a time from an async byte stream (chunks are joined once, not on every read). */
function byteReader(source: AsyncIterator<Buffer>) {
  const chunks: Buffer[] = [];
  let buffered = 0;
  async function fill(n: number): Promise<boolean> {
    while (buffered < n) {
      const next = await source.next();
      if (next.done) return false;
      chunks.push(next.value);
      buffered += next.value.length;
    }
    return true;
  }
  function shift(n: number): Buffer {
    const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    chunks.length = 0;
    const out = joined.subarray(0, n);
    if (joined.length > n) chunks.push(joined.subarray(n));
    buffered -= n;
    return out;
  }
  return {
    async take(n: number): Promise<Buffer> {
      if (!(await fill(n))) throw new BackupInvalidError('the archive is cut short');
      return shift(n);
    },
    /** Passes the next `n` bytes to `sink` chunk by chunk (a large object never sits in memory). */
    async pipeTo(n: number, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
      let left = n;
      while (left > 0) {
        if (!buffered && !(await fill(1))) throw new BackupInvalidError('the archive is cut short');
        const first = chunks[0]!;
        const size = Math.min(left, first.length);
        const chunk = first.subarray(0, size);
        if (size === first.length) chunks.shift();
        else chunks[0] = first.subarray(size);
        buffered -= size;
        left -= size;
        await sink(chunk);
      }
    },
  };
}

export class BackupInvalidError extends Error {
  constructor(reason: string) {
    super(`not a complete Loupe backup: ${reason}`);
    this.name = 'BackupInvalidError';
  }
}

export interface BackupEntryHandler {
  /** Receives the database dump (in memory: PGlite loads it whole). */
  database(dump: Buffer): Promise<void>;
  /** Receives a file entry (`secrets.key` or `objects/...`) as chunks; `end` closes it. */
  file(rel: string, size: number): Promise<{ write(chunk: Buffer): Promise<void>; end(): Promise<void> }>;
}

/** Reads a backup archive entry by entry; throws BackupInvalidError unless it is complete (end marker). */
export async function readBackup(file: string, handler?: BackupEntryHandler): Promise<{ entries: number }> {
  const gunzip = createGunzip();
  const source = createReadStream(file).pipe(gunzip);
  const it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const r = byteReader(it);
  try {
    if (!(await r.take(MAGIC.length)).equals(MAGIC)) throw new BackupInvalidError('unknown format');
    let entries = 0;
    for (;;) {
      const len = (await r.take(4)).readUInt32BE(0);
      if (len > 64 * 1024) throw new BackupInvalidError('bad entry header');
      const h = JSON.parse((await r.take(len)).toString('utf8')) as { path?: string; size?: number; end?: boolean; entries?: number };
      if (h.end) {
        if (h.entries !== entries) throw new BackupInvalidError('entry count does not match');
        return { entries };
      }
      if (typeof h.path !== 'string' || !SAFE_PATH.test(h.path) || h.path.includes('..') || typeof h.size !== 'number' || h.size < 0) {
        throw new BackupInvalidError('bad entry header');
      }
      if (h.path === 'db.tar' && handler) {
        await handler.database(Buffer.from(await r.take(h.size)));
      } else if (!handler) {
        await r.pipeTo(h.size, async () => undefined); // checking only: nothing kept in memory
      } else {
        const sink = await handler?.file(h.path, h.size);
        await r.pipeTo(h.size, async (c) => sink?.write(c));
        await sink?.end();
      }
      entries++;
    }
  } catch (err) {
    if (
      err instanceof SyntaxError ||
      (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' ||
      (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR'
    ) {
      throw new BackupInvalidError('damaged archive');
    }
    throw err;
  } finally {
    source.destroy();
  }
}

/**
 * Restores an archive into `dataDir`, which must hold no installation (the caller checks and locks it).
 * `openDump` creates the database folder from the dump (PGlite `loadDataDir`). Files are written 0600 in
 * 0700 folders.
 */
export async function restoreBackup(
  file: string,
  dataDir: string,
  openDump: (dbDir: string, dump: Buffer) => Promise<void>,
): Promise<{ entries: number; objectFiles: number }> {
  // Check the whole archive first: a cut or damaged file restores nothing.
  await readBackup(file);
  let objectFiles = 0;
  const out = await readBackup(file, {
    async database(dump) {
      await openDump(path.join(dataDir, 'db'), dump);
    },
    async file(rel) {
      const target = path.join(dataDir, ...rel.split('/'));
      await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
      if (rel.startsWith('objects/')) objectFiles++;
      const ws = createWriteStream(target, { mode: 0o600 });
      return {
        write: (chunk) =>
          new Promise<void>((resolve, reject) => {
            ws.write(chunk, (err) => (err ? reject(err) : resolve()));
          }),
        end: () => new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve()))),
      };
    },
  });
  return { entries: out.entries, objectFiles };
}
