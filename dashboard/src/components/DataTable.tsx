import type { ReactNode } from 'react';
import { Table } from '@mantine/core';

export interface Column<T> {
  key: string;
  label: string;
  render?: (row: T) => ReactNode;
}

/** A plain, horizontally scrollable table; cells default to the row's field of the column's key. */
export function DataTable<T extends object>({
  rows,
  columns,
  rowKey,
  testId,
  onRowClick,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (r: T, i: number) => string;
  testId?: string;
  onRowClick?: (r: T) => void;
}) {
  return (
    <div className="table-scroll">
      <Table striped highlightOnHover={!!onRowClick} data-testid={testId}>
        <Table.Thead>
          <Table.Tr>
            {columns.map((c) => (
              <Table.Th key={c.key}>{c.label}</Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <DataTableBody rows={rows} columns={columns} rowKey={rowKey} onRowClick={onRowClick} />
      </Table>
    </div>
  );
}

/** The rows of a table (DataTable's and PagedTable's): cells default to the row's field of the column's key. */
export function DataTableBody<T extends object>({
  rows,
  columns,
  rowKey,
  onRowClick,
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (r: T, i: number) => string;
  onRowClick?: ((r: T) => void) | undefined;
}) {
  return (
    <Table.Tbody>
      {rows.map((r, i) => (
        <Table.Tr
          key={rowKey(r, i)}
          onClick={onRowClick ? () => onRowClick(r) : undefined}
          style={onRowClick ? { cursor: 'pointer' } : undefined}
        >
          {columns.map((c) => {
            const v = (r as Record<string, unknown>)[c.key];
            return (
              <Table.Td key={c.key}>
                {c.render ? c.render(r) : v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)}
              </Table.Td>
            );
          })}
        </Table.Tr>
      ))}
    </Table.Tbody>
  );
}
