import { Anchor, Badge, Card, Group, List, Progress, Text, ThemeIcon, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { get } from '../../api/client.ts';
import type { ChecklistResponse } from '../../api/types.ts';
import { ErrorState, isNotAvailable, Loading } from '../../components/states.tsx';
import { fmtNumber } from '../../lib/format.ts';

type StepKey = ChecklistResponse['steps'][number]['key'];

/** What each step asks of the merchant, and where it is done. */
const STEPS: Record<StepKey, { title: string; todo: string; to: string; action: string; counted?: [one: string, many: string] }> = {
  import_catalog: {
    title: 'Import your catalog',
    todo: 'Upload your products (CSV, JSON or a .gz of either).',
    to: '/import?kind=items',
    action: 'Import products',
    counted: ['item', 'items'],
  },
  import_orders: {
    title: 'Import your orders',
    todo: 'Upload your order history so recommendations and figures have something to learn from.',
    to: '/import?kind=purchases',
    action: 'Import orders',
  },
  train_model: {
    title: 'Train a recommendation model',
    todo: 'Train on your orders, then deploy the version you like.',
    to: '/recommendations',
    action: 'Train',
    counted: ['version', 'versions'],
  },
  create_api_key: {
    title: 'Create an API key',
    todo: 'Your store or developer calls Loupe with it.',
    to: '/settings/api-keys',
    action: 'Create a key',
    counted: ['key', 'keys'],
  },
  connect_store: {
    title: 'Connect your store',
    todo: 'Connect Shopify or WooCommerce so new orders arrive by themselves.',
    to: '/integrations',
    action: 'Connect',
    counted: ['connection', 'connections'],
  },
  install_snippet: {
    title: 'Install the snippet',
    todo: 'Add the tracking snippet to your storefront to see visits and show recommendations.',
    to: '/install',
    action: 'Install',
  },
};

/**
 * A new tenant's first-run checklist (GET /api/v1/onboarding): each step ticks itself from the tenant's data,
 * so the card is refreshed when the page regains focus and disappears once every step is done.
 */
export function SetupChecklist({ tenantId }: { tenantId: string }) {
  const q = useQuery({
    queryKey: ['onboarding', tenantId],
    queryFn: ({ signal }) => get<ChecklistResponse>('/api/v1/onboarding', undefined, signal),
    refetchOnWindowFocus: true,
  });
  if (q.isPending)
    return (
      <Card withBorder data-testid="setup-checklist">
        <Loading label="Loading your setup" />
      </Card>
    );
  if (q.error) {
    if (isNotAvailable(q.error)) return null;
    return (
      <Card withBorder data-testid="setup-checklist">
        <ErrorState error={q.error} />
      </Card>
    );
  }
  const c = q.data;
  if (c.completed === c.steps.length) return null;
  return (
    <Card withBorder data-testid="setup-checklist">
      <Group justify="space-between" mb="xs">
        <Title order={3} size="h4">
          Get set up
        </Title>
        <Text size="sm" c="dimmed" data-testid="setup-progress">
          {c.completed} of {c.steps.length} done
        </Text>
      </Group>
      <Progress value={(100 * c.completed) / c.steps.length} mb="md" aria-label="Setup progress" />
      <List spacing="sm" listStyleType="none" p={0}>
        {c.steps.map((s) => {
          const step = STEPS[s.key];
          return (
            <List.Item
              key={s.key}
              data-testid={`setup-step-${s.key}`}
              data-done={s.done ? 'true' : 'false'}
              icon={
                <ThemeIcon color={s.done ? 'green' : 'gray'} variant={s.done ? 'filled' : 'light'} radius="xl" size="sm" aria-hidden="true">
                  {s.done ? '✓' : ''}
                </ThemeIcon>
              }
            >
              <Group gap="xs">
                <Text fw={500} td={s.done ? 'line-through' : undefined}>
                  {step.title}
                </Text>
                {s.done ? (
                  <Badge color="green" variant="light" size="sm">
                    Done{s.count !== null && step.counted ? `: ${fmtNumber(s.count)} ${step.counted[s.count === 1 ? 0 : 1]}` : ''}
                  </Badge>
                ) : (
                  c.next === s.key && (
                    <Badge variant="light" size="sm">
                      Next
                    </Badge>
                  )
                )}
              </Group>
              {!s.done && (
                <Text size="sm" c="dimmed">
                  {step.todo}{' '}
                  <Anchor component={Link} to={step.to}>
                    {step.action}
                  </Anchor>
                </Text>
              )}
            </List.Item>
          );
        })}
      </List>
    </Card>
  );
}
