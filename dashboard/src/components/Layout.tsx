import type { ReactNode } from 'react';
import { PendingInvitations } from './Invitations.tsx';
import { AppShell, Burger, Button, Group, NavLink, ScrollArea, Select, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, useLocation, useNavigate } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { get } from '../api/client.ts';
import type { RegionalResponse } from '../api/types.ts';
import { setRegional } from '../lib/format.ts';
import { useSession } from '../session.tsx';

const NAV = [
  { to: '/', label: 'Home' },
  { to: '/analytics', label: 'Analytics' },
  { to: '/analytics/behaviour', label: 'Retention & paths' },
  { to: '/analytics/cohorts', label: 'Cohorts' },
  { to: '/catalog', label: 'Catalog' },
  { to: '/import', label: 'Import' },
  { to: '/data', label: 'Data & exports' },
  { to: '/customers', label: 'Customers' },
  { to: '/orders', label: 'Orders' },
  { to: '/promotions', label: 'Promotions' },
  { to: '/recommendations', label: 'Recommendations' },
  { to: '/predictions', label: 'Predictions' },
  { to: '/pricing', label: 'Pricing' },
  { to: '/newsfeed', label: 'Newsfeed' },
  { to: '/sponsored', label: 'Sponsored' },
  { to: '/experiments', label: 'Experiments' },
  { to: '/install', label: 'Install on your site' },
  { to: '/integrations', label: 'Integrations' },
  { to: '/visibility', label: 'Visibility' },
  { to: '/billing', label: 'Billing' },
  { to: '/settings', label: 'Settings' },
];

export function Layout({ children }: { children: ReactNode }) {
  const [opened, { toggle, close }] = useDisclosure();
  const { data, tenantId, setTenant, signOut } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  const items = data?.user.is_platform_admin ? [...NAV, { to: '/admin', label: 'Platform admin' }] : NAV;
  // The longest item the path starts with is the active one (/analytics/behaviour is not also /analytics).
  const matches = (to: string) =>
    to === '/' ? location.pathname === '/' : location.pathname === to || location.pathname.startsWith(`${to}/`);
  const current = items.filter((i) => matches(i.to)).sort((a, b) => b.to.length - a.to.length)[0]?.to;
  const active = (to: string) => to === current;
  // The tenant's currency, locale and time zone format every page: pages wait for them (a failure keeps the defaults).
  const regional = useQuery({
    queryKey: ['regional', tenantId],
    queryFn: ({ signal }) => get<RegionalResponse>('/api/v1/settings/regional', undefined, signal),
    enabled: !!tenantId,
    staleTime: 5 * 60_000,
  });
  if (regional.data) setRegional(regional.data);
  const ready = !tenantId || !regional.isPending;

  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 230, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label={opened ? 'Close navigation' : 'Open navigation'}
            />
            <Title order={1} size="h3">
              Loupe
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            {data && data.tenants.length > 0 && (
              <Select
                aria-label="Tenant"
                data-testid="tenant-switcher"
                size="xs"
                w={{ base: 140, sm: 220 }}
                data={data.tenants.map((t) => ({ value: t.id, label: `${t.name} (${t.role})` }))}
                value={tenantId}
                allowDeselect={false}
                onChange={(v) => v && setTenant(v)}
                comboboxProps={{ withinPortal: true }}
              />
            )}
            <Text size="sm" visibleFrom="md" c="dimmed">
              {data?.user.email}
            </Text>
            <Button
              size="xs"
              variant="default"
              onClick={async () => {
                await signOut();
                navigate('/sign-in');
              }}
            >
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        {/* The list outgrows a laptop screen's height: it scrolls on its own, the page stays where it is. */}
        <AppShell.Section grow component={ScrollArea} type="auto">
          {items.map((item) => (
            <NavLink
              key={item.to}
              component={Link}
              to={item.to}
              label={item.label}
              active={active(item.to)}
              onClick={close}
              aria-current={active(item.to) ? 'page' : undefined}
            />
          ))}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main id="main">
        <PendingInvitations />
        {/* Pages wait for the settings so their first drawing is in the tenant's currency, locale and zone. */}
        {ready ? children : null}
      </AppShell.Main>
    </AppShell>
  );
}
