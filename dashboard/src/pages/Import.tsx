import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Anchor,
  Button,
  Card,
  Group,
  Progress,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { api, get, requestRaw } from '../api/client.ts';
import { ErrorState } from '../components/states.tsx';
import { DELIMITERS, parseRows, sniffDelimiter } from '../lib/csv.ts';
import { fmtNumber } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';
import type { ImportDetail, ImportValidationError, UploadAsyncResponse, UploadFields, UploadSyncResponse } from '../api/types.ts';

type Kind = 'items' | 'interactions' | 'purchases';

/** Loupe's fields per kind (src/modules/imports/imports.core.ts). */
const FIELDS: Record<'items' | 'interactions', string[]> = {
  items: [
    'item_id',
    'name',
    'description',
    'category',
    'brand',
    'tags',
    'price',
    'sale_price',
    'currency',
    'image_url',
    'url',
    'availability',
    'stock',
    'gtin',
    'mpn',
  ],
  interactions: [
    'user_id',
    'anonymous_id',
    'item_id',
    'type',
    'timestamp',
    'value',
    'quantity',
    'price',
    'currency',
    'order_id',
    'session_id',
    'event_id',
    'recommendation_id',
  ],
};
const DELIMITER_LABELS: Record<string, string> = { ',': 'Comma', ';': 'Semicolon', '\t': 'Tab', '|': 'Pipe' };
const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

export default function ImportPage() {
  const { tenantId } = useSession();
  const [params, setParams] = useParams(['kind', 'import'] as const);
  const kind = (['items', 'interactions', 'purchases'].includes(params.kind) ? params.kind : 'items') as Kind;
  const target = kind === 'items' ? 'items' : 'interactions';
  const [file, setFile] = useState<File | null>(null);
  const [text, setText] = useState('');
  const [delimiter, setDelimiter] = useState<string>('auto');
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [dragging, setDragging] = useState(false);

  const effective = delimiter === 'auto' ? sniffDelimiter(text) : delimiter;
  const rows = useMemo(() => (text ? parseRows(text, effective, 6) : []), [text, effective]);
  const headers = rows[0] ?? [];

  // Default mapping: a column whose normalized name equals a Loupe field maps to it.
  useEffect(() => {
    const next: Record<string, string> = {};
    for (const h of headers) {
      const f = FIELDS[target].find((x) => norm(x) === norm(h));
      if (f) next[h] = f;
    }
    setMapping(next);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [headers.join('\u0000'), target]);

  const choose = useCallback(async (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    // Only the head of the file is read for the preview; gzip files are sent as they are.
    setText(f.name.endsWith('.gz') ? '' : await f.slice(0, 64 * 1024).text());
  }, []);

  const upload = useMutation({
    mutationFn: async () => {
      const form = new FormData();
      const explicit: Record<string, string> = Object.fromEntries(Object.entries(mapping).filter(([, v]) => v));
      if (kind === 'purchases') explicit['const:purchase'] = 'type';
      const fields: UploadFields = { mapping: explicit, ...(delimiter !== 'auto' ? { delimiter } : {}) };
      form.append('mapping', JSON.stringify(fields.mapping));
      if (fields.delimiter) form.append('delimiter', fields.delimiter);
      form.append('file', file!);
      return api<UploadSyncResponse | UploadAsyncResponse>('POST', `/api/v1/upload/${target}`, { body: form });
    },
    // Small files answer at once, large ones are queued: either way the import's page shows progress and errors.
    onSuccess: (out) => setParams({ import: out.import_id }),
  });

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
        onChange={(v) => setParams({ kind: v, import: null })}
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
        <Text size="sm" c="dimmed">
          {file ? `${fmtNumber(file.size)} bytes` : 'Any delimiter, quoted fields, gzip-compressed or not.'}
        </Text>
      </label>
      {file && headers.length > 0 && (
        <Card withBorder>
          <Group justify="space-between" mb="sm">
            <Title order={3} size="h5">
              Preview (first rows)
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
                          placeholder="keep as attribute"
                          data={FIELDS[target]}
                          value={mapping[h] ?? null}
                          onChange={(v) => setMapping((m) => ({ ...m, [h]: v ?? '' }))}
                          clearable
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
          {kind === 'purchases' && (
            <Text size="sm" c="dimmed" mt="xs">
              Every row is imported as a purchase interaction.
            </Text>
          )}
        </Card>
      )}
      {file && (
        <Group>
          <Button onClick={() => upload.mutate()} loading={upload.isPending} disabled={!tenantId}>
            Upload {file.name}
          </Button>
        </Group>
      )}
      {upload.error && <ErrorState error={upload.error} feature="File imports" />}
      {params.import && <ImportProgress id={params.import} />}
    </Stack>
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

const DONE = new Set(['succeeded', 'failed']);

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
    <Card withBorder data-testid="import-progress" data-status={d.status}>
      <Group justify="space-between">
        <Title order={3} size="h5">
          {d.file_name}: {d.status}
        </Title>
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
        color={d.status === 'failed' ? 'red' : 'blue'}
      />
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
      {d.validation_errors.length > 0 && <ErrorRows errors={d.validation_errors} />}
      {d.rows_rejected > 0 && (
        <Group mt="sm">
          <Anchor component="button" type="button" onClick={() => void download()}>
            Download the full error report (CSV)
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
