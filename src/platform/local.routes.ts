import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from './errors.ts';
import { constantTimeEqual } from './ids.ts';
import { errorResponses } from './schemas.ts';
import { safeString } from './text.ts';

/**
 * Local control: what a `loupe` command on the same machine asks of the running server instead of opening
 * the embedded data folder itself (two processes in one PGlite folder corrupt it: issue 22, C1).
 *
 * Reachable only from loopback (the socket's own address: no proxy header is trusted) and only with the
 * random secret this server wrote into its lock record (`<data dir>/loupe.lock.json`, mode 0600). Reading
 * that file needs the data folder, which is already full control of the installation, so the secret grants
 * nothing its holder did not have. Anything else gets the 404 of an unknown route.
 */
export interface LocalControl {
  readonly secret: string;
  /** The id of the tenant with this slug or id, or undefined. */
  findTenant(slugOrId: string): Promise<string | undefined>;
  /** Imports a file for a tenant like `loupe import` would, reporting progress after every batch. */
  importFile(
    input: {
      tenantId: string;
      kind: 'items' | 'interactions';
      fileName: string;
      stream: Readable;
      mapping?: Record<string, string> | undefined;
      delimiter?: string | undefined;
      format?: 'csv' | 'json' | 'ndjson' | undefined;
      source?: string | undefined;
    },
    onProgress: (p: ImportProgress) => void,
  ): Promise<ImportSummary>;
  /** Writes a consistent backup archive of the data folder to `out` (which it ends). */
  backup(out: Writable): Promise<void>;
}

export interface ImportProgress {
  bytes_read: number;
  total_bytes: number;
  rows_read: number;
  rows_accepted: number;
  rows_rejected: number;
}
export interface ImportSummary {
  import_id: string;
  rows_read: number;
  rows_accepted: number;
  rows_rejected: number;
  rows_duplicate: number;
  warnings: number;
}

/** The header a local command sends its secret in. */
export const LOCAL_SECRET_HEADER = 'x-loupe-local-secret';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

function isLocalCaller(request: FastifyRequest, secret: string): boolean {
  const address = request.raw.socket.remoteAddress ?? '';
  const given = request.headers[LOCAL_SECRET_HEADER];
  return LOOPBACK.has(address) && typeof given === 'string' && constantTimeEqual(given, secret);
}

const importQuery = z
  .object({
    tenant: safeString().max(200),
    file_name: safeString().max(300),
    map: safeString().max(20_000).optional().describe('JSON object: column -> field'),
    delimiter: safeString().max(5).optional(),
    format: z.enum(['csv', 'json', 'ndjson']).optional(),
    source: safeString().max(40).optional(),
  })
  .strict();

const ndjsonStream = z
  .string()
  .describe('NDJSON: {"type":"progress",...} lines, then one {"type":"done",...} or {"type":"error",...} line');

export async function localRoutes(app: FastifyInstance, control: LocalControl): Promise<void> {
  await app.register(async (local) => {
    // The file arrives as the raw body: streamed to storage, never buffered, no JSON body limit.
    local.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    local.addHook('onRequest', async (request) => {
      if (!isLocalCaller(request, control.secret)) {
        throw new AppError('not_found', 'ROUTE_NOT_FOUND', `Route ${request.method}:${request.url.split('?')[0]} not found.`);
      }
    });
    const r = local.withTypeProvider<ZodTypeProvider>();

    r.post(
      '/internal/local/imports/:kind',
      {
        schema: {
          hide: true,
          params: z.object({ kind: z.enum(['items', 'interactions']) }).strict(),
          querystring: importQuery,
          response: { 200: ndjsonStream, ...errorResponses },
        },
        config: { auth: { kind: 'public' } }, // authenticated by the local secret in the onRequest hook above
      },
      async (request, reply) => {
        const q = request.query;
        let mapping: Record<string, string> | undefined;
        if (q.map) {
          let json: unknown;
          try {
            json = JSON.parse(q.map);
          } catch {
            json = undefined;
          }
          const parsed = z.record(z.string(), z.string()).safeParse(json);
          if (!parsed.success) throw new AppError('validation', 'IMPORT_MAPPING_INVALID', 'map must be a JSON object of column to field.');
          mapping = parsed.data;
        }
        // Checked before the answer starts, so an unknown tenant is a plain 404 (the CLI prints its message).
        const tenantId = await control.findTenant(q.tenant);
        if (!tenantId) throw new AppError('not_found', 'TENANT_NOT_FOUND', `No tenant with slug or id ${q.tenant}.`);
        const out = new PassThrough();
        const line = (o: unknown) => out.write(`${JSON.stringify(o)}\n`);
        control
          .importFile(
            {
              tenantId,
              kind: request.params.kind,
              fileName: q.file_name,
              stream: request.body as Readable,
              mapping,
              delimiter: q.delimiter,
              format: q.format,
              source: q.source,
            },
            (p) => line({ type: 'progress', ...p }),
          )
          .then(
            (summary) => line({ type: 'done', ...summary }),
            (err: unknown) =>
              line({
                type: 'error',
                code: err instanceof AppError ? err.code : 'INTERNAL',
                message: err instanceof AppError ? err.message : 'The import failed on an internal error (see the server log).',
              }),
          )
          .finally(() => out.end());
        return reply.type('application/x-ndjson').send(out as never); // a stream: sent as is, never serialized
      },
    );

    r.post(
      '/internal/local/backup',
      {
        schema: { hide: true, response: { 200: z.string().describe('the backup archive (application/octet-stream)'), ...errorResponses } },
        config: { auth: { kind: 'public' } }, // authenticated by the local secret in the onRequest hook above
      },
      async (request, reply) => {
        const out = new PassThrough();
        control.backup(out).catch((err: unknown) => {
          request.log.error({ err }, 'backup failed');
          out.destroy(err instanceof Error ? err : new Error(String(err))); // the client sees a cut archive and refuses it
        });
        return reply.type('application/octet-stream').send(out as never); // a stream: sent as is, never serialized
      },
    );
  });
}
