import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  Progress,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api/client.ts';
import {
  MODEL_TYPE_NAMES,
  type DeployBody,
  type RecommendBody,
  type RecommendResponse,
  type SimilarBody,
  type SimilarResponse,
  type TrainBody,
  type TrainingProgress,
  type TrainResponse,
  type VersionsResponse,
} from '../api/types.ts';
import { DataTable } from '../components/DataTable.tsx';
import { LineChart } from '../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { fmtDate, fmtMoney, fmtNumber } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import { useSession } from '../session.tsx';

const DONE = new Set(['completed', 'failed', 'cancelled']);
const MODEL_LABELS: Record<string, string> = {
  auto: 'Automatic (best for the data)',
  popularity: 'Popularity',
  item_knn: 'Item k-NN',
  ials: 'Implicit ALS',
  lightgcn: 'LightGCN',
  graph_filter: 'Graph filter',
  content: 'Content-based',
};

export default function RecommendationsPage() {
  const [params, setParams] = useParams(['job', 'user', 'item'] as const);
  return (
    <Stack>
      <Title order={2}>Recommendations</Title>
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <Train job={params.job} onStarted={(job) => setParams({ job })} />
        <Versions />
      </SimpleGrid>
      <TryIt user={params.user} item={params.item} setParams={setParams} />
    </Stack>
  );
}

function Train({ job, onStarted }: { job: string; onStarted: (id: string) => void }) {
  const [modelType, setModelType] = useState<string>('auto');
  const [epochs, setEpochs] = useState<number | string>('');
  const [autoDeploy, setAutoDeploy] = useState(true);
  const start = useMutation({
    mutationFn: () => {
      const body: TrainBody = {
        model_type: modelType as TrainBody['model_type'],
        auto_deploy: autoDeploy,
        ...(Number(epochs) > 0 ? { hyperparameters: { epochs: Number(epochs) } } : {}),
      };
      return api<TrainResponse>('POST', '/api/v1/train', { body });
    },
    onSuccess: (out) => onStarted(out.job_id),
  });
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="sm">
        Train a model
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          start.mutate();
        }}
      >
        <Group align="flex-end">
          <Select
            label="Model"
            data={['auto', ...MODEL_TYPE_NAMES].map((v) => ({ value: v, label: MODEL_LABELS[v] ?? v }))}
            value={modelType}
            onChange={(v) => v && setModelType(v)}
            allowDeselect={false}
            w={240}
          />
          <NumberInput label="Epochs" placeholder="default" min={1} max={1000} value={epochs} onChange={setEpochs} w={110} />
          <Checkbox label="Deploy when done" checked={autoDeploy} onChange={(e) => setAutoDeploy(e.currentTarget.checked)} mb={8} />
          <Button type="submit" loading={start.isPending}>
            Start training
          </Button>
        </Group>
      </form>
      {start.error && (
        <Stack mt="sm">
          <ErrorState error={start.error} feature="Recommendations" />
        </Stack>
      )}
      {job && <TrainingProgressPanel id={job} />}
    </Card>
  );
}

function TrainingProgressPanel({ id }: { id: string }) {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['training', tenantId, id],
    queryFn: ({ signal }) => get<TrainingProgress>(`/api/v1/training/${encodeURIComponent(id)}/progress`, undefined, signal),
    refetchInterval: (query) => (query.state.data && DONE.has(query.state.data.status) ? false : 1000),
  });
  // The progress answer carries the latest epoch's metrics: the chart collects them poll by poll.
  const [history, setHistory] = useState<{ epoch: number; metrics: Record<string, number> }[]>([]);
  const d = q.data;
  useEffect(() => {
    if (!d || d.current_epoch === null || Object.keys(d.metrics).length === 0) return;
    const epoch = d.current_epoch;
    setHistory((h) => (h.some((x) => x.epoch === epoch) ? h : [...h, { epoch, metrics: d.metrics }]));
  }, [d]);
  useEffect(() => {
    if (d && DONE.has(d.status)) {
      void qc.invalidateQueries({ queryKey: ['models'] });
      void qc.invalidateQueries({ queryKey: ['analytics'] });
    }
  }, [d, qc]);
  const chart = useMemo(() => {
    if (history.length < 2) return null;
    const keys = Object.keys(history[history.length - 1]!.metrics).slice(0, 4);
    return { x: history.map((h) => h.epoch), series: keys.map((k) => ({ label: k, values: history.map((h) => h.metrics[k] ?? null) })) };
  }, [history]);
  if (q.error) return <ErrorState error={q.error} feature="Training progress" />;
  if (!d) return <Loading label="Loading progress" />;
  const pct = Math.round(100 * d.progress);
  return (
    <Stack mt="md" data-testid="training-progress" data-status={d.status}>
      <Group justify="space-between">
        <Text size="sm" component="div">
          <Badge variant="light" color={d.status === 'failed' ? 'red' : d.status === 'completed' ? 'green' : 'blue'}>
            {d.status}
          </Badge>{' '}
          {d.phase ?? ''}
        </Text>
        <Text size="sm">
          {d.current_epoch !== null ? `epoch ${d.current_epoch}${d.total_epochs ? ` / ${d.total_epochs}` : ''}` : ''} {pct} %
        </Text>
      </Group>
      <Progress
        value={pct}
        size="lg"
        animated={!DONE.has(d.status)}
        aria-label="Training progress"
        color={d.status === 'failed' ? 'red' : 'blue'}
      />
      {chart ? (
        <LineChart x={chart.x} series={chart.series} time={false} label="Validation metrics by epoch" />
      ) : (
        Object.keys(d.metrics).length > 0 && (
          <Group gap="xs">
            {Object.entries(d.metrics).map(([k, v]) => (
              <Badge key={k} variant="outline">
                {k}: {fmtNumber(v)}
              </Badge>
            ))}
          </Group>
        )
      )}
      {d.final_metrics && (
        <Group gap="xs" data-testid="final-metrics">
          <Text size="sm">
            Version <span className="mono">{d.model_version}</span> ({d.deployment_status ?? 'not deployed'}):
          </Text>
          {Object.entries(d.final_metrics).map(([k, v]) => (
            <Badge key={k} variant="outline">
              {k}: {fmtNumber(v)}
            </Badge>
          ))}
        </Group>
      )}
      {d.error && <Alert color="red">{d.error}</Alert>}
    </Stack>
  );
}

function Versions() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const models = useQuery({
    queryKey: ['models', tenantId],
    queryFn: ({ signal }) => get<VersionsResponse>('/api/v1/models', undefined, signal),
  });
  const act = useMutation({
    mutationFn: (v: { path: string; body?: DeployBody }) => api('POST', v.path, { body: v.body ?? {} }),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['models'] }),
  });
  const [canary, setCanary] = useState<number | string>(10);
  const rows = models.data?.data ?? [];
  const dep = models.data?.deployment;
  const metricKeys = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].slice(0, 4);
  const statusColor: Record<string, string> = { active: 'green', canary: 'yellow', previous: 'gray', inactive: 'gray' };
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="sm">
        Model versions
      </Title>
      {models.isLoading ? (
        <Loading />
      ) : models.error ? (
        <ErrorState error={models.error} feature="Recommendations" />
      ) : rows.length === 0 ? (
        <EmptyState title="No model yet">Train one to serve recommendations.</EmptyState>
      ) : (
        <Stack>
          {dep && dep.canary_version_id && <Text size="sm">Canary: {dep.canary_percent} % of traffic.</Text>}
          <DataTable
            testId="versions-table"
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              { key: 'version', label: 'Version', render: (r) => <span className="mono">{r.version}</span> },
              { key: 'model_type', label: 'Model' },
              {
                key: 'status',
                label: 'Status',
                render: (r) => (
                  <Badge variant="light" color={statusColor[r.status]}>
                    {r.status}
                  </Badge>
                ),
              },
              ...metricKeys.map((k) => ({ key: k, label: k, render: (r: (typeof rows)[number]) => fmtNumber(r.metrics[k]) })),
              { key: 'created_at', label: 'Trained', render: (r) => fmtDate(r.created_at) },
              {
                key: 'actions',
                label: 'Actions',
                render: (r) =>
                  r.status === 'active' ? null : (
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="xs"
                        variant="light"
                        onClick={() => act.mutate({ path: `/api/v1/models/${encodeURIComponent(r.id)}/deploy` })}
                        aria-label={`Deploy ${r.version}`}
                      >
                        Deploy
                      </Button>
                      <Button
                        size="xs"
                        variant="default"
                        onClick={() =>
                          act.mutate({
                            path: `/api/v1/models/${encodeURIComponent(r.id)}/deploy`,
                            body: { canary_percent: Number(canary) },
                          })
                        }
                        aria-label={`Canary ${r.version}`}
                      >
                        Canary
                      </Button>
                    </Group>
                  ),
              },
            ]}
          />
          <Group align="flex-end">
            <NumberInput label="Canary traffic %" min={1} max={99} value={canary} onChange={setCanary} w={140} />
            <Button
              variant="default"
              onClick={() => act.mutate({ path: '/api/v1/models/rollback' })}
              disabled={!dep?.previous_version_id && !dep?.canary_version_id}
            >
              {dep?.canary_version_id ? 'Stop the canary' : 'Roll back to the previous version'}
            </Button>
          </Group>
          {act.error && <ErrorState error={act.error} feature="Model deployment" />}
        </Stack>
      )}
    </Card>
  );
}

function TryIt({
  user,
  item,
  setParams,
}: {
  user: string;
  item: string;
  setParams: (p: Partial<Record<'user' | 'item', string | null>>) => void;
}) {
  const { tenantId } = useSession();
  const [u, setU] = useState(user);
  const [i, setI] = useState(item);
  const recs = useQuery({
    queryKey: ['recs', tenantId, user],
    queryFn: () =>
      api<RecommendResponse>('POST', '/api/v1/recommendations', { body: { user_id: user, count: 10 } satisfies RecommendBody }),
    enabled: !!user,
  });
  const similar = useQuery({
    queryKey: ['similar', tenantId, item],
    queryFn: () =>
      api<SimilarResponse>('POST', '/api/v1/recommendations/similar', { body: { item_id: item, count: 10 } satisfies SimilarBody }),
    enabled: !!item,
  });
  return (
    <Card withBorder>
      <Title order={3} size="h5" mb="sm">
        Try it
      </Title>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setParams({ user: u.trim() });
            }}
          >
            <Group align="flex-end">
              <TextInput label="Recommendations for user" value={u} onChange={(e) => setU(e.currentTarget.value)} placeholder="user id" />
              <Button type="submit">Recommend</Button>
            </Group>
          </form>
          {recs.isFetching ? (
            <Loading />
          ) : recs.error ? (
            <ErrorState error={recs.error} feature="Recommendations" />
          ) : (
            recs.data && (
              <RecTable testId="recs-table" rows={recs.data.recommendations.map((r) => ({ ...r, why: r.reason, value: r.score }))} />
            )
          )}
        </Stack>
        <Stack>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setParams({ item: i.trim() });
            }}
          >
            <Group align="flex-end">
              <TextInput label="Items similar to" value={i} onChange={(e) => setI(e.currentTarget.value)} placeholder="item id" />
              <Button type="submit">Find similar</Button>
            </Group>
          </form>
          {similar.isFetching ? (
            <Loading />
          ) : similar.error ? (
            <ErrorState error={similar.error} feature="Recommendations" />
          ) : (
            similar.data && (
              <RecTable
                testId="similar-table"
                rows={similar.data.similar_items.map((r) => ({ ...r, why: 'similar to the chosen item', value: r.similarity_score }))}
              />
            )
          )}
        </Stack>
      </SimpleGrid>
    </Card>
  );
}

interface RecRow {
  item_id: string;
  name: string;
  price: number | null;
  currency: string | null;
  value: number;
  why: string;
}

function RecTable({ rows, testId }: { rows: RecRow[]; testId: string }) {
  if (rows.length === 0) return <Text size="sm">No recommendation for this one yet.</Text>;
  return (
    <DataTable
      testId={testId}
      rows={rows}
      rowKey={(r, n) => `${r.item_id}-${n}`}
      columns={[
        { key: 'item_id', label: 'Item' },
        { key: 'name', label: 'Name' },
        { key: 'price', label: 'Price', render: (r) => (r.price === null ? '—' : fmtMoney(r.price, r.currency)) },
        { key: 'value', label: 'Score', render: (r) => r.value.toFixed(3) },
        { key: 'why', label: 'Why' },
      ]}
    />
  );
}
