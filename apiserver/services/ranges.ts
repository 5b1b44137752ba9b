// Where Services' virtual IPs and node ports come from (cell-apiserver's
// --service-cluster-ip-range and --service-node-port-range, with Kubernetes' defaults).
import { isIPv4 } from 'node:net';

export interface ServiceRanges {
  /** An IPv4 CIDR, e.g. 10.96.0.0/12. */
  clusterIPRange: string;
  /** First and last node port, inclusive. */
  nodePorts: { first: number; last: number };
}

export const DEFAULT_SERVICE_RANGES: ServiceRanges = { clusterIPRange: '10.96.0.0/12', nodePorts: { first: 30000, last: 32767 } };

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIP(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** An IPv4 range's allocatable addresses: its network and broadcast addresses are never handed out. */
export class ClusterIPRange {
  readonly cidr: string;
  private readonly first: number;
  /** How many addresses may be allocated. */
  readonly size: number;

  constructor(cidr: string) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
    const bits = m ? Number(m[2]) : NaN;
    if (!m || !isIPv4(m[1]!) || !(bits >= 8 && bits <= 30)) throw new Error(`"${cidr}" is not an IPv4 CIDR between /8 and /30`);
    const span = 2 ** (32 - bits);
    const network = ipToNumber(m[1]!) - (ipToNumber(m[1]!) % span);
    this.cidr = `${numberToIP(network)}/${bits}`;
    this.first = network + 1;
    this.size = span - 2;
  }

  contains(ip: string): boolean {
    if (!isIPv4(ip)) return false;
    const n = ipToNumber(ip);
    return n >= this.first && n < this.first + this.size;
  }

  /** The i-th allocatable address (0 = the range's first, which the `kubernetes` Service takes in Kubernetes). */
  at(i: number): string {
    return numberToIP(this.first + i);
  }
}

/** `30000-32767` → its bounds. */
export function parseNodePortRange(text: string): { first: number; last: number } {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  const first = m ? Number(m[1]) : NaN;
  const last = m ? Number(m[2]) : NaN;
  if (!m || first < 1 || last > 65535 || first > last) throw new Error(`"${text}" is not a port range such as 30000-32767`);
  return { first, last };
}
