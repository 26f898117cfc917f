import { Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useInfiniteQuery } from '@tanstack/react-query';
import { get } from '../../api/client.ts';
import type { ProfileOrders } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtDate, fmtMinor, fmtNumber } from '../../lib/format.ts';

type Order = ProfileOrders['data'][number];

/** An amount of the order's currency; an order recorded without a price has none. */
const amount = (minor: string, currency: string | null) => (currency ? fmtMinor(minor, currency) : '—');

/**
 * The person's orders, newest first, 50 at a time, with their totals per currency over all of them
 * (GET /api/v1/profiles/:id/orders), and the loaded orders as CSV.
 */
export function CustomerOrders({ tenantId, profileId }: { tenantId: string; profileId: string }) {
  const orders = useInfiniteQuery({
    queryKey: ['profile-orders', tenantId, profileId],
    queryFn: ({ pageParam, signal }) =>
      get<ProfileOrders>(
        `/api/v1/profiles/${encodeURIComponent(profileId)}/orders`,
        { limit: 50, ...(pageParam ? { cursor: pageParam } : {}) },
        signal,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const rows: Order[] = orders.data?.pages.flatMap((p) => p.data) ?? [];
  const totals = orders.data?.pages[0]?.totals ?? [];
  return (
    <Card withBorder data-testid="customer-orders">
      <Group justify="space-between" mb="xs">
        <Title order={4} size="h5">
          Orders
        </Title>
        <Button
          size="xs"
          variant="default"
          disabled={rows.length === 0}
          onClick={() =>
            downloadCsv(
              `customer-${profileId}-orders.csv`,
              ['order_id', 'placed', 'currency', 'revenue', 'refunded', 'net'],
              rows.map((o) => [
                o.order_id,
                o.occurred_at,
                o.currency ?? '',
                amount(o.revenue_minor, o.currency),
                amount(o.refunded_minor, o.currency),
                amount(o.net_minor, o.currency),
              ]),
            )
          }
        >
          Export CSV
        </Button>
      </Group>
      {orders.isPending ? (
        <Loading label="Loading orders" />
      ) : orders.error ? (
        <ErrorState error={orders.error} feature="Orders" />
      ) : rows.length === 0 ? (
        <Text size="sm" c="dimmed">
          No orders yet: they appear once this person buys, or their past orders are imported.
        </Text>
      ) : (
        <Stack gap="xs">
          <Text size="sm" data-testid="customer-orders-totals">
            {totals
              .map((t) => {
                const n = `${fmtNumber(t.orders)} order${t.orders === 1 ? '' : 's'}`;
                if (!t.currency) return `${n} without a price`;
                const refunded = t.refunded_minor !== '0' ? ` (${fmtMinor(t.refunded_minor, t.currency)} refunded)` : '';
                return `${n}: ${fmtMinor(t.net_minor, t.currency)} net${refunded}`;
              })
              .join(' · ')}
          </Text>
          <DataTable
            testId="customer-orders-table"
            rows={rows}
            rowKey={(o) => o.order_id}
            columns={[
              { key: 'order_id', label: 'Order' },
              { key: 'occurred_at', label: 'Placed', render: (o) => fmtDate(o.occurred_at) },
              { key: 'revenue_minor', label: 'Total', render: (o) => fmtMinor(o.revenue_minor, o.currency) },
              {
                key: 'refunded_minor',
                label: 'Refunded',
                render: (o) => (o.refunded_minor === '0' ? '—' : fmtMinor(o.refunded_minor, o.currency)),
              },
              { key: 'net_minor', label: 'Net', render: (o) => fmtMinor(o.net_minor, o.currency) },
            ]}
          />
          {orders.hasNextPage && (
            <Group>
              <Button size="xs" variant="light" loading={orders.isFetchingNextPage} onClick={() => void orders.fetchNextPage()}>
                Show older orders
              </Button>
            </Group>
          )}
        </Stack>
      )}
    </Card>
  );
}
