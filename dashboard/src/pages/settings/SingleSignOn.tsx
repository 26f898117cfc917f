import { useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Modal, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { toCsv } from '../../lib/csv.ts';
import { downloadCsvText } from '../../lib/download.ts';
import { fmtDate } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

interface SsoProvider {
  id: string;
  name: string;
  issuer: string;
  client_id: string;
  allowed_domains: string[];
  default_role: string;
  provisioning: 'jit' | 'invite_only';
  enabled: boolean;
  linked_accounts?: number;
  created_at: string;
}
interface SsoSettings {
  providers: SsoProvider[];
  require_sso: boolean;
  redirect_uri: string;
}
interface TestResult {
  issuer: string;
  authorization_endpoint: string | null;
  supports_pkce_s256: boolean;
}
interface Draft {
  id: string | null;
  name: string;
  issuer: string;
  client_id: string;
  client_secret: string;
  allowed_domains: string;
  provisioning: 'jit' | 'invite_only';
  default_role: string;
  enabled: boolean;
}

const errorText = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong. Try again.');
const fieldError = (e: unknown, field: string): string | undefined =>
  e instanceof ApiError ? (e.details as { field?: string; message?: string }[]).find((d) => d.field === field)?.message : undefined;
const EMPTY: Draft = {
  id: null,
  name: '',
  issuer: '',
  client_id: '',
  client_secret: '',
  allowed_domains: '',
  provisioning: 'invite_only',
  default_role: 'viewer',
  enabled: true,
};

/** Settings → Single sign-on: the store's OpenID Connect providers, a connection test, and the rule requiring SSO. */
export function SingleSignOn() {
  const qc = useQueryClient();
  const { tenant } = useSession();
  const q = useQuery({ queryKey: ['sso'], queryFn: ({ signal }) => get<SsoSettings>('/api/v1/sso/providers', undefined, signal) });
  const [draft, setDraft] = useState<Draft | null>(null);
  const [tested, setTested] = useState<Record<string, { ok: true; r: TestResult } | { ok: false; message: string }>>({});
  const [removing, setRemoving] = useState<SsoProvider | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: ['sso'] });
  const save = useMutation({
    mutationFn: (d: Draft) =>
      api<SsoProvider>(d.id ? 'PUT' : 'POST', d.id ? `/api/v1/sso/providers/${d.id}` : '/api/v1/sso/providers', {
        body: {
          name: d.name,
          issuer: d.issuer,
          client_id: d.client_id,
          ...(d.client_secret ? { client_secret: d.client_secret } : {}),
          allowed_domains: d.allowed_domains
            .split(/[\s,]+/)
            .map((x) => x.trim())
            .filter(Boolean),
          provisioning: d.provisioning,
          default_role: d.default_role,
          enabled: d.enabled,
        },
      }),
    onSuccess: () => {
      setDraft(null);
      refresh();
    },
  });
  const test = useMutation({
    mutationFn: (id: string) => api<TestResult>('POST', `/api/v1/sso/providers/${id}/test`),
    onSuccess: (r, id) => setTested((t) => ({ ...t, [id]: { ok: true, r } })),
    onError: (e, id) => setTested((t) => ({ ...t, [id]: { ok: false, message: errorText(e) } })),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api/v1/sso/providers/${id}`),
    onSuccess: () => {
      setRemoving(null);
      refresh();
    },
  });
  const policy = useMutation({
    mutationFn: (on: boolean) => api<{ require_sso: boolean }>('PUT', '/api/v1/tenant/sso-policy', { body: { require_sso: on } }),
    onSuccess: refresh,
  });

  if (q.isLoading) return <Loading label="Loading single sign-on" />;
  if (q.error) return <ErrorState error={q.error} feature="Single sign-on" />;
  const s = q.data!;
  const signInLink = tenant ? `${window.location.origin}/sign-in?store=${encodeURIComponent(tenant.slug)}` : null;

  return (
    <Stack maw={900}>
      <div>
        <Title order={3}>Single sign-on</Title>
        <Text size="sm" c="dimmed">
          Let your team sign in with your company's identity provider (OpenID Connect: Okta, Microsoft Entra ID, Google Workspace,
          Keycloak…). Register Loupe at the provider as a web application with this redirect URI, then add the provider here.
        </Text>
      </div>
      <Group gap="xs">
        <Text size="sm">Redirect URI:</Text>
        <Code data-testid="sso-redirect-uri">{s.redirect_uri}</Code>
        <CopyButton value={s.redirect_uri}>
          {({ copied, copy }) => (
            <Button size="compact-xs" variant="light" onClick={copy}>
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Group>
      {signInLink && (
        <Text size="sm">
          Your team's sign-in link: <Code>{signInLink}</Code>
        </Text>
      )}
      <Group justify="space-between">
        <Title order={4}>Identity providers</Title>
        <Group>
          {s.providers.length > 0 && (
            <Button
              variant="default"
              size="xs"
              onClick={() =>
                downloadCsvText(
                  'sso-providers.csv',
                  toCsv(
                    s.providers.map((p) => ({
                      name: p.name,
                      issuer: p.issuer,
                      client_id: p.client_id,
                      allowed_domains: p.allowed_domains.join(' '),
                      provisioning: p.provisioning,
                      default_role: p.default_role,
                      enabled: p.enabled,
                      linked_accounts: p.linked_accounts ?? 0,
                    })),
                    ['name', 'issuer', 'client_id', 'allowed_domains', 'provisioning', 'default_role', 'enabled', 'linked_accounts'].map(
                      (k) => ({ key: k, label: k }),
                    ),
                  ),
                )
              }
            >
              Export CSV
            </Button>
          )}
          <Button size="xs" onClick={() => setDraft({ ...EMPTY })}>
            Add a provider
          </Button>
        </Group>
      </Group>
      {s.providers.length === 0 ? (
        <EmptyState title="No identity provider yet">
          Add one to show a "Sign in with …" button on the sign-in page for this store.
        </EmptyState>
      ) : (
        <DataTable
          testId="sso-providers"
          rows={s.providers}
          rowKey={(p) => p.id}
          columns={[
            {
              key: 'name',
              label: 'Provider',
              render: (p) => (
                <Stack gap={0}>
                  <Text size="sm" fw={500}>
                    {p.name} {!p.enabled && <Badge color="gray">off</Badge>}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {p.issuer}
                  </Text>
                </Stack>
              ),
            },
            {
              key: 'policy',
              label: 'Who may sign in',
              render: (p) =>
                p.provisioning === 'jit'
                  ? `Anyone verified at ${p.allowed_domains.join(', ')} (joins as ${p.default_role})`
                  : `Invited people only${p.allowed_domains.length ? ` at ${p.allowed_domains.join(', ')}` : ''}`,
            },
            { key: 'linked_accounts', label: 'Linked accounts' },
            { key: 'created_at', label: 'Added', render: (p) => fmtDate(p.created_at) },
            {
              key: 'actions',
              label: '',
              render: (p) => {
                const t = tested[p.id];
                return (
                  <Stack gap={4}>
                    <Group gap="xs" wrap="nowrap">
                      <Button
                        size="compact-xs"
                        variant="light"
                        loading={test.isPending && test.variables === p.id}
                        onClick={() => test.mutate(p.id)}
                      >
                        Test connection
                      </Button>
                      <Button
                        size="compact-xs"
                        variant="default"
                        onClick={() =>
                          setDraft({
                            id: p.id,
                            name: p.name,
                            issuer: p.issuer,
                            client_id: p.client_id,
                            client_secret: '',
                            allowed_domains: p.allowed_domains.join(', '),
                            provisioning: p.provisioning,
                            default_role: p.default_role,
                            enabled: p.enabled,
                          })
                        }
                      >
                        Edit
                      </Button>
                      <Button size="compact-xs" color="red" variant="subtle" onClick={() => setRemoving(p)}>
                        Remove
                      </Button>
                    </Group>
                    {t && (
                      <Text size="xs" c={t.ok ? 'green' : 'red'} role="status" data-testid="sso-test-result">
                        {t.ok ? `Connected: ${t.r.issuer}${t.r.supports_pkce_s256 ? ' (PKCE supported)' : ''}` : t.message}
                      </Text>
                    )}
                  </Stack>
                );
              },
            },
          ]}
        />
      )}
      <Switch
        label="Require single sign-on for members (owners keep their password, so a provider outage cannot lock the store out)"
        checked={s.require_sso}
        disabled={policy.isPending}
        onChange={(e) => policy.mutate(e.currentTarget.checked)}
      />
      {policy.error && (
        <Alert color="red" role="alert">
          {errorText(policy.error)}
        </Alert>
      )}

      <Modal
        opened={!!draft}
        onClose={() => setDraft(null)}
        title={draft?.id ? 'Edit identity provider' : 'Add an identity provider'}
        size="lg"
      >
        {draft && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate(draft);
            }}
          >
            <Stack>
              {save.error && !(save.error instanceof ApiError && save.error.details.length) && (
                <Alert color="red" role="alert">
                  {errorText(save.error)}
                </Alert>
              )}
              <TextInput
                label="Name on the sign-in button"
                placeholder="Acme Okta"
                required
                value={draft.name}
                onChange={(e) => setDraft({ ...draft, name: e.currentTarget.value })}
                error={fieldError(save.error, 'name')}
              />
              <TextInput
                label="Issuer URL"
                description="Loupe reads its /.well-known/openid-configuration"
                placeholder="https://acme.okta.com"
                required
                value={draft.issuer}
                onChange={(e) => setDraft({ ...draft, issuer: e.currentTarget.value })}
                error={fieldError(save.error, 'issuer')}
              />
              <TextInput
                label="Client ID"
                required
                value={draft.client_id}
                onChange={(e) => setDraft({ ...draft, client_id: e.currentTarget.value })}
                error={fieldError(save.error, 'client_id')}
              />
              <TextInput
                label="Client secret"
                type="password"
                autoComplete="off"
                description={
                  draft.id
                    ? 'Leave empty to keep the stored secret (it is kept encrypted and never shown again)'
                    : 'Kept encrypted; never shown again'
                }
                required={!draft.id}
                value={draft.client_secret}
                onChange={(e) => setDraft({ ...draft, client_secret: e.currentTarget.value })}
                error={fieldError(save.error, 'client_secret')}
              />
              <Select
                label="Who may sign in"
                data={[
                  { value: 'invite_only', label: 'Invited people only (invite them in Members and roles)' },
                  { value: 'jit', label: 'Anyone with a verified e-mail of the allowed domains joins at first sign-in' },
                ]}
                value={draft.provisioning}
                allowDeselect={false}
                onChange={(v) => setDraft({ ...draft, provisioning: (v as Draft['provisioning']) ?? 'invite_only' })}
              />
              <TextInput
                label="Allowed e-mail domains"
                description="Comma-separated, e.g. acme.com. Required when anyone may join."
                value={draft.allowed_domains}
                onChange={(e) => setDraft({ ...draft, allowed_domains: e.currentTarget.value })}
                error={fieldError(save.error, 'allowed_domains')}
              />
              {draft.provisioning === 'jit' && (
                <Select
                  label="Role of people who join"
                  data={[
                    { value: 'viewer', label: 'Viewer' },
                    { value: 'analyst', label: 'Analyst' },
                    { value: 'admin', label: 'Admin' },
                  ]}
                  value={draft.default_role}
                  allowDeselect={false}
                  onChange={(v) => setDraft({ ...draft, default_role: v ?? 'viewer' })}
                />
              )}
              <Switch label="Enabled" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.currentTarget.checked })} />
              <Group justify="flex-end">
                <Button variant="default" onClick={() => setDraft(null)}>
                  Cancel
                </Button>
                <Button type="submit" loading={save.isPending}>
                  Save provider
                </Button>
              </Group>
            </Stack>
          </form>
        )}
      </Modal>
      <Modal opened={!!removing} onClose={() => setRemoving(null)} title="Remove this identity provider?">
        <Stack>
          <Text size="sm">
            {removing?.name}: its sign-in button disappears and {removing?.linked_accounts ?? 0} linked account(s) are unlinked. Accounts
            themselves are kept.
          </Text>
          {remove.error && (
            <Alert color="red" role="alert">
              {errorText(remove.error)}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRemoving(null)}>
              Cancel
            </Button>
            <Button color="red" loading={remove.isPending} onClick={() => removing && remove.mutate(removing.id)}>
              Remove
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
