import { useEffect, useRef, useState } from 'react';
import { Alert, Anchor, Button, Center, Loader, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { Link, useNavigate } from 'react-router';
import { ApiError, type MfaChallenge } from '../api/client.ts';
import type { TokenResponse } from '../api/types.ts';
import { safeNext } from '../lib/next.ts';
import { useSession } from '../session.tsx';
import { completeSso, linkSso, type SsoLinkRequired, type SsoOutcome } from './sso.ts';

const errorText = (e: unknown) => (e instanceof ApiError ? e.message : 'Could not reach the server.');

/** Where the identity provider sends the browser back: completes single sign-on, links an account, or asks for a second step. */
export function SsoCallbackPage() {
  const { adopt, signInSecondStep } = useSession();
  const navigate = useNavigate();
  const started = useRef(false);
  const [error, setError] = useState<string | null>(null);
  const [link, setLink] = useState<SsoLinkRequired | null>(null);
  const [mfa, setMfa] = useState<MfaChallenge | null>(null);
  const [next, setNext] = useState('/');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [linkError, setLinkError] = useState<string | null>(null);

  const finish = (out: TokenResponse | MfaChallenge, to: string) => {
    if ('mfa_required' in out) return setMfa(out);
    adopt(out);
    navigate(to, { replace: true });
  };

  useEffect(() => {
    // Once per page: the flow's state is single use (React's development double effect must not spend it twice).
    if (started.current) return;
    started.current = true;
    completeSso(window.location.search)
      .then((out: SsoOutcome) => {
        const to = safeNext(out.next ?? null);
        setNext(to);
        if ('link_required' in out) setLink(out);
        else finish(out, to);
      })
      .catch((e: unknown) => setError(errorText(e)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  let body;
  if (error)
    body = (
      <Stack>
        <Title order={1} size="h3">
          Single sign-on did not complete
        </Title>
        <Alert color="red" role="alert">
          {error}
        </Alert>
        <Anchor component={Link} to="/sign-in">
          Back to sign-in
        </Anchor>
      </Stack>
    );
  else if (mfa)
    body = (
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await signInSecondStep(mfa.mfa_token, { code: code.trim() });
            navigate(next, { replace: true });
          } catch (err) {
            setError(errorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Stack>
          <Title order={1} size="h3">
            Two-factor sign-in
          </Title>
          <Text size="sm" c="dimmed">
            Your account also asks for the 6-digit code of your authenticator app.
          </Text>
          <TextInput
            label="Authentication code"
            inputMode="numeric"
            autoComplete="one-time-code"
            value={code}
            onChange={(e) => setCode(e.currentTarget.value)}
            required
          />
          <Button type="submit" loading={busy}>
            Verify
          </Button>
        </Stack>
      </form>
    );
  else if (link)
    body = (
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setLinkError(null);
          try {
            finish(await linkSso(link.link_token, password), next);
          } catch (err) {
            // A wrong password can be typed again; an expired link step ends here.
            if (err instanceof ApiError && err.code === 'SSO_LINK_TOKEN_INVALID') setError(errorText(err));
            else setLinkError(errorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <Stack>
          <Title order={1} size="h3">
            Link {link.provider_name} to your account
          </Title>
          <Text size="sm">
            An account with <b>{link.email}</b> already exists. Enter its password once to confirm it is yours; after that,{' '}
            {link.provider_name} signs you in directly.
          </Text>
          {linkError && (
            <Alert color="red" role="alert">
              {linkError}
            </Alert>
          )}
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            required
          />
          <Button type="submit" loading={busy}>
            Link and sign in
          </Button>
          <Anchor component={Link} to="/sign-in" size="sm">
            Not you? Back to sign-in
          </Anchor>
        </Stack>
      </form>
    );
  else
    body = (
      <Stack align="center">
        <Loader aria-label="Signing you in" />
        <Text size="sm">Signing you in…</Text>
      </Stack>
    );
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={420}>
        {body}
      </Paper>
    </Center>
  );
}
