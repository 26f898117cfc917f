import { useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  Modal,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api/client.ts';
import type { Connection, ConnectorType, CreateConnectionBody, Delivery, Page } from '../api/types.ts';
import { DataTable } from '../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { fmtDate } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';
import { ConnectionPanel } from './integrations/ConnectionPanel.tsx';
import { PublicUrlWarning } from './settings/PublicUrl.tsx';

const TYPES: {
  value: ConnectorType;
  label: string;
  setting?: 'shop_domain' | 'store_url' | 'account_sid';
  settingLabel?: string;
  hint?: string;
  secretHint: string;
}[] = [
  {
    value: 'shopify',
    label: 'Shopify',
    setting: 'shop_domain',
    settingLabel: 'Shop domain',
    hint: 'your-store.myshopify.com',
    secretHint: 'The app’s API secret key',
  },
  {
    value: 'woocommerce',
    label: 'WooCommerce',
    setting: 'store_url',
    settingLabel: 'Store URL',
    hint: 'https://shop.example.com',
    secretHint: 'Leave empty to generate one, then paste it into WooCommerce',
  },
  { value: 'stripe', label: 'Stripe', secretHint: 'The endpoint’s signing secret (whsec_…)' },
  {
    value: 'twilio',
    label: 'Twilio WhatsApp',
    setting: 'account_sid',
    settingLabel: 'Account SID',
    hint: 'AC…',
    secretHint: 'Your Twilio auth token',
  },
];
const absolute = (u: string) => (u.startsWith('/') ? `${location.origin}${u}` : u);
const deliveryColor: Record<string, string> = { processed: 'green', duplicate: 'gray', ignored: 'yellow', rejected: 'red' };

export default function IntegrationsPage() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [params, setParams] = useParams(['connection'] as const);
  const list = useQuery({
    queryKey: ['integrations', tenantId],
    queryFn: ({ signal }) => get<Page<Connection>>('/api/v1/integrations', { limit: 100 }, signal),
  });
  const [type, setType] = useState<ConnectorType>('shopify');
  const [name, setName] = useState('');
  const [setting, setSetting] = useState('');
  const [secret, setSecret] = useState('');
  const [created, setCreated] = useState<Connection | null>(null);
  const meta = TYPES.find((t) => t.value === type)!;
  const invalidate = () => void qc.invalidateQueries({ queryKey: ['integrations'] });
  const create = useMutation({
    mutationFn: () => {
      const body: CreateConnectionBody = {
        type,
        name: name || meta.label,
        ...(meta.setting && setting ? { settings: { [meta.setting]: setting } } : {}),
        ...(secret ? { secret } : {}),
      };
      return api<Connection>('POST', '/api/v1/integrations', { body });
    },
    onSuccess: (c) => {
      setCreated(c);
      setName('');
      setSetting('');
      setSecret('');
      invalidate();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api/v1/integrations/${encodeURIComponent(id)}`),
    onSuccess: invalidate,
  });
  const rows = list.data?.data ?? [];
  const selected = rows.find((r) => r.id === params.connection) ?? null;

  return (
    <Stack>
      <Title order={2}>Integrations</Title>
      <PublicUrlWarning />
      <Card withBorder>
        <Title order={3} size="h5" mb="sm">
          Connect a store or channel
        </Title>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
            <Select
              label="Connector"
              data={TYPES.map(({ value, label }) => ({ value, label }))}
              value={type}
              onChange={(v) => v && setType(v as ConnectorType)}
              allowDeselect={false}
            />
            <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} placeholder={meta.label} />
            {meta.setting && (
              <TextInput
                label={meta.settingLabel}
                value={setting}
                onChange={(e) => setSetting(e.currentTarget.value)}
                placeholder={meta.hint}
                required={type === 'shopify'}
              />
            )}
            <TextInput
              label="Signing secret"
              description={meta.secretHint}
              value={secret}
              onChange={(e) => setSecret(e.currentTarget.value)}
              autoComplete="off"
            />
          </SimpleGrid>
          <Group mt="sm">
            <Button type="submit" loading={create.isPending}>
              Create connection
            </Button>
          </Group>
        </form>
        {create.error && (
          <Stack mt="sm">
            <ErrorState error={create.error} feature="Integrations" />
          </Stack>
        )}
      </Card>
      <Modal opened={created !== null} onClose={() => setCreated(null)} title="Connection created" size="lg" centered>
        {created && (
          <Stack>
            <Text size="sm">
              Paste this webhook URL into the {TYPES.find((t) => t.value === created.type)?.label ?? created.type} console:
            </Text>
            <Code block className="mono" data-testid="webhook-url">
              {absolute(created.webhook_url)}
            </Code>
            {created.secret && (
              <>
                <Alert color="yellow">The signing secret is shown only now; afterwards only its last characters are.</Alert>
                <Code block className="mono" data-testid="webhook-secret">
                  {created.secret}
                </Code>
              </>
            )}
            <Group justify="flex-end">
              <CopyButton value={absolute(created.webhook_url)}>
                {({ copied, copy }) => (
                  <Button variant="light" onClick={copy}>
                    {copied ? 'Copied' : 'Copy URL'}
                  </Button>
                )}
              </CopyButton>
              <Button onClick={() => setCreated(null)}>Done</Button>
            </Group>
          </Stack>
        )}
      </Modal>
      {list.isLoading ? (
        <Loading />
      ) : list.error ? (
        <ErrorState error={list.error} feature="Integrations" />
      ) : rows.length === 0 ? (
        <EmptyState title="No connections yet">
          Connect Shopify, WooCommerce, Stripe or Twilio above to receive orders, customers and messages as events.
        </EmptyState>
      ) : (
        <>
          <Group justify="flex-end">
            <Button
              variant="default"
              size="xs"
              onClick={() =>
                downloadCsv(
                  'integrations.csv',
                  ['id', 'type', 'name', 'status', 'webhook_url', 'created_at', 'last_delivery_at'],
                  rows.map((r) => [r.id, r.type, r.name, r.status, absolute(r.webhook_url), r.created_at, r.last_delivery_at ?? '']),
                )
              }
            >
              Export CSV
            </Button>
          </Group>
          <DataTable
            testId="integrations-table"
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { key: 'type', label: 'Connector' },
              { key: 'name', label: 'Name' },
              {
                key: 'status',
                label: 'Status',
                render: (r) => (
                  <Badge color={r.status === 'active' ? 'green' : 'gray'} variant="light">
                    {r.status}
                  </Badge>
                ),
              },
              { key: 'webhook_url', label: 'Webhook URL', render: (r) => <span className="mono">{absolute(r.webhook_url)}</span> },
              { key: 'secret_masked', label: 'Secret', render: (r) => <span className="mono">{r.secret_masked}</span> },
              { key: 'last_delivery_at', label: 'Last delivery', render: (r) => fmtDate(r.last_delivery_at) },
              {
                key: 'actions',
                label: 'Actions',
                render: (r) => (
                  <Group gap={4} wrap="nowrap">
                    <Button size="xs" variant="subtle" onClick={() => setParams({ connection: r.id })} aria-label={`Manage ${r.name}`}>
                      Manage
                    </Button>
                    <Button
                      size="xs"
                      variant="subtle"
                      onClick={() => setParams({ connection: r.id })}
                      aria-label={`Deliveries of ${r.name}`}
                    >
                      Deliveries
                    </Button>
                    <Button
                      size="xs"
                      variant="subtle"
                      color="red"
                      onClick={() => confirm(`Disconnect ${r.name}? Its webhooks stop being accepted.`) && remove.mutate(r.id)}
                      aria-label={`Disconnect ${r.name}`}
                    >
                      Disconnect
                    </Button>
                  </Group>
                ),
              },
            ]}
          />
        </>
      )}
      {remove.error && <ErrorState error={remove.error} />}
      {selected && <ConnectionPanel connection={selected} />}
      {params.connection && <Deliveries id={params.connection} />}
    </Stack>
  );
}

function Deliveries({ id }: { id: string }) {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['deliveries', tenantId, id],
    queryFn: ({ signal }) => get<Page<Delivery>>(`/api/v1/integrations/${encodeURIComponent(id)}/deliveries`, { limit: 50 }, signal),
    refetchInterval: 10_000,
  });
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h5">
          Last deliveries
        </Title>
        {q.data && q.data.data.length > 0 && (
          <Button
            variant="default"
            size="xs"
            onClick={() =>
              downloadCsv(
                'deliveries.csv',
                ['received_at', 'topic', 'status', 'http_status', 'events_written', 'reason', 'delivery_id'],
                q.data.data.map((d) => [
                  d.received_at,
                  d.topic ?? '',
                  d.status,
                  d.http_status,
                  d.events_written,
                  d.reason ?? '',
                  d.delivery_id ?? '',
                ]),
              )
            }
          >
            Export CSV
          </Button>
        )}
      </Group>
      {q.isLoading ? (
        <Loading />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Deliveries" />
      ) : q.data!.data.length === 0 ? (
        <Text size="sm" c="dimmed">
          Nothing received yet. Send a test event above, or one from the vendor’s console.
        </Text>
      ) : (
        <DataTable
          testId="deliveries-table"
          rows={q.data!.data}
          rowKey={(r) => r.id}
          columns={[
            { key: 'received_at', label: 'Received', render: (r) => fmtDate(r.received_at) },
            { key: 'topic', label: 'Topic' },
            {
              key: 'status',
              label: 'Outcome',
              render: (r) => (
                <Badge color={deliveryColor[r.status] ?? 'gray'} variant="light">
                  {r.status} ({r.http_status})
                </Badge>
              ),
            },
            { key: 'events_written', label: 'Events' },
            { key: 'reason', label: 'Reason' },
          ]}
        />
      )}
    </Card>
  );
}
