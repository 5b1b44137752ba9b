// What the scheduler needs to know about a pod, computed once per version of the pod rather than
// once per node it is compared with: its effective requests (the same rule as the API server's
// ledger, shared/pod-resources.ts), host ports, priority and gang membership.
import type { Pod } from '../../shared/api/core.js';
import { POD_GROUP_LABEL, type HostPort } from '../../shared/api/scheduling.js';
import { PODS_RESOURCE, podHostPorts, podRequests } from '../../shared/pod-resources.js';
import { ResourceVector } from './resources.js';

export interface PodInfo {
  /** `namespace/name`, the informer's key. */
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly pod: Pod;
  readonly labels: Readonly<Record<string, string>>;
  /** spec.priority, 0 when unset (as Kubernetes without a default PriorityClass). */
  readonly priority: number;
  readonly requests: ResourceVector;
  readonly hostPorts: readonly HostPort[];
  /** The PodGroup it belongs to (label `scheduling.x-k8s.io/pod-group`), if any. */
  readonly group: string | undefined;
  /** creationTimestamp in ms (0 when absent). */
  readonly createdAt: number;
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

export function podKey(pod: Pick<Pod, 'metadata'>): string {
  return `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
}

/**
 * The facts of `pod`. `previous` (an earlier version of the same pod) lends its requests and host
 * ports: a pod's containers cannot change after creation, so they need not be parsed again.
 */
export function podInfoOf(pod: Pod, previous?: PodInfo): PodInfo {
  const reuse = previous !== undefined && previous.uid === pod.metadata.uid;
  const labels = pod.metadata.labels ?? NO_LABELS;
  const created = pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : 0;
  return {
    key: podKey(pod),
    uid: pod.metadata.uid ?? '',
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    pod,
    labels,
    priority: pod.spec.priority ?? 0,
    requests: reuse ? previous.requests : requestsOf(pod),
    hostPorts: reuse ? previous.hostPorts : podHostPorts(pod),
    group: labels[POD_GROUP_LABEL],
    createdAt: Number.isNaN(created) ? 0 : created,
  };
}

/**
 * podRequests() as a ResourceVector. The usual pod — one container, no init containers — is its
 * container's requests plus one `pods`; those go through ResourceVector.parse, which remembers
 * the quantities it has parsed (every pod of a deployment repeats them).
 */
function requestsOf(pod: Pod): ResourceVector {
  const { containers, initContainers } = pod.spec;
  if (containers.length !== 1 || (initContainers !== undefined && initContainers.length > 0)) return ResourceVector.from(podRequests(pod));
  const v = ResourceVector.parse(containers[0]!.resources?.requests);
  v.set(PODS_RESOURCE, ONE_POD);
  return v;
}

/** One `pods`, in milli-units. */
const ONE_POD = 1000;

export function isTerminal(pod: Pod): boolean {
  return pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
}

/** Whether the pod's group key (namespace/group) is `key`. */
export function groupKeyOf(p: Pick<PodInfo, 'namespace' | 'group'>): string | undefined {
  return p.group === undefined ? undefined : `${p.namespace}/${p.group}`;
}
