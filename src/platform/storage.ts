import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { AppError } from './errors.ts';

/**
 * Object storage for raw uploads and model artifacts, one area per tenant. A local folder by default;
 * the interface is the S3 subset Loupe uses, so an S3-compatible backend can stand in.
 */
export interface ObjectStorage {
  put(tenantId: string, key: string, body: Readable | Buffer): Promise<{ key: string; bytes: number }>;
  get(tenantId: string, key: string): Promise<Readable>;
  exists(tenantId: string, key: string): Promise<boolean>;
  delete(tenantId: string, key: string): Promise<void>;
  /** Absolute path of an object for code that needs a file (local backend only). */
  localPath(tenantId: string, key: string): string;
}

// `=` allowed for Hive-style partition folders (`date=2026-01-02`), what warehouses expect of an export.
const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._=/-]{0,400}$/;

/** `<tenant id>/<key>`, after checking both (no `..`, no absolute path, a tenant id that is a UUID): every backend's name. */
export function objectKeyOf(tenantId: string, key: string): string {
  if (!SAFE_KEY.test(key) || key.includes('..') || !/^[0-9a-f-]{36}$/.test(tenantId)) {
    throw new AppError('validation', 'STORAGE_KEY_INVALID', 'Invalid object key.');
  }
  return `${tenantId}/${key}`;
}

export function createLocalStorage(root: string): ObjectStorage {
  const resolve = (tenantId: string, key: string): string => path.join(root, objectKeyOf(tenantId, key));
  return {
    async put(tenantId, key, body) {
      const file = resolve(tenantId, key);
      // Owner-only: uploads hold customers' personal data, artifacts their behaviour (folders 0700, files 0600).
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.${Date.now()}.part`;
      try {
        if (Buffer.isBuffer(body)) await fs.writeFile(tmp, body, { mode: 0o600 });
        else await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
        await fs.rename(tmp, file); // atomic: readers never see a half-written object
      } catch (err) {
        await fs.rm(tmp, { force: true }); // a cut-off upload leaves nothing behind
        throw err;
      }
      const st = await fs.stat(file);
      return { key, bytes: st.size };
    },
    async get(tenantId, key) {
      const file = resolve(tenantId, key);
      await fs.access(file).catch(() => {
        throw new AppError('not_found', 'OBJECT_NOT_FOUND', 'The stored object was not found.');
      });
      return createReadStream(file);
    },
    async exists(tenantId, key) {
      return fs.access(resolve(tenantId, key)).then(
        () => true,
        () => false,
      );
    },
    async delete(tenantId, key) {
      await fs.rm(resolve(tenantId, key), { force: true });
    },
    localPath: resolve,
  };
}
