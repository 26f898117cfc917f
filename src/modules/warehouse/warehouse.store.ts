import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import lockfile from 'proper-lockfile';
import { AppError, type ObjectStorage } from '../../platform/index.ts';
import { tenantFolder } from './warehouse.core.ts';
import { readJson, removeFiles, writeDurable, writeFailed } from './warehouse.files.ts';

/**
 * Where the export's files go: the local export folder (LOUPE_EXPORT_DIR) or, when object storage is configured
 * (LOUPE_S3_BUCKET), the S3-compatible bucket. Paths (`rel`) are the export's relative paths
 * (`tenant_id=<id>/<table>/date=<d>/part-<seq>.parquet`, the manifest, the pending-batch journals); the
 * exactly-once protocol in warehouse.service.ts needs of a store only that a written file is whole and durable
 * when `write` resolves, and one exporter per tenant at a time (`lock`).
 */
export interface ExportStore {
  /** Where the files are, for people: a folder, or `s3://bucket/prefix<tenant>/warehouse/`. */
  readonly location: string;
  write(tenantId: string, rel: string, bytes: Uint8Array): Promise<{ bytes: number; sha256: string }>;
  /** A small JSON file, or undefined when it does not exist. */
  readJson<T>(tenantId: string, rel: string): Promise<T | undefined>;
  /** Removes files (missing ones ignored). */
  remove(tenantId: string, rels: readonly string[]): Promise<void>;
  /** Takes the tenant's export lock (WAREHOUSE_EXPORT_RUNNING when another exporter holds it); resolves to its release. */
  lock(tenantId: string): Promise<() => Promise<void>>;
}

const running = () => new AppError('conflict', 'WAREHOUSE_EXPORT_RUNNING', 'An export of this tenant is already running.');

/** The local folder: atomic, fsynced files (warehouse.files.ts) and a lock file per tenant folder. */
export function createFolderExportStore(exportDir: string): ExportStore {
  return {
    location: exportDir,
    write: (_tenantId, rel, bytes) => writeDurable(exportDir, rel, bytes),
    readJson: (_tenantId, rel) => readJson(exportDir, rel),
    remove: (_tenantId, rels) => removeFiles(exportDir, rels),
    async lock(tenantId) {
      const dir = path.join(exportDir, tenantFolder(tenantId));
      try {
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw writeFailed(tenantFolder(tenantId), err);
      }
      try {
        // A run killed with SIGKILL leaves its lock behind: it goes stale 10 s after its holder's last refresh (every
        // 2 s), so the next run waits for it (up to 15 s) instead of refusing to resume.
        return await lockfile.lock(dir, {
          lockfilePath: path.join(dir, '.export.lock'),
          stale: 10_000,
          update: 2_000,
          retries: { retries: 15, factor: 1, minTimeout: 1_000, maxTimeout: 1_000 },
          realpath: false,
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw running();
        throw writeFailed(`${tenantFolder(tenantId)}/.export.lock`, err);
      }
    },
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Lease {
  owner: string;
  expiresAt: number;
}

export interface ObjectExportStoreOptions {
  /** How long a lease lives without a refresh (default 10 s; refreshed every fifth of it). */
  leaseMs?: number;
  /** How long `lock` waits for another holder's lease (default 15 s). */
  waitMs?: number;
}

/**
 * The platform's object storage (S3-compatible): each file is one PUT, which S3 makes visible whole and only once
 * it is stored (a failed or cut upload leaves nothing), so `write` is atomic and durable when it resolves. Objects
 * are `<tenant>/warehouse/<rel>` in the store's tenant area. The lock is a lease object (`.export.lock`: owner and
 * expiry, refreshed while held, so a killed holder's lease lapses); S3 has no compare-and-set here, so two exporters
 * starting within one round trip could both take it: the batch commit in the database (the watermark advances only
 * from the batch before) still refuses the second, and the export job runs one per tenant across the cluster.
 */
export function createObjectExportStore(storage: ObjectStorage, location: string, opts: ObjectExportStoreOptions = {}): ExportStore {
  const leaseMs = opts.leaseMs ?? 10_000;
  const waitMs = opts.waitMs ?? 15_000;
  const keyOf = (rel: string) => `warehouse/${rel}`;
  const lockKey = (tenantId: string) => keyOf(`${tenantFolder(tenantId)}/.export.lock`);

  async function readObject(tenantId: string, key: string): Promise<Buffer | undefined> {
    try {
      return await readAll(await storage.get(tenantId, key));
    } catch (err) {
      if (err instanceof AppError && err.code === 'OBJECT_NOT_FOUND') return undefined;
      throw err;
    }
  }
  async function readLease(tenantId: string): Promise<Lease | undefined> {
    const body = await readObject(tenantId, lockKey(tenantId));
    if (!body) return undefined;
    try {
      return JSON.parse(body.toString('utf8')) as Lease;
    } catch {
      return undefined; // unreadable: treated as free
    }
  }
  const writeLease = (tenantId: string, owner: string) =>
    storage.put(tenantId, lockKey(tenantId), Buffer.from(JSON.stringify({ owner, expiresAt: Date.now() + leaseMs } satisfies Lease)));

  return {
    location,
    async write(tenantId, rel, bytes) {
      const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      await storage.put(tenantId, keyOf(rel), body);
      return { bytes: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') };
    },
    async readJson<T>(tenantId: string, rel: string): Promise<T | undefined> {
      const body = await readObject(tenantId, keyOf(rel));
      return body ? (JSON.parse(body.toString('utf8')) as T) : undefined;
    },
    async remove(tenantId, rels) {
      for (const rel of rels) await storage.delete(tenantId, keyOf(rel));
    },
    async lock(tenantId) {
      const owner = randomUUID();
      const deadline = Date.now() + waitMs;
      for (;;) {
        const held = await readLease(tenantId);
        if (!held || held.expiresAt <= Date.now()) {
          await writeLease(tenantId, owner);
          // Read back: of two takers racing, the later PUT wins and the earlier one sees it.
          if ((await readLease(tenantId))?.owner === owner) break;
        }
        if (Date.now() >= deadline) throw running();
        await new Promise((r) => setTimeout(r, Math.min(1_000, leaseMs / 5)));
      }
      let refreshing: Promise<unknown> = Promise.resolve();
      const timer = setInterval(() => {
        refreshing = writeLease(tenantId, owner).catch(() => undefined);
      }, leaseMs / 5);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await refreshing;
        if ((await readLease(tenantId).catch(() => undefined))?.owner === owner) await storage.delete(tenantId, lockKey(tenantId));
      };
    },
  };
}
