import { Alert, Badge, Button, Card, Group, Progress, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import type { BillingPlan, BillingStatus, CheckoutResponse } from '../../../src/contracts/index.ts';
import { api, get } from '../api/client.ts';
import { DataTable } from '../components/DataTable.tsx';
import { ErrorState, Loading } from '../components/states.tsx';
import { downloadCsv } from '../lib/download.ts';
import { fmtDate, fmtMinor, fmtNumber } from '../lib/format.ts';
import { useSession } from '../session.tsx';

const statusColor: Record<string, string> = { active: 'green', trialing: 'green', past_due: 'orange', unpaid: 'red', canceled: 'gray' };
const limitText = (n: number | null) => (n === null ? 'Unlimited' : fmtNumber(n));

function UsageCard({ st }: { st: BillingStatus }) {
  return (
    <Card withBorder data-testid="usage-card">
      <Stack gap="sm">
        <Group justify="space-between">
          <Title order={3} size="h4">
            Usage in {st.period}
          </Title>
          <Button
            variant="default"
            size="xs"
            onClick={() =>
              downloadCsv(
                `usage-${st.period}.csv`,
                ['limit', 'used', 'allowed', 'plan'],
                st.usage.map((u) => [u.limit, u.used, u.allowed ?? 'unlimited', st.plan.id]),
              )
            }
          >
            Export CSV
          </Button>
        </Group>
        {st.usage.map((u) => {
          const share = u.allowed === null ? 0 : u.allowed === 0 ? 100 : Math.min(100, (100 * u.used) / u.allowed);
          return (
            <Stack gap={4} key={u.limit} data-testid={`usage-${u.limit}`}>
              <Group justify="space-between">
                <Text size="sm">{u.label}</Text>
                <Text size="sm" c={share >= 100 ? 'red' : 'dimmed'}>
                  {fmtNumber(u.used)} of {limitText(u.allowed)}
                </Text>
              </Group>
              <Progress
                value={u.allowed === null ? 0 : share}
                color={share >= 100 ? 'red' : share >= 80 ? 'orange' : 'blue'}
                aria-label={`${u.label}: ${fmtNumber(u.used)} of ${limitText(u.allowed)}`}
              />
            </Stack>
          );
        })}
        <DataTable
          testId="usage-table"
          rows={st.usage}
          rowKey={(u) => u.limit}
          columns={[
            { key: 'label', label: 'Limit' },
            { key: 'used', label: 'Used', render: (u) => fmtNumber(u.used) },
            { key: 'allowed', label: `Allowed on ${st.plan.name}`, render: (u) => limitText(u.allowed) },
          ]}
        />
      </Stack>
    </Card>
  );
}

function PlanCard({
  plan,
  current,
  enabled,
  subscribed,
}: {
  plan: BillingPlan;
  current: BillingPlan;
  enabled: boolean;
  subscribed: boolean;
}) {
  const checkout = useMutation({
    mutationFn: () => api<CheckoutResponse>('POST', '/stripe/checkout', { body: { plan: plan.id } }),
    onSuccess: (r) => window.location.assign(r.url),
  });
  const isCurrent = plan.id === current.id;
  const better = enabled && plan.purchasable && !isCurrent && plan.monthly_price > current.monthly_price;
  // A paid subscription changes plan in Stripe's customer portal or through support, not with a second checkout.
  const canBuy = better && !subscribed;
  return (
    <Card withBorder data-testid={`plan-${plan.id}`}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={4}>{plan.name}</Title>
          {isCurrent && <Badge>Current plan</Badge>}
        </Group>
        <Text fw={600}>{plan.monthly_price === 0 ? 'Free' : `${fmtMinor(String(plan.monthly_price), plan.currency)} a month`}</Text>
        <Text size="sm">{limitText(plan.limits.api_calls_per_month)} API calls a month</Text>
        <Text size="sm">{limitText(plan.limits.catalog_items)} catalog items</Text>
        <Text size="sm">{limitText(plan.limits.feed_pushes_per_month)} feed pushes a month</Text>
        {canBuy && (
          <Button onClick={() => checkout.mutate()} loading={checkout.isPending}>
            Upgrade to {plan.name}
          </Button>
        )}
        {better && subscribed && (
          <Text size="sm" c="dimmed">
            To move to {plan.name}, contact support: your current subscription is changed, not doubled.
          </Text>
        )}
        {checkout.isError && <ErrorState error={checkout.error} />}
      </Stack>
    </Card>
  );
}

/** The tenant's plan, its usage against the plan's limits, and upgrading through Stripe Checkout. */
export default function BillingPage() {
  const { tenantId } = useSession();
  const q = useQuery({
    queryKey: ['billing', tenantId],
    queryFn: ({ signal }) => get<BillingStatus>('/api/v1/billing', undefined, signal),
  });
  const returned = new URLSearchParams(window.location.search).get('checkout');
  if (q.isPending) return <Loading label="Loading your plan" />;
  if (q.isError) return <ErrorState error={q.error} feature="Billing" />;
  const st = q.data;
  const sub = st.subscription;
  return (
    <Stack>
      <Title order={2}>Billing</Title>
      {returned === 'success' && (
        <Alert color="green" title="Thank you">
          Stripe has your payment. Your new plan shows here as soon as Stripe confirms it, usually within a minute; reload to check.
        </Alert>
      )}
      {returned === 'cancelled' && <Alert color="gray">You left the payment page; nothing was charged.</Alert>}
      {!st.billing_enabled && (
        <Alert color="blue" title="Billing is not set up on this server" data-testid="billing-off">
          No plan limits apply here. To sell plans, the server administrator sets LOUPE_BILLING_STRIPE_SECRET_KEY,
          LOUPE_BILLING_WEBHOOK_SECRET and LOUPE_BILLING_PRICES.
        </Alert>
      )}
      <Card withBorder data-testid="current-plan">
        <Stack gap="xs">
          <Group justify="space-between">
            <Title order={3} size="h4">
              Your plan: {st.plan.name}
            </Title>
            {sub && <Badge color={statusColor[sub.status] ?? 'gray'}>{sub.status.replace('_', ' ')}</Badge>}
          </Group>
          {sub?.current_period_end && (
            <Text size="sm">
              {sub.cancel_at_period_end ? 'Ends' : 'Renews'} on {fmtDate(sub.current_period_end)}
            </Text>
          )}
          {sub?.last_payment_error && (
            <Alert color="orange" title="Payment problem" role="alert">
              {sub.last_payment_error}
            </Alert>
          )}
          {sub && sub.plan !== st.plan.id && (
            <Alert color="gray">
              Your {sub.plan} subscription is {sub.status.replace('_', ' ')}, so the {st.plan.name} plan's limits apply. Upgrade below to
              restore it.
            </Alert>
          )}
        </Stack>
      </Card>
      <UsageCard st={st} />
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        {st.plans.map((p) => (
          <PlanCard key={p.id} plan={p} current={st.plan} enabled={st.billing_enabled} subscribed={st.plan.id !== st.plans[0]?.id} />
        ))}
      </SimpleGrid>
    </Stack>
  );
}
