import type { ReactNode } from 'react';
import { Alert, Center, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import { ApiError } from '../api/client.ts';

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Loader size="sm" aria-hidden="true" />
      <Text ml="sm" size="sm" c="dimmed">
        {label}…
      </Text>
    </Center>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Paper withBorder p="xl" radius="md" data-testid="empty-state">
      <Stack gap="xs" align="center" ta="center">
        <Title order={3} size="h4">
          {title}
        </Title>
        {children && (
          <Text size="sm" c="dimmed" maw={520}>
            {children}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}

/** An error from the API, or the empty state of a feature whose API is not on this server yet. */
export function ErrorState({ error, feature }: { error: unknown; feature?: string }) {
  if (error instanceof ApiError && error.notAvailable && feature) {
    return (
      <EmptyState title={`${feature} ${feature.endsWith('s') ? 'are' : 'is'} not set up yet`}>
        This Loupe server does not offer this feature yet. It appears here as soon as the server is updated.
      </EmptyState>
    );
  }
  if (error instanceof ApiError && error.status === 403) {
    return (
      <Alert color="orange" title="Not allowed" role="alert">
        {error.message}
      </Alert>
    );
  }
  const message = error instanceof Error ? error.message : 'Something went wrong.';
  return (
    <Alert color="red" title="Could not load this" role="alert">
      {message}
      {error instanceof ApiError && error.requestId ? <Text size="xs">Request id: {error.requestId}</Text> : null}
    </Alert>
  );
}

export function isNotAvailable(error: unknown): boolean {
  return error instanceof ApiError && error.notAvailable;
}
