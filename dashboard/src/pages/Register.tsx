import { useEffect, useRef, useState } from 'react';
import { Alert, Anchor, Button, Center, Loader, Stack, TextInput } from '@mantine/core';
import { Link, useNavigate } from 'react-router';
import { api } from '../api/client.ts';
import type { TokenResponse } from '../api/types.ts';
import { useSession } from '../session.tsx';
import { Card, NewPasswordFields, linkErrorText, useLinkToken } from './AccountLinks.tsx';

/** /register: self-service sign-up (when the server allows it). The account exists only once the e-mailed link is followed. */
export function RegisterPage() {
  const [email, setEmail] = useState('');
  const [storeName, setStoreName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<string | null>(null);

  if (sent)
    return (
      <Card title="Check your e-mail">
        <Alert color="green" role="status" title="Almost there">
          {sent} Open the link we sent to {email} to finish signing up.
        </Alert>
        <Anchor component={Link} to="/sign-in" size="sm">
          Back to sign-in
        </Anchor>
      </Card>
    );
  return (
    <Card title="Create your account" intro="We e-mail you a link: your account and store are created when you open it.">
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
            const out = await api<{ status: string; message: string }>('POST', '/api/v1/auth/register', {
              body: { email, password, ...(storeName.trim() ? { tenant_name: storeName.trim() } : {}) },
              anonymous: true,
            });
            setSent(out.message);
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
          <TextInput
            label="Store name"
            value={storeName}
            onChange={(e) => setStoreName(e.currentTarget.value)}
            autoComplete="organization"
          />
          <NewPasswordFields password={password} confirm={confirm} onPassword={setPassword} onConfirm={setConfirm} />
          {error && (
            <Alert color="red" role="alert" title="Could not sign up">
              {error}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            Sign up
          </Button>
        </Stack>
      </form>
      <Anchor component={Link} to="/sign-in" size="sm">
        Already have an account? Sign in
      </Anchor>
    </Card>
  );
}

/** /verify-registration#token=…: the e-mailed sign-up link; creates the account and its store, then signs in. */
export function VerifyRegistrationPage() {
  const token = useLinkToken();
  const navigate = useNavigate();
  const { adopt } = useSession();
  const [error, setError] = useState<string | null>(null);
  // The link is single use: React's development double effect must not spend it twice.
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    api<TokenResponse>('POST', '/api/v1/auth/register/verify', { body: { token }, anonymous: true })
      .then((out) => {
        adopt(out);
        navigate('/', { replace: true });
      })
      .catch((e: unknown) => setError(linkErrorText(e)));
  }, [token, adopt, navigate]);

  if (!token)
    return (
      <Card title="Sign-up link incomplete">
        <Alert color="red" role="alert">
          This address has no sign-up link in it. Open the link from your e-mail again, or copy it whole.
        </Alert>
      </Card>
    );
  if (error)
    return (
      <Card title="This sign-up link cannot be used">
        <Alert color="red" role="alert">
          {error}
        </Alert>
        <Anchor component={Link} to="/sign-in">
          Go to sign-in
        </Anchor>
      </Card>
    );
  return (
    <Card title="Creating your account">
      <Center role="status" aria-label="Creating your account">
        <Loader />
      </Center>
    </Card>
  );
}
