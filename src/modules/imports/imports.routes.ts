import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import {
  AppError,
  errorBody,
  errorResponses,
  iso,
  newId,
  paginate,
  tenantContext,
  type Permission,
  requirePermission,
  type Q,
  type TenantContext,
} from '../../platform/index.ts';
import { fieldsOf, resolveMapping, type ImportKind } from './imports.columns.ts';
import { escapeFormula, importOutcomeOf, progressFigures, type RowIssue } from './imports.core.ts';
import type { ImportRunRow, ImportsRepository } from './imports.repository.ts';
import type { MappingsService } from './mappings.service.ts';
import type { QualityService } from './quality.service.ts';
import * as s from './imports.schemas.ts';
import type { ImportsService, UploadOptions, UploadResult } from './imports.service.ts';

export interface ImportsRouteDeps {
  service: ImportsService;
  mappings: MappingsService;
  repo: ImportsRepository;
  quality: QualityService;
  db: Q;
  clock: () => Date;
}

const FIRST_ERRORS = 100;
const errorsUrl = (id: string) => `/api/v1/imports/${id}/errors`;
const location = (tenantId: string, key: string | null) => (key ? `storage://${tenantId}/${key}` : null);

const toIssue = (i: RowIssue): z.infer<typeof s.validationError> => ({
  row: i.row,
  field: i.field,
  code: i.code,
  severity: i.severity,
  error: i.reason,
  value: i.value ?? null,
  item_id: i.itemId ?? null,
});

function toRun(r: ImportRunRow, tenantId: string, now: Date): z.infer<typeof s.importRun> {
  const p = progressFigures(
    {
      rowsRead: r.rowsRead,
      bytesRead: r.status === 'succeeded' ? r.fileBytes : r.bytesRead,
      totalBytes: r.fileBytes,
      startedAt: r.startedAt,
    },
    r.finishedAt ?? now,
  );
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    mode: r.mode,
    file_name: r.fileName,
    file_bytes: r.fileBytes,
    compressed: r.compressed,
    format: r.format,
    delimiter: r.delimiter,
    job_id: r.jobId,
    rows_read: r.rowsRead,
    rows_accepted: r.rowsAccepted,
    rows_rejected: r.rowsRejected,
    rows_duplicate: r.rowsDuplicate,
    warnings: r.warnings,
    outcome: importOutcomeOf(r),
    progress: { fraction: p.fraction, rows_per_second: p.rowsPerSecond, eta_seconds: r.status === 'running' ? p.etaSeconds : null },
    statistics: r.statistics,
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
    validation_errors_url: errorsUrl(r.id),
    storage_location: location(tenantId, r.storageKey),
    created_at: iso(r.createdAt)!,
    started_at: iso(r.startedAt),
    finished_at: iso(r.finishedAt),
  };
}

/** Reads the multipart request: stores the file as it streams in, collects and validates the text fields. */
async function receive(request: FastifyRequest, ctx: TenantContext, service: ImportsService) {
  if (!request.isMultipart()) {
    throw new AppError(
      'unsupported_media_type',
      'IMPORT_MULTIPART_REQUIRED',
      'Send the file as multipart/form-data in a field named "file".',
    );
  }
  const id = newId();
  const raw: Record<string, string> = {};
  let stored: { key: string; bytes: number; fileName: string } | undefined;
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file' || stored) {
        part.file.resume();
        throw new AppError('validation', 'IMPORT_FILE_FIELD', 'Send exactly one file, in the field named "file".');
      }
      const name = part.filename || 'upload';
      const out = await service.storeUpload(ctx, id, name, part.file);
      if (part.file.truncated) {
        await service.discardUpload(ctx, out.key);
        throw new AppError('payload_too_large', 'PAYLOAD_TOO_LARGE', 'The uploaded file is larger than the configured limit.');
      }
      stored = { ...out, fileName: name };
    } else {
      raw[part.fieldname] = String(part.value ?? '');
    }
  }
  try {
    return { id, stored: checkStored(stored), options: parseFields(raw, ctx) };
  } catch (err) {
    // Refused after the file was kept: do not leave an orphan in the tenant's storage.
    if (stored) await service.discardUpload(ctx, stored.key);
    throw err;
  }
}

function checkStored(stored: { key: string; bytes: number; fileName: string } | undefined) {
  if (!stored)
    throw new AppError('validation', 'IMPORT_FILE_REQUIRED', 'No file was sent: add the file in a multipart field named "file".');
  return stored;
}

function parseFields(raw: Record<string, string>, ctx: TenantContext): UploadOptions & { mappingId?: string | undefined } {
  const unknown = Object.keys(raw).filter((k) => !(s.UPLOAD_FIELDS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new AppError('validation', 'VALIDATION_ERROR', `Unknown field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, {
      details: unknown.map((f) => ({ field: f, message: `Unknown field. Accepted: file, ${s.UPLOAD_FIELDS.join(', ')}.` })),
    });
  }
  const jsonField = (name: string): unknown => {
    const v = raw[name];
    if (v === undefined || v.trim() === '') return undefined;
    if (name === 'custom_types' && !v.trim().startsWith('['))
      return v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    try {
      return JSON.parse(v);
    } catch {
      throw new AppError('validation', 'VALIDATION_ERROR', `The field ${name} must be JSON.`, {
        details: [{ field: name, message: 'not valid JSON' }],
      });
    }
  };
  const parsed = s.uploadFields.safeParse({
    mapping: jsonField('mapping'),
    mapping_id: raw.mapping_id || undefined,
    delimiter: raw.delimiter || undefined,
    format: raw.format || undefined,
    mode: raw.mode || undefined,
    tenant_id: raw.tenant_id || undefined,
    custom_types: jsonField('custom_types'),
    source: raw.source || undefined,
    anonymous_rows: raw.anonymous_rows || undefined,
  });
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ field: i.path.join('.') || 'body', message: i.message }));
    throw new AppError('validation', 'VALIDATION_ERROR', `The upload fields are invalid: ${details.map((d) => d.field).join(', ')}.`, {
      details,
    });
  }
  if (parsed.data.tenant_id && parsed.data.tenant_id !== ctx.tenantId) {
    throw new AppError('forbidden', 'TENANT_MISMATCH', 'tenant_id does not match the tenant of your credential.');
  }
  return {
    mapping: parsed.data.mapping,
    mappingId: parsed.data.mapping_id,
    delimiter: parsed.data.delimiter,
    format: parsed.data.format,
    mode: parsed.data.mode,
    customTypes: parsed.data.custom_types,
    source: parsed.data.source,
    anonymousRows: parsed.data.anonymous_rows,
  };
}

export async function importsRoutes(app: FastifyInstance, deps: ImportsRouteDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { service } = deps;

  /** An upload's options with its saved mapping (`mapping_id`) applied under the columns it names itself. */
  async function withSavedMapping(ctx: TenantContext, kind: ImportKind, o: UploadOptions & { mappingId?: string | undefined }) {
    const { mappingId, ...rest } = o;
    if (!mappingId) return rest;
    const saved = await deps.mappings.get(ctx, mappingId);
    if (saved.kind !== kind)
      throw new AppError('validation', 'IMPORT_MAPPING_KIND', `The saved mapping "${saved.name}" is for ${saved.kind}, not ${kind}.`);
    return {
      ...rest,
      mapping: { ...saved.mapping, ...(rest.mapping ?? {}) },
      anonymousRows: rest.anonymousRows ?? saved.anonymousRows ?? undefined,
    };
  }

  /** The answer to an upload or a re-run: the finished import (small files) or the queued one. */
  async function sendStarted(reply: FastifyReply, ctx: TenantContext, id: string, out: UploadResult) {
    const loc = location(ctx.tenantId, out.run.storageKey)!;
    if (out.mode === 'async') {
      return reply.code(202).send({
        status: 'queued' as const,
        import_id: id,
        job_id: out.run.jobId,
        progress_url: `/api/v1/imports/${id}`,
        validation_errors_url: errorsUrl(id),
        storage_location: loc,
      });
    }
    const issues = await service.issues(ctx, id, { limit: FIRST_ERRORS });
    const statistics = out.run.statistics as z.infer<typeof s.uploadSyncResponse>['statistics'] | null;
    return reply.code(200).send({
      status: 'success' as const,
      import_id: id,
      rows_accepted: out.outcome.rowsAccepted,
      rows_rejected: out.outcome.rowsRejected,
      rows_duplicate: out.outcome.rowsDuplicate,
      warnings: out.outcome.warnings,
      validation_errors: issues.map(toIssue),
      validation_errors_url: errorsUrl(id),
      storage_location: loc,
      ...(statistics ? { statistics } : {}),
      outcome: importOutcomeOf({ status: 'succeeded', ...out.outcome }) ?? 'complete',
    });
  }

  const upload = (kind: ImportKind, permission: Permission, summary: string) =>
    r.post(
      `/api/v1/upload/${kind}`,
      {
        schema: {
          tags: ['imports'],
          summary,
          consumes: ['multipart/form-data'],
          response: { 200: s.uploadSyncResponse, 202: s.uploadAsyncResponse, ...errorResponses, 413: errorBody, 415: errorBody },
        },
        config: { auth: { kind: 'tenant', permission }, rateGroup: 'ingest', audit: { action: `import.${kind}`, resourceType: 'import' } },
      },
      async (request, reply) => {
        const ctx = tenantContext(request);
        const { id, stored, options: given } = await receive(request, ctx, service);
        request.auditTarget = { resourceId: id };
        let options: UploadOptions;
        try {
          options = await withSavedMapping(ctx, kind, given);
        } catch (err) {
          // An unknown or foreign saved mapping: the kept file is no import's, so it goes.
          await service.discardUpload(ctx, stored.key);
          throw err;
        }
        const out = await service.start(ctx, kind, { id, fileName: stored.fileName, key: stored.key, bytes: stored.bytes }, options);
        return sendStarted(reply, ctx, id, out);
      },
    );
  upload(
    'items',
    'catalog:write',
    'Upload a product catalog file: CSV (any delimiter), JSON or NDJSON, optionally gzipped (seed 003 step 4)',
  );
  upload('interactions', 'interactions:write', 'Upload historical interactions: CSV, JSON or NDJSON, optionally gzipped (seed 003 step 5)');

  r.post(
    '/api/v1/imports/mapping',
    {
      schema: {
        tags: ['imports'],
        summary:
          "The mapping an upload would apply to a file's header, column by column (the server's default rules plus the given mapping)",
        body: s.mappingPreviewBody,
        response: { 200: s.mappingPreviewResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'imports:write' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const { kind, headers, mapping, anonymous_rows } = request.body;
      const last = await service.savedMapping(ctx, kind, headers);
      return {
        kind,
        fields: [...fieldsOf(kind)],
        ...resolveMapping(kind, headers, mapping ?? {}, { anonymousRows: anonymous_rows }),
        saved: last
          ? {
              import_id: last.id,
              created_at: iso(last.createdAt)!,
              mapping: last.options.mapping ?? {},
              anonymous_rows: last.options.anonymousRows ?? null,
            }
          : null,
      };
    },
  );

  r.post(
    '/api/v1/imports/:id/rerun',
    {
      schema: {
        tags: ['imports'],
        summary:
          'Run an import again from its kept file, as a new import, with its options or corrected ones (rows already stored count as duplicates)',
        params: z.object({ id: z.string().max(100) }),
        body: s.rerunBody.nullish(),
        response: { 200: s.uploadSyncResponse, 202: s.uploadAsyncResponse, ...errorResponses },
      },
      config: {
        auth: { kind: 'tenant', permission: 'imports:write' },
        rateGroup: 'ingest',
        audit: { action: 'import.rerun', resourceType: 'import' },
      },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const first = await service.get(ctx, request.params.id);
      requirePermission(ctx, first.kind === 'items' ? 'catalog:write' : 'interactions:write');
      const body = request.body ?? {};
      const out = await service.rerun(ctx, first.id, { mapping: body.mapping, anonymousRows: body.anonymous_rows, mode: body.mode });
      const id = out.run.id;
      request.auditTarget = { resourceId: id };
      return sendStarted(reply, ctx, id, out);
    },
  );

  r.get(
    '/api/v1/imports/storage',
    {
      schema: {
        tags: ['imports'],
        summary: "The tenant's kept upload files: bytes used, files, and the storage quota (beyond it an upload is a 413)",
        response: { 200: s.importStorage, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'imports:write' } },
    },
    async (request) => {
      const u = await service.storageUse(tenantContext(request));
      return { used_bytes: u.bytes, files: u.files, quota_bytes: u.quotaBytes };
    },
  );

  r.delete(
    '/api/v1/imports/:id/file',
    {
      schema: {
        tags: ['imports'],
        summary: "Delete an import's kept file to free storage (the import, its counts and problems stay; it can no longer run again)",
        params: z.object({ id: z.string().max(100) }),
        response: { 200: s.importRun, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'imports:write' }, audit: { action: 'import.file.delete', resourceType: 'import' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const run = await service.get(ctx, request.params.id);
      requirePermission(ctx, run.kind === 'items' ? 'catalog:write' : 'interactions:write');
      request.auditTarget = { resourceId: run.id };
      return toRun(await service.deleteFile(ctx, run.id), ctx.tenantId, deps.clock());
    },
  );

  r.get(
    '/api/v1/imports',
    {
      schema: {
        tags: ['imports'],
        summary: 'Imports of this tenant with a total: newest first by cursor, or sorted offset pages',
        querystring: s.importListQuery,
        response: { 200: s.importListResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'imports:write' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const q = request.query;
      const [rows, total] = await Promise.all([
        service.list(ctx, { kind: q.kind, cursor: q.cursor, sort: q.sort, offset: q.offset, limit: q.limit + 1 }),
        service.count(ctx, { kind: q.kind }),
      ]);
      const now = deps.clock();
      const page = paginate(
        rows.map((x) => toRun(x, ctx.tenantId, now)),
        q.limit,
        (x) => x.id,
      );
      // Offset pages (a sorted table) move by offset; the cursor is for newest-first keyset paging only.
      const keyset = !q.sort && q.offset === undefined;
      return { ...page, next_cursor: keyset ? page.next_cursor : null, total };
    },
  );

  const idParams = z.object({ id: z.string().max(100) });
  r.get(
    '/api/v1/imports/:id',
    {
      schema: {
        tags: ['imports'],
        summary: 'One import with live progress (rows read, accepted, rejected, rate, ETA) and its first problems',
        params: idParams,
        response: { 200: s.importDetail, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'imports:write' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const run = await service.get(ctx, request.params.id);
      const [issues, problems] = await Promise.all([
        service.issues(ctx, run.id, { limit: FIRST_ERRORS }),
        deps.repo.issueSummary(deps.db, ctx.tenantId, run.id),
      ]);
      return { ...toRun(run, ctx.tenantId, deps.clock()), validation_errors: issues.map(toIssue), problems };
    },
  );

  r.get(
    '/api/v1/imports/:id/errors',
    {
      schema: {
        tags: ['imports'],
        summary: 'Download every problem of an import as CSV (cells escaped against formula injection) or NDJSON',
        params: idParams,
        querystring: s.errorsQuery,
        response: { 200: z.string().describe('text/csv or application/x-ndjson'), ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'imports:write' } },
    },
    async (request, reply) => {
      const ctx = tenantContext(request);
      const run = await service.get(ctx, request.params.id);
      const csv = request.query.format === 'csv';
      async function* lines(): AsyncGenerator<string> {
        if (csv) yield stringify([['row', 'field', 'code', 'severity', 'reason', 'value', 'item_id']]);
        let after: { row: number; field: string; code: string } | undefined;
        for (;;) {
          const page = await service.issues(ctx, run.id, { after, limit: 2000 });
          if (!page.length) return;
          if (csv) {
            yield stringify(
              page.map((i) => [
                String(i.row),
                escapeFormula(i.field),
                i.code,
                i.severity,
                escapeFormula(i.reason),
                escapeFormula(i.value),
                escapeFormula(i.itemId),
              ]),
            );
          } else {
            yield page.map((i) => `${JSON.stringify(toIssue(i))}\n`).join('');
          }
          const last = page[page.length - 1]!;
          after = { row: last.row, field: last.field, code: last.code };
          if (page.length < 2000) return;
        }
      }
      reply
        .header('content-type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${run.id}-errors.${csv ? 'csv' : 'ndjson'}"`)
        .header('x-content-type-options', 'nosniff');
      // A stream is sent as is (the declared string schema documents the body; it is not serialized).
      return reply.send(Readable.from(lines()) as unknown as string);
    },
  );

  r.get(
    '/api/v1/data-quality',
    {
      schema: {
        tags: ['imports'],
        summary: "The tenant's data quality: completeness of item fields, validity of recent imports, freshness (seed 003 dashboard)",
        response: { 200: s.dataQualityResponse, ...errorResponses },
      },
      config: { auth: { kind: 'tenant', permission: 'catalog:read' } },
    },
    async (request) => {
      const ctx = tenantContext(request);
      const now = deps.clock();
      const windowDays = 30;
      const q = await deps.quality.dataQuality(ctx.tenantId, new Date(now.getTime() - windowDays * 86_400_000));
      const total = q.items.total;
      const share = (n: number) => (total ? Math.round((n / total) * 1000) / 10 : 0);
      const fields = {
        name: share(q.items.withName),
        description: share(q.items.withDescription),
        category: share(q.items.withCategory),
        brand: share(q.items.withBrand),
        price: share(q.items.withPrice),
        image_url: share(q.items.withImage),
      };
      const values = Object.values(fields);
      const rows = q.imports.accepted + q.imports.rejected;
      const latest = [q.items.lastItemUpdateAt, q.lastInteractionAt].filter((d): d is Date => !!d).map((d) => d.getTime());
      return {
        data_quality: {
          freshness_hours: latest.length ? Math.round(((now.getTime() - Math.max(...latest)) / 3_600_000) * 100) / 100 : null,
          completeness_percent: total ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10 : null,
          validity_percent: rows ? Math.round((q.imports.accepted / rows) * 1000) / 10 : null,
        },
        completeness: { items: total, fields },
        validity: {
          window_days: windowDays,
          imports: q.imports.runs,
          rows_accepted: q.imports.accepted,
          rows_rejected: q.imports.rejected,
        },
        freshness: { last_item_update_at: iso(q.items.lastItemUpdateAt), last_interaction_at: iso(q.lastInteractionAt) },
      };
    },
  );
}
