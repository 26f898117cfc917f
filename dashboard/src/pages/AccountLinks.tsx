import { useEffect, useState, type ReactNode } from 'react';
import { Alert, Anchor, Button, Center, Loader, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { Link, useLocation, useNavigate } from 'react-router';
import { api, ApiError } from '../api/client.ts';
import type { InvitationPreview, ResetRequestResponse, TokenResponse } from '../api/types.ts';
import { useSession } from '../session.tsx';

/** The token of an e-mailed link: in the fragment (#token=…), which browsers never send to a server. */
export function useLinkToken(): string | null {
  const { hash } = useLocation();
  return new URLSearchParams(hash.replace(/^#/, '')).get('token');
}

export function Card({ title, intro, children }: { title: string; intro?: ReactNode; children: ReactNode }) {
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={440}>
        <Stack>
          <div>
            <Title order={1} size="h2">
              {title}
            </Title>
            {intro && (
              <Text size="sm" c="dimmed">
                {intro}
              </Text>
            )}
          </div>
          {children}
        </Stack>
      </Paper>
    </Center>
  );
}

/** A link error in plain words (expired, used, withdrawn, invalid), with what to do next. */
/** A new password and its repetition (sign-up, invitation, reset): the same labels, hint and autocomplete everywhere. */
export function NewPasswordFields(props: {
  password: string;
  confirm: string;
  onPassword(value: string): void;
  onConfirm(value: string): void;
  label?: string;
  repeatLabel?: string;
}) {
  return (
    <>
      <PasswordInput
        label={props.label ?? 'Choose a password'}
        description="At least 8 characters and hard to guess: a few unrelated words work well."
        autoComplete="new-password"
        value={props.password}
        onChange={(e) => props.onPassword(e.currentTarget.value)}
        required
      />
      <PasswordInput
        label={props.repeatLabel ?? 'Repeat the password'}
        autoComplete="new-password"
        value={props.confirm}
        onChange={(e) => props.onConfirm(e.currentTarget.value)}
        required
      />
    </>
  );
}

export function linkErrorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'VALIDATION_ERROR' && err.details.length)
      return err.details.map((d) => (d as { message?: string }).message ?? '').join(' ');
    return err.message;
  }
  return 'Could not reach the server. Check your connection and try again.';
}

/** /accept-invite#token=…: join a store from an e-mailed invitation (choose a password, or enter yours). */
export function AcceptInvitePage() {
  const token = useLinkToken();
  const navigate = useNavigate();
  const { adopt } = useSession();
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!token) return;
    let live = true;
    api<InvitationPreview>('POST', '/api/v1/auth/invitation-links/lookup', { body: { token }, anonymous: true })
      .then((p) => live && setPreview(p))
      .catch((e: unknown) => live && setLoadError(linkErrorText(e)));
    return () => {
      live = false;
    };
  }, [token]);

  if (!token)
    return (
      <Card title="Invitation link incomplete">
        <Alert color="red" role="alert">
          This address has no invitation in it. Open the link from your e-mail again, or copy it whole.
        </Alert>
      </Card>
    );
  if (loadError)
    return (
      <Card title="This invitation cannot be used">
        <Alert color="red" role="alert">
          {loadError}
        </Alert>
        <Anchor component={Link} to="/sign-in">
          Go to sign-in
        </Anchor>
      </Card>
    );
  if (!preview)
    return (
      <Card title="Opening your invitation">
        <Center role="status" aria-label="Loading">
          <Loader />
        </Center>
      </Card>
    );
  const existing = preview.account_exists;
  return (
    <Card
      title={`Join ${preview.tenant_name}`}
      intro={`You are invited as ${preview.role}. ${existing ? 'You already have an account: enter its password to accept.' : 'Choose a password to create your account.'}`}
    >
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (!existing && password !== confirm) {
            setError('The two passwords are not the same.');
            return;
          }
          setBusy(true);
          setError(null);
          try {
            const out = await api<TokenResponse>('POST', '/api/v1/auth/invitation-links/accept', {
              body: { token, password, ...(name.trim() ? { name: name.trim() } : {}) },
              anonymous: true,
            });
            adopt(out);
            navigate('/', { replace: true });
          } catch (err) {
            setError(linkErrorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Stack>
          <TextInput label="E-mail" value={preview.email} readOnly autoComplete="username" />
          {!existing && (
            <TextInput label="Your name (optional)" value={name} onChange={(e) => setName(e.currentTarget.value)} autoComplete="name" />
          )}
          {existing ? (
            <PasswordInput
              label="Your password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              required
            />
          ) : (
            <NewPasswordFields password={password} confirm={confirm} onPassword={setPassword} onConfirm={setConfirm} />
          )}
          {error && (
            <Alert color="red" role="alert" title="Could not accept the invitation">
              {error}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            {existing ? 'Accept and sign in' : 'Create account and join'}
          </Button>
        </Stack>
      </form>
    </Card>
  );
}

/** /reset-password: ask for a link by e-mail, or (with #token=… from that e-mail) choose a new password. */
export function ResetPasswordPage() {
  const token = useLinkToken();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [requested, setRequested] = useState<ResetRequestResponse | null>(null);
  const [done, setDone] = useState(false);

  if (token && done)
    return (
      <Card title="Password changed">
        <Alert color="green" role="status">
          Your password is changed, and every session of your account was signed out.
        </Alert>
        <Button component={Link} to="/sign-in">
          Sign in with the new password
        </Button>
      </Card>
    );
  if (token)
    return (
      <Card title="Choose a new password" intro="The link works once, for one hour. Saving signs you out everywhere.">
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            if (password !== confirm) {
              setError('The two passwords are not the same.');
              return;
            }
            setBusy(true);
            setError(null);
            try {
              await api('POST', '/api/v1/auth/password-reset/confirm', { body: { token, password }, anonymous: true });
              setDone(true);
            } catch (err) {
              setError(linkErrorText(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <Stack>
            <NewPasswordFields
              label="New password"
              repeatLabel="Repeat the new password"
              password={password}
              confirm={confirm}
              onPassword={setPassword}
              onConfirm={setConfirm}
            />
            {error && (
              <Alert color="red" role="alert" title="Could not change the password">
                {error}{' '}
                {error.includes('link') && (
                  <Anchor component={Link} to="/reset-password">
                    Ask for a new link
                  </Anchor>
                )}
              </Alert>
            )}
            <Button type="submit" loading={busy}>
              Save the new password
            </Button>
          </Stack>
        </form>
      </Card>
    );
  return (
    <Card title="Reset your password" intro="Enter the e-mail of your account: we send a link to choose a new password.">
      {requested ? (
        requested.email_configured ? (
          <Alert color="green" role="status" title="Check your e-mail">
            If {email} has an account, a link is on its way. It works once, for one hour.
          </Alert>
        ) : (
          <Alert color="yellow" role="status" title="This server sends no e-mail">
            E-mail is not set up on this Loupe server, so no link can be sent. Ask your administrator for a password reset link.
          </Alert>
        )
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              setRequested(await api<ResetRequestResponse>('POST', '/api/v1/auth/password-reset', { body: { email }, anonymous: true }));
            } catch (err) {
              setError(linkErrorText(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <Stack>
            <TextInput
              label="E-mail"
              type="email"
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              required
            />
            {error && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <Button type="submit" loading={busy}>
              Send the link
            </Button>
          </Stack>
        </form>
      )}
      <Anchor component={Link} to="/sign-in" size="sm">
        Back to sign-in
      </Anchor>
    </Card>
  );
}
