import { useMemo, useState } from 'react';
import { Alert, Badge, Button, Card, Code, Group, NumberInput, Select, Stack, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, get } from '../../api/client.ts';
import type { CreateFlagBody, Flag, FlagClientKeyList, FlagExposureCounts, FlagList, UpdateFlagBody } from '../../api/types.ts';
import { DataTable } from '../../components/DataTable.tsx';
import { LineChart } from '../../components/LineChart.tsx';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { downloadCsv } from '../../lib/download.ts';
import { fmtDate } from '../../lib/format.ts';

type Rule = Flag['rules'][number];

/** One rule in plain words: "country = FR → true", "30 % of users → true", "experiment checkout_copy". */
export function describeRule(r: Rule): string {
  const when = r.condition ? `${JSON.stringify(r.condition)} ` : '';
  const envs = r.environments ? ` (only ${r.environments.join(', ')})` : '';
  const off = r.enabled ? '' : ' [disabled]';
  if (r.type === 'experiment') return `${when}experiment ${r.experiment_key ?? ''}${envs}${off}`;
  if (r.type === 'rollout') return `${when}${Math.round(r.coverage * 1000) / 10} % of users → ${JSON.stringify(r.value)}${envs}${off}`;
  return `${when || 'everyone '}→ ${JSON.stringify(r.value)}${envs}${off}`;
}

/** Feature flags: the tenant's flags with their rules, SDK client keys, a create form and per-flag evaluations. */
export function FlagsPage() {
  const list = useQuery({ queryKey: ['flags'], queryFn: () => get<FlagList>('/api/v1/admin/flags') });
  const [selected, setSelected] = useState<string | null>(null);
  const flag = list.data?.data.find((f) => f.id === selected);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Feature flags</Title>
        <Button component={Link} to="/experiments" variant="subtle">
          ← Experiments
        </Button>
      </Group>
      <ClientKeys />
      <CreateFlag />
      <Card withBorder>
        <Group justify="space-between" mb="sm">
          <Title order={3} size="h4">
            All flags
          </Title>
          {list.data && list.data.data.length > 0 && (
            <Button
              variant="light"
              size="xs"
              onClick={() =>
                downloadCsv(
                  'flags.csv',
                  ['key', 'type', 'default_value', 'rules', 'environments', 'archived', 'updated_at'],
                  list.data.data.map((f) => [
                    f.key,
                    f.value_type,
                    JSON.stringify(f.default_value),
                    f.rules.map(describeRule).join(' | '),
                    f.environments.join(' '),
                    String(f.archived),
                    f.updated_at,
                  ]),
                )
              }
            >
              Export CSV
            </Button>
          )}
        </Group>
        {list.isPending ? (
          <Loading label="Loading flags" />
        ) : list.isError ? (
          <ErrorState error={list.error} feature="Feature flags" />
        ) : list.data.data.length === 0 ? (
          <EmptyState title="No flags yet">
            Create one above. Your app's GrowthBook SDK reads them from /api/features/&lt;client key&gt; and evaluates them locally.
          </EmptyState>
        ) : (
          <DataTable<Flag>
            testId="flags-table"
            rows={list.data.data}
            rowKey={(f) => f.id}
            onRowClick={(f) => setSelected(f.id)}
            columns={[
              { key: 'key', label: 'Key' },
              { key: 'value_type', label: 'Type' },
              { key: 'default_value', label: 'Default', render: (f) => <Code>{JSON.stringify(f.default_value)}</Code> },
              {
                key: 'rules',
                label: 'Rules',
                render: (f) => (f.rules.length ? f.rules.map(describeRule).join(' · ') : 'none: everyone gets the default'),
              },
              { key: 'environments', label: 'Environments', render: (f) => f.environments.join(', ') },
              {
                key: 'archived',
                label: 'Status',
                render: (f) => <Badge color={f.archived ? 'dark' : 'green'}>{f.archived ? 'archived' : 'served'}</Badge>,
              },
              { key: 'updated_at', label: 'Changed', render: (f) => fmtDate(f.updated_at) },
            ]}
          />
        )}
      </Card>
      {flag && <FlagDetail flag={flag} />}
    </Stack>
  );
}

function ClientKeys() {
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ['flag-client-keys'], queryFn: () => get<FlagClientKeyList>('/api/v1/admin/flags/client-keys') });
  const [env, setEnv] = useState('production');
  const create = useMutation({
    mutationFn: () => api('POST', '/api/v1/admin/flags/client-keys', { body: { environment: env } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['flag-client-keys'] }),
  });
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="sm">
        SDK client keys
      </Title>
      {keys.isPending ? (
        <Loading label="Loading client keys" />
      ) : keys.isError ? (
        <ErrorState error={keys.error} feature="Client keys" />
      ) : keys.data.data.length === 0 ? (
        <Text size="sm" c="dimmed">
          No client key yet: create one for each environment your app runs in, and give it to the GrowthBook SDK as its clientKey (apiHost:
          this server).
        </Text>
      ) : (
        <Stack gap={4} data-testid="client-keys">
          {keys.data.data.map((k) => (
            <Text size="sm" key={k.client_key}>
              <Badge variant="light" mr="xs">
                {k.environment}
              </Badge>
              <Code>{k.client_key}</Code> — payload at <Code>/api/features/{k.client_key}</Code>
            </Text>
          ))}
        </Stack>
      )}
      <Group mt="sm" align="flex-end">
        <TextInput label="Environment" value={env} onChange={(e) => setEnv(e.currentTarget.value)} w={200} />
        <Button variant="light" onClick={() => create.mutate()} loading={create.isPending}>
          Create client key
        </Button>
      </Group>
      {create.isError && <ErrorState error={create.error} />}
    </Card>
  );
}

type ValueType = Flag['value_type'];

/** Parses what the user typed as a value of the flag's type; a message saying what to write when it does not fit. */
function parseValue(type: ValueType, text: string): { value: unknown } | { problem: string } {
  const t = text.trim();
  if (type === 'boolean') return t === 'true' || t === 'false' ? { value: t === 'true' } : { problem: 'Write true or false.' };
  if (type === 'number')
    return t !== '' && Number.isFinite(Number(t)) ? { value: Number(t) } : { problem: 'Write a number such as 20 or 0.5.' };
  if (type === 'string') return { value: text };
  try {
    return { value: JSON.parse(t) as unknown };
  } catch {
    return { problem: 'Write valid JSON, such as {"text": "Welcome"}.' };
  }
}

function CreateFlag() {
  const qc = useQueryClient();
  const [key, setKey] = useState('');
  const [type, setType] = useState<ValueType>('boolean');
  const [defaultValue, setDefaultValue] = useState('false');
  const [ruleValue, setRuleValue] = useState('true');
  const [rollout, setRollout] = useState<number>(100);
  const [condition, setCondition] = useState('');
  const [environments, setEnvironments] = useState('production');
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: CreateFlagBody) => api<Flag>('POST', '/api/v1/admin/flags', { body }),
    onSuccess: async () => {
      setKey('');
      await qc.invalidateQueries({ queryKey: ['flags'] });
    },
  });
  const submit = () => {
    setProblem(null);
    const d = parseValue(type, defaultValue);
    if ('problem' in d) return setProblem(`Default value: ${d.problem}`);
    let cond: Record<string, unknown> | undefined;
    if (condition.trim()) {
      try {
        cond = JSON.parse(condition) as Record<string, unknown>;
      } catch {
        return setProblem('Targeting is not valid JSON. Write a condition such as {"country": "FR"}, or leave it empty for everyone.');
      }
    }
    const rules: CreateFlagBody['rules'] = [];
    if (cond || rollout < 100) {
      const v = parseValue(type, ruleValue);
      if ('problem' in v) return setProblem(`Value for targeted users: ${v.problem}`);
      rules.push(
        rollout < 100
          ? { type: 'rollout', coverage: rollout / 100, value: v.value, ...(cond ? { condition: cond } : {}) }
          : { type: 'force', value: v.value, ...(cond ? { condition: cond } : {}) },
      );
    }
    const envs = environments
      .split(/[\s,]+/)
      .map((e) => e.trim())
      .filter(Boolean);
    create.mutate({ key, value_type: type, default_value: d.value, rules, environments: envs.length ? envs : ['production'] });
  };
  return (
    <Card withBorder>
      <Title order={3} size="h4" mb="sm">
        New flag
      </Title>
      <Stack gap="sm">
        <Group grow>
          <TextInput label="Flag key" placeholder="new_checkout" value={key} onChange={(e) => setKey(e.currentTarget.value)} required />
          <Select
            label="Type"
            data={['boolean', 'string', 'number', 'json']}
            value={type}
            allowDeselect={false}
            onChange={(v) => {
              const t = (v ?? 'boolean') as ValueType;
              setType(t);
              setDefaultValue(t === 'boolean' ? 'false' : t === 'number' ? '0' : t === 'json' ? '{}' : '');
              setRuleValue(t === 'boolean' ? 'true' : t === 'number' ? '1' : t === 'json' ? '{}' : '');
            }}
          />
          <TextInput label="Default value" value={defaultValue} onChange={(e) => setDefaultValue(e.currentTarget.value)} />
          <TextInput label="Environments" value={environments} onChange={(e) => setEnvironments(e.currentTarget.value)} />
        </Group>
        <Group grow align="flex-end">
          <Textarea
            label="Targeting (optional)"
            placeholder='{"country": "FR"}'
            value={condition}
            onChange={(e) => setCondition(e.currentTarget.value)}
            autosize
            minRows={1}
          />
          <NumberInput
            label="Rollout (% of users)"
            min={0}
            max={100}
            value={rollout}
            onChange={(v) => setRollout(Number(v) >= 0 ? Number(v) : 100)}
          />
          <TextInput label="Value for them" value={ruleValue} onChange={(e) => setRuleValue(e.currentTarget.value)} />
        </Group>
        <Group>
          <Button onClick={submit} loading={create.isPending} disabled={!key.trim()}>
            Create flag
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

function FlagDetail({ flag }: { flag: Flag }) {
  const qc = useQueryClient();
  const counts = useQuery({
    queryKey: ['flag-exposures', flag.id],
    queryFn: () => get<FlagExposureCounts>(`/api/v1/admin/flags/${flag.id}/exposures`, { days: 30 }),
  });
  const archive = useMutation({
    mutationFn: () => {
      const body: UpdateFlagBody = {
        version: flag.version,
        archived: !flag.archived,
        description: flag.description,
        value_type: flag.value_type,
        default_value: flag.default_value,
        environments: flag.environments,
        prerequisites: flag.prerequisites.map((p) => ({ flag_key: p.flag_key, condition: p.condition as Record<string, unknown> })),
        rules: flag.rules.map((r) => ({
          id: r.id,
          type: r.type,
          description: r.description,
          enabled: r.enabled,
          environments: r.environments,
          ...(r.condition ? { condition: r.condition as Record<string, unknown> } : {}),
          prerequisites: r.prerequisites.map((p) => ({ flag_key: p.flag_key, condition: p.condition as Record<string, unknown> })),
          ...(r.type !== 'experiment' ? { value: r.value } : {}),
          ...(r.type === 'rollout' ? { coverage: r.coverage } : {}),
          hash_attribute: r.hash_attribute,
          ...(r.seed ? { seed: r.seed } : {}),
          ...(r.experiment_key ? { experiment_key: r.experiment_key } : {}),
          variation_values: r.variation_values,
        })),
      };
      return api<Flag>('PUT', `/api/v1/admin/flags/${flag.id}`, { body });
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: ['flags'] }),
  });
  const chart = useMemo(() => {
    const rows = counts.data?.data ?? [];
    if (!rows.length) return { x: [], series: [] };
    // Every day of the window, zeros included, so one busy day does not stretch the axis over years.
    const today = Date.parse(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
    const days = Array.from({ length: 30 }, (_, i) => new Date(today - (29 - i) * 86_400_000).toISOString().slice(0, 10));
    const values = [...new Set(rows.map((r) => r.value))].slice(0, 5);
    return {
      x: days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000),
      series: values.map((v) => ({ label: v, values: days.map((d) => rows.find((r) => r.day === d && r.value === v)?.count ?? 0) })),
    };
  }, [counts.data]);
  return (
    <Card withBorder data-testid="flag-detail">
      <Group justify="space-between" mb="sm">
        <Title order={3} size="h4">
          {flag.key}
        </Title>
        <Button variant="light" color={flag.archived ? 'green' : 'red'} onClick={() => archive.mutate()} loading={archive.isPending}>
          {flag.archived ? 'Serve again' : 'Archive'}
        </Button>
      </Group>
      <Stack gap={4} mb="sm">
        {flag.prerequisites.map((p) => (
          <Text size="sm" key={p.flag_key}>
            Only when flag <Code>{p.flag_key}</Code> matches <Code>{JSON.stringify(p.condition)}</Code>
          </Text>
        ))}
        {flag.rules.map((r, i) => (
          <Text size="sm" key={r.id}>
            {i + 1}. {describeRule(r)}
          </Text>
        ))}
        <Text size="sm">Otherwise: {JSON.stringify(flag.default_value)}</Text>
      </Stack>
      {archive.isError && <ErrorState error={archive.error} />}
      {counts.isPending ? (
        <Loading label="Loading evaluations" />
      ) : counts.isError ? (
        <ErrorState error={counts.error} feature="Flag evaluations" />
      ) : chart.x.length === 0 ? (
        <Alert color="gray">
          No evaluations reported in the last 30 days. SDKs report them with POST /api/features/&lt;client key&gt;/exposures.
        </Alert>
      ) : (
        <LineChart x={chart.x} series={chart.series} label={`Evaluations of ${flag.key} per day and value`} height={200} />
      )}
    </Card>
  );
}
