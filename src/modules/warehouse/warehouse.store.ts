import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { AppError, type ObjectStorage } from '../../platform/index.ts';
import { readJson, removeFiles, writeDurable } from './warehouse.files.ts';

/**
 * Where the export's files go: the local export folder (LOUPE_EXPORT_DIR) or, when object storage is configured
 * (LOUPE_S3_BUCKET), the S3-compatible bucket. Paths (`rel`) are the export's relative paths
 * (`tenant_id=<id>/<table>/date=<d>/part-<seq>-<token>.parquet`, the manifest, the pending-batch journals); the
 * exactly-once protocol in warehouse.service.ts needs of a store only that a written file is whole and durable
 * when `write` resolves (one exporter per tenant at a time is the service's lease, in the database).
 */
export interface ExportStore {
  /** Where the files are, for people: a folder, or `s3://bucket/prefix<tenant>/warehouse/`. */
  readonly location: string;
  write(tenantId: string, rel: string, bytes: Uint8Array): Promise<{ bytes: number; sha256: string }>;
  /** A small JSON file, or undefined when it does not exist. */
  readJson<T>(tenantId: string, rel: string): Promise<T | undefined>;
  /** Removes files (missing ones ignored). */
  remove(tenantId: string, rels: readonly string[]): Promise<void>;
}

/** The local folder: atomic, fsynced files (warehouse.files.ts). */
export function createFolderExportStore(exportDir: string): ExportStore {
  return {
    location: exportDir,
    write: (_tenantId, rel, bytes) => writeDurable(exportDir, rel, bytes),
    readJson: (_tenantId, rel) => readJson(exportDir, rel),
    remove: (_tenantId, rels) => removeFiles(exportDir, rels),
  };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The platform's object storage (S3-compatible): each file is one PUT, which S3 makes visible whole and only once
 * it is stored (a failed or cut upload leaves nothing), so `write` is atomic and durable when it resolves. Objects
 * are `<tenant>/warehouse/<rel>` in the store's tenant area. (The exporters' lease is a database row, not an
 * object: S3 conditional writes, If-None-Match / If-Match on PUT, are not served by every S3-compatible store, s3rver
 * among them, which ignores them on PUT.)
 */
export function createObjectExportStore(storage: ObjectStorage, location: string): ExportStore {
  const keyOf = (rel: string) => `warehouse/${rel}`;

  async function readObject(tenantId: string, key: string): Promise<Buffer | undefined> {
    try {
      return await readAll(await storage.get(tenantId, key));
    } catch (err) {
      if (err instanceof AppError && err.code === 'OBJECT_NOT_FOUND') return undefined;
      throw err;
    }
  }
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
  };
}
