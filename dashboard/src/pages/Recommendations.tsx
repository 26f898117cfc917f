import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Modal,
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
  type Tenant,
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

/** The per-model training-length field: only the models that take one (auto picks its own settings). */
const LENGTH_FIELD: Record<string, { key: 'epochs' | 'iterations'; label: string; max: number }> = {
  lightgcn: { key: 'epochs', label: 'Epochs', max: 1000 },
  ials: { key: 'iterations', label: 'Iterations', max: 100 },
};

/** Metrics in plain words (the raw name stays in the tooltip for those who know it). */
const METRIC_WORDS: Record<string, string> = {
  'ndcg@10': 'Ranking quality',
  'val_ndcg@10': 'Ranking quality',
  'recall@20': 'Finds what they buy',
  'val_recall@20': 'Finds what they buy',
  'precision@10': 'Hit rate of the top 10',
  coverage: 'Catalog covered',
  lift_over_popularity: 'vs. best-sellers',
  train_loss: 'Training loss',
};
const metricLabel = (k: string) => METRIC_WORDS[k] ?? k;

type VersionRow = VersionsResponse['data'][number];

/**
 * The version to recommend: the best ranking quality (NDCG@10 on recent purchases held out at training
 * time) among versions that loaded. Null when no version has the metric.
 */
function recommendedVersion(rows: VersionRow[]): VersionRow | null {
  let best: VersionRow | null = null;
  for (const r of rows) {
    const v = r.metrics['ndcg@10'];
    if (r.load_error || v === undefined) continue;
    if (!best || v > best.metrics['ndcg@10']!) best = r;
  }
  return best;
}

/** The tenant's canary share for "Deploy when done" (Settings: recommendations.canary_percent, default 10). */
function useCanaryPercent(): number {
  const { tenantId } = useSession();
  const tenant = useQuery({ queryKey: ['tenant', tenantId], queryFn: ({ signal }) => get<Tenant>('/api/v1/tenant', undefined, signal) });
  const r = (tenant.data?.settings?.recommendations ?? {}) as { canary_percent?: unknown };
  return typeof r.canary_percent === 'number' ? r.canary_percent : 10;
}

export default function RecommendationsPage() {
  const [params, setParams] = useParams(['job', 'user', 'item'] as const);
  return (
    <Stack>
      <Title order={2}>Recommendations</Title>
      <Train job={params.job} onStarted={(job) => setParams({ job })} />
      <Versions />
      <TryIt user={params.user} item={params.item} setParams={setParams} />
    </Stack>
  );
}

function Train({ job, onStarted }: { job: string; onStarted: (id: string) => void }) {
  const { tenantId } = useSession();
  const [modelType, setModelType] = useState<string>('auto');
  const [length, setLength] = useState<number | string>('');
  const [autoDeploy, setAutoDeploy] = useState(true);
  const [confirming, setConfirming] = useState(false);
  const models = useQuery({
    queryKey: ['models', tenantId],
    queryFn: ({ signal }) => get<VersionsResponse>('/api/v1/models', undefined, signal),
  });
  const canary = useCanaryPercent();
  const live = models.data?.data.find((v) => v.status === 'active');
  const field = LENGTH_FIELD[modelType];
  // With a version live and a canary share below 100 %, the new version goes to part of the traffic first.
  const canaryFirst = !!live && canary > 0 && canary < 100;
  const deployWords = canaryFirst
    ? `Deploy when done: starts a ${canary} % canary (${canary} % of shoppers get the new version; promote it from the versions table)`
    : 'Deploy when done: the new version serves everyone as soon as it is trained';
  const start = useMutation({
    meta: { success: 'Training started' },
    mutationFn: () => {
      const body: TrainBody = {
        model_type: modelType as TrainBody['model_type'],
        auto_deploy: autoDeploy,
        ...(field && Number(length) > 0 ? { hyperparameters: { [field.key]: Number(length) } } : {}),
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
          if (autoDeploy) setConfirming(true);
          else start.mutate();
        }}
      >
        <Group align="flex-end">
          <Select
            label="Model"
            data={['auto', ...MODEL_TYPE_NAMES].map((v) => ({ value: v, label: MODEL_LABELS[v] ?? v }))}
            value={modelType}
            onChange={(v) => {
              if (!v) return;
              setModelType(v);
              setLength('');
            }}
            allowDeselect={false}
            w={240}
          />
          {field && (
            <NumberInput label={field.label} placeholder="default" min={1} max={field.max} value={length} onChange={setLength} w={120} />
          )}
          <Button type="submit" loading={start.isPending}>
            Start training
          </Button>
        </Group>
        <Checkbox mt="sm" label={deployWords} checked={autoDeploy} onChange={(e) => setAutoDeploy(e.currentTarget.checked)} />
      </form>
      <Modal opened={confirming} onClose={() => setConfirming(false)} title="Train and deploy?" centered>
        <Stack>
          <Text size="sm" data-testid="deploy-confirm-text">
            {canaryFirst
              ? `When training finishes, the new version starts as a ${canary} % canary: ${canary} % of shoppers get its recommendations while ${live!.version} keeps serving the rest. You can promote it or stop the canary from the versions table.`
              : 'When training finishes, the new version serves recommendations to every shopper right away.'}
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
            <Button
              onClick={() => {
                setConfirming(false);
                start.mutate();
              }}
            >
              {canaryFirst ? `Train and start the ${canary} % canary` : 'Train and deploy'}
            </Button>
          </Group>
        </Stack>
      </Modal>
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
  // The progress answer carries the latest step's metrics, merged over earlier ones: a metric of an earlier
  // step (the validation of the previous candidate of an automatic run) stays in it while the next model
  // trains. The chart therefore follows one model's epochs at a time and draws only the metrics that move;
  // validation results are collected per evaluated candidate instead.
  const [points, setPoints] = useState<{ phase: string; epoch: number; metrics: Record<string, number> }[]>([]);
  const [candidates, setCandidates] = useState<{ model: string; metrics: Record<string, number> }[]>([]);
  const d = q.data;
  useEffect(() => {
    if (!d) return;
    const phase = d.phase ?? '';
    const validation = Object.fromEntries(Object.entries(d.metrics).filter(([k]) => k.startsWith('val_')));
    if (phase.startsWith('evaluated ') && Object.keys(validation).length > 0) {
      const model = phase.slice('evaluated '.length);
      setCandidates((c) => (c.some((x) => x.model === model) ? c : [...c, { model, metrics: validation }]));
    }
    if (phase.startsWith('training ') && d.current_epoch !== null && Object.keys(d.metrics).length > 0) {
      const epoch = d.current_epoch;
      setPoints((h) => {
        const same = h.length > 0 && h[0]!.phase === phase ? h : [];
        return same.some((x) => x.epoch === epoch) ? same : [...same, { phase, epoch, metrics: d.metrics }];
      });
    }
  }, [d]);
  useEffect(() => {
    if (d && DONE.has(d.status)) {
      void qc.invalidateQueries({ queryKey: ['models'] });
      void qc.invalidateQueries({ queryKey: ['analytics'] });
      // A finished run may have deployed: what "Try it" showed came from the previous version.
      void qc.invalidateQueries({ queryKey: ['recs'] });
      void qc.invalidateQueries({ queryKey: ['similar'] });
    }
  }, [d, qc]);
  const chart = useMemo(() => {
    if (points.length < 2) return null;
    const keys = Object.keys(points[points.length - 1]!.metrics)
      .filter((k) => new Set(points.map((p) => p.metrics[k])).size > 1)
      .slice(0, 4);
    if (keys.length === 0) return null;
    return {
      model: points[0]!.phase.slice('training '.length),
      x: points.map((h) => h.epoch),
      series: keys.map((k) => ({ label: metricLabel(k), values: points.map((h) => h.metrics[k] ?? null) })),
    };
  }, [points]);
  const bestCandidate = candidates.reduce<(typeof candidates)[number] | null>(
    (a, b) => (!a || (b.metrics['val_ndcg@10'] ?? -1) > (a.metrics['val_ndcg@10'] ?? -1) ? b : a),
    null,
  );
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
      {chart && (
        <LineChart
          x={chart.x}
          series={chart.series}
          time={false}
          label={`Training of ${MODEL_LABELS[chart.model] ?? chart.model} by epoch`}
        />
      )}
      {candidates.length > 1 && (
        <Stack gap={4} data-testid="candidates">
          <Text size="sm">Models compared on recent purchases held out from training (higher is better):</Text>
          <DataTable
            rows={candidates}
            rowKey={(c) => c.model}
            columns={[
              {
                key: 'model',
                label: 'Model',
                render: (c) => (
                  <Group gap={6} wrap="nowrap">
                    {MODEL_LABELS[c.model] ?? c.model}
                    {c === bestCandidate && (
                      <Badge size="sm" color="green" variant="light">
                        best
                      </Badge>
                    )}
                  </Group>
                ),
              },
              { key: 'ndcg', label: metricLabel('ndcg@10'), render: (c) => fmtNumber(c.metrics['val_ndcg@10']) },
              { key: 'recall', label: metricLabel('recall@20'), render: (c) => fmtNumber(c.metrics['val_recall@20']) },
            ]}
          />
        </Stack>
      )}
      {!chart && candidates.length <= 1 && Object.keys(d.metrics).length > 0 && !DONE.has(d.status) && (
        <Group gap="xs">
          {Object.entries(d.metrics).map(([k, v]) => (
            <Badge key={k} variant="outline" title={k}>
              {metricLabel(k)}: {fmtNumber(v)}
            </Badge>
          ))}
        </Group>
      )}
      {d.final_metrics && (
        <Group gap="xs" data-testid="final-metrics">
          <Text size="sm">
            Version <span className="mono">{d.model_version}</span> ({d.deployment_status ?? 'not deployed'}):
          </Text>
          {Object.entries(d.final_metrics)
            .filter(([k]) => k in METRIC_WORDS)
            .map(([k, v]) => (
              <Badge key={k} variant="outline" title={k}>
                {metricLabel(k)}: {k === 'lift_over_popularity' ? `${fmtNumber(v)}×` : fmtNumber(v)}
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
    meta: { success: 'Model versions updated' },
    mutationFn: (v: { path: string; body?: DeployBody }) => api('POST', v.path, { body: v.body ?? {} }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['models'] });
      // "Try it" must ask the version now in service, not show what the previous one answered.
      void qc.invalidateQueries({ queryKey: ['recs'] });
      void qc.invalidateQueries({ queryKey: ['similar'] });
    },
  });
  const [canary, setCanary] = useState<number | string>(10);
  const rows = models.data?.data ?? [];
  const dep = models.data?.deployment;
  const best = recommendedVersion(rows);
  const live = rows.find((r) => r.status === 'active');
  const statusColor: Record<string, string> = { active: 'green', canary: 'yellow', previous: 'gray', inactive: 'gray' };
  const statusWords: Record<string, string> = { active: 'live', canary: 'canary', previous: 'previous', inactive: 'not deployed' };
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
          {best && <Verdict best={best} live={live} />}
          {dep && dep.canary_version_id && <Text size="sm">Canary: {dep.canary_percent} % of traffic.</Text>}
          <DataTable
            testId="versions-table"
            rows={rows}
            rowKey={(r) => r.id}
            columns={[
              {
                key: 'version',
                label: 'Version',
                render: (r) => (
                  <Group gap={6} wrap="nowrap">
                    <span className="mono">{r.version}</span>
                    <Badge variant="light" color={statusColor[r.status]} style={{ overflow: 'visible', flexShrink: 0 }}>
                      {statusWords[r.status] ?? r.status}
                    </Badge>
                    {r.id === best?.id && (
                      <Badge color="teal" style={{ overflow: 'visible', flexShrink: 0 }}>
                        recommended
                      </Badge>
                    )}
                  </Group>
                ),
              },
              { key: 'model_type', label: 'Model', render: (r) => MODEL_LABELS[r.model_type] ?? r.model_type },
              {
                key: 'ndcg',
                label: metricLabel('ndcg@10'),
                render: (r) => <span title="NDCG@10, 0 to 1, higher is better">{fmtNumber(r.metrics['ndcg@10'])}</span>,
              },
              {
                key: 'lift',
                label: metricLabel('lift_over_popularity'),
                render: (r) => (r.metrics.lift_over_popularity === undefined ? '—' : `${fmtNumber(r.metrics.lift_over_popularity)}×`),
              },
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
          <Text size="xs" c="dimmed">
            Ranking quality (NDCG@10) measures how high the items a shopper went on to buy appear in their top 10, on recent purchases held
            out from training: 0 to 1, higher is better. "vs. best-sellers" compares it with simply showing the most popular items (1× = no
            better).
          </Text>
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

/** One sentence saying which version is better and why, in plain words. */
function Verdict({ best, live }: { best: VersionRow; live: VersionRow | undefined }) {
  const b = best.metrics['ndcg@10']!;
  const l = live?.metrics['ndcg@10'];
  let text: string;
  if (best.id === live?.id) text = `The live version ${best.version} is the best one trained so far (ranking quality ${fmtNumber(b)}).`;
  else if (live && l !== undefined) {
    const gain = l > 0 ? Math.round((100 * (b - l)) / l) : null;
    text = `${best.version} is recommended: its ranking quality is ${fmtNumber(b)} against ${fmtNumber(l)} for the live ${live.version}${
      gain !== null && gain > 0 ? ` (${gain} % better)` : ''
    }. Deploy it, or try it on part of the traffic first with Canary.`;
  } else
    text = `${best.version} is recommended: the best ranking quality (${fmtNumber(b)}) of the versions trained. Deploy it to serve recommendations.`;
  return (
    <Alert color="teal" variant="light" data-testid="version-verdict">
      {text}
    </Alert>
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
              <>
                <StrategyNote strategy={recs.data.metadata.strategy} />
                <RecTable testId="recs-table" rows={recs.data.recommendations.map((r) => ({ ...r, why: r.reason, value: r.score }))} />
              </>
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
              <>
                <StrategyNote strategy={similar.data.metadata.strategy} />
                <RecTable
                  testId="similar-table"
                  rows={similar.data.similar_items.map((r) => ({ ...r, why: 'similar to the chosen item', value: r.similarity_score }))}
                />
              </>
            )
          )}
        </Stack>
      </SimpleGrid>
    </Card>
  );
}

/** What a shopper would be told of a cold-start answer: which fallback made the list, and what changes it. */
const COLD_STRATEGIES: Record<string, string> = {
  trending: 'No model serves yet: these are what recent shoppers touched (trending). Train a model to personalize.',
  catalog: 'No model and no interactions yet: these follow catalog order. Send interactions and train a model.',
  content_similarity: 'The model does not know this item (or none is live): similar by category, brand and name.',
  category_popularity: 'No content neighbour: popular items of the same category.',
};

function StrategyNote({ strategy }: { strategy: string }) {
  const note = COLD_STRATEGIES[strategy];
  return note ? (
    <Text size="sm" c="dimmed" data-testid="recs-strategy">
      {note}
    </Text>
  ) : null;
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
