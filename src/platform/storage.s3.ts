import { type Readable, Transform } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from './errors.ts';
import { objectKeyOf, type ObjectStorage } from './storage.ts';

/**
 * Object storage on an S3-compatible service (AWS S3, MinIO, Ceph, R2...) through the official AWS SDK v3, for
 * several processes or hosts that must see the same uploads, model artifacts and exports.
 *
 * - Objects are `<prefix><tenant id>/<key>` in one bucket; keys are checked like the local folder's.
 * - Writes stream through `@aws-sdk/lib-storage`: one PUT below `partSize`, a multipart upload above it (parts
 *   buffered one at a time, so a part can be retried). S3 makes an object visible only when its PUT or its
 *   CompleteMultipartUpload succeeds, and a failed multipart upload is aborted: nothing is ever half-written.
 * - Answers 5xx, throttling and timeouts are retried by the SDK (`maxAttempts`, exponential backoff); a request
 *   silent for `requestTimeoutMs` is cut. What still fails becomes OBJECT_STORE_UNAVAILABLE naming the
 *   operation and the key (never the credentials).
 */
export interface S3StorageOptions {
  bucket: string;
  /** For a service other than AWS (`http://127.0.0.1:9000`); undefined for AWS itself. */
  endpoint?: string | undefined;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Path-style URLs (`endpoint/bucket/key`), what most self-hosted services want. */
  forcePathStyle?: boolean;
  prefix?: string;
  /** Attempts per request, the first included (default 4). */
  maxAttempts?: number;
  /** A request with no answer for this long is cut and retried (default 30 s). */
  requestTimeoutMs?: number;
  /** Multipart part size in bytes (S3's minimum, 5 MiB, by default). */
  partSize?: number;
}

const MIN_PART = 5 * 1024 * 1024;

function failure(op: string, key: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
  const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const reason =
    err instanceof S3ServiceException
      ? `${err.name}${status ? ` (HTTP ${status})` : ''}`
      : (err as { name?: string }).name === 'TimeoutError' || (err as { code?: string }).code === 'ETIMEDOUT'
        ? 'no answer in time'
        : ((err as { code?: string }).code ?? (err as Error).name ?? 'error');
  return new AppError(
    'unavailable',
    'OBJECT_STORE_UNAVAILABLE',
    `The object store failed to ${op} ${key}${attempts ? ` after ${attempts} attempts` : ''}: ${reason}. Nothing was changed; try again later.`,
  );
}

const isMissing = (err: unknown): boolean =>
  err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404);

export function createS3Storage(opts: S3StorageOptions): ObjectStorage & { client: S3Client } {
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
    maxAttempts: opts.maxAttempts ?? 4,
    // throwOnRequestTimeout: without it a silent request only logs a warning and waits on.
    requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 30_000, connectionTimeout: 10_000, throwOnRequestTimeout: true },
  });
  const prefix = opts.prefix ?? '';
  const Bucket = opts.bucket;
  const partSize = Math.max(MIN_PART, opts.partSize ?? MIN_PART);
  const keyOf = (tenantId: string, key: string): string => `${prefix}${objectKeyOf(tenantId, key)}`;

  return {
    client,
    async put(tenantId, key, body) {
      const Key = keyOf(tenantId, key);
      let bytes = 0;
      const counted = Buffer.isBuffer(body)
        ? body
        : body.pipe(
            new Transform({
              transform(chunk: Buffer, _enc, cb) {
                bytes += chunk.length;
                cb(null, chunk);
              },
            }),
          );
      // An error of the source must end the upload (pipe does not forward it).
      if (!Buffer.isBuffer(body)) body.once('error', (err) => (counted as Transform).destroy(err));
      const upload = new Upload({ client, params: { Bucket, Key, Body: counted }, partSize, queueSize: 2, leavePartsOnError: false });
      try {
        await upload.done();
      } catch (err) {
        if (!Buffer.isBuffer(body)) body.destroy();
        throw failure('store', key, err);
      }
      return { key, bytes: Buffer.isBuffer(body) ? body.length : bytes };
    },
    async get(tenantId, key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(tenantId, key) }));
        return out.Body as Readable;
      } catch (err) {
        if (isMissing(err)) throw new AppError('not_found', 'OBJECT_NOT_FOUND', 'The stored object was not found.');
        throw failure('read', key, err);
      }
    },
    async exists(tenantId, key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(tenantId, key) }));
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw failure('look up', key, err);
      }
    },
    async delete(tenantId, key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(tenantId, key) }));
      } catch (err) {
        if (isMissing(err)) return;
        throw failure('delete', key, err);
      }
    },
    localPath() {
      throw new AppError('unavailable', 'OBJECT_STORE_NOT_LOCAL', 'Objects in an S3 store have no local path.');
    },
  };
}
