// How the node lifecycle controller marks a node it has lost touch with, and unmarks it: every
// condition Unknown (reason NodeStatusUnknown) and the `node.kubernetes.io/unreachable` taint with
// both effects (NoSchedule keeps schedulers away; NoExecute, as Kubernetes marks it). Pure
// functions of the node, so they are tested without a cluster.
import type { Node, Taint } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';

export const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable';
const UNREACHABLE_EFFECTS = ['NoSchedule', 'NoExecute'] as const;

export function hasUnreachableTaint(node: Pick<Node, 'spec'>, effect?: string): boolean {
  return (node.spec?.taints ?? []).some((t) => t.key === UNREACHABLE_TAINT_KEY && (effect === undefined || t.effect === effect));
}

/**
 * The node with every condition Unknown and the unreachable taints, or undefined when it is so
 * already. Conditions are status and taints are spec: the caller writes each part through its own
 * endpoint (nodes/{name}/status, nodes/{name}); the server bumps the generation on the spec write.
 */
export function markedUnknown(node: Node, now: number): Node | undefined {
  const at = formatTime(new Date(now));
  const conditions = node.status?.conditions ?? [];
  let changed = false;
  const next: Node = structuredClone(node);
  next.status.conditions = conditions.map((c) => {
    if (c.status === 'Unknown') return c;
    changed = true;
    return { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: at };
  });
  if (!conditions.some((c) => c.type === 'Ready')) {
    changed = true;
    next.status.conditions.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet never posted node status.', lastTransitionTime: at });
  }
  const taints: Taint[] = [...(node.spec?.taints ?? [])];
  for (const effect of UNREACHABLE_EFFECTS) {
    if (!hasUnreachableTaint(node, effect)) {
      taints.push({ key: UNREACHABLE_TAINT_KEY, effect, timeAdded: at });
      changed = true;
    }
  }
  if (!changed) return undefined;
  if (taints.length !== (node.spec?.taints ?? []).length) next.spec = { ...next.spec, taints };
  return next;
}

/** The node without the unreachable taints, or undefined when it has none. */
export function untainted(node: Node): Node | undefined {
  if (!hasUnreachableTaint(node)) return undefined;
  const next: Node = structuredClone(node);
  const taints = (node.spec.taints ?? []).filter((t) => t.key !== UNREACHABLE_TAINT_KEY);
  if (taints.length > 0) next.spec.taints = taints;
  else delete next.spec.taints;
  return next;
}
