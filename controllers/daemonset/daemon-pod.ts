// The pod a DaemonSet creates for one node, as Kubernetes' daemon controller makes it: the
// template, labelled with its revision's hash, given the daemon tolerations, and pinned to the node
// by required node affinity on `metadata.name` — not by spec.nodeName, so a scheduler still places
// it and no node is over-committed by a daemon pod that does not fit.
import { CONTROLLER_REVISION_HASH_LABEL, type DaemonSet } from '../../shared/api/apps.js';
import type { Affinity, NodeSelectorTerm, Pod } from '../../shared/api/core.js';
import { controllerRefTo } from '../replicaset/controller-ref.js';
import { withDaemonTolerations } from './should-run.js';

const NODE_NAME_FIELD = 'metadata.name';

/**
 * Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity: every required term keeps its label
 * expressions and gets `metadata.name In [node]` as its only field requirement (one such term when
 * there were none), so the pod fits this node and no other.
 */
export function pinnedToNode(affinity: Affinity | undefined, node: string): Affinity {
  const pin = [{ key: NODE_NAME_FIELD, operator: 'In' as const, values: [node] }];
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const pinned: NodeSelectorTerm[] = terms.length === 0 ? [{ matchFields: pin }] : terms.map((t) => ({ ...t, matchFields: pin }));
  return {
    ...affinity,
    nodeAffinity: { ...affinity?.nodeAffinity, requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: pinned } },
  };
}

/** The node a daemon pod is for: where it is bound, or else the node its affinity pins it to. */
export function targetNode(pod: Pod): string | undefined {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  for (const term of pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    const f = term.matchFields?.find((r) => r.key === NODE_NAME_FIELD && r.operator === 'In' && r.values?.length === 1);
    if (f) return f.values![0];
  }
  return undefined;
}

export function daemonPodFor(ds: DaemonSet, node: string, hash: string): Record<string, unknown> {
  const t = ds.spec.template;
  const spec = structuredClone(t.spec);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${ds.metadata.name ?? ''}-`,
      namespace: ds.metadata.namespace,
      labels: { ...t.metadata.labels, [CONTROLLER_REVISION_HASH_LABEL]: hash },
      ...(t.metadata.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ...(t.metadata.finalizers ? { finalizers: [...t.metadata.finalizers] } : {}),
      ownerReferences: [controllerRefTo(ds)],
    },
    spec: { ...spec, affinity: pinnedToNode(spec.affinity, node), tolerations: withDaemonTolerations(spec) },
  };
}
