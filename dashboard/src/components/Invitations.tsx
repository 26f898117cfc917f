import { Alert, Button, Group, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, get } from '../api/client.ts';
import type { Invitation } from '../api/types.ts';

/**
 * Tenants that invited the signed-in user (an existing account added by a tenant admin gets no access
 * until it accepts). Shown above every page while any is pending.
 */
export function PendingInvitations() {
  const qc = useQueryClient();
  const invitations = useQuery({
    queryKey: ['invitations'],
    queryFn: ({ signal }) => get<{ data: Invitation[] }>('/api/v1/auth/invitations', undefined, signal),
    staleTime: 60_000,
  });
  const answer = useMutation({
    mutationFn: (v: { tenantId: string; accept: boolean }) =>
      api('POST', `/api/v1/auth/invitations/${v.tenantId}/${v.accept ? 'accept' : 'decline'}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['invitations'] });
      void qc.invalidateQueries({ queryKey: ['session'] });
    },
  });
  const list = invitations.data?.data ?? [];
  if (list.length === 0) return null;
  return (
    <Stack gap="xs" mb="md" data-testid="invitations">
      {list.map((i) => (
        <Alert key={i.tenant_id} color="blue" title={`Invitation to ${i.tenant_name}`}>
          <Group justify="space-between" wrap="wrap">
            <Text size="sm">
              {i.invited_by_email ?? 'An administrator'} invited you to join as {i.role}. You get access only if you accept.
            </Text>
            <Group gap="xs">
              <Button
                size="xs"
                aria-label={`Accept the invitation to ${i.tenant_name}`}
                loading={answer.isPending && answer.variables?.tenantId === i.tenant_id && answer.variables.accept}
                onClick={() => answer.mutate({ tenantId: i.tenant_id, accept: true })}
              >
                Accept
              </Button>
              <Button
                size="xs"
                variant="light"
                color="gray"
                aria-label={`Decline the invitation to ${i.tenant_name}`}
                onClick={() => answer.mutate({ tenantId: i.tenant_id, accept: false })}
              >
                Decline
              </Button>
            </Group>
          </Group>
        </Alert>
      ))}
      {answer.error && (
        <Alert color="red" role="alert">
          {answer.error.message}
        </Alert>
      )}
    </Stack>
  );
}
