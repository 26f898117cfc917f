/**
 * The public base URL that stores' webhooks call (Shopify and the other connectors): checked for the
 * addresses a store's servers can never reach (loopback, private networks, link-local, `.local` names).
 */
import { isIP } from 'node:net';

const PRIVATE_V4: readonly [number, number][] = [
  [0x0a000000, 8], // 10/8
  [0x7f000000, 8], // 127/8
  [0xac100000, 12], // 172.16/12
  [0xc0a80000, 16], // 192.168/16
  [0xa9fe0000, 16], // 169.254/16
  [0x64400000, 10], // 100.64/10 (carrier-grade NAT)
  [0x00000000, 8], // 0/8
];

function v4Private(ip: string): boolean {
  const n = ip.split('.').reduce((a, p) => (a << 8) + Number(p), 0) >>> 0;
  return PRIVATE_V4.some(([net, bits]) => (n & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0)) >>> 0 === net);
}

function v6Private(ip: string): boolean {
  const v = ip.toLowerCase();
  if (v === '::1' || v === '::') return true;
  if (v.startsWith('::ffff:')) return isIP(v.slice(7)) === 4 ? v4Private(v.slice(7)) : true;
  return /^f[cd]/.test(v) || /^fe[89ab]/.test(v);
}

/** Why a store could not reach this URL from the internet, or null when it looks public. */
export function publicUrlWarning(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'This is not a URL.';
  }
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const kind = isIP(host);
  const internal =
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host.endsWith('.local') ||
    host.endsWith('.internal') ||
    host.endsWith('.lan') ||
    host.endsWith('.home.arpa') ||
    (kind === 0 && !host.includes('.')) ||
    (kind === 4 && v4Private(host)) ||
    (kind === 6 && v6Private(host));
  if (internal)
    return `${u.host} is only reachable from this machine or its network: a store's servers cannot deliver webhooks to it. Set the public address people and stores reach this server at (Settings, or the PUBLIC_URL environment variable), e.g. a tunnel or your domain.`;
  if (u.protocol !== 'https:')
    return 'Stores such as Shopify deliver webhooks to https addresses only: use the https address of this server.';
  return null;
}

/** A public base URL as given in Settings: http(s), no credentials, query or fragment; trailing slashes removed. */
export function normalizePublicUrl(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return null;
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) return null;
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
}
