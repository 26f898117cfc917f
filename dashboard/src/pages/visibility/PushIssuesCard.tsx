import { Button, Card, Group, Stack, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { FeedItemIssues } from '../../../../src/contracts/index.ts';
import { get } from '../../api/client.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtDate } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

/** Per-item outcomes of the pushes: items Google or the precheck refused, with the problem and where it came from. */
export function PushIssuesCard() {
  const { tenantId } = useSession();
  const issues = useQuery({
    queryKey: ['feed-item-issues', tenantId],
    queryFn: ({ signal }) => get<FeedItemIssues>('/api/feed-jobs/items/issues', { limit: 500 }, signal),
    refetchInterval: 5000,
  });
  if (issues.isPending) return <Loading label="Loading per-item issues" />;
  if (issues.isError) return <ErrorState error={issues.error} feature="Per-item issues" />;
  const rows = issues.data.data.flatMap((i) =>
    i.issues.map((x, n) => ({ key: `${i.item_id}-${n}`, item_id: i.item_id, status: i.status, ...x, updated_at: i.updated_at })),
  );
  return (
    <Card withBorder data-testid="push-issues-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Per-item issues of the pushes
          </Title>
          <Button
            variant="default"
            disabled={!rows.length}
            onClick={() =>
              downloadCsv(
                'push-issues.csv',
                ['item', 'status', 'source', 'field', 'message'],
                rows.map((x) => [x.item_id, x.status, x.source, x.field, x.message]),
              )
            }
          >
            Export CSV
          </Button>
        </Group>
        {rows.length === 0 ? (
          <EmptyState title="No item refused">Every item pushed so far was accepted by Google.</EmptyState>
        ) : (
          <DataTable
            testId="push-issues-table"
            rows={rows}
            rowKey={(x) => x.key}
            columns={[
              { key: 'item_id', label: 'Item' },
              { key: 'source', label: 'From', render: (x) => (x.source === 'google' ? 'Google' : 'Precheck') },
              { key: 'field', label: 'Field' },
              { key: 'message', label: 'Problem' },
              { key: 'updated_at', label: 'When', render: (x) => fmtDate(x.updated_at) },
            ]}
          />
        )}
      </Stack>
    </Card>
  );
}
