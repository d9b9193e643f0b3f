/**
 * "On an approved network": some interface is up with an address inside an approved CIDR, or an
 * approved interface name has an address. Read from the kernel through os.networkInterfaces()
 * (no process spawned: cheap enough to poll).
 */
import { networkInterfaces } from 'node:os';
import { ipToBigInt, type ApprovedNetwork } from './config.js';

export function inCidr(ip: string, n: Extract<ApprovedNetwork, { kind: 'cidr' }>): boolean {
  const a = ipToBigInt(ip);
  if (!a || a.family !== n.family) return false;
  const width = n.family === 4 ? 32 : 128;
  const shift = BigInt(width - n.bits);
  return a.value >> shift === n.addr >> shift;
}

export function approvedNetworkPresent(nets: readonly ApprovedNetwork[], ifaces = networkInterfaces()): boolean {
  if (nets.length === 0) return false;
  for (const [name, addrs] of Object.entries(ifaces)) {
    for (const a of addrs ?? []) {
      for (const n of nets) {
        if (n.kind === 'interface' ? n.name === name : inCidr(a.address, n)) return true;
      }
    }
  }
  return false;
}
