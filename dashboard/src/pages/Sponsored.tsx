import { useState } from 'react';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  Select,
  SimpleGrid,
  Stack,
  Tabs,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Route, Routes, useLocation, useNavigate, useParams } from 'react-router';
import type { Campaign, CampaignCreateBody, CampaignList, CampaignPerformance } from '../api/types.ts';
import { api, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { LineChart } from '../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { useSession } from '../session.tsx';
import { CohortMultiSelect } from '../components/CohortSelect.tsx';

const STATUS_COLOR: Record<Campaign['status'], string> = {
  pending_review: 'yellow',
  approved: 'blue',
  rejected: 'red',
  active: 'green',
  paused: 'gray',
  completed: 'dark',
};
const STATUS_LABEL: Record<Campaign['status'], string> = {
  pending_review: 'pending review',
  approved: 'approved',
  rejected: 'rejected',
  active: 'active',
  paused: 'paused',
  completed: 'completed',
};

/** Sponsored content: brand campaigns with budgets and spend, the approval queue, and a campaign's performance and pacing. */
export default function SponsoredPage() {
  const location = useLocation();
  const navigate = useNavigate();
  const tab = location.pathname.startsWith('/sponsored/review') ? 'review' : 'campaigns';
  return (
    <Stack>
      <Title order={2}>Sponsored</Title>
      {!location.pathname.startsWith('/sponsored/campaigns/') && (
        <Tabs value={tab} onChange={(v) => navigate(v === 'review' ? '/sponsored/review' : '/sponsored')}>
          <Tabs.List>
            <Tabs.Tab value="campaigns">Campaigns</Tabs.Tab>
            <Tabs.Tab value="review">Approval queue</Tabs.Tab>
          </Tabs.List>
        </Tabs>
      )}
      <Routes>
        <Route index element={<Campaigns />} />
        <Route path="review" element={<Campaigns review />} />
        <Route path="campaigns/:id" element={<CampaignDetail />} />
      </Routes>
    </Stack>
  );
}

function StatusBadge({ c }: { c: Campaign }) {
  return <Badge color={STATUS_COLOR[c.status]}>{STATUS_LABEL[c.status]}</Badge>;
}

function Campaigns({ review = false }: { review?: boolean }) {
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const q = useQuery({
    queryKey: ['sponsored-campaigns', tenantId, review],
    queryFn: ({ signal }) =>
      get<CampaignList>('/api/v1/sponsored/campaigns', { limit: 200, status: review ? 'pending_review' : undefined }, signal),
  });
  const rows = q.data?.data ?? [];
  return (
    <Stack>
      <Group>
        {!review && <Button onClick={() => setCreating(true)}>New campaign</Button>}
        {rows.length > 0 && (
          <Button
            variant="light"
            onClick={() =>
              downloadCsv(
                review ? 'campaigns-to-review.csv' : 'campaigns.csv',
                [
                  'id',
                  'brand_id',
                  'name',
                  'status',
                  'pricing_model',
                  'bid_amount',
                  'budget_type',
                  'budget_amount',
                  'spend',
                  'budget_remaining',
                  'currency',
                  'start_date',
                  'end_date',
                ],
                rows.map((c) => [
                  c.id,
                  c.brand_id,
                  c.name,
                  c.status,
                  c.pricing_model,
                  c.bid_amount,
                  c.budget_type,
                  c.budget_amount,
                  c.spend,
                  c.budget_remaining,
                  c.currency,
                  c.start_date,
                  c.end_date,
                ]),
              )
            }
          >
            Export CSV
          </Button>
        )}
      </Group>
      <CreateCampaign opened={creating} onClose={() => setCreating(false)} />
      {q.isLoading ? (
        <Loading label="Loading campaigns" />
      ) : q.error ? (
        <ErrorState error={q.error} feature="Sponsored content" />
      ) : !rows.length ? (
        <EmptyState title={review ? 'Nothing waiting for review' : 'No campaigns yet'}>
          {review
            ? 'New and changed campaigns appear here until someone approves or rejects them.'
            : 'Create a campaign for a brand: it starts under review, and serves once approved and activated.'}
        </EmptyState>
      ) : (
        <DataTable
          testId="campaigns-table"
          rows={rows}
          rowKey={(c) => c.id}
          onRowClick={(c) => navigate(`/sponsored/campaigns/${c.id}`)}
          columns={[
            { key: 'name', label: 'Campaign' },
            { key: 'brand_id', label: 'Brand' },
            { key: 'status', label: 'Status', render: (c) => <StatusBadge c={c} /> },
            { key: 'pricing_model', label: 'Model', render: (c) => `${c.pricing_model.toUpperCase()} ${c.bid_amount} ${c.currency}` },
            { key: 'budget_amount', label: 'Budget', render: (c) => `${c.budget_amount} ${c.currency} ${c.budget_type}` },
            { key: 'spend', label: 'Spent', render: (c) => `${c.spend} ${c.currency}` },
            { key: 'budget_remaining', label: 'Left', render: (c) => `${c.budget_remaining} ${c.currency}` },
          ]}
        />
      )}
    </Stack>
  );
}

interface Draft {
  brand_id: string;
  name: string;
  headline: string;
  promoted: string;
  currency: string;
  budget_amount: string;
  budget_type: 'daily' | 'lifetime';
  pricing_model: 'cpm' | 'cpc' | 'cpa';
  bid_amount: string;
  pacing: 'even' | 'asap';
  start_date: string;
  end_date: string;
  cohorts: string[];
}

const today = () => new Date().toISOString().slice(0, 10);
const EMPTY: Draft = {
  brand_id: '',
  name: '',
  headline: '',
  promoted: '',
  currency: 'USD',
  budget_amount: '',
  budget_type: 'daily',
  pricing_model: 'cpc',
  bid_amount: '',
  pacing: 'even',
  start_date: '',
  end_date: '',
  cohorts: [],
};

/** The API's field errors, one line each ("budget_amount: must be greater than zero"). */
function fieldErrors(err: unknown): string[] {
  const e = err as { message?: string; details?: { field?: string; message?: string }[] };
  const lines = (e.details ?? []).map((d) => `${d.field ?? ''}: ${d.message ?? ''}`);
  return lines.length ? lines : [e.message ?? 'The campaign could not be saved.'];
}

function CreateCampaign({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [d, setD] = useState<Draft>({ ...EMPTY, start_date: today() });
  const set = (k: Exclude<keyof Draft, 'cohorts'>) => (v: string | null) => setD((x) => ({ ...x, [k]: v ?? '' }));
  const create = useMutation({
    mutationFn: () => {
      const body: CampaignCreateBody = {
        brand_id: d.brand_id,
        name: d.name,
        currency: d.currency,
        budget_amount: d.budget_amount,
        budget_type: d.budget_type,
        pricing_model: d.pricing_model,
        bid_amount: d.bid_amount,
        pacing: d.pacing,
        start_date: new Date(`${d.start_date || today()}T00:00:00Z`).toISOString(),
        ...(d.end_date ? { end_date: new Date(`${d.end_date}T00:00:00Z`).toISOString() } : {}),
        creative: { headline: d.headline || d.name },
        promoted_item_ids: d.promoted
          .split(/[\s,]+/)
          .map((s) => s.trim())
          .filter(Boolean),
        ...(d.cohorts.length ? { targeting: { cohorts: d.cohorts } } : {}),
      };
      return api<Campaign>('POST', '/api/v1/sponsored/campaigns', { body });
    },
    onSuccess: () => {
      setD({ ...EMPTY, start_date: today() });
      void qc.invalidateQueries({ queryKey: ['sponsored-campaigns'] });
      onClose();
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="New campaign" size="lg" centered>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack gap="sm">
          <SimpleGrid cols={2}>
            <TextInput label="Brand" required value={d.brand_id} onChange={(e) => set('brand_id')(e.currentTarget.value)} />
            <TextInput label="Campaign name" required value={d.name} onChange={(e) => set('name')(e.currentTarget.value)} />
          </SimpleGrid>
          <TextInput
            label="Headline"
            placeholder="shown above the promoted products"
            value={d.headline}
            onChange={(e) => set('headline')(e.currentTarget.value)}
          />
          <Textarea
            label="Promoted item ids"
            placeholder="sku-1, sku-2"
            value={d.promoted}
            onChange={(e) => set('promoted')(e.currentTarget.value)}
          />
          <SimpleGrid cols={3}>
            <TextInput
              label="Budget"
              required
              placeholder="100.00"
              value={d.budget_amount}
              onChange={(e) => set('budget_amount')(e.currentTarget.value)}
            />
            <Select
              label="Budget type"
              data={['daily', 'lifetime']}
              value={d.budget_type}
              onChange={set('budget_type')}
              allowDeselect={false}
            />
            <TextInput label="Currency" value={d.currency} onChange={(e) => set('currency')(e.currentTarget.value.toUpperCase())} />
            <Select
              label="Pricing model"
              data={[
                { value: 'cpc', label: 'CPC (per click)' },
                { value: 'cpm', label: 'CPM (per thousand impressions)' },
                { value: 'cpa', label: 'CPA (per conversion)' },
              ]}
              value={d.pricing_model}
              onChange={set('pricing_model')}
              allowDeselect={false}
            />
            <TextInput
              label="Bid"
              required
              placeholder="0.50"
              value={d.bid_amount}
              onChange={(e) => set('bid_amount')(e.currentTarget.value)}
            />
            <Select
              label="Pacing"
              data={[
                { value: 'even', label: 'Even over the day' },
                { value: 'asap', label: 'As fast as possible' },
              ]}
              value={d.pacing}
              onChange={set('pacing')}
              allowDeselect={false}
            />
            <TextInput label="Start date" type="date" value={d.start_date} onChange={(e) => set('start_date')(e.currentTarget.value)} />
            <TextInput label="End date" type="date" value={d.end_date} onChange={(e) => set('end_date')(e.currentTarget.value)} />
          </SimpleGrid>
          <CohortMultiSelect
            label="Audience: saved cohorts (optional)"
            value={d.cohorts}
            onChange={(ids) => setD((x) => ({ ...x, cohorts: ids }))}
          />
          {create.error && (
            <Alert color="red" title="Fix these and save again" role="alert">
              {fieldErrors(create.error).map((l) => (
                <Text key={l} size="sm">
                  {l}
                </Text>
              ))}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending}>
              Create campaign
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

type Action = 'approve' | 'reject' | 'activate' | 'pause';
const ACTION_TEXT: Record<Action, { label: string; confirm: string }> = {
  approve: { label: 'Approve', confirm: 'Approve this campaign? It can then be activated to serve.' },
  reject: { label: 'Reject', confirm: 'Reject this campaign? The brand sees your reason.' },
  activate: { label: 'Activate', confirm: 'Activate this campaign? It starts serving and spending its budget now.' },
  pause: {
    label: 'Pause',
    confirm: 'Pause this campaign? It stops serving at once; open reservations return to its budget when they expire.',
  },
};

function CampaignDetail() {
  const { tenantId } = useSession();
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const [pending, setPending] = useState<Action | null>(null);
  const [reason, setReason] = useState('');
  const campaign = useQuery({
    queryKey: ['sponsored-campaign', tenantId, id],
    queryFn: ({ signal }) => get<Campaign>(`/api/v1/sponsored/campaigns/${encodeURIComponent(id)}`, undefined, signal),
  });
  const perf = useQuery({
    queryKey: ['sponsored-performance', tenantId, id],
    queryFn: ({ signal }) =>
      get<CampaignPerformance>(`/api/v1/sponsored/campaigns/${encodeURIComponent(id)}/performance`, { days: 30 }, signal),
  });
  const act = useMutation({
    mutationFn: (a: Action) =>
      api<Campaign>('POST', `/api/v1/sponsored/campaigns/${encodeURIComponent(id)}/${a}`, a === 'reject' ? { body: { reason } } : {}),
    onSuccess: () => {
      setPending(null);
      setReason('');
      void qc.invalidateQueries({ queryKey: ['sponsored-campaign'] });
      void qc.invalidateQueries({ queryKey: ['sponsored-campaigns'] });
      void qc.invalidateQueries({ queryKey: ['sponsored-performance'] });
    },
  });
  if (campaign.isLoading) return <Loading label="Loading campaign" />;
  if (campaign.error) return <ErrorState error={campaign.error} feature="Sponsored content" />;
  const c = campaign.data!;
  const actions: Action[] =
    c.status === 'pending_review'
      ? ['approve', 'reject']
      : c.status === 'approved' || c.status === 'paused'
        ? ['activate']
        : c.status === 'active'
          ? ['pause']
          : [];
  const p = perf.data;
  return (
    <Stack>
      <Anchor component={Link} to="/sponsored">
        ← Campaigns
      </Anchor>
      <Group>
        <Title order={3}>{c.name}</Title>
        <StatusBadge c={c} />
      </Group>
      <Text size="sm" c="dimmed">
        {c.brand_id} · {c.pricing_model.toUpperCase()} bid {c.bid_amount} {c.currency} · {c.budget_type} budget {c.budget_amount}{' '}
        {c.currency} · pacing {c.pacing}
      </Text>
      {c.status_reason && (
        <Text size="sm" data-testid="status-reason">
          Reason: {c.status_reason}
        </Text>
      )}
      <Group>
        {actions.map((a) => (
          <Button
            key={a}
            color={a === 'reject' || a === 'pause' ? 'red' : undefined}
            variant={a === 'pause' ? 'light' : 'filled'}
            onClick={() => setPending(a)}
          >
            {ACTION_TEXT[a].label}
          </Button>
        ))}
      </Group>
      <Modal
        opened={pending !== null}
        onClose={() => setPending(null)}
        title={pending ? `${ACTION_TEXT[pending].label} “${c.name}”` : ''}
        centered
      >
        {pending && (
          <Stack>
            <Text size="sm">{ACTION_TEXT[pending].confirm}</Text>
            {pending === 'reject' && <Textarea label="Reason" required value={reason} onChange={(e) => setReason(e.currentTarget.value)} />}
            {act.error && <ErrorState error={act.error} />}
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setPending(null)}>
                Cancel
              </Button>
              <Button
                color={pending === 'reject' || pending === 'pause' ? 'red' : undefined}
                loading={act.isPending}
                disabled={pending === 'reject' && !reason.trim()}
                onClick={() => act.mutate(pending)}
              >
                Yes, {ACTION_TEXT[pending].label.toLowerCase()}
              </Button>
            </Group>
          </Stack>
        )}
      </Modal>
      {perf.isLoading ? (
        <Loading label="Loading performance" />
      ) : perf.error ? (
        <ErrorState error={perf.error} feature="Campaign performance" />
      ) : p ? (
        <Performance p={p} c={c} />
      ) : null}
    </Stack>
  );
}

/** The even plan's spend per day: a daily budget each day; a lifetime budget spread over the campaign's days. */
function plannedPerDay(c: Campaign): number {
  const budget = Number(c.budget_amount);
  if (c.budget_type === 'daily') return budget;
  const start = Date.parse(c.start_date);
  const end = c.end_date ? Date.parse(c.end_date) : start + 30 * 86_400_000;
  return budget / Math.max(1, Math.ceil((end - start) / 86_400_000));
}

function Performance({ p, c }: { p: CampaignPerformance; c: Campaign }) {
  const x = p.daily.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 1000);
  const plan = plannedPerDay(c);
  return (
    <Stack data-testid="performance">
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        {[
          ['Impressions', p.impressions.toLocaleString()],
          ['Clicks', `${p.clicks.toLocaleString()} (CTR ${(p.ctr * 100).toFixed(2)}%)`],
          ['Spend', `${p.spend} of ${p.budget_amount} ${p.currency}`],
          ['Left', `${p.budget_remaining} ${p.currency}`],
          ['Pace', `${p.pace.committed} committed, plan ${p.pace.planned_to_now} by now (${p.pace.mode})`],
          ['Conversions', p.conversions.toLocaleString()],
          ['Revenue', `${p.revenue} ${p.currency}`],
          ['ROAS', p.roas === null ? 'no spend yet' : p.roas.toFixed(2)],
        ].map(([k, v]) => (
          <Card withBorder key={k} padding="sm">
            <Text size="xs" c="dimmed">
              {k}
            </Text>
            <Text fw={600} size="sm">
              {v}
            </Text>
          </Card>
        ))}
      </SimpleGrid>
      {p.daily.length === 0 ? (
        <EmptyState title="No traffic yet">Charts appear after the campaign's first impressions.</EmptyState>
      ) : (
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <div data-testid="pacing-chart">
            <LineChart
              label={`Spend per day against the even plan, ${p.currency}`}
              x={x}
              series={[
                { label: 'Spend', values: p.daily.map((d) => Number(d.spend)) },
                { label: 'Even plan', values: p.daily.map(() => plan) },
              ]}
            />
          </div>
          <div data-testid="traffic-chart">
            <LineChart
              label="Impressions, clicks and conversions per day"
              x={x}
              series={[
                { label: 'Impressions', values: p.daily.map((d) => d.impressions) },
                { label: 'Clicks', values: p.daily.map((d) => d.clicks) },
                { label: 'Conversions', values: p.daily.map((d) => d.conversions) },
              ]}
            />
          </div>
        </SimpleGrid>
      )}
      <Group>
        <Button
          variant="light"
          disabled={!p.daily.length}
          onClick={() =>
            downloadCsv(
              `campaign-${c.id}-daily.csv`,
              ['day', 'impressions', 'clicks', 'spend', 'conversions', 'revenue', 'currency'],
              p.daily.map((d) => [d.day, d.impressions, d.clicks, d.spend, d.conversions, d.revenue, p.currency]),
            )
          }
        >
          Export daily CSV
        </Button>
      </Group>
    </Stack>
  );
}
