// The node allocation ledger (DESIGN §3): pure functions over a NodeAllocation — does a pod fit,
// the allocation with a pod added or removed. The commit code decides when these run; everything
// here is arithmetic on exact milli-unit amounts.
import type { Pod } from './api/core.js';
import type { AllocatedPod, HostPortUse, NodeAllocation } from './api/scheduling.js';
import { hostPortsConflict, podHostPorts, podRequests, PODS_RESOURCE } from './pod-resources.js';
import { describeShortfall, firstShortfall } from './node-fit.js';
import { add, parseResourceList, subtract, toResourceList, ResourceAmounts } from './resources.js';

export const ALLOCATION_API_VERSION = 'scheduling.cell.dev/v1alpha1';

/** A fresh ledger for a node. */
export function emptyAllocation(nodeName: string, allocatable: Record<string, string>): NodeAllocation {
  return {
    apiVersion: ALLOCATION_API_VERSION,
    kind: 'NodeAllocation',
    metadata: { name: nodeName },
    spec: { allocatable, allocated: {}, hostPorts: [], pods: [] },
  };
}

/**
 * Why the node's bound pods would not fit `allocatable` (a node shrinking below what is bound to
 * it), or undefined when they fit.
 */
export function allocatedMisfit(alloc: NodeAllocation, allocatable: Record<string, string>): string | undefined {
  const short = firstShortfall(parseResourceList(alloc.spec.allocated), NOTHING, parseResourceList(allocatable));
  if (!short) return undefined;
  return `${short.resource} allocatable ${short.capacity.toString()} is below the ${short.requested.toString()} its ${alloc.spec.pods.length} bound pod(s) hold`;
}

const NOTHING = new ResourceAmounts();

/** Why a pod does not fit a node's ledger. */
export interface Misfit {
  reason: 'Insufficient' | 'HostPortInUse';
  /** The resource that ran out (Insufficient). */
  resource?: string;
  message: string;
}

/** Why a pod does not fit the node's ledger, or undefined when it fits. */
export function misfit(alloc: NodeAllocation, pod: Pick<Pod, 'spec'>): Misfit | undefined {
  const node = alloc.metadata.name ?? '';
  const allocatable = parseResourceList(alloc.spec.allocatable);
  const short = firstShortfall(podRequests(pod), parseResourceList(alloc.spec.allocated), allocatable);
  if (short) {
    const message = short.resource === PODS_RESOURCE ? `too many pods: allocatable ${allocatable.quantity(PODS_RESOURCE).toString()}` : describeShortfall(short);
    return { reason: 'Insufficient', resource: short.resource, message: `node ${node}: ${message}` };
  }
  for (const want of podHostPorts(pod)) {
    const clash = alloc.spec.hostPorts.find((used) => hostPortsConflict(used, want));
    if (clash) return { reason: 'HostPortInUse', message: `node ${node}: host port ${want.port}/${want.protocol ?? 'TCP'} is already in use` };
  }
  return undefined;
}

/** The ledger with a pod added (the caller has checked it fits). */
export function withPod(alloc: NodeAllocation, pod: Pod): NodeAllocation {
  const uid = pod.metadata.uid ?? '';
  const requests = podRequests(pod);
  const ports = podHostPorts(pod);
  const entry: AllocatedPod = {
    uid,
    requests: toResourceList(requests),
    ...(ports.length > 0 ? { hostPorts: ports } : {}),
  };
  const hostPorts: HostPortUse[] = [...alloc.spec.hostPorts, ...ports.map((p) => ({ ...p, podUID: uid }))];
  return {
    ...alloc,
    spec: {
      ...alloc.spec,
      allocated: toResourceList(add(parseResourceList(alloc.spec.allocated), requests)),
      hostPorts,
      pods: [...alloc.spec.pods, entry],
    },
  };
}

/** The ledger without a pod, or undefined when the pod is not in it. */
export function withoutPod(alloc: NodeAllocation, podUid: string): NodeAllocation | undefined {
  const entry = alloc.spec.pods.find((p) => p.uid === podUid);
  if (!entry) return undefined;
  const allocated = subtract(parseResourceList(alloc.spec.allocated), parseResourceList(entry.requests));
  // Drop resources that fell to zero so an empty node's ledger is `{}` again.
  const kept = new ResourceAmounts(
    allocated.names().filter((n) => allocated.get(n) !== 0n).map((n) => [n, allocated.quantity(n)] as const),
  );
  return {
    ...alloc,
    spec: {
      ...alloc.spec,
      allocated: toResourceList(kept),
      hostPorts: alloc.spec.hostPorts.filter((h) => h.podUID !== podUid),
      pods: alloc.spec.pods.filter((p) => p.uid !== podUid),
    },
  };
}

/** A bound pod that holds resources: bound and not finished. */
export function holdsResources(pod: Pick<Pod, 'spec' | 'status'> | undefined): boolean {
  if (!pod?.spec.nodeName) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}
