import ipaddr from 'ipaddr.js';

/** A parsed allow-list of networks: CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses. */
export type NetworkList = readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];

/** Parses one entry; throws on anything that is not an address or a CIDR. */
function parseEntry(entry: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  if (entry.includes('/')) return ipaddr.parseCIDR(entry);
  const addr = ipaddr.process(entry);
  return [addr, addr.kind() === 'ipv4' ? 32 : 128];
}

/** Parses a comma-separated list of networks. Throws naming the first bad entry. */
export function parseNetworks(list: string): NetworkList {
  return list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      try {
        return parseEntry(e);
      } catch {
        throw new Error(`"${e}" is not an IP address or CIDR network`);
      }
    });
}

/**
 * Whether a client address is inside one of the networks. IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`,
 * as a dual-stack server sees IPv4 clients) count as their IPv4 address.
 */
export function isInNetworks(ip: string | undefined, networks: NetworkList): boolean {
  if (!ip || !ipaddr.isValid(ip)) return false;
  const addr = ipaddr.process(ip);
  return networks.some(([range, bits]) => addr.kind() === range.kind() && addr.match(range, bits));
}

/**
 * Whether an address is a public unicast one (outbound calls to tenant-given URLs): loopback, private, link-local
 * (cloud metadata at 169.254.169.254), unique-local, carrier-grade NAT, multicast, reserved and unspecified ranges
 * are not. IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  return ipaddr.process(ip).range() === 'unicast';
}
