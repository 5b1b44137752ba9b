// What a pod holds on its node while it is bound and not finished: its effective requests and its
// host ports. The API server's allocation ledger and every scheduler compute it the same way.
import type { Pod } from './api/core.js';
import type { HostPort } from './api/scheduling.js';
import { Quantity } from './quantity.js';
import { ResourceAmounts, add, parseResourceList } from './resources.js';

/** Pod-count resource: each pod uses one of the node's `pods` allocatable. */
export const PODS_RESOURCE = 'pods';

type PodLike = Pick<Pod, 'spec'>;

/**
 * Kubernetes' rule: per resource, the larger of the sum over containers and the largest init
 * container (init containers run one at a time, before the others); plus one `pods`.
 */
export function podRequests(pod: PodLike): ResourceAmounts {
  let sum = new ResourceAmounts();
  for (const c of pod.spec.containers) sum = add(sum, parseResourceList(c.resources?.requests));
  const init = (pod.spec.initContainers ?? []).map((c) => parseResourceList(c.resources?.requests));
  const names = new Set([...sum.names(), ...init.flatMap((r) => r.names())]);
  const entries: [string, Quantity][] = [];
  for (const name of names) {
    let q = sum.quantity(name);
    for (const r of init) if (r.quantity(name).cmp(q) > 0) q = r.quantity(name);
    entries.push([name, q]);
  }
  entries.push([PODS_RESOURCE, Quantity.parse(1)]);
  return new ResourceAmounts(entries);
}

/** Host ports the pod binds on its node (containers and init containers). */
export function podHostPorts(pod: PodLike): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (p.hostPort !== undefined && p.hostPort > 0) {
        out.push({ port: p.hostPort, protocol: p.protocol ?? 'TCP', ...(p.hostIP ? { hostIP: p.hostIP } : {}) });
      }
    }
  }
  return out;
}

function wildcard(ip: string | undefined): boolean {
  return ip === undefined || ip === '' || ip === '0.0.0.0' || ip === '::';
}

/** Two host ports clash when port and protocol match and their addresses overlap. */
export function hostPortsConflict(a: HostPort, b: HostPort): boolean {
  return a.port === b.port && (a.protocol ?? 'TCP') === (b.protocol ?? 'TCP') &&
    (wildcard(a.hostIP) || wildcard(b.hostIP) || a.hostIP === b.hostIP);
}
