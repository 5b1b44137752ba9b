// What a ReplicaSet (and so a Deployment) counts of its pods, as Kubernetes counts them: which pods
// are active, ready and available, and which to delete first when there are too many.
import type { Pod } from '../../shared/api/core.js';

/** Not finished and not being deleted: the pods that count towards `replicas`. */
export function isPodActive(pod: Pod): boolean {
  return pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed' && pod.metadata.deletionTimestamp === undefined;
}

function readyCondition(pod: Pod) {
  return pod.status.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** Ms since the pod turned Ready (0 when the time is unknown), or undefined when it is not ready. */
function readyForMs(pod: Pod, now: number): number | undefined {
  const cond = readyCondition(pod);
  if (cond?.status !== 'True') return undefined;
  const since = Date.parse(cond.lastTransitionTime ?? '');
  return Number.isNaN(since) ? 0 : Math.max(0, now - since);
}

/** Ready for at least `minReadySeconds` (any ready pod when 0). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const ms = readyForMs(pod, now);
  if (ms === undefined) return false;
  return minReadySeconds <= 0 || ms >= minReadySeconds * 1000;
}

function phaseRank(pod: Pod): number {
  // Pending < Unknown < Running: a pod that is not yet running costs least to lose.
  switch (pod.status.phase) {
    case 'Pending':
      return 0;
    case 'Unknown':
      return 1;
    case 'Running':
      return 2;
    default:
      return 0;
  }
}

function restarts(pod: Pod): number {
  return (pod.status.containerStatuses ?? []).reduce((n, c) => Math.max(n, c.restartCount), 0);
}

function created(pod: Pod): number {
  const t = Date.parse(pod.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/**
 * `count` of `pods` to delete, in Kubernetes' order (controller.ActivePodsWithRanks): unscheduled
 * before scheduled, pending before running, not ready before ready, pods sharing a node with more
 * of their siblings first, ready for less time before more, more restarts before fewer, newer
 * before older.
 */
export function podsToDelete(pods: readonly Pod[], count: number, now: number = Date.now()): Pod[] {
  if (count <= 0) return [];
  const perNode = new Map<string, number>();
  for (const p of pods) {
    const node = p.spec.nodeName;
    if (node) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const key = (p: Pod) => {
    const ready = readyForMs(p, now);
    return {
      scheduled: p.spec.nodeName ? 1 : 0,
      phase: phaseRank(p),
      ready: ready === undefined ? 0 : 1,
      doubledUp: -(p.spec.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0),
      readyMs: ready ?? 0,
      restarts: -restarts(p),
      age: -created(p),
    };
  };
  const ranked = pods.map((p) => ({ p, k: key(p) }));
  ranked.sort((a, b) => {
    const x = a.k;
    const y = b.k;
    return x.scheduled - y.scheduled || x.phase - y.phase || x.ready - y.ready || x.doubledUp - y.doubledUp || x.readyMs - y.readyMs || x.restarts - y.restarts || x.age - y.age;
  });
  return ranked.slice(0, count).map((r) => r.p);
}
