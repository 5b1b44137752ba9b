// A DaemonSet's status, counted node by node as Kubernetes' storeDaemonSetStatus counts it: nodes
// that should run the pod (desired), of those the ones that run one (current), whose pod is ready,
// available (ready for minReadySeconds) and of the current revision (updated); nodes running it
// that should not (misscheduled). A node with an old and a new pod (a surge) counts by its best pod.
import type { DaemonSet, DaemonSetStatus } from '../../shared/api/apps.js';
import { isPodAvailable, isPodReady } from '../replicaset/pods.js';
import type { NodeFit } from './should-run.js';
import { isCurrent, type NodePods } from './plan.js';

export function countStatus(ds: DaemonSet, fits: ReadonlyMap<string, NodeFit>, pods: ReadonlyMap<string, NodePods>, hash: string, now: number): DaemonSetStatus {
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const [node, fit] of fits) {
    const live = pods.get(node)?.live ?? [];
    if (!fit.shouldRun) {
      if (live.length > 0) misscheduled++;
      continue;
    }
    desired++;
    if (live.length === 0) continue;
    current++;
    if (live.some(isPodReady)) ready++;
    if (live.some((p) => isPodAvailable(p, ds.spec.minReadySeconds, now))) available++;
    if (live.some((p) => isCurrent(p, hash))) updated++;
  }
  return {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 1,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
    ...(ds.status.collisionCount !== undefined ? { collisionCount: ds.status.collisionCount } : {}),
    ...(ds.status.conditions !== undefined ? { conditions: ds.status.conditions } : {}),
  };
}
