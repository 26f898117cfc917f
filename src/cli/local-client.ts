import http from 'node:http';
import type { Readable } from 'node:stream';
import { DataDirBusyError, type DataDirOwner, dataDirOwner } from '../platform/data-dir.lock.ts';
import { LOCAL_SECRET_HEADER } from '../platform/local.routes.ts';

/**
 * The running server that holds the data folder, when it can take a local request (a `loupe serve` that
 * listens). A server still starting is waited for (its port appears in the lock record once it listens);
 * any other holder (a worker, a migration, another import) is refused with DataDirBusyError.
 */
export async function localServer(dataDir: string, opts: { waitMs?: number } = {}): Promise<DataDirOwner | undefined> {
  const end = Date.now() + (opts.waitMs ?? 60_000);
  for (;;) {
    const owner = await dataDirOwner(dataDir);
    if (!owner) return undefined;
    if (owner.command !== 'serve') throw new DataDirBusyError(dataDir, owner);
    if (owner.port) return owner;
    if (Date.now() > end) throw new DataDirBusyError(dataDir, owner);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A POST to the server's local control routes (loopback, authenticated by the lock record's secret). */
export function localPost(
  owner: DataDirOwner,
  path: string,
  body?: { stream: Readable; contentType: string },
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: owner.port!,
        method: 'POST',
        path,
        headers: { [LOCAL_SECRET_HEADER]: owner.secret, ...(body ? { 'content-type': body.contentType } : { 'content-length': 0 }) },
      },
      resolve,
    );
    req.on('error', reject);
    if (body) {
      body.stream.on('error', (err) => req.destroy(err));
      body.stream.pipe(req);
    } else req.end();
  });
}

/** The error message of a non-2xx answer in the platform's error shape. */
export async function errorMessageOf(res: http.IncomingMessage): Promise<string> {
  let text = '';
  for await (const c of res) text += String(c);
  try {
    const e = (JSON.parse(text) as { error?: { message?: string } }).error;
    if (e?.message) return e.message;
  } catch {
    /* not JSON */
  }
  return `the server answered ${res.statusCode}`;
}
