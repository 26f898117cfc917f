import { useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, get } from '../../api/client.ts';
import { ROLE_NAMES, type EmailInvitation, type InvitationList, type InviteResponse } from '../../api/types.ts';
import { EmptyState, ErrorState, Loading } from '../../components/states.tsx';
import { toCsv } from '../../lib/csv.ts';
import { downloadCsvText } from '../../lib/download.ts';
import { fmtDate } from '../../lib/format.ts';
import { useSession } from '../../session.tsx';

function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    const field = e.details.map((d) => (d as { message?: string }).message).filter(Boolean);
    return field.length ? `${e.message} ${field.join('; ')}` : e.message;
  }
  return 'Something went wrong. Try again.';
}

/** What happened to the link just made: e-mailed, or shown here to pass on (no e-mail configured, or sending failed). */
function Delivered({ out }: { out: InviteResponse }) {
  if (out.delivery === 'sent')
    return (
      <Alert color="green" role="status">
        Invitation e-mailed to {out.invitation.email}. The link works once, for 7 days.
      </Alert>
    );
  return (
    <Alert color="yellow" role="status" title={out.delivery === 'failed' ? 'The e-mail could not be sent' : 'This server sends no e-mail'}>
      <Stack gap="xs">
        <Text size="sm">
          {out.delivery === 'failed'
            ? 'The mail server refused the message or could not be reached.'
            : 'E-mail is not set up on this server (LOUPE_SMTP_URL).'}{' '}
          Copy this link and send it to {out.invitation.email} yourself. It works once, for 7 days.
        </Text>
        <Code block data-testid="invitation-link">
          {out.link}
        </Code>
        <CopyButton value={out.link ?? ''}>
          {({ copied, copy }) => (
            <Button size="xs" variant="light" onClick={copy} w="fit-content">
              {copied ? 'Copied' : 'Copy link'}
            </Button>
          )}
        </CopyButton>
      </Stack>
    </Alert>
  );
}

/** Settings → Members: invite by e-mail link, and the open invitations (resend, withdraw, CSV). */
export function MemberInvitations() {
  const { tenantId, data, tenant } = useSession();
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string>('analyst');
  const [last, setLast] = useState<InviteResponse | null>(null);
  const list = useQuery({
    queryKey: ['member-invitations', tenantId],
    queryFn: ({ signal }) => get<InvitationList>('/api/v1/members/invitations', undefined, signal),
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ['member-invitations'] });
  const invite = useMutation({
    mutationFn: () => api<InviteResponse>('POST', '/api/v1/members/invitations', { body: { email, role } }),
    onSuccess: (out) => {
      setLast(out);
      setEmail('');
      refresh();
    },
  });
  const resend = useMutation({
    mutationFn: (id: string) => api<InviteResponse>('POST', `/api/v1/members/invitations/${id}/resend`),
    onSuccess: (out) => {
      setLast(out);
      refresh();
    },
  });
  const withdraw = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api/v1/members/invitations/${id}`),
    onSuccess: () => {
      setLast(null);
      refresh();
    },
  });
  const isOwner = tenant?.role === 'owner' || !!data?.user.is_platform_admin;
  const roles = ROLE_NAMES.filter((r) => isOwner || r !== 'owner').map((r) => ({ value: r, label: r }));
  const failure = invite.error ?? resend.error ?? withdraw.error;

  return (
    <Stack>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          invite.mutate();
        }}
      >
        <Stack gap="sm" maw={640}>
          <Title order={3} size="h4">
            Invite by e-mail
          </Title>
          <Text size="sm" c="dimmed">
            They get a link to choose their password (or, with an account already, to accept with it) and join{' '}
            {tenant?.name ?? 'this store'} with the role you pick.
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="E-mail" type="email" value={email} onChange={(e) => setEmail(e.currentTarget.value)} required />
            <Select label="Role" data={roles} value={role} onChange={(v) => v && setRole(v)} allowDeselect={false} />
          </SimpleGrid>
          {failure && (
            <Alert color="red" role="alert">
              {errorText(failure)}
            </Alert>
          )}
          {last && <Delivered out={last} />}
          <Group>
            <Button type="submit" loading={invite.isPending}>
              Send invitation
            </Button>
          </Group>
        </Stack>
      </form>
      <Group justify="space-between">
        <Title order={3} size="h4">
          Open invitations
        </Title>
        {!!list.data?.data.length && (
          <Button
            size="xs"
            variant="default"
            onClick={() =>
              downloadCsvText(
                'invitations.csv',
                toCsv(list.data.data, [
                  { key: 'email', label: 'E-mail' },
                  { key: 'role', label: 'Role' },
                  { key: 'invited_by_email', label: 'Invited by' },
                  { key: 'sent_count', label: 'Times sent' },
                  { key: 'last_sent_at', label: 'Last sent' },
                  { key: 'expires_at', label: 'Expires' },
                ]),
              )
            }
          >
            Export CSV
          </Button>
        )}
      </Group>
      {list.isLoading ? (
        <Loading label="Loading invitations" />
      ) : list.error ? (
        <ErrorState error={list.error} />
      ) : !list.data?.data.length ? (
        <EmptyState title="No open invitations">Invitations you send appear here until they are accepted or withdrawn.</EmptyState>
      ) : (
        <div className="table-scroll">
          <Table striped data-testid="invitations-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>E-mail</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Sent</Table.Th>
                <Table.Th>Expires</Table.Th>
                <Table.Th>
                  <span className="visually-hidden">Actions</span>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.data.map((i: EmailInvitation) => (
                <Table.Tr key={i.id}>
                  <Table.Td>{i.email}</Table.Td>
                  <Table.Td>{i.role}</Table.Td>
                  <Table.Td>
                    {fmtDate(i.last_sent_at)}
                    {i.sent_count > 1 ? ` (${i.sent_count}×)` : ''}
                  </Table.Td>
                  <Table.Td>{i.expired ? <Badge color="gray">expired</Badge> : fmtDate(i.expires_at)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button
                        size="xs"
                        variant="light"
                        aria-label={`Resend to ${i.email}`}
                        loading={resend.isPending && resend.variables === i.id}
                        onClick={() => resend.mutate(i.id)}
                      >
                        Resend
                      </Button>
                      <Button
                        size="xs"
                        color="red"
                        variant="light"
                        aria-label={`Withdraw the invitation of ${i.email}`}
                        onClick={() =>
                          window.confirm(`Withdraw the invitation of ${i.email}? Its link stops working.`) && withdraw.mutate(i.id)
                        }
                      >
                        Withdraw
                      </Button>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </div>
      )}
      {list.data && !list.data.email_configured && (
        <Text size="xs" c="dimmed">
          This server sends no e-mail (LOUPE_SMTP_URL is not set): each new or resent invitation shows its link here to copy.
        </Text>
      )}
    </Stack>
  );
}
