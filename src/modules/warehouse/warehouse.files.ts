import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../platform/index.ts';

/**
 * The export folder's I/O: durable, atomic
 * file writes (temporary file, fsync, rename, fsync of the folder), so a reader never sees half a file and a
 * file that the watermark counts survives a power cut.
 */

/** A write that failed: the message names the path (relative to the export folder) and the system's error code. */
export function writeFailed(rel: string, err: unknown): AppError {
  const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
  const reason: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOTDIR: 'a part of the path is not a folder',
    EEXIST: 'a part of the path exists and is not a folder',
  };
  return new AppError(
    'unavailable',
    'WAREHOUSE_WRITE_FAILED',
    `Could not write the export at ${rel}: ${reason[code] ?? 'input/output error'} (${code}). Nothing was committed; the next run starts from the same watermark.`,
  );
}

async function fsyncFolder(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Writes `bytes` to `root/rel` atomically and durably: `.<name>.tmp` beside it, fsync, rename, fsync the folder.
 * Throws WAREHOUSE_WRITE_FAILED (the temporary file removed) on any file-system error.
 */
export async function writeDurable(root: string, rel: string, bytes: Uint8Array): Promise<{ bytes: number; sha256: string }> {
  const file = path.join(root, rel);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp`);
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const h = await fs.open(tmp, 'w', 0o600);
    try {
      await h.writeFile(bytes);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, file);
    await fsyncFolder(dir);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw writeFailed(rel, err);
  }
  return { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Reads a small JSON file, or undefined when it does not exist. */
export async function readJson<T>(root: string, rel: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(root, rel), 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw writeFailed(rel, err);
  }
}

/** Removes files under root (missing ones ignored). */
export async function removeFiles(root: string, rels: readonly string[]): Promise<void> {
  for (const rel of rels) {
    try {
      await fs.rm(path.join(root, rel), { force: true });
    } catch (err) {
      throw writeFailed(rel, err);
    }
  }
}
