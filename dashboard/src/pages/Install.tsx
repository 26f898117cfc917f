import { useState } from 'react';
import { Anchor, Badge, Code, CopyButton, Button, Group, Paper, Select, Stack, Table, Tabs, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get } from '../api/client.ts';
import type { Arrivals } from '../api/types.ts';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { fmtDate } from '../lib/format.ts';
import { useSession } from '../session.tsx';
import { usePublishableKeys } from './settings/SiteKeys.tsx';

function Snippet({ code, label }: { code: string; label: string }) {
  return (
    <Stack gap="xs">
      <Code block className="mono" data-testid={`snippet-${label}`}>
        {code}
      </Code>
      <Group>
        <CopyButton value={code}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy} aria-label={`Copy the ${label} snippet`}>
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}

/** The live check: what arrived from the SDK (Segment-compatible endpoint) in the last ten minutes, every 3 s. */
function EventsArriving() {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['arrivals', tenantId],
    queryFn: ({ signal }) => get<Arrivals>('/api/v1/interactions/arrivals', { source: 'segment', minutes: '10' }, signal),
    refetchInterval: 3000,
  });
  if (q.isPending) return <Loading label="Checking for events" />;
  if (q.error) return <ErrorState error={q.error} feature="The live check" />;
  const a = q.data;
  return (
    <Stack gap="xs" aria-live="polite">
      {a.count === 0 ? (
        <Text data-testid="arrivals-waiting">
          <Badge color="gray" mr="xs">
            waiting
          </Badge>
          No events from your site in the last 10 minutes yet. Open a page with the snippet: its page view appears here.
        </Text>
      ) : (
        <Text data-testid="arrivals-count">
          <Badge color="green" mr="xs">
            live
          </Badge>
          {a.count} {a.count === 1 ? 'event' : 'events'} from your site in the last 10 minutes.
        </Text>
      )}
      {a.latest.length > 0 && (
        <Table striped data-testid="arrivals-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Event</Table.Th>
              <Table.Th>Item</Table.Th>
              <Table.Th>Received</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {a.latest.map((e, i) => (
              <Table.Tr key={`${e.received_at}-${i}`}>
                <Table.Td>{e.type}</Table.Td>
                <Table.Td>{e.item_id ?? '—'}</Table.Td>
                <Table.Td>{fmtDate(e.received_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

/** "Install on your site": the snippet with the tenant's site key filled in (script tag, npm, server) and the live check. */
export default function InstallPage() {
  const keys = usePublishableKeys();
  const [chosen, setChosen] = useState<string | null>(null);
  const host = window.location.origin;
  const key = keys.data?.find((k) => k.id === chosen) ?? keys.data?.[0];
  const pk = key?.publishable_key ?? 'pk_live_…';
  const tag = `<script src="${host}/sdk/loupe.js" data-key="${pk}" async></script>
<!-- recommendations, where you want them: -->
<loupe-recommendations user="CUSTOMER_ID" count="8"></loupe-recommendations>`;
  const npm = `import { createTracker, defineWidget } from '@loupe/sdk';

const loupe = createTracker({ writeKey: '${pk}', host: '${host}' });
defineWidget({ host: '${host}', writeKey: '${pk}', tracker: loupe });
loupe.page();
loupe.track('Product Added', { product_id: 'SKU-1', price: 49.99, currency: 'USD' });`;
  const server = `import { createServerTracker } from '@loupe/sdk/node';

// A SECRET key (sk_live_…, Settings → API keys), never the site key: this runs on your server.
const loupe = createServerTracker({ apiKey: process.env.LOUPE_SECRET_KEY, host: '${host}' });
loupe.track({ user_id: 'user_123', item_id: 'SKU-1', interaction_type: 'purchase' });
await loupe.close();`;

  return (
    <Stack>
      <Title order={2}>Install on your site</Title>
      <Text size="sm" maw={760}>
        One script tag tracks page views and events (batched, retried, kept while offline, sent once), and renders recommendations with{' '}
        <Code>{'<loupe-recommendations>'}</Code>. It uses a site key: safe in your pages, limited to the sites you list.
      </Text>
      {keys.isPending ? (
        <Loading label="Loading your site keys" />
      ) : keys.error ? (
        <ErrorState error={keys.error} />
      ) : keys.data.length === 0 ? (
        <EmptyState title="Create a site key first">
          The snippet needs a site key for your store’s address.{' '}
          <Anchor component={Link} to="/settings/site-keys">
            Create one in Settings → Site keys
          </Anchor>
          .
        </EmptyState>
      ) : (
        <>
          {keys.data.length > 1 && (
            <Select
              label="Site key"
              maw={420}
              value={key?.id ?? null}
              onChange={setChosen}
              data={keys.data.map((k) => ({ value: k.id, label: `${k.name} (${k.allowed_origins.join(', ')})` }))}
            />
          )}
          <Text size="sm">
            Allowed sites: <strong>{key?.allowed_origins.join(', ')}</strong>.{' '}
            <Anchor component={Link} to="/settings/site-keys">
              Change them
            </Anchor>
          </Text>
          <Tabs defaultValue="script">
            <Tabs.List>
              <Tabs.Tab value="script">Script tag</Tabs.Tab>
              <Tabs.Tab value="npm">npm</Tabs.Tab>
              <Tabs.Tab value="server">Server</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="script" pt="sm">
              <Snippet code={tag} label="script" />
            </Tabs.Panel>
            <Tabs.Panel value="npm" pt="sm">
              <Snippet code={npm} label="npm" />
            </Tabs.Panel>
            <Tabs.Panel value="server" pt="sm">
              <Snippet code={server} label="server" />
            </Tabs.Panel>
          </Tabs>
          <Paper withBorder p="md" radius="md">
            <Title order={3} size="h4" mb="xs">
              Events arriving
            </Title>
            <EventsArriving />
          </Paper>
        </>
      )}
    </Stack>
  );
}
