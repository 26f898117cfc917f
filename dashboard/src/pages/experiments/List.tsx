import { useState } from 'react';
import {
  ActionIcon,
  Alert,
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  Select,
  Stack,
  TagsInput,
  Text,
  TextInput,
  Textarea,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { api, get } from '../../api/client.ts';
import type { CreateExperimentBody, Experiment, ExperimentList as ExperimentListResponse } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { CohortSelect } from '../../components/CohortSelect.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtDate } from '../../lib/format.ts';

export const STATUS_COLORS: Record<string, string> = { draft: 'gray', running: 'green', stopped: 'orange', archived: 'dark' };

export function ExperimentList() {
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['experiments'], queryFn: () => get<ExperimentListResponse>('/api/v1/admin/experiments') });
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Experiments</Title>
        <Button component={Link} to="/experiments/flags" variant="light">
          Feature flags
        </Button>
      </Group>
      <CreateExperiment />
      <Card withBorder>
        <Group justify="space-between" mb="sm">
          <Title order={3} size="h4">
            All experiments
          </Title>
          {list.data && list.data.data.length > 0 && (
            <Button
              variant="light"
              size="xs"
              onClick={() =>
                downloadCsv(
                  'experiments.csv',
                  ['key', 'name', 'status', 'variants', 'primary_metric', 'started_at', 'stopped_at'],
                  list.data.data.map((e) => [
                    e.key,
                    e.name,
                    e.status,
                    e.variants.map((v) => `${v.key}:${v.weight}`).join(' '),
                    e.primary_metric,
                    e.started_at,
                    e.stopped_at,
                  ]),
                )
              }
            >
              Export CSV
            </Button>
          )}
        </Group>
        {list.isPending ? (
          <Loading label="Loading experiments" />
        ) : list.isError ? (
          <ErrorState error={list.error} feature="Experiments" />
        ) : list.data.data.length === 0 ? (
          <EmptyState title="No experiments yet">
            Create one above: give it a name and at least two variants, then start it. Your app asks POST /api/v1/experiments/assign which
            variant each user sees.
          </EmptyState>
        ) : (
          <DataTable<Experiment>
            testId="experiments-table"
            rows={list.data.data}
            rowKey={(e) => e.id}
            onRowClick={(e) => navigate(`/experiments/${e.id}`)}
            columns={[
              { key: 'name', label: 'Name' },
              { key: 'key', label: 'Key' },
              { key: 'status', label: 'Status', render: (e) => <Badge color={STATUS_COLORS[e.status] ?? 'gray'}>{e.status}</Badge> },
              {
                key: 'variants',
                label: 'Variants',
                render: (e) => e.variants.map((v) => `${v.key} ${Math.round(v.weight * 100)} %`).join(' · ') || '—',
              },
              { key: 'primary_metric', label: 'Primary metric' },
              { key: 'started_at', label: 'Started', render: (e) => fmtDate(e.started_at) },
            ]}
          />
        )}
      </Card>
    </Stack>
  );
}

interface VariantDraft {
  key: string;
  weight: number;
  config: string;
}

const METRICS = ['add_to_cart', 'click', 'purchase', 'revenue'];
type MetricBody = NonNullable<CreateExperimentBody['metrics']>[number];
/** The server's default metrics (seed 000's), spelled out when the form sets their sources. */
const METRIC_BODIES: MetricBody[] = [
  { name: 'add_to_cart', type: 'binomial', event: 'add_to_cart' },
  { name: 'click', type: 'binomial', event: 'click' },
  { name: 'purchase', type: 'binomial', event: 'purchase' },
  { name: 'revenue', type: 'mean', event: 'purchase', value: 'value' },
];
/** Channels interactions arrive through (the server accepts any channel name; these are suggestions). */
const SOURCE_SUGGESTIONS = ['shopify', 'segment', 'api', 'web', 'stripe'];
const SOURCE_PATTERN = /^[a-z][a-z0-9_]{0,39}$/;

/** The targeting sent: a saved cohort (`$inCohort`) and the written condition, both when both are given. */
function audience(cohort: string | null, targeting: string): { targeting?: Record<string, unknown> } {
  const written = targeting.trim() ? (JSON.parse(targeting) as Record<string, unknown>) : null;
  if (!cohort) return written ? { targeting: written } : {};
  return { targeting: written ? { $and: [{ $inCohort: cohort }, written] } : { $inCohort: cohort } };
}

function CreateExperiment() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [primary, setPrimary] = useState('add_to_cart');
  const [traffic, setTraffic] = useState<number>(100);
  const [kind, setKind] = useState<'standard' | 'bandit'>('standard');
  const [targeting, setTargeting] = useState('');
  const [cohort, setCohort] = useState<string | null>(null);
  const [sources, setSources] = useState<string[]>([]);
  const [variants, setVariants] = useState<VariantDraft[]>([
    { key: 'control', weight: 50, config: '{}' },
    { key: 'treatment', weight: 50, config: '{}' },
  ]);
  const [problem, setProblem] = useState<string | null>(null);
  const total = variants.reduce((s, v) => s + v.weight, 0);
  const create = useMutation({
    mutationFn: async () => {
      const body: CreateExperimentBody = {
        name,
        primary_metric: primary,
        traffic_allocation: traffic / 100,
        type: kind,
        variants: variants.map((v) => ({ key: v.key, weight: v.weight / 100, config: JSON.parse(v.config || '{}') as unknown })),
        ...audience(cohort, targeting),
        // Metrics counted from connector events: the default metrics, each reading interactions of these channels.
        ...(sources.length ? { metrics: METRIC_BODIES.map((m) => ({ ...m, sources })) } : {}),
      };
      return api<Experiment>('POST', '/api/v1/admin/experiments', { body });
    },
    onSuccess: async (e) => {
      await qc.invalidateQueries({ queryKey: ['experiments'] });
      navigate(`/experiments/${e.id}`);
    },
  });
  const submit = () => {
    setProblem(null);
    for (const [i, v] of variants.entries()) {
      try {
        JSON.parse(v.config || '{}');
      } catch {
        return setProblem(`The config of variant ${i + 1} is not valid JSON. Write an object such as {"model_version": "v2"}.`);
      }
    }
    if (targeting.trim()) {
      try {
        JSON.parse(targeting);
      } catch {
        return setProblem(
          'Targeting is not valid JSON. Write a condition such as {"country": {"$in": ["FR", "DE"]}}, or leave it empty for everyone.',
        );
      }
    }
    const badSource = sources.find((x) => !SOURCE_PATTERN.test(x));
    if (badSource !== undefined)
      return setProblem(
        `"${badSource}" is not a channel name: use lowercase letters, digits and _, starting with a letter (shopify, segment).`,
      );
    if (Math.abs(total - 100) > 0.001) return setProblem(`Weights add up to ${total} %: make them add up to 100 %.`);
    create.mutate();
  };
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="sm">
        New experiment
      </Title>
      <Stack gap="sm">
        <Group grow>
          <TextInput label="Name" placeholder="Feed module order" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          <Select
            label="Primary metric"
            data={METRICS}
            value={primary}
            onChange={(v) => setPrimary(v ?? 'add_to_cart')}
            allowDeselect={false}
          />
          <Select
            label="Kind"
            data={[
              { value: 'standard', label: 'A/B test (fixed weights)' },
              { value: 'bandit', label: 'Bandit (weights follow the primary metric)' },
            ]}
            value={kind}
            onChange={(v) => setKind(v === 'bandit' ? 'bandit' : 'standard')}
            allowDeselect={false}
          />
          <NumberInput
            label="Traffic in the experiment (%)"
            min={1}
            max={100}
            value={traffic}
            onChange={(v) => setTraffic(Number(v) || 100)}
          />
        </Group>
        {variants.map((v, i) => (
          <Group key={i} align="flex-end">
            <TextInput
              label={i === 0 ? 'Control key' : `Variant ${i} key`}
              value={v.key}
              onChange={(e) => setVariants(variants.map((x, j) => (j === i ? { ...x, key: e.currentTarget.value } : x)))}
            />
            <NumberInput
              label="Weight (%)"
              min={0}
              max={100}
              w={120}
              value={v.weight}
              onChange={(n) => setVariants(variants.map((x, j) => (j === i ? { ...x, weight: Number(n) || 0 } : x)))}
            />
            <TextInput
              label="Config (JSON)"
              style={{ flex: 1 }}
              value={v.config}
              onChange={(e) => setVariants(variants.map((x, j) => (j === i ? { ...x, config: e.currentTarget.value } : x)))}
            />
            {variants.length > 2 && (
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={`Remove variant ${v.key}`}
                onClick={() => setVariants(variants.filter((_, j) => j !== i))}
              >
                ×
              </ActionIcon>
            )}
          </Group>
        ))}
        <CohortSelect label="Audience: saved cohort (optional)" value={cohort} onChange={setCohort} />
        <Textarea
          label="Targeting (optional)"
          placeholder='{"country": {"$in": ["FR", "DE"]}}'
          value={targeting}
          onChange={(e) => setTargeting(e.currentTarget.value)}
          autosize
          minRows={1}
        />
        <TagsInput
          label="Count events from connectors (optional)"
          description="Channels whose events count in the metrics without a call to /experiments/track: purchases from Shopify, Segment tracks. Empty: tracked events only."
          placeholder="shopify"
          data={SOURCE_SUGGESTIONS}
          value={sources}
          onChange={(xs) => setSources(xs.map((x) => x.trim().toLowerCase()))}
          maxTags={10}
          clearable
          data-testid="metric-sources"
        />
        <Group>
          <Button
            variant="light"
            onClick={() => setVariants([...variants, { key: `variant_${variants.length}`, weight: 0, config: '{}' }])}
          >
            Add variant
          </Button>
          <Text size="sm" c={Math.abs(total - 100) > 0.001 ? 'red' : 'dimmed'}>
            Weights: {total} %
          </Text>
          <Button onClick={submit} loading={create.isPending} disabled={!name.trim()}>
            Create experiment
          </Button>
        </Group>
        {problem && (
          <Alert color="orange" role="alert">
            {problem}
          </Alert>
        )}
        {create.isError && <ErrorState error={create.error} />}
      </Stack>
    </Card>
  );
}
