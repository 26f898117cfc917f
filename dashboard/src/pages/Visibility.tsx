import { useEffect, useState } from 'react';
import { Alert, Anchor, Badge, Button, Card, Group, Select, SimpleGrid, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  BusinessProfileBody,
  BusinessProfileJson,
  FeedJobList,
  GoogleStatus,
  PrecheckResponse,
  ProfileValidation,
} from '../../../src/contracts/index.ts';
import { api, ApiError, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { fmtDate } from '../lib/format.ts';
import { useSession } from '../session.tsx';
import { GoogleBusinessCard } from './visibility/GoogleBusinessCard.tsx';
import { PushIssuesCard } from './visibility/PushIssuesCard.tsx';

const jobColor: Record<string, string> = { success: 'green', failed: 'red', processing: 'blue', queued: 'gray', retried: 'yellow' };

/** Plain words for the reasons the callback sends a browser back with (`/visibility?google=error&reason=CODE`). */
const linkFailure: Record<string, string> = {
  OAUTH_ACCESS_DENIED: 'Google access was not granted (consent was refused or withdrawn). Link Google again to retry.',
  OAUTH_STATE_INVALID: 'This link did not come from Loupe (wrong state). Start linking again from this page.',
  OAUTH_STATE_USED: 'This link was already used. Start linking again from this page.',
  OAUTH_STATE_EXPIRED: 'The link expired (10 minutes). Start linking again from this page.',
  OAUTH_CODE_MISSING: 'Google sent no authorization code back. Start linking again.',
  OAUTH_CODE_REJECTED: 'Google refused the authorization code. Start linking again.',
  GOOGLE_UNAVAILABLE: 'Google did not answer. Try linking again in a moment.',
};
/** The outcome of Google's redirect, read once from the address bar and then removed from it. */
function useLinkOutcome(): { linked: boolean; error: string | undefined } {
  const [outcome] = useState(() => {
    const q = new URLSearchParams(window.location.search);
    const google = q.get('google');
    const reason = q.get('reason') ?? '';
    return {
      linked: google === 'linked',
      error:
        google === 'error'
          ? (linkFailure[reason] ?? `Linking Google failed${/^[A-Z_]{1,40}$/.test(reason) ? ` (${reason})` : ''}. Start linking again.`)
          : undefined,
    };
  });
  useEffect(() => {
    const u = new URL(window.location.href);
    if (!u.searchParams.has('google')) return;
    u.searchParams.delete('google');
    u.searchParams.delete('reason');
    window.history.replaceState(window.history.state, '', `${u.pathname}${u.search}${u.hash}`);
  }, []);
  return outcome;
}

function GoogleCard() {
  const outcome = useLinkOutcome();
  const status = useQuery({
    queryKey: ['google-status'],
    queryFn: ({ signal }) => get<GoogleStatus>('/google/oauth/status', undefined, signal),
  });
  const [merchantId, setMerchantId] = useState('');
  const [dataSourceId, setDataSourceId] = useState('');
  const link = useMutation({
    mutationFn: () =>
      api<{ authorization_url: string }>('POST', '/google/oauth/link', {
        body: merchantId && dataSourceId ? { merchant_id: merchantId, data_source_id: dataSourceId } : {},
      }),
    onSuccess: (r) => window.location.assign(r.authorization_url),
  });
  if (status.isPending) return <Loading label="Loading the Google connection" />;
  if (status.isError) return <ErrorState error={status.error} feature="Google connection" />;
  const s = status.data;
  return (
    <Card withBorder data-testid="google-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Google connection
          </Title>
          <Badge color={s.linked ? 'green' : s.status === 'consent_revoked' ? 'red' : 'gray'}>{s.status.replace('_', ' ')}</Badge>
        </Group>
        {outcome.linked && s.linked && (
          <Alert color="green" data-testid="google-link-outcome">
            Google is linked.
          </Alert>
        )}
        {outcome.error && (
          <Alert color="red" data-testid="google-link-outcome">
            {outcome.error}
          </Alert>
        )}
        {s.google_account && <Text size="sm">Account: {s.google_account}</Text>}
        {s.merchant && (
          <Text size="sm">
            Merchant Center {s.merchant.merchant_id}, data source {s.merchant.data_source_id} ({s.merchant.feed_label},{' '}
            {s.merchant.content_language})
          </Text>
        )}
        {s.status === 'consent_revoked' && <Alert color="red">Google no longer accepts Loupe’s access. Link Google again below.</Alert>}
        {!s.configured && (
          <Alert color="yellow">Linking Google is not configured on this server (GOOGLE_OAUTH_CLIENT_ID and _SECRET).</Alert>
        )}
        {s.configured && !s.linked && (
          <Group align="end">
            <TextInput label="Merchant Center id" value={merchantId} onChange={(e) => setMerchantId(e.currentTarget.value)} />
            <TextInput label="Data source id" value={dataSourceId} onChange={(e) => setDataSourceId(e.currentTarget.value)} />
            <Button onClick={() => link.mutate()} loading={link.isPending}>
              Link Google
            </Button>
          </Group>
        )}
        {link.isError && <ErrorState error={link.error} />}
      </Stack>
    </Card>
  );
}

function PrecheckCard() {
  const { tenantId } = useSession();
  const [rule, setRule] = useState<string | null>(null);
  const check = useQuery({
    queryKey: ['precheck', tenantId, rule],
    queryFn: () =>
      api<PrecheckResponse>('POST', `/api/v1/tenants/${tenantId}/feed/precheck`, { body: { ...(rule ? { rule } : {}), limit: 500 } }),
  });
  if (check.isPending) return <Loading label="Checking the catalog against Google’s specification" />;
  if (check.isError) return <ErrorState error={check.error} feature="Feed precheck" />;
  const r = check.data;
  const rows = r.items.flatMap((i) =>
    i.issues.filter((x) => !rule || x.rule === rule).map((x) => ({ key: `${i.index}-${x.rule}`, id: i.id, ...x })),
  );
  return (
    <Card withBorder data-testid="precheck-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Feed precheck ({r.target_country})
          </Title>
          <Text size="sm" data-testid="precheck-summary">
            {r.summary.items} items: {r.summary.ok} ready, {r.summary.warnings} with warnings, {r.summary.errors} with errors
          </Text>
        </Group>
        <Group align="end">
          <Select
            label="Rule"
            placeholder="All rules"
            clearable
            value={rule}
            onChange={setRule}
            data={Object.entries(r.summary.by_rule).map(([id, n]) => ({ value: id, label: `${id} (${n})` }))}
          />
          <Button
            variant="default"
            disabled={!rows.length}
            onClick={() =>
              downloadCsv(
                'precheck.csv',
                ['item', 'rule', 'severity', 'message', 'fix'],
                rows.map((x) => [x.id, x.rule, x.severity, x.message, x.fix]),
              )
            }
          >
            Export CSV
          </Button>
        </Group>
        {rows.length === 0 ? (
          <EmptyState title="No issues">Every product checked passes Google’s product data specification.</EmptyState>
        ) : (
          <DataTable
            testId="precheck-table"
            rows={rows}
            rowKey={(x) => x.key}
            columns={[
              { key: 'id', label: 'Item' },
              { key: 'rule', label: 'Rule' },
              {
                key: 'severity',
                label: 'Severity',
                render: (x) => <Badge color={x.severity === 'error' ? 'red' : 'yellow'}>{x.severity}</Badge>,
              },
              { key: 'message', label: 'Problem' },
              { key: 'fix', label: 'Fix' },
            ]}
          />
        )}
      </Stack>
    </Card>
  );
}

function JobsCard() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const jobs = useQuery({
    queryKey: ['feed-jobs', tenantId],
    queryFn: ({ signal }) => get<FeedJobList>('/api/feed-jobs', { limit: 20 }, signal),
    refetchInterval: 3000,
  });
  const push = useMutation({
    mutationFn: () => api('POST', `/api/v1/tenants/${tenantId}/feed/push`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['feed-jobs'] }),
  });
  const retry = useMutation({
    mutationFn: (id: string) =>
      api('PATCH', `/api/feed-jobs/${id}/status`, { body: { status: 'retried', reason: 'retried from the dashboard' } }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['feed-jobs'] }),
  });
  if (jobs.isPending) return <Loading label="Loading feed jobs" />;
  if (jobs.isError) return <ErrorState error={jobs.error} feature="Feed jobs" />;
  return (
    <Card withBorder data-testid="jobs-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Push jobs
          </Title>
          <Button onClick={() => push.mutate()} loading={push.isPending}>
            Push to Google
          </Button>
        </Group>
        {push.isError && <ErrorState error={push.error} />}
        {retry.isError && <ErrorState error={retry.error} />}
        {jobs.data.data.length === 0 ? (
          <EmptyState title="No pushes yet">Link Google, then push the catalog: only changed items are sent.</EmptyState>
        ) : (
          <DataTable
            testId="jobs-table"
            rows={jobs.data.data}
            rowKey={(j) => j.id}
            columns={[
              { key: 'created_at', label: 'Created', render: (j) => fmtDate(j.created_at) },
              { key: 'status', label: 'Status', render: (j) => <Badge color={jobColor[j.status] ?? 'gray'}>{j.status}</Badge> },
              { key: 'attempts', label: 'Attempts', render: (j) => `${j.attempts} / ${j.max_attempts}` },
              {
                key: 'summary',
                label: 'Items',
                render: (j) =>
                  `${j.summary.inserted ?? 0} written, ${j.summary.unchanged ?? 0} unchanged, ${j.summary.deleted ?? 0} deleted, ${j.summary.rejected ?? 0} rejected`,
              },
              { key: 'history', label: 'History', render: (j) => j.history.map((h) => h.to_status).join(' → ') },
              { key: 'last_error', label: 'Last error' },
              {
                key: 'actions',
                label: '',
                render: (j) =>
                  j.status === 'failed' ? (
                    <Button
                      size="xs"
                      variant="default"
                      onClick={() => retry.mutate(j.id)}
                      loading={retry.isPending && retry.variables === j.id}
                    >
                      Retry
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Stack>
    </Card>
  );
}

const EMPTY: BusinessProfileBody = { name: '', phone: null, website: null, categories: [], time_zone: null };

function ProfileCard() {
  const qc = useQueryClient();
  const saved = useQuery({
    queryKey: ['business-profile'],
    queryFn: ({ signal }) =>
      get<BusinessProfileJson>('/tenant/profile', undefined, signal).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
  });
  const [draft, setDraft] = useState<BusinessProfileBody>(EMPTY);
  const [validation, setValidation] = useState<ProfileValidation | null>(null);
  useEffect(() => {
    if (saved.data) {
      const { created_at: _c, updated_at: _u, location: _l, ...rest } = saved.data;
      setDraft(rest as BusinessProfileBody);
    }
  }, [saved.data]);
  useEffect(() => {
    const timer = setTimeout(() => {
      if (!draft.name) return;
      api<ProfileValidation>('POST', '/tenant/profile/validation', { body: draft }).then(setValidation, () => setValidation(null));
    }, 300);
    return () => clearTimeout(timer);
  }, [draft]);
  const save = useMutation({
    mutationFn: () => api(saved.data ? 'PATCH' : 'POST', '/tenant/profile', { body: draft }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['business-profile'] }),
  });
  if (saved.isPending) return <Loading label="Loading the business profile" />;
  if (saved.isError) return <ErrorState error={saved.error} feature="Business profile" />;
  const set = (k: keyof BusinessProfileBody) => (e: { currentTarget: { value: string } }) =>
    setDraft({
      ...draft,
      [k]:
        k === 'categories'
          ? e.currentTarget.value
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
          : e.currentTarget.value || (k === 'name' ? '' : null),
    });
  return (
    <Card withBorder data-testid="profile-card">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Business profile
          </Title>
          {validation && (
            <Badge
              color={validation.score >= 80 ? 'green' : validation.score >= 50 ? 'yellow' : 'red'}
              data-testid="profile-score"
            >{`Score ${validation.score}`}</Badge>
          )}
        </Group>
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label="Name" value={draft.name} onChange={set('name')} />
          <TextInput label="Phone" value={draft.phone ?? ''} onChange={set('phone')} />
          <TextInput label="Website" value={draft.website ?? ''} onChange={set('website')} />
          <TextInput label="Time zone" placeholder="America/New_York" value={draft.time_zone ?? ''} onChange={set('time_zone')} />
          <TextInput label="Categories (comma-separated)" value={(draft.categories ?? []).join(', ')} onChange={set('categories')} />
        </SimpleGrid>
        {saved.data?.location && <ProfileLocation location={saved.data.location} />}
        {validation && validation.fixes.length > 0 && (
          <DataTable
            testId="profile-fixes"
            rows={validation.fixes}
            rowKey={(f, i) => `${f.field}-${i}`}
            columns={[
              { key: 'field', label: 'Field' },
              { key: 'severity', label: 'Severity' },
              { key: 'message', label: 'Problem' },
              { key: 'fix', label: 'Fix' },
            ]}
          />
        )}
        <Group>
          <Button onClick={() => save.mutate()} loading={save.isPending} disabled={!draft.name}>
            {saved.data ? 'Save changes' : 'Create profile'}
          </Button>
        </Group>
        {save.isError && <ErrorState error={save.error} />}
      </Stack>
    </Card>
  );
}

/** Where the geocoder placed the saved address, with a map link; or why it could not. */
function ProfileLocation({ location }: { location: NonNullable<BusinessProfileJson['location']> }) {
  if (location.status === 'found')
    return (
      <Text size="sm" data-testid="profile-location">
        On the map: {location.formatted_address} ({location.precision === 'ROOFTOP' ? 'exact' : 'approximate'}) ·{' '}
        <Anchor
          href={`https://www.openstreetmap.org/?mlat=${location.latitude}&mlon=${location.longitude}#map=18/${location.latitude}/${location.longitude}`}
          target="_blank"
          rel="noreferrer"
        >
          open the map
        </Anchor>
      </Text>
    );
  return (
    <Text size="sm" c={location.status === 'not_found' ? 'red' : 'dimmed'} data-testid="profile-location">
      {location.status === 'not_found'
        ? 'The address could not be found on the map: check the street, postal code and city.'
        : `The address could not be looked up just now (${location.error ?? 'the geocoder did not answer'}); it is looked up again when the address changes.`}
    </Text>
  );
}

/** Visibility: Google connection, feed precheck, push jobs, business profile, its Google Business Profile sync and insights. */
export default function VisibilityPage() {
  return (
    <Stack>
      <Title order={2}>Visibility</Title>
      <GoogleCard />
      <PrecheckCard />
      <JobsCard />
      <PushIssuesCard />
      <ProfileCard />
      <GoogleBusinessCard />
    </Stack>
  );
}
