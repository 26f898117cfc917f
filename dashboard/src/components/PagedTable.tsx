import { useState, type ReactNode } from 'react';
import { Button, Group, Table, Text, UnstyledButton } from '@mantine/core';
import { type Column, DataTableBody } from './DataTable.tsx';
import { downloadCsvText } from '../lib/download.ts';

/** A column of a server-paged table; `sort` is the API's sort key (the column sorts ascending, then descending). */
export interface PagedColumn<T> extends Column<T> {
  sort?: string;
}

/** Where a server-paged table stands: its sort key (`-` first for descending), first row and page size. */
export interface PageState {
  sort: string;
  offset: number;
  limit: number;
}

const nf = new Intl.NumberFormat();

/** The next sort when a header is clicked: the column ascending, then descending, then ascending again. */
export function nextSort(current: string, key: string): string {
  return current === key ? `-${key}` : key;
}

/**
 * A table whose rows the server sorts and pages: sort headers (aria-sort), "1–50 of 1,234", previous and next,
 * and a CSV export of every row of the current filter (`exportRows` fetches them, page by page, up to its cap).
 */
export function PagedTable<T extends object>({
  rows,
  columns,
  rowKey,
  testId,
  onRowClick,
  total,
  page,
  onPage,
  exportRows,
  exportName,
  toolbar,
  stale = false,
}: {
  rows: T[];
  columns: PagedColumn<T>[];
  rowKey: (r: T, i: number) => string;
  testId: string;
  onRowClick?: (r: T) => void;
  total: number;
  page: PageState;
  onPage: (next: { sort?: string; offset?: number }) => void;
  /** Every row of the current filter as CSV text (or null when there is nothing to export). */
  exportRows?: () => Promise<{ csv: string; truncated: boolean }>;
  exportName?: string;
  toolbar?: ReactNode;
  /**
   * The rows shown are still the previous page's while the asked one loads (react-query's placeholder data): the
   * range says so instead of numbering the old rows as the new page, and the table is marked busy.
   */
  stale?: boolean;
}) {
  const [exporting, setExporting] = useState<'idle' | 'busy' | 'truncated' | 'failed'>('idle');
  const first = total === 0 ? 0 : page.offset + 1;
  const last = Math.min(page.offset + rows.length, total);
  const sortKey = page.sort.replace(/^-/, '');
  const descending = page.sort.startsWith('-');
  const runExport = async () => {
    if (!exportRows) return;
    setExporting('busy');
    try {
      const { csv, truncated } = await exportRows();
      downloadCsvText(exportName ?? 'export.csv', csv);
      setExporting(truncated ? 'truncated' : 'idle');
    } catch {
      setExporting('failed');
    }
  };
  return (
    <div>
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Text size="sm" data-testid={`${testId}-range`} aria-live="polite">
          {stale
            ? 'Loading…'
            : total === 0
              ? 'No rows'
              : rows.length === 0
                ? `Past the last of ${nf.format(total)}: go back a page`
                : `${nf.format(first)}–${nf.format(last)} of ${nf.format(total)}`}
        </Text>
        <Group gap="xs">
          {toolbar}
          {exportRows && (
            <Button variant="default" size="xs" onClick={() => void runExport()} loading={exporting === 'busy'} disabled={total === 0}>
              Export CSV
            </Button>
          )}
          <Button
            variant="default"
            size="xs"
            onClick={() => onPage({ offset: Math.max(0, page.offset - page.limit) })}
            disabled={stale || page.offset === 0}
          >
            Previous
          </Button>
          <Button
            variant="default"
            size="xs"
            onClick={() => onPage({ offset: page.offset + page.limit })}
            disabled={stale || last >= total}
          >
            Next
          </Button>
        </Group>
      </Group>
      {exporting === 'truncated' && (
        <Text size="sm" c="orange" mb="xs">
          The export stopped at the first rows of this filter; narrow the filters to export the rest.
        </Text>
      )}
      {exporting === 'failed' && (
        <Text size="sm" c="red" mb="xs">
          The export failed; try again.
        </Text>
      )}
      <div className="table-scroll" aria-busy={stale} style={stale ? { opacity: 0.6 } : undefined}>
        <Table striped highlightOnHover={!!onRowClick} data-testid={testId}>
          <Table.Thead>
            <Table.Tr>
              {columns.map((c) => {
                const active = c.sort !== undefined && c.sort === sortKey;
                return (
                  <Table.Th key={c.key} aria-sort={active ? (descending ? 'descending' : 'ascending') : undefined}>
                    {c.sort ? (
                      <UnstyledButton
                        fw={700}
                        fz="sm"
                        onClick={() => onPage({ sort: nextSort(page.sort, c.sort!), offset: 0 })}
                        aria-label={`Sort by ${c.label}`}
                      >
                        {c.label}
                        {active ? (descending ? ' ↓' : ' ↑') : ''}
                      </UnstyledButton>
                    ) : (
                      c.label
                    )}
                  </Table.Th>
                );
              })}
            </Table.Tr>
          </Table.Thead>
          <DataTableBody rows={rows} columns={columns} rowKey={rowKey} onRowClick={onRowClick} />
        </Table>
      </div>
    </div>
  );
}

/**
 * Every row of a filter, fetched `pageSize` at a time by offset, stopping at `cap` rows (the server's offset cap):
 * what a CSV export of "the current filter" needs without one unbounded request.
 */
export async function fetchAllPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<{ data: T[]; total?: number | undefined }>,
  cap: number,
  pageSize = 500,
): Promise<{ rows: T[]; truncated: boolean }> {
  const rows: T[] = [];
  for (let offset = 0; offset < cap; offset += pageSize) {
    const page = await fetchPage(offset, Math.min(pageSize, cap - offset));
    rows.push(...page.data);
    if (page.data.length < Math.min(pageSize, cap - offset)) return { rows, truncated: false };
  }
  return { rows, truncated: true };
}
