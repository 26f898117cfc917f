import { api, type MfaChallenge } from '../api/client.ts';
import type { TokenResponse } from '../api/types.ts';

/** Single sign-on from the sign-in page: a store's providers, the start of a flow, its completion and account linking. */
export interface SsoLinkRequired {
  link_required: true;
  link_token: string;
  email: string;
  provider_name: string;
}
export type SsoOutcome = (TokenResponse | MfaChallenge | SsoLinkRequired) & { next?: string | null };

const FLOW_KEY = (state: string) => `loupe.sso.${state}`;
export const STORE_KEY = 'loupe.sso.store';

export const ssoProviders = (store: string) =>
  api<{ providers: { id: string; name: string }[] }>('GET', '/api/v1/auth/sso/providers', { query: { tenant: store }, anonymous: true });

/** Starts a flow and sends the browser to the provider; the browser key stays in this tab's storage for the callback. */
export async function startSso(store: string, providerId: string, next: string): Promise<void> {
  const out = await api<{ authorization_url: string; browser_key: string; state: string }>('POST', '/api/v1/auth/sso/start', {
    body: { tenant: store, provider_id: providerId, next },
    anonymous: true,
  });
  sessionStorage.setItem(FLOW_KEY(out.state), out.browser_key);
  localStorage.setItem(STORE_KEY, store);
  window.location.assign(out.authorization_url);
}

/** Completes the flow with the provider's redirect query (once: the browser key is consumed). */
export async function completeSso(query: string): Promise<SsoOutcome> {
  const state = new URLSearchParams(query).get('state') ?? '';
  const browserKey = sessionStorage.getItem(FLOW_KEY(state)) ?? '';
  sessionStorage.removeItem(FLOW_KEY(state));
  return api<SsoOutcome>('POST', '/api/v1/auth/sso/callback', {
    body: { state: state || '-', browser_key: browserKey || '-', query },
    anonymous: true,
  });
}

export const linkSso = (linkToken: string, password: string) =>
  api<TokenResponse | MfaChallenge>('POST', '/api/v1/auth/sso/link', { body: { link_token: linkToken, password }, anonymous: true });
