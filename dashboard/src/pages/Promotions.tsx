import { useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { fmtDate, fmtMinor } from '../lib/format.ts';
import type { Promotion, PromotionList } from '../api/types.ts';
import { isCurrencyCode, parseMoney } from '../../../src/contracts/money.ts';
import { useSession } from '../session.tsx';

/** What a promotion gives, in words: "15% off items", "5.00 USD off the order", "buy 2 get 1 free". */
function describe(p: Promotion): string {
  const amount = p.type === 'percentage' ? `${p.value / 100}%` : fmtMinor(String(p.value), p.currency ?? 'USD');
  const items =
    (p.target_item_ids ? ` (${p.target_item_ids.join(', ')})` : '') +
    (p.target_categories ? ` in ${p.target_categories.join(', ')}` : '') +
    (p.target_segments ? `, for ${p.target_segments.join(', ')} customers` : '');
  if (p.kind === 'buyget') {
    const buy = p.buy_item_ids ? ` of ${p.buy_item_ids.join(', ')}` : '';
    const off = p.value >= 10_000 ? 'free' : `${amount} off`;
    const times = p.max_applications > 1 ? `, up to ${p.max_applications} times per cart` : '';
    return `Buy ${p.buy_rules_min_quantity}${buy}, get ${p.apply_to_quantity}${items} ${off}${times}`;
  }
  const on = p.target === 'order' ? 'the order' : p.target === 'shipping' ? 'shipping' : 'items';
  if (p.allocation === 'once') {
    const what = p.target === 'shipping' ? 'shipping method' : 'unit';
    return `${amount} off the ${p.max_quantity === 1 ? `cheapest ${what}` : `${p.max_quantity} cheapest ${what}s`}${items}, once per cart`;
  }
  const each = p.max_quantity ? `, up to ${p.max_quantity} units a line` : '';
  return `${amount} off ${on}${items}${p.type === 'fixed' && p.target === 'items' ? (p.allocation === 'each' ? `, each unit${each}` : ', across') : each}`;
}

/** A typed amount in major units of `currency` as minor units (0 when it is not an amount: the server says why). */
function minorOf(major: string, currency: string): number {
  if (!isCurrencyCode(currency)) return 0;
  const m = parseMoney(major, currency);
  return m.ok ? Number(m.minor) : 0;
}

const ids = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export default function PromotionsPage() {
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ['promotions', tenantId],
    queryFn: ({ signal }) => get<PromotionList>('/api/v1/promotions', undefined, signal),
  });
  const deactivate = useMutation({
    mutationFn: (id: string) => api<Promotion>('POST', `/api/v1/promotions/${encodeURIComponent(id)}/deactivate`),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['promotions', tenantId] }),
  });
  const rows = list.data?.data ?? [];
  return (
    <Stack>
      <Title order={2}>Promotions</Title>
      <CreatePromotion onCreated={() => void qc.invalidateQueries({ queryKey: ['promotions', tenantId] })} />
      {deactivate.error ? (
        <Alert color="red" role="alert">
          {deactivate.error.message}
        </Alert>
      ) : null}
      {list.isLoading ? (
        <Loading label="Loading promotions" />
      ) : list.error ? (
        <ErrorState error={list.error} feature="Promotions" />
      ) : rows.length === 0 ? (
        <EmptyState title="No promotions yet">Create a code or an automatic promotion above; its usage shows here.</EmptyState>
      ) : (
        <DataTable
          testId="promotions-table"
          rows={rows}
          rowKey={(r) => r.id}
          columns={[
            { key: 'code', label: 'Code', render: (r) => r.code ?? <Badge variant="light">automatic</Badge> },
            { key: 'what', label: 'Gives', render: (r) => describe(r) },
            {
              key: 'usage',
              label: 'Used',
              render: (r) => (r.usage_limit === null ? `${r.usage_count}` : `${r.usage_count} of ${r.usage_limit}`),
            },
            {
              key: 'budget',
              label: 'Budget spent',
              render: (r) =>
                r.budget === null
                  ? '—'
                  : `${fmtMinor(String(r.budget_used), r.currency ?? 'USD')} of ${fmtMinor(String(r.budget), r.currency ?? 'USD')}`,
            },
            {
              key: 'window',
              label: 'Runs',
              render: (r) =>
                r.starts_at || r.ends_at
                  ? `${r.starts_at ? fmtDate(r.starts_at) : '…'} – ${r.ends_at ? fmtDate(r.ends_at) : '…'}`
                  : 'always',
            },
            {
              key: 'status',
              label: 'Status',
              render: (r) =>
                r.active ? (
                  <Group gap="xs">
                    <Badge color="green">active</Badge>
                    <Button
                      size="xs"
                      variant="default"
                      loading={deactivate.isPending && deactivate.variables === r.id}
                      onClick={() => deactivate.mutate(r.id)}
                      aria-label={`Stop ${r.code ?? 'automatic promotion'}`}
                    >
                      Stop
                    </Button>
                  </Group>
                ) : (
                  <Badge color="gray">stopped</Badge>
                ),
            },
          ]}
        />
      )}
    </Stack>
  );
}

function CreatePromotion({ onCreated }: { onCreated: () => void }) {
  const [kind, setKind] = useState<'standard' | 'buyget'>('standard');
  const [code, setCode] = useState('');
  const [type, setType] = useState<'percentage' | 'fixed'>('percentage');
  const [target, setTarget] = useState<'items' | 'shipping' | 'order'>('items');
  const [value, setValue] = useState<number | string>(10);
  const [currency, setCurrency] = useState('USD');
  const [targetItems, setTargetItems] = useState('');
  const [categories, setCategories] = useState('');
  const [segments, setSegments] = useState('');
  const [buyItems, setBuyItems] = useState('');
  const [buyMin, setBuyMin] = useState<number | string>(2);
  const [applyTo, setApplyTo] = useState<number | string>(1);
  const [limit, setLimit] = useState<number | string>('');
  const [times, setTimes] = useState<number | string>(1);
  const [cheapest, setCheapest] = useState<number | string>('');
  const [budget, setBudget] = useState('');
  const buyget = kind === 'buyget';
  const create = useMutation({
    mutationFn: () => {
      const pct = buyget || type === 'percentage';
      const body = {
        ...(code.trim() ? { code: code.trim() } : { automatic: true }),
        kind,
        type: buyget ? 'percentage' : type,
        target: buyget ? 'items' : target,
        // Percentages are typed in percent and sent in basis points; fixed amounts in major units, sent in minor units.
        value: pct ? Math.round(Number(value) * 100) : minorOf(String(value), currency.trim().toUpperCase()),
        // A spend budget is an amount too: it needs the currency, whatever the promotion's type.
        ...(!pct || budget.trim() ? { currency: currency.trim().toUpperCase() } : {}),
        ...(budget.trim() ? { budget: minorOf(budget.trim(), currency.trim().toUpperCase()) } : {}),
        ...(ids(targetItems).length && target !== 'shipping' ? { target_item_ids: ids(targetItems) } : {}),
        ...(ids(categories).length && target !== 'shipping' ? { target_categories: ids(categories) } : {}),
        ...(ids(segments).length ? { target_segments: ids(segments) } : {}),
        ...(buyget
          ? {
              buy_rules_min_quantity: Number(buyMin),
              apply_to_quantity: Number(applyTo),
              ...(Number(times) > 1 ? { max_applications: Number(times) } : {}),
              ...(ids(buyItems).length ? { buy_item_ids: ids(buyItems) } : {}),
            }
          : {}),
        // Medusa's `once`: the cheapest units (or shipping methods) in the cart, at most this many.
        ...(!buyget && target !== 'order' && cheapest !== '' ? { allocation: 'once', max_quantity: Number(cheapest) } : {}),
        ...(limit !== '' ? { usage_limit: Number(limit) } : {}),
      };
      return api<Promotion>('POST', '/api/v1/promotions', { body });
    },
    onSuccess: () => {
      setCode('');
      onCreated();
    },
  });
  return (
    <Card withBorder>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack>
          <Group justify="space-between">
            <Text fw={600}>New promotion</Text>
            <SegmentedControl
              aria-label="Kind"
              value={kind}
              onChange={(v) => setKind(v as 'standard' | 'buyget')}
              data={[
                { value: 'standard', label: 'Discount' },
                { value: 'buyget', label: 'Buy X get Y' },
              ]}
            />
          </Group>
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            <TextInput
              label="Code"
              description="Leave empty for an automatic promotion"
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
              maxLength={50}
            />
            {buyget ? null : (
              <Select
                label="Type"
                data={[
                  { value: 'percentage', label: 'Percentage' },
                  { value: 'fixed', label: 'Fixed amount' },
                ]}
                value={type}
                onChange={(v) => v && setType(v as 'percentage' | 'fixed')}
                allowDeselect={false}
              />
            )}
            {buyget ? null : (
              <Select
                label="On"
                data={[
                  { value: 'items', label: 'Items' },
                  { value: 'order', label: 'The order' },
                  { value: 'shipping', label: 'Shipping' },
                ]}
                value={target}
                onChange={(v) => v && setTarget(v as 'items' | 'shipping' | 'order')}
                allowDeselect={false}
              />
            )}
            <NumberInput
              label={buyget || type === 'percentage' ? 'Percent off' : 'Amount off'}
              description={buyget ? '100 = free' : undefined}
              value={value}
              onChange={setValue}
              min={0.01}
              max={buyget || type === 'percentage' ? 100 : undefined}
              decimalScale={2}
            />
            {(!buyget && type === 'fixed') || budget.trim() ? (
              <TextInput label="Currency" value={currency} onChange={(e) => setCurrency(e.currentTarget.value)} maxLength={3} />
            ) : null}
            {target !== 'shipping' || buyget ? (
              <TextInput
                label={buyget ? 'Get items' : 'Only items'}
                description="Item ids, comma-separated; empty for every item"
                value={targetItems}
                onChange={(e) => setTargetItems(e.currentTarget.value)}
              />
            ) : null}
            {target !== 'shipping' || buyget ? (
              <TextInput
                label="Only categories"
                description="Category names, comma-separated (items under them count too); empty for any"
                value={categories}
                onChange={(e) => setCategories(e.currentTarget.value)}
              />
            ) : null}
            <TextInput
              label="Only customer segments"
              description="Predictions' segments (e.g. champions, loyal, at_risk), comma-separated; empty for every shopper"
              value={segments}
              onChange={(e) => setSegments(e.currentTarget.value)}
            />
            {buyget ? (
              <>
                <TextInput
                  label="Buy items"
                  description="Item ids, comma-separated; empty for every item"
                  value={buyItems}
                  onChange={(e) => setBuyItems(e.currentTarget.value)}
                />
                <NumberInput label="Buy quantity" value={buyMin} onChange={setBuyMin} min={1} max={9999} allowDecimal={false} />
                <NumberInput label="Get quantity" value={applyTo} onChange={setApplyTo} min={1} max={9999} allowDecimal={false} />
                <NumberInput
                  label="Times per cart"
                  description="How often one cart may earn it"
                  value={times}
                  onChange={setTimes}
                  min={1}
                  max={1000}
                  allowDecimal={false}
                />
              </>
            ) : null}
            {!buyget && target !== 'order' ? (
              <NumberInput
                label="Cheapest units only"
                description={`At most this many ${target === 'shipping' ? 'shipping methods' : 'units'} in the cart, the cheapest first; empty for all`}
                value={cheapest}
                onChange={setCheapest}
                min={1}
                allowDecimal={false}
              />
            ) : null}
            <TextInput
              label="Spend budget"
              description="Most it may give away in all, in the currency; empty for no budget"
              value={budget}
              onChange={(e) => setBudget(e.currentTarget.value)}
              inputMode="decimal"
            />
            <NumberInput
              label="Usage limit"
              description="Empty for no limit"
              value={limit}
              onChange={setLimit}
              min={1}
              allowDecimal={false}
            />
          </SimpleGrid>
          {create.error ? (
            <Alert color="red" role="alert">
              {create.error.message}
            </Alert>
          ) : null}
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create promotion
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
