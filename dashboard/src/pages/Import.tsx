import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Modal,
  Progress,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get, requestRaw } from '../api/client.ts';
import { fetchAllPages, PagedTable } from '../components/PagedTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { DELIMITERS, parseRows, sniffDelimiter, toCsv } from '../lib/csv.ts';
import { type FileHead, readFileHead } from '../lib/file-head.ts';
import { fmtBytes, fmtDate, fmtNumber } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { SavedMappings } from './import/SavedMappings.tsx';
import { useSession } from '../session.tsx';
import type {
  ImportDetail,
  ImportList,
  ImportRun,
  ImportSort,
  ImportStorage,
  ImportValidationError,
  MappingPreview,
  MappingPreviewBody,
  RerunImportBody,
  UploadAsyncResponse,
  UploadFields,
  UploadSyncResponse,
} from '../api/types.ts';

type Kind = 'items' | 'interactions' | 'purchases';

const DELIMITER_LABELS: Record<string, string> = { ',': 'Comma', ';': 'Semicolon', '\t': 'Tab', '|': 'Pipe' };
/** Select values for a column that feeds no field (the server's `attribute` and `ignore` mapping targets). */
const KEEP = '__attribute';
const DROP = '__ignore';
/** Above this many expected rows the server runs the import as a job (imports.service.ts SYNC_MAX_ROWS). */
const BACKGROUND_ROWS = 20_000;
/** Currencies offered for "every price in this file is in…" (any ISO 4217 code can be typed). */
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CAD', 'AUD', 'CHF', 'SEK', 'NOK', 'DKK', 'PLN', 'INR', 'BRL', 'MXN', 'KWD'];

/** Splits a stored mapping into column choices, the file-wide currency and other constants. */
function splitMapping(m: Record<string, string>): { columns: Record<string, string>; currency: string | null } {
  const columns: Record<string, string> = {};
  let currency: string | null = null;
  for (const [src, target] of Object.entries(m)) {
    if (src.startsWith('const:') && target === 'currency') currency = src.slice('const:'.length);
    else if (!(src === 'const:purchase' && target === 'type')) columns[src] = target;
  }
  return { columns, currency };
}

export default function ImportPage() {
  const { tenantId } = useSession();
  const [params, setParams] = useParams(['kind', 'import'] as const);
  const kind = (['items', 'interactions', 'purchases'].includes(params.kind) ? params.kind : 'items') as Kind;
  const target = kind === 'items' ? 'items' : 'interactions';
  const [file, setFile] = useState<File | null>(null);
  const [head, setHead] = useState<FileHead | null>(null);
  const [delimiter, setDelimiter] = useState<string>('auto');
  /** The columns the merchant chose a field for; every other column follows the server's default rules. */
  const [overrides, setOverrides] = useState<Record<string, string>>({});
  /** Every price of the file in this currency (when no column names it). */
  const [currency, setCurrency] = useState<string | null>(null);
  /** Rows with no customer kept as anonymous shoppers (one per order) instead of rejected. */
  const [anonymous, setAnonymous] = useState(false);
  /** The earlier import whose mapping was applied to this layout (or dismissed), so it is applied once. */
  const [savedFrom, setSavedFrom] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const qc = useQueryClient();

  const text = head?.text ?? '';
  const effective = delimiter === 'auto' ? sniffDelimiter(text) : delimiter;
  const rows = useMemo(() => (text ? parseRows(text, effective, 6) : []), [text, effective]);
  const headers = useMemo(() => rows[0] ?? [], [rows]);

  const mapping = useMemo(
    () => ({
      ...overrides,
      ...(currency ? { [`const:${currency}`]: 'currency' } : {}),
      ...(kind === 'purchases' ? { 'const:purchase': 'type' } : {}),
    }),
    [overrides, currency, kind],
  );
  const anonymousRows = target === 'interactions' && anonymous ? ('anonymous' as const) : undefined;
  // The mapping shown is the server's resolution of this header: exactly what the upload will apply.
  const resolved = useQuery({
    queryKey: ['import-mapping', tenantId, target, headers, mapping, anonymousRows],
    queryFn: () =>
      api<MappingPreview>('POST', '/api/v1/imports/mapping', {
        body: { kind: target, headers, mapping, ...(anonymousRows ? { anonymous_rows: anonymousRows } : {}) } satisfies MappingPreviewBody,
      }),
    enabled: !!tenantId && headers.length > 0,
    placeholderData: keepPreviousData,
  });
  const saved = resolved.data?.saved ?? null;
  // A layout imported before: start from the mapping chosen then (once per file; the merchant can go back to the defaults).
  useEffect(() => {
    if (!saved || savedFrom !== null) return;
    const { columns, currency: c } = splitMapping(saved.mapping);
    setSavedFrom(saved.import_id);
    setOverrides(columns);
    setCurrency(c);
    setAnonymous(saved.anonymous_rows === 'anonymous');
  }, [saved, savedFrom]);
  const currencyColumn = resolved.data?.columns.some((c) => c.field === 'currency') ?? false;

  const choose = useCallback(async (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    setOverrides({});
    setCurrency(null);
    setAnonymous(false);
    setSavedFrom(null);
    setHead(null);
    setHead(await readFileHead(f));
  }, []);

  const upload = useMutation({
    meta: { success: 'File uploaded' },
    mutationFn: async () => {
      const form = new FormData();
      const fields: UploadFields = { mapping, ...(delimiter !== 'auto' ? { delimiter } : {}) };
      form.append('mapping', JSON.stringify(fields.mapping));
      if (fields.delimiter) form.append('delimiter', fields.delimiter);
      if (anonymousRows) form.append('anonymous_rows', anonymousRows);
      form.append('file', file!);
      return api<UploadSyncResponse | UploadAsyncResponse>('POST', `/api/v1/upload/${target}`, { body: form });
    },
    // Small files answer at once, large ones are queued: either way the import's page shows progress and errors.
    onSuccess: (out) => {
      setParams({ import: out.import_id });
      void qc.invalidateQueries({ queryKey: ['imports', tenantId] });
    },
  });

  const valueOf = (column: string): string => {
    const c = resolved.data?.columns.find((x) => x.column === column);
    if (!c) return KEEP;
    return c.field ?? (c.source === 'ignored' ? DROP : KEEP);
  };
  const options = [
    { value: KEEP, label: 'keep as attribute' },
    { value: DROP, label: "don't import" },
    ...(resolved.data?.fields ?? []).map((f) => ({ value: f, label: f })),
  ];
  const expected = head?.expectedRows ?? null;

  return (
    <Stack>
      <Title order={2}>Import</Title>
      <SegmentedControl
        aria-label="What the file holds"
        data={[
          { value: 'items', label: 'Items' },
          { value: 'interactions', label: 'Interactions' },
          { value: 'purchases', label: 'Purchases' },
        ]}
        value={kind}
        onChange={(v) => {
          setOverrides({});
          setParams({ kind: v, import: null });
        }}
        w={{ base: '100%', sm: 420 }}
      />
      <label
        className="dropzone"
        data-active={dragging}
        tabIndex={0}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          void choose(e.dataTransfer.files[0]);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            (e.currentTarget.querySelector('input') as HTMLInputElement | null)?.click();
          }
        }}
      >
        <input
          type="file"
          className="visually-hidden"
          aria-label="File to import"
          accept=".csv,.tsv,.txt,.json,.ndjson,.jsonl,.gz"
          onChange={(e) => void choose(e.currentTarget.files?.[0])}
        />
        <Text fw={600}>{file ? file.name : 'Drop a CSV, JSON or NDJSON file here, or press to choose one'}</Text>
        <Text size="sm" c="dimmed" data-testid="file-facts">
          {file
            ? `${fmtNumber(file.size)} bytes${head?.gzip ? ' (gzip)' : ''}${expected !== null ? ` · about ${fmtNumber(expected)} rows` : ''}`
            : 'Any delimiter, quoted fields, gzip-compressed or not.'}
        </Text>
      </label>
      {file && head && headers.length > 0 && (
        <Card withBorder>
          <Group justify="space-between" mb="sm">
            <Title order={3} size="h5">
              Preview (first rows{head.gzip ? ', decompressed' : ''})
            </Title>
            <Select
              label="Delimiter"
              size="xs"
              w={200}
              data={[
                { value: 'auto', label: `Detect (${DELIMITER_LABELS[effective] ?? effective})` },
                ...DELIMITERS.map((d) => ({ value: d, label: DELIMITER_LABELS[d]! })),
              ]}
              value={delimiter}
              onChange={(v) => v && setDelimiter(v)}
              allowDeselect={false}
            />
          </Group>
          {resolved.error && <ErrorState error={resolved.error} feature="The column mapping" />}
          <div className="table-scroll">
            <Table striped withTableBorder data-testid="import-preview">
              <Table.Thead>
                <Table.Tr>
                  {headers.map((h, i) => (
                    <Table.Th key={i}>
                      <Stack gap={4}>
                        <span>{h}</span>
                        <Select
                          aria-label={`Loupe field for column ${h}`}
                          size="xs"
                          data={options}
                          value={resolved.data ? valueOf(h) : null}
                          placeholder="…"
                          disabled={!resolved.data}
                          onChange={(v) => v && setOverrides((m) => ({ ...m, [h]: v === KEEP ? 'attribute' : v === DROP ? 'ignore' : v }))}
                          allowDeselect={false}
                        />
                      </Stack>
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.slice(1).map((r, i) => (
                  <Table.Tr key={i}>
                    {headers.map((_h, j) => (
                      <Table.Td key={j}>{r[j] ?? ''}</Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </div>
          <Group mt="sm" align="flex-end" gap="lg">
            {!currencyColumn && (
              <Select
                label="Currency of every price in this file"
                description="No column names the currency"
                size="xs"
                w={260}
                searchable
                clearable
                placeholder="Not given (prices read as USD)"
                data={[...new Set([...CURRENCIES, ...(currency ? [currency] : [])])]}
                value={currency}
                onChange={setCurrency}
                data-testid="file-currency"
              />
            )}
            {target === 'interactions' && (
              <Checkbox
                label="Keep rows without a customer as anonymous shoppers (one per order)"
                checked={anonymous}
                onChange={(e) => setAnonymous(e.currentTarget.checked)}
                data-testid="anonymous-rows"
              />
            )}
          </Group>
          <SavedMappings
            kind={target}
            tenantId={tenantId}
            current={{ mapping, anonymousRows }}
            onPick={(m) => {
              const { columns, currency: c } = splitMapping(m.mapping);
              setSavedFrom('dismissed');
              setOverrides(columns);
              setCurrency(c);
              setAnonymous(m.anonymous_rows === 'anonymous');
            }}
          />
          {savedFrom && saved && savedFrom === saved.import_id && (
            <Alert color="blue" mt="sm" data-testid="saved-mapping">
              <Group justify="space-between">
                <Text size="sm">Using the mapping of your import of this layout on {fmtDate(saved.created_at)}.</Text>
                <Button
                  size="xs"
                  variant="subtle"
                  onClick={() => {
                    setSavedFrom('dismissed');
                    setOverrides({});
                    setCurrency(null);
                    setAnonymous(false);
                  }}
                >
                  Start from the defaults
                </Button>
              </Group>
            </Alert>
          )}
          {resolved.data && resolved.data.constants.length > 0 && (
            <Text size="sm" c="dimmed" mt="xs">
              Same for every row: {resolved.data.constants.map((c) => `${c.field} = ${c.value}`).join(', ')}.
            </Text>
          )}
          {resolved.data && resolved.data.problems.length > 0 && (
            <Alert color="orange" mt="sm" title="This file would be refused as mapped" data-testid="mapping-problems">
              {resolved.data.problems.map((p) => (
                <Text size="sm" key={p}>
                  {p}
                </Text>
              ))}
              <Text size="sm" mt={4}>
                Choose a field for one of the columns above.
              </Text>
            </Alert>
          )}
        </Card>
      )}
      {file && (
        <Stack gap="xs">
          <Group>
            <Button onClick={() => upload.mutate()} loading={upload.isPending} disabled={!tenantId || !head}>
              Upload {file.name}
            </Button>
            {expected !== null && expected > BACKGROUND_ROWS && (
              <Text size="sm" c="dimmed">
                About {fmtNumber(expected)} rows: the import runs in the background and this page shows its progress.
              </Text>
            )}
          </Group>
          {upload.isPending && (
            <Stack gap={4} data-testid="upload-pending">
              <Progress value={100} striped animated size="lg" aria-label="Sending the file" />
              <Text size="sm" c="dimmed">
                Sending {file.name} ({fmtNumber(file.size)} bytes) and checking it…
              </Text>
            </Stack>
          )}
        </Stack>
      )}
      {upload.error && <ErrorState error={upload.error} feature="File imports" />}
      {params.import && <ImportProgress id={params.import} />}
      <RecentImports current={params.import} onOpen={(id) => setParams({ import: id })} />
    </Stack>
  );
}

/** Imports a history page shows (the server sorts and pages; the export walks every page). */
const HISTORY_PAGE = 20;
const KIND_LABEL: Record<string, string> = { items: 'Items', interactions: 'Interactions' };

/** The tenant's imports, newest first: open one, run one again from its kept file, export the list. */
function RecentImports({ current, onOpen }: { current: string | null; onOpen: (id: string) => void }) {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [paging, setPaging] = useState<{ sort: ImportSort; offset: number }>({ sort: '-created_at', offset: 0 });
  const list = useQuery({
    queryKey: ['imports', tenantId, paging.sort, paging.offset],
    queryFn: ({ signal }) => get<ImportList>('/api/v1/imports', { sort: paging.sort, offset: paging.offset, limit: HISTORY_PAGE }, signal),
    enabled: !!tenantId,
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.data.some((r) => !DONE.has(r.status)) ? 2000 : false),
  });
  const rerun = useMutation({
    mutationFn: (id: string) =>
      api<UploadSyncResponse | UploadAsyncResponse>('POST', `/api/v1/imports/${encodeURIComponent(id)}/rerun`, {
        body: {} satisfies RerunImportBody,
      }),
    onSuccess: (out) => {
      onOpen(out.import_id);
      void qc.invalidateQueries({ queryKey: ['imports', tenantId] });
    },
  });
  // read again whenever the list of imports changes (a new upload or run keeps one more file)
  const storage = useQuery({
    queryKey: ['imports-storage', tenantId, list.data?.data.length ?? 0, list.data?.data[0]?.id],
    queryFn: ({ signal }) => get<ImportStorage>('/api/v1/imports/storage', undefined, signal),
    enabled: !!tenantId,
  });
  const [deleting, setDeleting] = useState<ImportRun | null>(null);
  const deleteFile = useMutation({
    mutationFn: (id: string) => api<ImportRun>('DELETE', `/api/v1/imports/${encodeURIComponent(id)}/file`),
    onSuccess: () => {
      setDeleting(null);
      void qc.invalidateQueries({ queryKey: ['imports', tenantId] });
      void qc.invalidateQueries({ queryKey: ['imports-storage', tenantId] });
    },
  });
  const rows = list.data?.data ?? [];
  const columns = [
    { key: 'file_name', label: 'File' },
    { key: 'kind', label: 'Holds' },
    { key: 'created_at', label: 'Started' },
    { key: 'status', label: 'Result' },
    { key: 'rows_accepted', label: 'Accepted' },
    { key: 'rows_rejected', label: 'Rejected' },
  ];
  return (
    <Card withBorder data-testid="recent-imports">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Recent imports
        </Title>
      </Group>
      {storage.data && (
        <Stack gap={4} mb="sm" data-testid="import-storage">
          <Text size="sm" c="dimmed">
            Kept files: {fmtBytes(storage.data.used_bytes)} of {fmtBytes(storage.data.quota_bytes)} ({fmtNumber(storage.data.files)}{' '}
            {storage.data.files === 1 ? 'file' : 'files'}). Each import keeps its file so it can run again; delete the files you no longer
            need to make room.
          </Text>
          <Progress
            size="sm"
            value={Math.min(100, (storage.data.used_bytes / storage.data.quota_bytes) * 100)}
            color={storage.data.used_bytes / storage.data.quota_bytes > 0.9 ? 'red' : 'blue'}
            aria-label="Storage used by kept files"
          />
        </Stack>
      )}
      {list.isPending && <Loading label="Loading imports" />}
      {list.error && <ErrorState error={list.error} feature="The import history" />}
      {list.data && !rows.length && <EmptyState title="No import yet">Files you import appear here, with their results.</EmptyState>}
      {rerun.error && <ErrorState error={rerun.error} feature="Running the import again" />}
      {rows.length > 0 && (
        <PagedTable
          testId="imports-table"
          rows={rows}
          stale={list.isPlaceholderData}
          total={list.data?.total ?? rows.length}
          page={{ ...paging, limit: HISTORY_PAGE }}
          onPage={(next) => setPaging((p) => ({ sort: (next.sort as ImportSort | undefined) ?? p.sort, offset: next.offset ?? 0 }))}
          exportName="imports.csv"
          exportRows={async () => {
            const all = await fetchAllPages(
              (offset, limit) => get<ImportList>('/api/v1/imports', { sort: paging.sort, offset, limit }),
              10_000,
              200,
            );
            return {
              csv: toCsv(
                all.rows.map((r) => ({ ...r, status: verdict(r).label })),
                columns,
              ),
              truncated: all.truncated,
            };
          }}
          rowKey={(r) => r.id}
          columns={[
            { key: 'file_name', label: 'File', sort: 'file_name', render: (r) => <span className="mono">{r.file_name}</span> },
            { key: 'kind', label: 'Holds', render: (r) => KIND_LABEL[r.kind] ?? r.kind },
            { key: 'created_at', label: 'Started', sort: 'created_at', render: (r) => fmtDate(r.created_at) },
            {
              key: 'status',
              label: 'Result',
              render: (r) => {
                const v = verdict(r);
                return (
                  <Badge color={v.color} variant="light">
                    {v.label}
                  </Badge>
                );
              },
            },
            { key: 'rows_accepted', label: 'Accepted', render: (r) => fmtNumber(r.rows_accepted) },
            { key: 'rows_rejected', label: 'Rejected', sort: 'rows_rejected', render: (r) => fmtNumber(r.rows_rejected) },
            {
              key: 'actions',
              label: '',
              render: (r) => (
                <Group gap="xs" wrap="nowrap">
                  <Button size="compact-xs" variant="subtle" disabled={r.id === current} onClick={() => onOpen(r.id)}>
                    Details
                  </Button>
                  <Button
                    size="compact-xs"
                    variant="light"
                    disabled={!DONE.has(r.status) || !r.storage_location}
                    loading={rerun.isPending && rerun.variables === r.id}
                    onClick={() => rerun.mutate(r.id)}
                    aria-label={`Run the import of ${r.file_name} again`}
                  >
                    Run again
                  </Button>
                  <Button
                    size="compact-xs"
                    variant="subtle"
                    color="red"
                    disabled={!DONE.has(r.status) || !r.storage_location}
                    onClick={() => setDeleting(r)}
                    aria-label={`Delete the kept file of ${r.file_name}`}
                  >
                    Delete file
                  </Button>
                </Group>
              ),
            },
          ]}
        />
      )}
      <Modal opened={!!deleting} onClose={() => setDeleting(null)} title="Delete the kept file?">
        <Stack>
          <Text size="sm">
            The file of <span className="mono">{deleting?.file_name}</span> is deleted to free its storage. The import, its counts and its
            problems stay, and nothing it stored is removed; it can no longer run again.
          </Text>
          {deleteFile.error && <ErrorState error={deleteFile.error} feature="Deleting the file" />}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDeleting(null)}>
              Keep it
            </Button>
            <Button color="red" loading={deleteFile.isPending} onClick={() => deleting && deleteFile.mutate(deleting.id)}>
              Delete file
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}

function ErrorRows({ errors }: { errors: ImportValidationError[] }) {
  return (
    <div className="table-scroll">
      <Table mt="sm" data-testid="import-errors">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Row</Table.Th>
            <Table.Th>Field</Table.Th>
            <Table.Th>Reason</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {errors.slice(0, 20).map((e, i) => (
            <Table.Tr key={i}>
              <Table.Td>{e.row}</Table.Td>
              <Table.Td>{e.field}</Table.Td>
              <Table.Td>{e.error}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </div>
  );
}

const DONE = new Set(['succeeded', 'failed', 'interrupted']);

/** What a merchant reads about an import: "succeeded" only when the rows were kept. */
function verdict(d: ImportRun): { label: string; color: string; detail?: string } {
  const rejected = `${fmtNumber(d.rows_rejected)} of ${fmtNumber(d.rows_read)} rows rejected`;
  if (d.status === 'failed') return { label: 'Failed', color: 'red' };
  if (d.status === 'interrupted') return { label: 'Interrupted', color: 'orange', detail: 'Upload the file again to finish it.' };
  if (d.status === 'queued') return { label: 'Waiting to start', color: 'gray' };
  if (d.status === 'running') return { label: 'Importing', color: 'blue' };
  switch (d.outcome) {
    case 'nothing_imported':
      return { label: 'Nothing imported', color: 'red', detail: `${rejected}. Fix the mapping or the file and upload again.` };
    case 'mostly_rejected':
      return { label: 'Mostly rejected', color: 'red', detail: `${rejected}. Check the reasons below, fix them and upload again.` };
    case 'partial':
      return { label: 'Imported with problems', color: 'orange', detail: `${rejected}; the other rows were imported.` };
    default:
      return { label: 'Imported', color: 'green' };
  }
}

function ImportProgress({ id }: { id: string }) {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['import', tenantId, id],
    queryFn: ({ signal }) => get<ImportDetail>(`/api/v1/imports/${encodeURIComponent(id)}`, undefined, signal),
    refetchInterval: (query) => (query.state.data && DONE.has(query.state.data.status) ? false : 1000),
  });
  const [downloadError, setDownloadError] = useState<string | null>(null);
  if (q.error) return <ErrorState error={q.error} feature="Import progress" />;
  if (!q.data) return null;
  const d = q.data;
  const done = DONE.has(d.status);
  const pct = done ? 100 : Math.round(100 * d.progress.fraction);
  const v = verdict(d);

  async function download() {
    setDownloadError(null);
    const res = await requestRaw('GET', d.validation_errors_url, { query: { format: 'csv' } });
    if (!res.ok) {
      setDownloadError(`Could not download the report (${res.status}).`);
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = `import-${id}-errors.csv`;
    a.click();
    URL.revokeObjectURL(url);
  }

  return (
    <Card withBorder data-testid="import-progress" data-status={d.status} data-outcome={d.outcome ?? ''}>
      <Group justify="space-between">
        <Group gap="xs">
          <Title order={3} size="h5">
            {d.file_name}
          </Title>
          <Badge color={v.color} variant="light" data-testid="import-verdict">
            {v.label}
          </Badge>
        </Group>
        <Text size="xs" className="mono">
          {d.kind} · {d.format ?? '?'} · {fmtNumber(d.file_bytes)} bytes
        </Text>
      </Group>
      <Progress
        value={pct}
        mt="sm"
        size="lg"
        animated={!done}
        aria-label="Import progress"
        color={v.color === 'green' ? 'blue' : v.color}
      />
      {v.detail && (
        <Text size="sm" mt="xs" c={v.color === 'red' ? 'red' : undefined}>
          {v.detail}
        </Text>
      )}
      <SimpleGrid cols={{ base: 2, sm: 3, md: 6 }} mt="sm">
        <Text size="sm">Read: {fmtNumber(d.rows_read)}</Text>
        <Text size="sm">Accepted: {fmtNumber(d.rows_accepted)}</Text>
        <Text size="sm">Rejected: {fmtNumber(d.rows_rejected)}</Text>
        <Text size="sm">Already stored: {fmtNumber(d.rows_duplicate)}</Text>
        <Text size="sm">Rate: {done ? '—' : `${fmtNumber(d.progress.rows_per_second)} rows/s`}</Text>
        <Text size="sm">ETA: {d.progress.eta_seconds !== null && !done ? `${fmtNumber(d.progress.eta_seconds)} s` : '—'}</Text>
      </SimpleGrid>
      {d.error && (
        <Alert color="red" mt="sm" title={d.error.code}>
          {d.error.message}
        </Alert>
      )}
      {d.problems.length > 0 && (
        <div className="table-scroll">
          <Table mt="sm" data-testid="import-reasons">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Why</Table.Th>
                <Table.Th>Field</Table.Th>
                <Table.Th>Rows</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {d.problems.map((p) => (
                <Table.Tr key={`${p.field}:${p.code}`}>
                  <Table.Td>{p.reason}</Table.Td>
                  <Table.Td>{p.field}</Table.Td>
                  <Table.Td>{fmtNumber(p.rows)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      {d.validation_errors.length > 0 && <ErrorRows errors={d.validation_errors} />}
      {d.rows_rejected > 0 && (
        <Group mt="sm">
          <Anchor component="button" type="button" onClick={() => void download()}>
            Download the rejected rows and their reasons (CSV)
          </Anchor>
          {downloadError && (
            <Text size="sm" c="red">
              {downloadError}
            </Text>
          )}
        </Group>
      )}
    </Card>
  );
}
