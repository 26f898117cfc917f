import { useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Group,
  NumberInput,
  PasswordInput,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useLocation, useNavigate } from 'react-router';
import { api, ApiError, get } from '../api/client.ts';
import { ROLE_NAMES, type CreateTenantBody, type CreateUserBody, type Page, type Tenant, type User } from '../api/types.ts';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { fmtDate, str } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';

const errorText = (e: unknown) =>
  e instanceof ApiError ? `${e.message}${e.details.length ? ` ${e.details.map(str).join('; ')}` : ''}` : 'Something went wrong.';

export default function AdminPage() {
  const { data } = useSession();
  const location = useLocation();
  const navigate = useNavigate();
  if (data && !data.user.is_platform_admin)
    return <EmptyState title="Platform administrators only">Your account does not administer this Loupe server.</EmptyState>;
  const tab = location.pathname.endsWith('/users') ? 'users' : 'tenants';
  return (
    <Stack>
      <Title order={2}>Platform admin</Title>
      <Tabs value={tab} onChange={(v) => v && navigate(`/admin/${v}`)} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="tenants">Tenants</Tabs.Tab>
          <Tabs.Tab value="users">Users</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="tenants" pt="md">
          <Tenants />
        </Tabs.Panel>
        <Tabs.Panel value="users" pt="md">
          <Users />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Tenants() {
  const qc = useQueryClient();
  const [f, setF] = useParams(['q', 'status'] as const);
  const list = useQuery({
    queryKey: ['admin-tenants', f],
    queryFn: ({ signal }) => get<Page<Tenant>>('/api/v1/admin/tenants', { q: f.q, status: f.status, limit: 100 }, signal),
  });
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const invalidate = () => {
    void qc.invalidateQueries({ queryKey: ['admin-tenants'] });
    void qc.invalidateQueries({ queryKey: ['session'] });
  };
  const create = useMutation({
    mutationFn: () =>
      api<Tenant>('POST', '/api/v1/admin/tenants', { body: { name, ...(slug ? { slug } : {}) } satisfies CreateTenantBody }),
    onSuccess: () => {
      setName('');
      setSlug('');
      invalidate();
    },
  });
  const setStatus = useMutation({
    mutationFn: (v: { id: string; action: 'suspend' | 'activate' }) => api('POST', `/api/v1/admin/tenants/${v.id}/${v.action}`),
    onSuccess: invalidate,
  });
  const setLimit = useMutation({
    mutationFn: (v: { t: Tenant; rpm: number }) =>
      api('PATCH', `/api/v1/admin/tenants/${v.t.id}`, {
        // keeps the per-class limits (serving, ingest) set under Settings → Rate limits
        body: {
          settings: {
            ...v.t.settings,
            rate_limit: { ...(v.t.settings.rate_limit as object | undefined), requests_per_minute: v.rpm, burst: 0 },
          },
        },
      }),
    onSuccess: invalidate,
  });

  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Group align="flex-end">
          <TextInput label="New tenant name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          <TextInput label="Slug (optional)" value={slug} onChange={(e) => setSlug(e.currentTarget.value)} />
          <Button type="submit" loading={create.isPending}>
            Create tenant
          </Button>
        </Group>
      </form>
      {(create.error || setStatus.error || setLimit.error) && (
        <Alert color="red" role="alert">
          {errorText(create.error ?? setStatus.error ?? setLimit.error)}
        </Alert>
      )}
      <Group align="flex-end">
        <TextInput label="Search" value={f.q} onChange={(e) => setF({ q: e.currentTarget.value })} placeholder="name or slug" />
        <Select
          label="Status"
          data={['active', 'suspended']}
          value={f.status || null}
          onChange={(v) => setF({ status: v })}
          clearable
          placeholder="any"
        />
      </Group>
      {list.isLoading ? (
        <Loading />
      ) : list.error ? (
        <ErrorState error={list.error} />
      ) : list.data!.data.length === 0 ? (
        <EmptyState title="No tenants match" />
      ) : (
        <div className="table-scroll">
          <Table striped data-testid="tenants-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Slug</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Requests / min</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data!.data.map((t) => {
                const rpm = (t.settings.rate_limit as { requests_per_minute?: number } | undefined)?.requests_per_minute;
                return (
                  <Table.Tr key={t.id}>
                    <Table.Td>{t.name}</Table.Td>
                    <Table.Td className="mono">{t.slug}</Table.Td>
                    <Table.Td>
                      <Badge color={t.status === 'active' ? 'green' : 'orange'} variant="light">
                        {t.status}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <NumberInput
                        aria-label={`Requests per minute for ${t.name}`}
                        size="xs"
                        w={110}
                        min={1}
                        placeholder="default"
                        defaultValue={rpm}
                        onBlur={(e) => {
                          const v = Number(e.currentTarget.value);
                          if (v > 0 && v !== rpm) setLimit.mutate({ t, rpm: v });
                        }}
                      />
                    </Table.Td>
                    <Table.Td>{fmtDate(t.created_at)}</Table.Td>
                    <Table.Td>
                      <Button
                        size="xs"
                        variant="light"
                        color={t.status === 'active' ? 'orange' : 'green'}
                        onClick={() => setStatus.mutate({ id: t.id, action: t.status === 'active' ? 'suspend' : 'activate' })}
                      >
                        {t.status === 'active' ? 'Suspend' : 'Activate'}
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </div>
      )}
    </Stack>
  );
}

function Users() {
  const tenants = useQuery({
    queryKey: ['admin-tenants', 'all'],
    queryFn: ({ signal }) => get<Page<Tenant>>('/api/v1/admin/tenants', { limit: 200 }, signal),
  });
  const [form, setForm] = useState({ email: '', password: '', name: '', tenant_id: '', role: 'admin', is_platform_admin: false });
  const [created, setCreated] = useState<User[]>([]);
  const create = useMutation({
    mutationFn: () => {
      const body: CreateUserBody = {
        email: form.email,
        password: form.password,
        ...(form.name ? { name: form.name } : {}),
        ...(form.tenant_id ? { tenant_id: form.tenant_id, role: form.role as CreateUserBody['role'] } : {}),
        ...(form.is_platform_admin ? { is_platform_admin: true } : {}),
      };
      return api<User>('POST', '/api/v1/admin/users', { body });
    },
    onSuccess: (u) => {
      setCreated((c) => [u, ...c]);
      setForm((f) => ({ ...f, email: '', password: '', name: '' }));
    },
  });
  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack maw={720} gap="sm">
          <Title order={3} size="h4">
            Create a user
          </Title>
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <TextInput
              label="E-mail"
              type="email"
              value={form.email}
              onChange={(e) => setForm({ ...form, email: e.currentTarget.value })}
              required
            />
            <PasswordInput
              label="Password"
              value={form.password}
              onChange={(e) => setForm({ ...form, password: e.currentTarget.value })}
              required
              autoComplete="new-password"
              description="At least 8 characters"
            />
            <TextInput label="Name" value={form.name} onChange={(e) => setForm({ ...form, name: e.currentTarget.value })} />
            <Select
              label="Tenant"
              placeholder={tenants.isLoading ? 'Loading…' : 'none'}
              data={(tenants.data?.data ?? []).map((t) => ({ value: t.id, label: t.name }))}
              value={form.tenant_id || null}
              onChange={(v) => setForm({ ...form, tenant_id: v ?? '' })}
              clearable
              searchable
            />
            <Select
              label="Role in that tenant"
              data={[...ROLE_NAMES]}
              value={form.role}
              onChange={(v) => v && setForm({ ...form, role: v })}
              disabled={!form.tenant_id}
              allowDeselect={false}
            />
            <Checkbox
              mt="xl"
              label="Platform administrator"
              checked={form.is_platform_admin}
              onChange={(e) => setForm({ ...form, is_platform_admin: e.currentTarget.checked })}
            />
          </SimpleGrid>
          {create.error && (
            <Alert color="red" role="alert">
              {errorText(create.error)}
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create user
            </Button>
          </Group>
        </Stack>
      </form>
      <Text size="sm" c="dimmed">
        This server has no endpoint that lists every user yet; each tenant’s members are under Settings → Members. Users created in this
        session:
      </Text>
      {created.length === 0 ? (
        <Text size="sm">None yet.</Text>
      ) : (
        <Table>
          <Table.Tbody>
            {created.map((u) => (
              <Table.Tr key={u.id}>
                <Table.Td>{u.email}</Table.Td>
                <Table.Td>{u.role ?? '—'}</Table.Td>
                <Table.Td>{u.is_platform_admin ? 'platform admin' : ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
