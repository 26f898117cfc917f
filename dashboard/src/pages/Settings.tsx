import { useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Checkbox,
  Code,
  CopyButton,
  Group,
  Modal,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useLocation, useNavigate } from 'react-router';
import { api, ApiError, get } from '../api/client.ts';
import { ROLE_NAMES, SCOPES, type ApiKey, type AuditEntry, type CreatedApiKey, type Member, type Page } from '../api/types.ts';
import { fetchAllPages, PagedTable } from '../components/PagedTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { toCsv } from '../lib/csv.ts';
import { fmtDate, str } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';
import { MemberInvitations } from './settings/MemberInvitations.tsx';
import { PublicUrl } from './settings/PublicUrl.tsx';
import { Security } from './settings/Security.tsx';
import { SingleSignOn } from './settings/SingleSignOn.tsx';
import { RateLimits } from './settings/RateLimits.tsx';
import { Regional } from './settings/Regional.tsx';
import { SiteKeys } from './settings/SiteKeys.tsx';
import { Webhooks } from './settings/Webhooks.tsx';

const TABS = [
  { value: 'api-keys', label: 'API keys' },
  { value: 'site-keys', label: 'Site keys' },
  { value: 'members', label: 'Members and roles' },
  { value: 'security', label: 'Security' },
  { value: 'sso', label: 'Single sign-on' },
  { value: 'rate-limits', label: 'Rate limits' },
  { value: 'public-url', label: 'Public address' },
  { value: 'webhooks', label: 'Webhooks' },
  { value: 'regional', label: 'Currency and region' },
  { value: 'audit', label: 'Audit log' },
];

export default function SettingsPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const tab = TABS.find((t) => location.pathname.endsWith(`/${t.value}`))?.value ?? 'api-keys';
  return (
    <Stack>
      <Title order={2}>Settings</Title>
      <Tabs value={tab} onChange={(v) => v && navigate(`/settings/${v}`)} keepMounted={false}>
        <Tabs.List>
          {TABS.map((t) => (
            <Tabs.Tab key={t.value} value={t.value}>
              {t.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="api-keys" pt="md">
          <ApiKeys />
        </Tabs.Panel>
        <Tabs.Panel value="site-keys" pt="md">
          <SiteKeys />
        </Tabs.Panel>
        <Tabs.Panel value="members" pt="md">
          <Members />
        </Tabs.Panel>
        <Tabs.Panel value="security" pt="md">
          <Security />
        </Tabs.Panel>
        <Tabs.Panel value="sso" pt="md">
          <SingleSignOn />
        </Tabs.Panel>
        <Tabs.Panel value="rate-limits" pt="md">
          <RateLimits />
        </Tabs.Panel>
        <Tabs.Panel value="public-url" pt="md">
          <PublicUrl />
        </Tabs.Panel>
        <Tabs.Panel value="webhooks" pt="md">
          <Webhooks />
        </Tabs.Panel>
        <Tabs.Panel value="regional" pt="md">
          <Regional />
        </Tabs.Panel>
        <Tabs.Panel value="audit" pt="md">
          <AuditLog />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.details.length ? `${e.message} ${e.details.map((d) => str(d)).join('; ')}` : e.message;
  return 'Something went wrong.';
}

function ApiKeys() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [f, setF] = useParams(['revoked'] as const);
  const includeRevoked = f.revoked === '1';
  const keys = useQuery({
    queryKey: ['api-keys', tenantId, includeRevoked],
    queryFn: ({ signal }) => get<{ data: ApiKey[] }>('/api/v1/api-keys', { include_revoked: includeRevoked ? 'true' : 'false' }, signal),
  });
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['recommendations:read', 'interactions:write']);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const create = useMutation({
    meta: { success: 'API key created' },
    mutationFn: () => api<CreatedApiKey>('POST', '/api/v1/api-keys', { body: { name, kind: 'secret', scopes } }),
    onSuccess: (k) => {
      setCreated(k);
      setName('');
      void qc.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api<void>('DELETE', `/api/v1/api-keys/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['api-keys'] }),
  });

  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack gap="sm" maw={640}>
          <Title order={3} size="h4">
            Create an API key
          </Title>
          <TextInput
            label="Name"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            required
            maxLength={100}
            placeholder="Storefront"
          />
          <Checkbox.Group
            label="Scopes"
            value={scopes}
            onChange={setScopes}
            description="What the key may do. `admin` grants every tenant permission but key and member management."
          >
            <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }} mt="xs">
              {SCOPES.map((s) => (
                <Checkbox key={s} value={s} label={s} />
              ))}
            </SimpleGrid>
          </Checkbox.Group>
          {create.error && (
            <Alert color="red" role="alert">
              {errorText(create.error)}
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={create.isPending} disabled={!name || scopes.length === 0}>
              Create key
            </Button>
          </Group>
        </Stack>
      </form>
      <Modal opened={created !== null} onClose={() => setCreated(null)} title="Your new API key" centered size="lg">
        {created && (
          <Stack>
            <Alert color="yellow" title="Copy it now">
              This secret is shown only once. Store it somewhere safe: Loupe keeps only a hash.
            </Alert>
            <Code block data-testid="new-api-key" className="mono">
              {created.api_key}
            </Code>
            <Text size="sm">Scopes: {created.scopes.join(', ')}</Text>
            <Group justify="flex-end">
              <CopyButton value={created.api_key}>
                {({ copied, copy }) => (
                  <Button onClick={copy} variant="light">
                    {copied ? 'Copied' : 'Copy'}
                  </Button>
                )}
              </CopyButton>
              <Button onClick={() => setCreated(null)}>I have stored it</Button>
            </Group>
          </Stack>
        )}
      </Modal>
      <Group justify="space-between">
        <Title order={3} size="h4">
          Keys
        </Title>
        <Switch
          label="Show revoked keys"
          checked={includeRevoked}
          onChange={(e) => setF({ revoked: e.currentTarget.checked ? '1' : null })}
        />
      </Group>
      {keys.isLoading ? (
        <Loading />
      ) : keys.error ? (
        <ErrorState error={keys.error} />
      ) : keys.data!.data.length === 0 ? (
        <EmptyState title="No API keys yet">Create one above to send events and ask for recommendations from your store.</EmptyState>
      ) : (
        <div className="table-scroll">
          <Table striped data-testid="api-keys-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Prefix</Table.Th>
                <Table.Th>Scopes</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Created by</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data!.data.map((k) => (
                <Table.Tr key={k.id}>
                  <Table.Td>{k.name}</Table.Td>
                  <Table.Td className="mono">{k.key_prefix}…</Table.Td>
                  <Table.Td>{k.scopes.join(', ')}</Table.Td>
                  <Table.Td>{fmtDate(k.created_at)}</Table.Td>
                  <Table.Td title={k.created_by_email ?? undefined}>{k.created_by_name || k.created_by_email || '—'}</Table.Td>
                  <Table.Td>{fmtDate(k.last_used_at)}</Table.Td>
                  <Table.Td>{k.revoked_at ? <Badge color="gray">revoked</Badge> : <Badge color="green">active</Badge>}</Table.Td>
                  <Table.Td>
                    {!k.revoked_at && (
                      <Button
                        size="xs"
                        color="red"
                        variant="light"
                        aria-label={`Revoke ${k.name}`}
                        loading={revoke.isPending && revoke.variables === k.id}
                        onClick={() => {
                          if (confirm(`Revoke the key "${k.name}"? Requests using it stop working at once.`)) revoke.mutate(k.id);
                        }}
                      >
                        Revoke
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      {revoke.error && (
        <Alert color="red" role="alert">
          {errorText(revoke.error)}
        </Alert>
      )}
    </Stack>
  );
}

function Members() {
  const { tenantId, data } = useSession();
  const qc = useQueryClient();
  const members = useQuery({
    queryKey: ['members', tenantId],
    queryFn: ({ signal }) => get<{ data: Member[] }>('/api/v1/members', undefined, signal),
  });
  const invalidate = () => void qc.invalidateQueries({ queryKey: ['members'] });
  const change = useMutation({
    mutationFn: (v: { id: string; role: string }) => api('PATCH', `/api/v1/members/${v.id}`, { body: { role: v.role } }),
    onSuccess: invalidate,
  });
  // Removing a member: the API keys they created are revoked, or (an owner's choice) handed to another member.
  const [removing, setRemoving] = useState<Member | null>(null);
  const [keysTo, setKeysTo] = useState<string>('revoke');
  const remove = useMutation({
    mutationFn: (v: { id: string; keysTo: string }) =>
      api('DELETE', `/api/v1/members/${v.id}`, {
        query: v.keysTo === 'revoke' ? { api_keys: 'revoke' } : { api_keys: 'reassign', reassign_to: v.keysTo },
      }),
    onSuccess: () => {
      setRemoving(null);
      invalidate();
      void qc.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const isOwner = data?.tenants.find((t) => t.id === tenantId)?.role === 'owner' || !!data?.user.is_platform_admin;
  const roles = ROLE_NAMES.map((r) => ({ value: r, label: r }));

  return (
    <Stack>
      <MemberInvitations />
      <Title order={3} size="h4">
        Members
      </Title>
      {change.error && (
        <Alert color="red" role="alert">
          {errorText(change.error)}
        </Alert>
      )}
      {members.isLoading ? (
        <Loading />
      ) : members.error ? (
        <ErrorState error={members.error} />
      ) : (
        <div className="table-scroll">
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>E-mail</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Last sign-in</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {members.data!.data.map((m) => (
                <Table.Tr key={m.user_id}>
                  <Table.Td>{m.email}</Table.Td>
                  <Table.Td>
                    <Select
                      aria-label={`Role of ${m.email}`}
                      size="xs"
                      w={120}
                      data={roles}
                      value={m.role}
                      allowDeselect={false}
                      disabled={m.user_id === data?.user.id}
                      onChange={(v) => v && v !== m.role && change.mutate({ id: m.user_id, role: v })}
                    />
                  </Table.Td>
                  <Table.Td>{m.membership_status === 'invited' ? <Badge color="blue">invited</Badge> : m.status}</Table.Td>
                  <Table.Td>{fmtDate(m.last_login_at)}</Table.Td>
                  <Table.Td>
                    {m.user_id !== data?.user.id && (
                      <Button
                        size="xs"
                        color="red"
                        variant="light"
                        aria-label={`Remove ${m.email}`}
                        onClick={() => {
                          setKeysTo('revoke');
                          remove.reset();
                          setRemoving(m);
                        }}
                      >
                        Remove
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      <Modal opened={removing !== null} onClose={() => setRemoving(null)} title={removing ? `Remove ${removing.email}?` : ''} centered>
        {removing && (
          <Stack>
            <Text size="sm">
              {removing.membership_status === 'invited'
                ? 'The invitation is withdrawn.'
                : 'They lose access to this tenant at once. The API keys they created here:'}
            </Text>
            {removing.membership_status !== 'invited' && (
              <Select
                label="Their API keys"
                data={[
                  { value: 'revoke', label: 'Revoke them (they stop working at once)' },
                  ...(isOwner
                    ? members
                        .data!.data.filter((x) => x.user_id !== removing.user_id && x.membership_status === 'active')
                        .map((x) => ({ value: x.user_id, label: `Hand them to ${x.email}` }))
                    : []),
                ]}
                value={keysTo}
                onChange={(v) => v && setKeysTo(v)}
                allowDeselect={false}
                description={isOwner ? undefined : 'Only an owner can hand them to someone else.'}
              />
            )}
            {remove.error && (
              <Alert color="red" role="alert">
                {errorText(remove.error)}
              </Alert>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setRemoving(null)}>
                Cancel
              </Button>
              <Button color="red" loading={remove.isPending} onClick={() => remove.mutate({ id: removing.user_id, keysTo })}>
                Remove member
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
    </Stack>
  );
}

/**
 * People and keys by id for the audit log: the members and the API keys (revoked included), one call each per
 * visit, not per row. A role that cannot list them sees ids, as before.
 */
function useAuditNames(): Map<string, string> {
  const { tenantId } = useSession();
  const members = useQuery({
    queryKey: ['members', tenantId],
    queryFn: ({ signal }) => get<{ data: Member[] }>('/api/v1/members', undefined, signal),
    retry: false,
    staleTime: 60_000,
  });
  const keys = useQuery({
    queryKey: ['api-keys', tenantId, true],
    queryFn: ({ signal }) => get<{ data: ApiKey[] }>('/api/v1/api-keys', { include_revoked: 'true' }, signal),
    retry: false,
    staleTime: 60_000,
  });
  const out = new Map<string, string>();
  for (const m of members.data?.data ?? []) out.set(m.user_id, m.name ? `${m.name} <${m.email}>` : m.email);
  for (const k of keys.data?.data ?? []) out.set(k.id, `key “${k.name}” (${k.key_prefix}…)`);
  return out;
}

const AUDIT_FILTERS = ['action', 'resource_type', 'outcome', 'actor_id', 'from', 'to', 'sort', 'offset'] as const;
/** Entries a page shows; the server caps offsets at 10,000 (AUDIT_OFFSET_MAX), the export stops there too. */
const AUDIT_PAGE = 50;
const AUDIT_OFFSET_CAP = 10_000;
type AuditPage = Page<AuditEntry> & { total: number };

function AuditLog() {
  const { tenantId } = useSession();
  const [f, setF] = useParams(AUDIT_FILTERS);
  const sort = f.sort || '-created_at';
  const offset = Math.min(AUDIT_OFFSET_CAP, Math.max(0, Number.parseInt(f.offset, 10) || 0));
  const filters = {
    action: f.action || undefined,
    resource_type: f.resource_type || undefined,
    outcome: f.outcome || undefined,
    actor_id: f.actor_id || undefined,
    from: f.from ? new Date(f.from).toISOString() : undefined,
    to: f.to ? new Date(f.to).toISOString() : undefined,
  };
  const logs = useQuery({
    queryKey: ['audit', tenantId, filters, sort, offset],
    queryFn: ({ signal }) => get<AuditPage>('/api/v1/audit/logs', { ...filters, sort, offset, limit: AUDIT_PAGE }, signal),
    placeholderData: keepPreviousData,
  });
  const who = useAuditNames();
  const set = (patch: Partial<Record<(typeof AUDIT_FILTERS)[number], string | null>>) => setF({ ...patch, offset: null });
  const rows = logs.data?.data ?? [];
  const actor = (e: AuditEntry) => (e.actor_id && who.get(e.actor_id)) || `${e.actor_type} ${e.actor_id ?? ''}`.trim();
  const exportRows = async () => {
    const all = await fetchAllPages(
      (from, limit) => get<AuditPage>('/api/v1/audit/logs', { ...filters, sort, offset: from, limit }),
      AUDIT_OFFSET_CAP,
    );
    const csv = toCsv(
      all.rows.map((e) => ({ ...e, actor: actor(e) })),
      [
        { key: 'created_at', label: 'When' },
        { key: 'action', label: 'Action' },
        { key: 'resource_type', label: 'Resource type' },
        { key: 'resource_id', label: 'Resource' },
        { key: 'actor', label: 'Actor' },
        { key: 'outcome', label: 'Outcome' },
        { key: 'status_code', label: 'Status' },
        { key: 'ip', label: 'IP' },
      ],
    );
    return { csv, truncated: all.truncated };
  };
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, xs: 2, md: 6 }}>
        <TextInput label="Action" placeholder="api_key.create" value={f.action} onChange={(e) => set({ action: e.currentTarget.value })} />
        <TextInput
          label="Resource type"
          placeholder="api_key"
          value={f.resource_type}
          onChange={(e) => set({ resource_type: e.currentTarget.value })}
        />
        <Select
          label="Outcome"
          data={[
            { value: 'success', label: 'success' },
            { value: 'failure', label: 'failure' },
          ]}
          value={f.outcome || null}
          onChange={(v) => set({ outcome: v })}
          clearable
          placeholder="any"
        />
        <TextInput label="Actor id" value={f.actor_id} onChange={(e) => set({ actor_id: e.currentTarget.value })} />
        <TextInput label="From" type="datetime-local" value={f.from} onChange={(e) => set({ from: e.currentTarget.value })} />
        <TextInput label="To" type="datetime-local" value={f.to} onChange={(e) => set({ to: e.currentTarget.value })} />
      </SimpleGrid>
      {logs.isPending ? (
        <Loading />
      ) : logs.error ? (
        <ErrorState error={logs.error} />
      ) : rows.length === 0 && offset === 0 ? (
        <EmptyState title="No audit entries match">Sensitive actions (keys, members, imports, deployments) are recorded here.</EmptyState>
      ) : (
        <PagedTable
          testId="audit-table"
          rows={rows}
          stale={logs.isPlaceholderData}
          total={logs.data?.total ?? rows.length}
          page={{ sort, offset, limit: AUDIT_PAGE }}
          onPage={(next) =>
            setF({
              ...(next.sort ? { sort: next.sort === '-created_at' ? null : next.sort } : {}),
              offset: next.offset ? String(next.offset) : null,
            })
          }
          exportRows={exportRows}
          exportName="audit-log.csv"
          rowKey={(e) => e.id}
          columns={[
            { key: 'created_at', label: 'When', sort: 'created_at', render: (e) => fmtDate(e.created_at) },
            { key: 'action', label: 'Action', sort: 'action', render: (e) => e.action },
            {
              key: 'resource',
              label: 'Resource',
              render: (e) => (
                <>
                  {e.resource_type ?? '—'}{' '}
                  {e.resource_id ? (
                    who.get(e.resource_id) ? (
                      <span title={e.resource_id}>{who.get(e.resource_id)}</span>
                    ) : (
                      <span className="mono">{e.resource_id}</span>
                    )
                  ) : (
                    ''
                  )}
                </>
              ),
            },
            {
              key: 'actor',
              label: 'Actor',
              sort: 'actor_type',
              render: (e) => (
                <span data-testid="audit-actor">
                  {e.actor_id && who.get(e.actor_id) ? (
                    <span title={`${e.actor_type} ${e.actor_id}`}>{who.get(e.actor_id)}</span>
                  ) : (
                    <span className="mono">
                      {e.actor_type} {e.actor_id ?? ''}
                    </span>
                  )}
                </span>
              ),
            },
            {
              key: 'outcome',
              label: 'Outcome',
              sort: 'outcome',
              render: (e) => (
                <>
                  <Badge color={e.outcome === 'success' ? 'green' : 'red'} variant="light">
                    {e.outcome}
                  </Badge>{' '}
                  {e.status_code ?? ''}
                </>
              ),
            },
            { key: 'ip', label: 'IP', render: (e) => e.ip ?? '—' },
          ]}
        />
      )}
    </Stack>
  );
}
