// Which addresses are this host's: what a process advertises when it listens on every interface,
// and whether a socket can listen on a given address here.
import os from 'node:os';

/** The host's first non-internal IPv4 address; loopback when it has none. */
export function hostIPv4(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** Can a socket listen on this IPv4 address here: loopback (all of 127/8 on Linux) or an interface's? */
export function isLocalAddress(ip: string): boolean {
  if (ip.startsWith('127.')) return true;
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === ip));
}
