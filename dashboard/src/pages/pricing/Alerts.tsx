import { useState } from 'react';
import { Anchor, Badge, Button, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { PriceAlertEvents, PriceAlertList } from '../../api/types.ts';
import { get } from '../../api/client.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { useSession } from '../../session.tsx';

const KIND_LABEL = {
  target_price: 'Target price',
  any_drop: 'Any drop',
  percent_drop: 'Percent drop',
  lowest_in_days: 'Lowest in N days',
  back_in_stock: 'Back in stock',
} as const;

type Alert = PriceAlertList['data'][number];

/** When an alert fires next, in words (the rules of each kind: src/modules/pricing/alerts.core.ts). */
function firesWhen(a: Alert): string {
  switch (a.kind) {
    case 'target_price':
      return `at or below ${a.target_price} ${a.currency}`;
    case 'any_drop':
      return `below ${a.lowest_seen_price ?? 'the first price'} ${a.currency}`;
    case 'percent_drop':
      return `${a.drop_percent}% below ${a.reference_price ?? 'the first price'} ${a.currency}`;
    case 'lowest_in_days':
      return `lowest price of the last ${a.days} days (${a.currency})`;
    case 'back_in_stock':
      return `an offer in stock again (${a.currency})`;
  }
}

/** Shoppers' price alerts (optionally one shopper's) and the history of alerts that fired, newest first. */
export function PriceAlerts() {
  const { tenantId } = useSession();
  const [user, setUser] = useState('');
  const [typed, setTyped] = useState('');
  const params = user ? { user_id: user } : {};
  const alerts = useQuery({
    queryKey: ['pricing-alerts', tenantId, user],
    queryFn: ({ signal }) => get<PriceAlertList>('/api/v1/pricing/alerts', { ...params, limit: 100 }, signal),
  });
  const events = useQuery({
    queryKey: ['pricing-alert-events', tenantId, user],
    queryFn: ({ signal }) => get<PriceAlertEvents>('/api/v1/pricing/alert-events', { ...params, limit: 50 }, signal),
  });
  const names = new Map((alerts.data?.data ?? []).map((a) => [a.product_id, a.product_name]));
  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setUser(typed.trim());
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="Shopper (user id)"
            placeholder="every shopper"
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            w={{ base: '100%', sm: 360 }}
          />
          <Button type="submit">Show</Button>
        </Group>
      </form>
      <Title order={4}>Watched products</Title>
      {alerts.isLoading ? (
        <Loading label="Loading price alerts" />
      ) : alerts.error ? (
        <ErrorState error={alerts.error} feature="Pricing" />
      ) : !alerts.data?.data.length ? (
        <EmptyState title="No price alerts">
          Shoppers watch a product with POST /api/v1/pricing/alerts (a target price, any drop, a percent drop, the lowest price in N days or
          back in stock); each feed import checks them.
        </EmptyState>
      ) : (
        <DataTable
          testId="alerts-table"
          rows={alerts.data.data}
          rowKey={(a) => a.id}
          columns={[
            { key: 'user', label: 'Shopper', render: (a) => a.user_id },
            {
              key: 'product',
              label: 'Product',
              render: (a) => (
                <Anchor component={Link} to={`/pricing/products/${a.product_id}`}>
                  {a.product_name}
                </Anchor>
              ),
            },
            { key: 'kind', label: 'Alert', render: (a) => KIND_LABEL[a.kind] },
            {
              key: 'threshold',
              label: 'Fires when',
              render: firesWhen,
            },
            {
              key: 'state',
              label: 'State',
              render: (a) =>
                a.kind === 'target_price' && !a.armed ? (
                  <Badge color="gray">fired, waits for a rise</Badge>
                ) : a.kind === 'back_in_stock' && !a.armed ? (
                  <Badge color="gray">in stock, waits for a sell-out</Badge>
                ) : (
                  <Badge color="teal">watching</Badge>
                ),
            },
            { key: 'fired', label: 'Last fired', render: (a) => (a.last_fired_at ? new Date(a.last_fired_at).toLocaleString() : 'never') },
          ]}
        />
      )}
      <Title order={4}>History</Title>
      {events.isLoading ? (
        <Loading label="Loading alert history" />
      ) : events.error ? (
        <ErrorState error={events.error} feature="Pricing" />
      ) : !events.data?.data.length ? (
        <EmptyState title="No alert has fired yet">An alert fires once per price or stock change that reaches it.</EmptyState>
      ) : (
        <DataTable
          testId="alert-events-table"
          rows={events.data.data}
          rowKey={(e) => e.id}
          columns={[
            { key: 'at', label: 'Fired', render: (e) => new Date(e.fired_at).toLocaleString() },
            { key: 'user', label: 'Shopper', render: (e) => e.user_id },
            { key: 'product', label: 'Product', render: (e) => names.get(e.product_id) ?? e.product_id },
            { key: 'kind', label: 'Alert', render: (e) => KIND_LABEL[e.kind] },
            {
              key: 'price',
              label: 'Best price',
              render: (e) => (
                <Text size="sm">
                  {e.price} {e.currency}
                  {e.threshold ? ` (below ${e.threshold})` : ''}
                </Text>
              ),
            },
          ]}
        />
      )}
    </Stack>
  );
}
