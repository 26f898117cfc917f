/**
 * The guard of outbound calls to tenant-given URLs (webhook endpoints, retailer feed URLs): a host is resolved and
 * refused when an address is private, loopback or link-local (cloud metadata) unless the policy allows it, on save
 * and again at every connection (the lookup below), so a DNS answer that changes to 127.0.0.1 after the check is
 * still refused.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isInNetworks, isPublicAddress, type NetworkList } from './networks.ts';

/** Which non-public addresses are allowed: none, all (`true`), or those in a list of networks. */
export type PrivatePolicy = boolean | NetworkList;

/** The error code of a connection the guarded lookup refused. */
export const OUTBOUND_PRIVATE_ADDRESS = 'OUTBOUND_PRIVATE_ADDRESS';

export const addressAllowed = (ip: string, policy: PrivatePolicy): boolean =>
  isPublicAddress(ip) || policy === true || (policy !== false && isInNetworks(ip, policy));

/** The host's addresses, or the reason it cannot be used (unresolvable, or an address the policy refuses). */
export async function resolveTarget(url: URL, policy: PrivatePolicy): Promise<{ ok: true } | { ok: false; reason: string }> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return { ok: false, reason: 'host does not resolve' };
  }
  const refused = addresses.find((a) => !addressAllowed(a, policy));
  return refused === undefined ? { ok: true } : { ok: false, reason: 'points to a private, loopback or link-local address' };
}

/** A DNS lookup for http.request that refuses addresses the policy does not allow (checked at connect time). */
export function guardedLookup(policy: PrivatePolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as unknown as dns.LookupAddress[];
      const refused = list.find((a) => !addressAllowed(a.address, policy));
      if (refused || !list.length) {
        const e = Object.assign(new Error('target resolves to a refused address'), { code: OUTBOUND_PRIVATE_ADDRESS });
        return callback(e, '', 4);
      }
      if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
