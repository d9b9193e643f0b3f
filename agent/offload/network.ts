/**
 * "On an approved network": some interface is up with an address inside an approved CIDR, or an
 * approved interface name has an address. Read from the kernel through os.networkInterfaces()
 * (no process spawned: cheap enough to poll); CIDRs are matched by net.BlockList (IPv4-mapped IPv6
 * addresses match IPv4 subnets).
 */
import { networkInterfaces } from 'node:os';
import { cidrList, type ApprovedNetwork } from './config.js';

export function approvedNetworkPresent(nets: readonly ApprovedNetwork[], ifaces = networkInterfaces()): boolean {
  if (nets.length === 0) return false;
  const cidrs = cidrList(nets);
  const names = new Set(nets.flatMap((n) => (n.kind === 'interface' ? [n.name] : [])));
  for (const [name, addrs] of Object.entries(ifaces)) {
    for (const a of addrs ?? []) {
      if (names.has(name) || cidrs.check(a.address, a.family === 'IPv6' ? 'ipv6' : 'ipv4')) return true;
    }
  }
  return false;
}
