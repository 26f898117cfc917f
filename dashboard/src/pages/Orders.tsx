import { useState } from 'react';
import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  NumberInput,
  Select,
  SimpleGrid,
  Stack,
  Text,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Route, Routes, useNavigate, useParams as useRouteParams } from 'react-router';
import { api, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { fetchAllPages, PagedTable } from '../components/PagedTable.tsx';
import { EmptyState, ErrorState, Loading } from '../components/states.tsx';
import { fmtDate, fmtMinor } from '../lib/format.ts';
import { useParams } from '../lib/params.ts';
import type { OrderDetail, OrderList, OrderSort, OrderStatus, OrderSummary } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { formatMoney, isCurrencyCode, parseMoney } from '../../../src/contracts/money.ts';
import { toCsv as rowsToCsv } from '../lib/csv.ts';

const STATUSES: OrderStatus[] = ['pending', 'paid', 'fulfilled', 'partially_refunded', 'refunded', 'cancelled'];
const COLOR: Record<OrderStatus, string> = {
  pending: 'yellow',
  paid: 'green',
  fulfilled: 'blue',
  partially_refunded: 'orange',
  refunded: 'gray',
  cancelled: 'red',
};
const label = (s: string) => s.replace(/_/g, ' ');
/** The API's integer minor units as money of the order's currency. */
const money = (minor: number, currency: string) => fmtMinor(String(minor), currency);

export default function OrdersPage() {
  return (
    <Stack>
      <Title order={2}>Orders</Title>
      <Routes>
        <Route index element={<OrderListView />} />
        <Route path=":id" element={<OrderView />} />
      </Routes>
    </Stack>
  );
}

/** Exact decimal text of minor units in the order's currency ("19.99"); an unknown code keeps the minor units. */
const major = (minor: number, currency: string) => (isCurrencyCode(currency) ? formatMoney(minor, currency) : String(minor));
const CSV_COLUMNS = ['id', 'created_at', 'status', 'customer', 'email', 'currency', 'total', 'paid', 'refunded'].map((k) => ({
  key: k,
  label: k,
}));

/** Orders as CSV (RFC 4180 quoting, formula-looking cells neutralised), amounts in major units of each order's currency. */
function toCsv(rows: OrderSummary[]): string {
  return rowsToCsv(
    rows.map((o) => ({
      id: o.id,
      created_at: o.created_at,
      status: o.status,
      customer: o.user_id,
      email: o.email,
      currency: o.currency_code,
      total: major(o.total, o.currency_code),
      paid: major(o.paid_total, o.currency_code),
      refunded: major(o.refunded_total, o.currency_code),
    })),
    CSV_COLUMNS,
  );
}

/** Orders a page shows; the server caps offsets at 10,000 (ORDER_OFFSET_MAX), the export stops there too. */
const PAGE_SIZE = 50;
const OFFSET_CAP = 10_000;

function OrderListView() {
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const [f, setF] = useParams(['q', 'status', 'sort', 'offset'] as const);
  const [typed, setTyped] = useState(f.q);
  const sort = (f.sort || '-created_at') as OrderSort;
  const offset = Math.min(OFFSET_CAP, Math.max(0, Number.parseInt(f.offset, 10) || 0));
  const filters = { ...(f.q ? { q: f.q } : {}), ...(f.status ? { status: f.status } : {}) };
  const list = useQuery({
    queryKey: ['orders', tenantId, f.q, f.status, sort, offset],
    queryFn: ({ signal }) => get<OrderList>('/api/v1/orders', { ...filters, sort, offset, limit: PAGE_SIZE }, signal),
    placeholderData: keepPreviousData,
  });
  const rows = list.data?.data ?? [];
  const exportRows = async () => {
    const all = await fetchAllPages(
      (from, limit) => get<OrderList>('/api/v1/orders', { ...filters, sort, offset: from, limit }),
      OFFSET_CAP,
    );
    return { csv: toCsv(all.rows), truncated: all.truncated };
  };
  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setF({ q: typed.trim(), offset: null });
        }}
      >
        <Group align="flex-end">
          <TextInput
            label="Search orders"
            description="Order id, customer id or e-mail"
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            w={{ base: '100%', sm: 320 }}
          />
          <Select
            label="Status"
            placeholder="Any status"
            clearable
            data={STATUSES.map((s) => ({ value: s, label: label(s) }))}
            value={f.status || null}
            onChange={(v) => setF({ status: v, offset: null })}
            w={200}
          />
          <Button type="submit">Search</Button>
        </Group>
      </form>
      {list.isLoading ? (
        <Loading label="Loading orders" />
      ) : list.error ? (
        <ErrorState error={list.error} feature="Orders" />
      ) : rows.length === 0 && offset === 0 ? (
        <EmptyState title={f.q || f.status ? 'No order matches' : 'No orders yet'}>
          {f.q || f.status
            ? 'Clear the filters, or search by another id or e-mail.'
            : 'Orders appear when shoppers check out through the cart API (POST /api/v1/cart/complete) or the storefront.'}
        </EmptyState>
      ) : (
        <PagedTable
          testId="orders-table"
          rows={rows}
          stale={list.isPlaceholderData}
          total={list.data?.total ?? rows.length}
          page={{ sort, offset, limit: PAGE_SIZE }}
          onPage={(next) =>
            setF({
              ...(next.sort ? { sort: next.sort === '-created_at' ? null : next.sort } : {}),
              offset: next.offset ? String(next.offset) : null,
            })
          }
          exportRows={exportRows}
          exportName="orders.csv"
          rowKey={(r) => r.id}
          onRowClick={(r) => navigate(`/orders/${r.id}`)}
          columns={[
            {
              key: 'id',
              label: 'Order',
              render: (r) => (
                <Anchor component={Link} to={`/orders/${r.id}`} onClick={(e) => e.stopPropagation()}>
                  {r.id.slice(-8)}
                </Anchor>
              ),
            },
            { key: 'created_at', label: 'Placed', sort: 'created_at', render: (r) => fmtDate(r.created_at) },
            { key: 'user_id', label: 'Customer', sort: 'email', render: (r) => r.email ?? r.user_id ?? 'anonymous' },
            { key: 'status', label: 'Status', sort: 'status', render: (r) => <Badge color={COLOR[r.status]}>{label(r.status)}</Badge> },
            { key: 'total', label: 'Total', sort: 'total', render: (r) => money(r.total, r.currency_code) },
            {
              key: 'refunded_total',
              label: 'Refunded',
              render: (r) => (r.refunded_total ? money(r.refunded_total, r.currency_code) : '—'),
            },
          ]}
        />
      )}
    </Stack>
  );
}

function OrderView() {
  const { id = '' } = useRouteParams();
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [amount, setAmount] = useState<number | string>('');
  const order = useQuery({
    queryKey: ['order', tenantId, id],
    queryFn: ({ signal }) => get<OrderDetail>(`/api/v1/orders/${encodeURIComponent(id)}`, undefined, signal),
  });
  const done = (o: OrderDetail) => {
    qc.setQueryData(['order', tenantId, id], o);
    void qc.invalidateQueries({ queryKey: ['orders'] });
  };
  const refund = useMutation({
    mutationFn: (minor: number | undefined) =>
      api<OrderDetail>('POST', `/api/v1/orders/${encodeURIComponent(id)}/refunds`, { body: minor === undefined ? {} : { amount: minor } }),
    onSuccess: (o) => {
      setAmount('');
      done(o);
    },
  });
  const cancel = useMutation({
    mutationFn: () => api<OrderDetail>('POST', `/api/v1/orders/${encodeURIComponent(id)}/cancel`),
    onSuccess: done,
  });
  const fulfil = useMutation({
    mutationFn: () => api<OrderDetail>('POST', `/api/v1/orders/${encodeURIComponent(id)}/fulfil`),
    onSuccess: done,
  });
  if (order.isLoading) return <Loading label="Loading order" />;
  if (order.error) return <ErrorState error={order.error} feature="Orders" />;
  const o = order.data!;
  const left = o.paid_total - o.refunded_total;
  const refundable = ['paid', 'fulfilled', 'partially_refunded'].includes(o.status) && left > 0;
  const actionError = refund.error ?? cancel.error ?? fulfil.error;
  return (
    <Stack>
      <Anchor component={Link} to="/orders">
        ← All orders
      </Anchor>
      <Group>
        <Title order={3}>Order {o.id.slice(-8)}</Title>
        <Badge color={COLOR[o.status]} size="lg" data-testid="order-status">
          {label(o.status)}
        </Badge>
      </Group>
      {actionError && <ErrorState error={actionError} feature="This action" />}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder data-testid="order-totals">
          <Title order={4} size="h5" mb="xs">
            Totals
          </Title>
          <Text>Subtotal: {money(o.subtotal, o.currency_code)}</Text>
          <Text>Discounts: {money(o.discount_total, o.currency_code)}</Text>
          <Text>Shipping: {money(o.shipping_total, o.currency_code)}</Text>
          <Text>Tax: {money(o.tax_total, o.currency_code)}</Text>
          <Text fw={700}>Total: {money(o.total, o.currency_code)}</Text>
          <Text>
            Paid {money(o.paid_total, o.currency_code)}, refunded {money(o.refunded_total, o.currency_code)}
          </Text>
          {o.shipping_refunded_total > 0 && (
            <Text size="sm" data-testid="shipping-refunded">
              Shipping refunded by returns: {money(o.shipping_refunded_total, o.currency_code)}
            </Text>
          )}
          <Text size="sm" c="dimmed">
            Customer: {o.email ?? o.user_id ?? 'anonymous'} · Stripe: {o.payment_intent_id ?? 'no payment yet'}
          </Text>
        </Card>
        <Card withBorder>
          <Title order={4} size="h5" mb="xs">
            Timeline
          </Title>
          <Timeline bulletSize={14} lineWidth={2} data-testid="order-timeline">
            {o.timeline.map((e) => (
              <Timeline.Item key={e.id} title={label(e.type)}>
                <Text size="sm" c="dimmed">
                  {fmtDate(e.created_at)}
                  {e.amount !== null ? ` · ${money(e.amount, o.currency_code)}` : ''}
                </Text>
                {e.type === 'returned'
                  ? returnLines(e.detail, o).map((line) => (
                      <Text size="sm" key={line}>
                        {line}
                      </Text>
                    ))
                  : null}
              </Timeline.Item>
            ))}
          </Timeline>
        </Card>
      </SimpleGrid>
      <Card withBorder>
        <Title order={4} size="h5" mb="xs">
          Lines
        </Title>
        <DataTable
          testId="order-lines"
          rows={o.items}
          rowKey={(r) => r.id}
          columns={[
            { key: 'title', label: 'Item' },
            { key: 'quantity', label: 'Qty' },
            { key: 'unit_price', label: 'Unit price', render: (r) => money(r.unit_price, o.currency_code) },
            { key: 'discount_total', label: 'Discount', render: (r) => money(r.discount_total, o.currency_code) },
            { key: 'tax_total', label: 'Tax', render: (r) => money(r.tax_total, o.currency_code) },
            { key: 'total', label: 'Total', render: (r) => money(r.total, o.currency_code) },
          ]}
        />
      </Card>
      <Card withBorder>
        <Title order={4} size="h5" mb="xs">
          Actions
        </Title>
        <Text size="sm" c="dimmed" mb="sm">
          Refunds and cancellations go through Stripe and ask for your password again.
        </Text>
        <Group align="flex-end">
          {o.status === 'paid' && (
            <Button variant="default" loading={fulfil.isPending} onClick={() => fulfil.mutate()}>
              Mark fulfilled
            </Button>
          )}
          {refundable && (
            <>
              <NumberInput
                label="Refund amount (minor units)"
                description={`At most ${left}; empty refunds all of it`}
                min={1}
                max={left}
                allowDecimal={false}
                value={amount}
                onChange={setAmount}
                w={220}
              />
              <Button color="orange" loading={refund.isPending} onClick={() => refund.mutate(amount === '' ? undefined : Number(amount))}>
                Refund
              </Button>
            </>
          )}
          {(o.status === 'pending' || o.status === 'paid') && (
            <Button color="red" variant="light" loading={cancel.isPending} onClick={() => cancel.mutate()}>
              Cancel order
            </Button>
          )}
        </Group>
        {!refundable && o.status !== 'pending' && o.status !== 'paid' && (
          <Alert color="gray" mt="sm">
            This order is {label(o.status)}: nothing left to refund or cancel.
          </Alert>
        )}
      </Card>
      {['paid', 'fulfilled', 'partially_refunded'].includes(o.status) && <ReturnItems order={o} onDone={done} />}
    </Stack>
  );
}

/** Units each line already sent back, from the order's `returned` timeline entries. */
function returnedUnits(o: OrderDetail): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of o.timeline)
    if (e.type === 'returned' && Array.isArray(e.detail.items))
      for (const i of e.detail.items as { item_id: string; quantity: number }[]) out.set(i.item_id, (out.get(i.item_id) ?? 0) + i.quantity);
  return out;
}

/** Kept in step with RETURN_REASONS in src/modules/commerce/returns.core.ts. */
const RETURN_REASONS: { value: string; label: string }[] = [
  { value: 'damaged', label: 'Damaged' },
  { value: 'defective', label: 'Defective' },
  { value: 'wrong_item', label: 'Wrong item' },
  { value: 'not_as_described', label: 'Not as described' },
  { value: 'no_longer_needed', label: 'No longer needed' },
  { value: 'other', label: 'Other' },
];
const reasonLabel = (r: unknown) => RETURN_REASONS.find((x) => x.value === r)?.label ?? null;

/** A return entry's lines as the merchant reads them: "1 × Kettle: Damaged, not restocked". */
function returnLines(detail: Record<string, unknown>, o: OrderDetail): string[] {
  const items = Array.isArray(detail.items)
    ? (detail.items as { item_id: string; quantity: number; reason?: string; restocked?: boolean }[])
    : [];
  const lines = items.map((i) => {
    const title = o.items.find((l) => l.item_id === i.item_id)?.title ?? i.item_id;
    const why = reasonLabel(i.reason);
    const shelf = (i.restocked ?? detail.restocked) === false ? 'not restocked' : 'restocked';
    return `${i.quantity} × ${title}: ${why ? `${why}, ` : ''}${shelf}`;
  });
  // Exact minor units as text (JPY, KWD): formatted without passing through a float.
  const fmt = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v) ? fmtMinor(v, o.currency_code) : null);
  const shipping = fmt(detail.shipping_refunded);
  const rs = detail.return_shipping as { amount?: unknown; paid_by?: unknown; deducted?: unknown } | undefined;
  const extra = [
    ...(shipping && detail.shipping_refunded !== '0' ? [`Shipping refunded: ${shipping}`] : []),
    ...(rs && fmt(rs.amount)
      ? [
          `Return label ${fmt(rs.amount)}, paid by the ${rs.paid_by === 'merchant' ? 'merchant' : 'customer'}${
            rs.deducted !== '0' && fmt(rs.deducted) ? ` (${fmt(rs.deducted)} off the refund)` : ''
          }`,
        ]
      : []),
  ];
  return typeof detail.reason === 'string' && detail.reason ? [...lines, ...extra, `Note: ${detail.reason}`] : [...lines, ...extra];
}

/**
 * A return: units per line with the reason they came back, refunded at their share of what was paid; each line
 * goes back in stock unless unticked (a damaged unit usually does not).
 */
function ReturnItems({ order: o, onDone }: { order: OrderDetail; onDone: (o: OrderDetail) => void }) {
  const [units, setUnits] = useState<Record<string, number | string>>({});
  const [reasons, setReasons] = useState<Record<string, string | null>>({});
  const [keep, setKeep] = useState<Record<string, boolean>>({});
  // Return shipping: the label's cost in the order's currency (major units, parsed exactly: JPY 0 decimals, KWD 3),
  // who pays it (default: the rule, merchant when at fault) and whether the original shipping comes back.
  const [label, setLabel] = useState('');
  const [paidBy, setPaidBy] = useState<string | null>(null);
  const [refundShipping, setRefundShipping] = useState<string>('auto');
  const labelMinor = label.trim() === '' ? null : parseMoney(label.trim(), o.currency_code);
  const labelError = labelMinor && !labelMinor.ok ? `Not an amount in ${o.currency_code}: ${labelMinor.reason}` : null;
  const returned = returnedUnits(o);
  const lines = o.items.map((i) => ({ ...i, left: i.quantity - (returned.get(i.item_id) ?? 0) })).filter((i) => i.left > 0);
  const chosen = lines
    .map((i) => ({
      item_id: i.item_id,
      quantity: Number(units[i.item_id] || 0),
      ...(reasons[i.item_id] ? { reason: reasons[i.item_id] } : {}),
      restock: keep[i.item_id] ?? true,
    }))
    .filter((i) => i.quantity > 0);
  const submit = useMutation({
    mutationFn: () =>
      api<OrderDetail>('POST', `/api/v1/orders/${encodeURIComponent(o.id)}/returns`, {
        body: {
          items: chosen,
          refund_shipping: refundShipping,
          ...(labelMinor?.ok ? { return_shipping: { amount: Number(labelMinor.minor), ...(paidBy ? { paid_by: paidBy } : {}) } } : {}),
        },
      }),
    onSuccess: (d) => {
      setUnits({});
      setReasons({});
      setKeep({});
      setLabel('');
      setPaidBy(null);
      setRefundShipping('auto');
      onDone(d);
    },
  });
  if (lines.length === 0) return null;
  return (
    <Card withBorder>
      <Title order={4} size="h5" mb="xs">
        Return items
      </Title>
      <Stack gap="xs">
        {lines.map((i) => (
          <Group key={i.id} align="flex-end">
            <NumberInput
              label={`Return ${i.title}`}
              description={`Up to ${i.left}`}
              min={0}
              max={i.left}
              allowDecimal={false}
              value={units[i.item_id] ?? ''}
              onChange={(v) => setUnits((u) => ({ ...u, [i.item_id]: v }))}
              w={180}
            />
            <Select
              label={`Reason for ${i.title}`}
              placeholder="Choose a reason"
              data={RETURN_REASONS}
              clearable
              value={reasons[i.item_id] ?? null}
              onChange={(v) => setReasons((r) => ({ ...r, [i.item_id]: v }))}
              w={200}
            />
            <Checkbox
              label={`Put ${i.title} back in stock`}
              checked={keep[i.item_id] ?? true}
              onChange={(e) => {
                const checked = e.currentTarget.checked;
                setKeep((k) => ({ ...k, [i.item_id]: checked }));
              }}
            />
          </Group>
        ))}
      </Stack>
      <Group mt="sm" align="flex-end">
        <TextInput
          label={`Return label (${o.currency_code})`}
          description="What the return shipping costs; empty: none"
          value={label}
          onChange={(e) => setLabel(e.currentTarget.value)}
          error={labelError}
          w={200}
        />
        <Select
          label="Label paid by"
          placeholder="By the rule"
          description="Default: the merchant when at fault, else the customer (taken off the refund)"
          data={[
            { value: 'customer', label: 'Customer' },
            { value: 'merchant', label: 'Merchant' },
          ]}
          clearable
          value={paidBy}
          onChange={setPaidBy}
          w={220}
        />
        <Select
          label="Refund the original shipping"
          data={[
            { value: 'auto', label: 'When at fault or the whole order is back' },
            { value: 'full', label: 'Yes, what is left of it' },
            { value: 'none', label: 'No' },
          ]}
          value={refundShipping}
          onChange={(v) => setRefundShipping(v ?? 'auto')}
          allowDeselect={false}
          w={300}
        />
      </Group>
      <Group mt="sm">
        <Button
          color="orange"
          disabled={chosen.length === 0 || labelError !== null}
          loading={submit.isPending}
          onClick={() => submit.mutate()}
        >
          Record return
        </Button>
      </Group>
      {submit.error ? <ErrorState error={submit.error} feature="Returns" /> : null}
    </Card>
  );
}
