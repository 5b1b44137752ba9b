// Which nodes a DaemonSet's pod belongs on, as Kubernetes' NodeShouldRunDaemonPod decides: the
// template's node selector and required node affinity must match the node, and its tolerations —
// with the ones every daemon pod gets — must cover the node's taints. A node whose NoSchedule
// taints are not tolerated gets no new pod but keeps the one it has; an untolerated NoExecute
// taint (or a selector that stopped matching) means the pod must go.
import type { DaemonSet } from '../../shared/api/apps.js';
import type { Node, PodSpec, Toleration } from '../../shared/api/core.js';
import { RequiredNodeAffinity } from '../../shared/node-affinity.js';
import { tolerates } from '../../shared/tolerations.js';

/**
 * Kubernetes' AddOrUpdateDaemonPodTolerations: a daemon pod runs on nodes that are not ready,
 * unreachable (it is not evicted), under pressure or cordoned — it is what the node runs, not a
 * tenant of it. `network-unavailable` only for host-network pods, which need no pod network.
 */
export function daemonTolerations(spec: Pick<PodSpec, 'hostNetwork'>): Toleration[] {
  const exists = (key: string, effect: 'NoSchedule' | 'NoExecute'): Toleration => ({ key: `node.kubernetes.io/${key}`, operator: 'Exists', effect });
  return [
    exists('not-ready', 'NoExecute'),
    exists('unreachable', 'NoExecute'),
    exists('disk-pressure', 'NoSchedule'),
    exists('memory-pressure', 'NoSchedule'),
    exists('pid-pressure', 'NoSchedule'),
    exists('unschedulable', 'NoSchedule'),
    ...(spec.hostNetwork === true ? [exists('network-unavailable', 'NoSchedule')] : []),
  ];
}

/** The template's tolerations with the daemon ones added where an identical one is not already there. */
export function withDaemonTolerations(spec: Pick<PodSpec, 'tolerations' | 'hostNetwork'>): Toleration[] {
  const out = [...(spec.tolerations ?? [])];
  for (const t of daemonTolerations(spec)) {
    if (!out.some((o) => o.key === t.key && o.operator === t.operator && o.effect === t.effect && (o.value ?? '') === (t.value ?? ''))) out.push(t);
  }
  return out;
}

export interface NodeFit {
  /** A daemon pod should be created here if none runs. */
  shouldRun: boolean;
  /** A daemon pod already here may stay. */
  shouldContinueRunning: boolean;
}

const NO: NodeFit = { shouldRun: false, shouldContinueRunning: false };

/** One DaemonSet's template, compiled once per sync and asked about each node. */
export class DaemonNodeFit {
  private readonly affinity: RequiredNodeAffinity;
  private readonly tolerations: Toleration[];
  private readonly nodeName: string | undefined;

  constructor(ds: DaemonSet) {
    const spec = ds.spec.template.spec;
    this.affinity = new RequiredNodeAffinity(spec);
    this.tolerations = withDaemonTolerations(spec);
    this.nodeName = spec.nodeName;
  }

  of(node: Node): NodeFit {
    const name = node.metadata.name ?? '';
    if (this.nodeName !== undefined && this.nodeName !== '' && this.nodeName !== name) return NO;
    if (!this.affinity.matches({ name, labels: node.metadata.labels ?? {} })) return NO;
    let shouldRun = true;
    for (const taint of node.spec.taints ?? []) {
      if (taint.effect === 'PreferNoSchedule' || tolerates(this.tolerations, taint)) continue;
      if (taint.effect === 'NoExecute') return NO;
      shouldRun = false;
    }
    return { shouldRun, shouldContinueRunning: true };
  }
}
