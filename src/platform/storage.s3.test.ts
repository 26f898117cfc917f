/**
 * The S3 object store against a local S3-protocol server (s3rver) started here, behind a small proxy that can
 * answer 500 or stall, to show retries, clear errors, multipart streaming and that nothing is half-written.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import S3rver from 's3rver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from './config.ts';
import { AppError } from './errors.ts';
import { newId } from './ids.ts';
import { createS3Storage } from './storage.s3.ts';

const BUCKET = 'loupe-test';
let s3rver: S3rver;
let dir: string;
let proxy: http.Server;
let endpoint: string;
/** Faults the proxy injects into the next requests, and what it saw. */
const faults = { fail500: 0, stallMs: 0, stallCount: 0 };
const seen: string[] = [];

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-s3-'));
  s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const { port } = (await s3rver.run()) as AddressInfo;
  proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (faults.fail500 > 0) {
      faults.fail500--;
      req.resume();
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected</Message></Error>');
      return;
    }
    const forward = () => {
      const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (faults.stallCount > 0) {
      faults.stallCount--;
      const t = setTimeout(forward, faults.stallMs);
      res.on('close', () => clearTimeout(t));
    } else forward();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  await s3rver?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  faults.fail500 = 0;
  faults.stallCount = 0;
  seen.length = 0;
});

const store = (over: { maxAttempts?: number; requestTimeoutMs?: number } = {}) =>
  createS3Storage({
    bucket: BUCKET,
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    prefix: 'loupe/',
    ...over,
  });

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

/** A stream of `bytes` pseudo-random bytes in 64 KiB chunks; fails after `failAfter` bytes when given. */
function source(bytes: number, failAfter?: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) return this.destroy(new Error('client went away'));
      if (sent >= bytes) return this.push(null);
      const n = Math.min(65_536, bytes - sent);
      const chunk = Buffer.alloc(n, sent % 251);
      sent += n;
      this.push(chunk);
    },
  });
}

const code = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof AppError ? `${e.code}: ${e.message}` : `raw: ${String(e)}`),
  );

describe('S3 object store (s3rver)', () => {
  it('stores, reads, finds and deletes objects; each tenant has its own area', async () => {
    const s = store();
    const [a, b] = [newId(), newId()];
    expect(await s.put(a, 'uploads/1/orders.csv', Buffer.from('a,b\n1,2\n'))).toEqual({ key: 'uploads/1/orders.csv', bytes: 8 });
    await s.put(b, 'uploads/1/orders.csv', Buffer.from('other tenant'));
    expect((await readAll(await s.get(a, 'uploads/1/orders.csv'))).toString()).toBe('a,b\n1,2\n');
    expect((await readAll(await s.get(b, 'uploads/1/orders.csv'))).toString()).toBe('other tenant');
    expect(await s.exists(a, 'uploads/1/orders.csv')).toBe(true);
    await s.delete(a, 'uploads/1/orders.csv');
    expect(await s.exists(a, 'uploads/1/orders.csv')).toBe(false);
    expect(await s.exists(b, 'uploads/1/orders.csv')).toBe(true);
    expect(await code(s.get(a, 'uploads/1/orders.csv'))).toMatch(/^OBJECT_NOT_FOUND/);
    await s.delete(a, 'never/was'); // deleting nothing is fine
  });

  it('refuses hostile keys and tenant ids before any request', async () => {
    const s = store();
    const t = newId();
    for (const key of ['../x', '/abs', 'a/../../b', 'nul\u0000byte', 'lone\ud800', '', 'x'.repeat(500)])
      expect(await code(s.put(t, key, Buffer.from('x')))).toMatch(/^STORAGE_KEY_INVALID/);
    expect(await code(s.get('not-a-tenant', 'k'))).toMatch(/^STORAGE_KEY_INVALID/);
    expect(seen).toEqual([]);
  });

  it('streams a 12 MiB body as a multipart upload and reads it back intact', async () => {
    const s = store();
    const t = newId();
    const size = 12 * 1024 * 1024 + 123;
    expect(await s.put(t, 'artifacts/model.bin', source(size))).toEqual({ key: 'artifacts/model.bin', bytes: size });
    expect(seen.some((r) => r.includes('uploads'))).toBe(true); // CreateMultipartUpload
    expect(seen.filter((r) => r.includes('partNumber=')).length).toBe(3);
    const back = await readAll(await s.get(t, 'artifacts/model.bin'));
    expect(back.length).toBe(size);
    expect(back.equals(await readAll(source(size)))).toBe(true);
  });

  it('retries answers 500 and succeeds', async () => {
    const s = store();
    const t = newId();
    faults.fail500 = 2;
    await s.put(t, 'exports/a.json', Buffer.from('{"ok":true}'));
    expect(seen.filter((r) => r.startsWith('PUT')).length).toBe(3);
    expect((await readAll(await s.get(t, 'exports/a.json'))).toString()).toBe('{"ok":true}');
  });

  it('a store that keeps answering 500 gives a clear error naming the key and attempts; nothing is written', async () => {
    const s = store({ maxAttempts: 2 });
    const t = newId();
    faults.fail500 = 100;
    const msg = await code(s.put(t, 'exports/b.json', Buffer.from('x')));
    expect(msg).toMatch(
      /^OBJECT_STORE_UNAVAILABLE: The object store failed to store exports\/b\.json after 2 attempts: InternalError \(HTTP 500\)/,
    );
    expect(msg).not.toContain('S3RVER');
    faults.fail500 = 0;
    expect(await s.exists(t, 'exports/b.json')).toBe(false);
  });

  it('a slow store is cut after the request timeout and retried; still silent, a clear error', async () => {
    const s = store({ maxAttempts: 2, requestTimeoutMs: 300 });
    const t = newId();
    faults.stallMs = 2_000;
    faults.stallCount = 1;
    await s.put(t, 'slow/once.txt', Buffer.from('late but there')); // first attempt stalls, second goes through
    expect((await readAll(await s.get(t, 'slow/once.txt'))).toString()).toBe('late but there');
    faults.stallCount = 10;
    const t0 = Date.now();
    expect(await code(s.exists(t, 'slow/once.txt'))).toMatch(
      /^OBJECT_STORE_UNAVAILABLE: The object store failed to look up slow\/once\.txt/,
    );
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('a source stream that fails mid-upload leaves no object (small and multipart)', async () => {
    const s = store();
    const t = newId();
    expect(await code(s.put(t, 'cut/small.csv', source(1_000_000, 200_000)))).not.toBe('resolved');
    expect(await code(s.put(t, 'cut/large.bin', source(20 * 1024 * 1024, 11 * 1024 * 1024)))).not.toBe('resolved');
    expect(await s.exists(t, 'cut/small.csv')).toBe(false);
    expect(await s.exists(t, 'cut/large.bin')).toBe(false);
    // The multipart upload was aborted, not left with its parts.
    expect(seen.some((r) => r.startsWith('DELETE') && r.includes('uploadId='))).toBe(true);
  });

  it('a large object replaced by a failed upload keeps its previous content', async () => {
    const s = store();
    const t = newId();
    await s.put(t, 'artifacts/v.bin', Buffer.from('version 1'));
    expect(await code(s.put(t, 'artifacts/v.bin', source(12 * 1024 * 1024, 6 * 1024 * 1024)))).not.toBe('resolved');
    expect((await readAll(await s.get(t, 'artifacts/v.bin'))).toString()).toBe('version 1');
  });
});

describe('object store configuration', () => {
  it('LOUPE_S3_BUCKET selects the S3 store; a bad variable is named, never echoed', () => {
    expect(loadConfig({}).objectStore).toEqual({ kind: 'local' });
    const c = loadConfig({
      LOUPE_S3_BUCKET: 'loupe-prod',
      LOUPE_S3_ENDPOINT: 'http://minio:9000',
      LOUPE_S3_ACCESS_KEY_ID: 'k',
      LOUPE_S3_SECRET_ACCESS_KEY: 's',
    });
    expect(c.objectStore).toMatchObject({
      kind: 's3',
      bucket: 'loupe-prod',
      endpoint: 'http://minio:9000',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    let err: unknown;
    try {
      loadConfig({ LOUPE_S3_BUCKET: 'Bad_Bucket_SECRETISH' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toContain('LOUPE_S3_BUCKET');
    expect(String((err as Error).message)).not.toContain('SECRETISH');
  });
});
