import { Alert, Button, Card, Group, NumberInput, SegmentedControl, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, get, requestRaw } from '../../api/client.ts';
import type { Cohort, CohortBody, CohortList, CohortPreview, CohortRuleBody } from '../../api/types.ts';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { fmtNumber } from '../../lib/format.ts';

const P = '/api/v1/analytics/cohorts';
const OPS = [
  { value: 'gte', label: 'at least' },
  { value: 'lte', label: 'at most' },
  { value: 'eq', label: 'exactly' },
];
const KINDS = [
  { value: 'event', label: 'Did an event' },
  { value: 'segment', label: 'RFM segment' },
  { value: 'trait', label: 'Trait equals' },
  { value: 'orders', label: 'Orders' },
];

/** One rule in plain words. */
function ruleText(r: CohortRuleBody): string {
  const op = (o: string) => OPS.find((x) => x.value === o)?.label ?? o;
  switch (r.kind) {
    case 'event':
      return `${r.event} ${op(r.op)} ${r.count} times in ${r.within_days} days`;
    case 'segment':
      return `segment is ${r.segments.join(' or ')}`;
    case 'trait':
      return r.value === undefined ? `${r.key} ${r.op}` : `${r.key} ${r.op} ${String(r.value)}`;
    case 'profile':
      return `${r.field} ${op(r.op)} ${r.value}`;
    case 'score':
      return `${r.score} ${op(r.op)} ${r.value}`;
  }
}

function CohortCount({ id }: { id: string }) {
  const q = useQuery({ queryKey: ['cohort', id], queryFn: () => get<Cohort>(`${P}/${id}`) });
  return <>{q.data?.count === undefined ? '…' : fmtNumber(q.data.count)}</>;
}

async function downloadMembers(c: Cohort): Promise<void> {
  const res = await requestRaw('GET', `${P}/${c.id}/members`, { query: { format: 'csv' } });
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `${c.name}.csv`;
  a.click();
  URL.revokeObjectURL(url);
}

/**
 * Saved cohorts: build one from rules (prefilled from a report's filter: `?event=<name>&within_days=<n>`), see its
 * size before saving, list the saved ones with their sizes now, export members as CSV, delete.
 */
export default function CohortsPage() {
  const [params] = useSearchParams();
  const qc = useQueryClient();
  const [name, setName] = useState(params.get('name') ?? '');
  const [match, setMatch] = useState<'all' | 'any'>('all');
  const [rules, setRules] = useState<CohortRuleBody[]>(() => {
    const event = params.get('event');
    const days = Number(params.get('within_days') ?? 30);
    return event ? [{ kind: 'event', event, op: 'gte', count: 1, within_days: Number.isInteger(days) && days > 0 ? days : 30 }] : [];
  });
  const [kind, setKind] = useState('event');
  const [text, setText] = useState('');
  const [value, setValue] = useState<string | number>('');
  const [op, setOp] = useState('gte');
  const [count, setCount] = useState<string | number>(1);
  const [days, setDays] = useState<string | number>(30);

  const list = useQuery({ queryKey: ['cohorts'], queryFn: () => get<CohortList>(P) });
  const definition = { match, rules };
  const preview = useMutation({ mutationFn: () => api<CohortPreview>('POST', `${P}/preview`, { body: { definition } }) });
  const save = useMutation({
    mutationFn: () => api<Cohort>('POST', P, { body: { name, definition } satisfies CohortBody }),
    onSuccess: () => {
      setName('');
      setRules([]);
      preview.reset();
      void qc.invalidateQueries({ queryKey: ['cohorts'] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api<null>('DELETE', `${P}/${id}`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['cohorts'] }),
  });

  const addRule = () => {
    const n = (x: string | number) => Number(x);
    let rule: CohortRuleBody | null = null;
    if (kind === 'event' && text) rule = { kind: 'event', event: text, op: op as 'gte', count: n(count), within_days: n(days) };
    if (kind === 'segment' && text)
      rule = {
        kind: 'segment',
        segments: text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      };
    if (kind === 'trait' && text) rule = { kind: 'trait', key: text, op: 'eq', value: String(value) };
    if (kind === 'orders') rule = { kind: 'profile', field: 'total_orders', op: op as 'gte', value: n(count) };
    if (rule) {
      setRules([...rules, rule]);
      setText('');
      preview.reset();
    }
  };

  return (
    <Stack>
      <Title order={2}>Cohorts</Title>
      <Card withBorder>
        <Stack gap="sm">
          <Title order={4}>New cohort</Title>
          <TextInput label="Cohort name" value={name} maxLength={100} onChange={(e) => setName(e.currentTarget.value)} />
          <SegmentedControl
            aria-label="People who match"
            data={[
              { value: 'all', label: 'All rules' },
              { value: 'any', label: 'Any rule' },
            ]}
            value={match}
            onChange={(v) => setMatch(v as 'all' | 'any')}
          />
          <Group align="end" wrap="wrap" gap="sm">
            <Select label="Rule" data={KINDS} value={kind} allowDeselect={false} w={160} onChange={(v) => setKind(v ?? 'event')} />
            {kind !== 'orders' && (
              <TextInput
                label={kind === 'event' ? 'Event' : kind === 'segment' ? 'Segments (comma-separated)' : 'Trait key'}
                value={text}
                onChange={(e) => setText(e.currentTarget.value)}
              />
            )}
            {kind === 'trait' && <TextInput label="Trait value" value={String(value)} onChange={(e) => setValue(e.currentTarget.value)} />}
            {(kind === 'event' || kind === 'orders') && (
              <>
                <Select label="How often" data={OPS} value={op} allowDeselect={false} w={120} onChange={(v) => setOp(v ?? 'gte')} />
                <NumberInput label="Count" min={0} value={count} onChange={setCount} w={90} />
              </>
            )}
            {kind === 'event' && <NumberInput label="In the last days" min={1} max={3650} value={days} onChange={setDays} w={130} />}
            <Button variant="light" onClick={addRule}>
              Add rule
            </Button>
          </Group>
          {rules.length > 0 && (
            <Stack gap={4} data-testid="cohort-rules">
              {rules.map((r, i) => (
                <Group key={i} gap="xs">
                  <Text size="sm">{ruleText(r)}</Text>
                  <Button size="compact-xs" variant="subtle" color="red" onClick={() => setRules(rules.filter((_, k) => k !== i))}>
                    Remove
                  </Button>
                </Group>
              ))}
            </Stack>
          )}
          <Group>
            <Button variant="default" disabled={rules.length === 0} loading={preview.isPending} onClick={() => preview.mutate()}>
              Preview count
            </Button>
            <Button disabled={rules.length === 0 || !name.trim()} loading={save.isPending} onClick={() => save.mutate()}>
              Save cohort
            </Button>
            {preview.data && <Text data-testid="cohort-preview">{fmtNumber(preview.data.count)} people now</Text>}
          </Group>
          {(preview.error || save.error) && (
            <Alert color="red" role="alert">
              {(preview.error ?? save.error)!.message}
            </Alert>
          )}
        </Stack>
      </Card>
      {list.isLoading ? (
        <Loading label="Loading cohorts" />
      ) : list.error ? (
        <ErrorState error={list.error} feature="Cohorts" />
      ) : !list.data?.data.length ? (
        <EmptyState title="No saved cohort yet">Build one above, or from a report's filter.</EmptyState>
      ) : (
        <div className="table-scroll">
          <Table data-testid="cohorts-table" withTableBorder aria-label="Saved cohorts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Rules</Table.Th>
                <Table.Th>People now</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.data.map((c) => (
                <Table.Tr key={c.id}>
                  <Table.Td>{c.name}</Table.Td>
                  <Table.Td>
                    {(c.definition as { match: string; rules: CohortRuleBody[] }).rules
                      .map(ruleText)
                      .join((c.definition as { match: string }).match === 'any' ? ' or ' : ' and ')}
                  </Table.Td>
                  <Table.Td>
                    <CohortCount id={c.id} />
                  </Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button size="compact-sm" variant="light" onClick={() => void downloadMembers(c)}>
                        CSV
                      </Button>
                      <Button size="compact-sm" variant="subtle" color="red" onClick={() => remove.mutate(c.id)}>
                        Delete
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
    </Stack>
  );
}
