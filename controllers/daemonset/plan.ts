// What one sync of a DaemonSet should do, decided from the caches alone (pure, so the tests can
// drive it node by node): which nodes get a pod, which pods go, and — when nothing else is left to
// do — which old pods a rolling update replaces next. Kubernetes' podsShouldBeOnNode and
// rollingUpdate, node by node:
//   - a node that should run the pod and has none gets one; a node with a pod it should not keep
//     (selector, affinity, an untolerated NoExecute taint) loses it;
//   - a failed pod is deleted (and made again); of several live pods the oldest stays — with surge,
//     the oldest of the current revision and the oldest of an older one;
//   - a pod of a node that no longer exists is deleted once it is not running there (never
//     bound, or failed);
//   - a rolling update keeps at most maxUnavailable nodes without an available pod (deleting an old
//     pod only when that allows, old pods that are not available anyway first), or with maxSurge
//     starts the new pod beside the old one on up to maxSurge nodes and deletes the old one once
//     the new one is available.
import { CONTROLLER_REVISION_HASH_LABEL, type DaemonSet } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import { scaledValue } from '../deployment/rollout.js';
import { isPodAvailable } from '../replicaset/pods.js';
import type { NodeFit } from './should-run.js';

/** The DaemonSet's pods on one node: live ones oldest first, failed ones, and whether any is terminating. */
export interface NodePods {
  live: Pod[];
  failed: Pod[];
  terminating: number;
}

export interface Plan {
  /** Nodes that get a new pod. */
  create: string[];
  /** Pods to delete: misscheduled, surplus, or replaced by a rolling update. */
  remove: Pod[];
  /** Failed pods to delete (they are made again on the next sync). */
  failed: Pod[];
}

function created(p: Pod): number {
  const t = Date.parse(p.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/** Oldest first, the name breaking ties (creation times have second resolution). */
export function oldestFirst(a: Pod, b: Pod): number {
  return created(a) - created(b) || ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1);
}

export function isCurrent(pod: Pod, hash: string): boolean {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === hash;
}

/** The pods of `owned` grouped by the node they are for (`targetNode`); pods for no node are left out. */
export function podsByNode(owned: readonly Pod[], targetNode: (pod: Pod) => string | undefined): Map<string, NodePods> {
  const out = new Map<string, NodePods>();
  for (const pod of owned) {
    const node = targetNode(pod);
    if (node === undefined) continue;
    let entry = out.get(node);
    if (!entry) {
      entry = { live: [], failed: [], terminating: 0 };
      out.set(node, entry);
    }
    if (pod.metadata.deletionTimestamp !== undefined) entry.terminating++;
    else if (pod.status.phase === 'Failed') entry.failed.push(pod);
    else entry.live.push(pod);
  }
  for (const e of out.values()) e.live.sort(oldestFirst);
  return out;
}

/** Creates and deletes that bring every node to one pod where it belongs and none elsewhere. */
export function managePlan(ds: DaemonSet, fits: ReadonlyMap<string, NodeFit>, pods: ReadonlyMap<string, NodePods>, hash: string): Plan {
  const plan: Plan = { create: [], remove: [], failed: [] };
  const surge = surgeEnabled(ds);
  for (const [node, fit] of fits) {
    const here = pods.get(node);
    if (fit.shouldRun && (!here || here.live.length + here.failed.length + here.terminating === 0)) {
      plan.create.push(node);
      continue;
    }
    if (!here) continue;
    if (!fit.shouldContinueRunning) {
      plan.remove.push(...here.live, ...here.failed);
      continue;
    }
    plan.failed.push(...here.failed);
    if (here.live.length <= 1) continue;
    // More than one: keep the oldest (with surge, the oldest of each revision, the update's pair).
    const keep = new Set<Pod>();
    if (surge) {
      const fresh = here.live.find((p) => isCurrent(p, hash));
      const old = here.live.find((p) => !isCurrent(p, hash));
      if (fresh) keep.add(fresh);
      if (old) keep.add(old);
    } else keep.add(here.live[0]!);
    plan.remove.push(...here.live.filter((p) => !keep.has(p)));
  }
  // Of a node that is gone: pods never bound, and failed ones (the node's delete, or the pod GC,
  // fails those that were bound), which nothing else would remove. A bound pod still running
  // there waits for that.
  for (const [node, here] of pods) {
    if (fits.has(node)) continue;
    plan.remove.push(...here.live.filter((p) => !p.spec.nodeName), ...here.failed);
  }
  return plan;
}

/** A rolling update that starts the new pod beside the old one (maxSurge not 0). */
export function surgeEnabled(ds: DaemonSet): boolean {
  const s = ds.spec.updateStrategy.type === 'RollingUpdate' ? ds.spec.updateStrategy.rollingUpdate?.maxSurge : undefined;
  return s !== undefined && s !== 0 && s !== '0%';
}

export interface RollingUpdateBounds {
  maxUnavailable: number;
  maxSurge: number;
}

/** maxUnavailable and maxSurge as node counts (percentages of the nodes that should run the pod, rounded up). */
export function rollingUpdateBounds(ds: DaemonSet, desired: number): RollingUpdateBounds {
  const ru = ds.spec.updateStrategy.type === 'RollingUpdate' ? ds.spec.updateStrategy.rollingUpdate : undefined;
  const maxSurge = scaledValue(ru?.maxSurge, desired, true);
  const maxUnavailable = scaledValue(ru?.maxUnavailable, desired, true);
  // Both round to 0 only with no nodes at all (validation refuses 0 and 0): still let one go.
  return { maxSurge, maxUnavailable: maxSurge === 0 && maxUnavailable === 0 ? 1 : maxUnavailable };
}

/** The next step of a rolling update towards revision `hash`; empty when it is done. */
export function rollingUpdatePlan(ds: DaemonSet, fits: ReadonlyMap<string, NodeFit>, pods: ReadonlyMap<string, NodePods>, hash: string, now: number): Plan {
  const plan: Plan = { create: [], remove: [], failed: [] };
  if (ds.spec.updateStrategy.type !== 'RollingUpdate') return plan;
  const desired = [...fits.values()].filter((f) => f.shouldRun).length;
  const { maxUnavailable, maxSurge } = rollingUpdateBounds(ds, desired);
  const available = (p: Pod) => isPodAvailable(p, ds.spec.minReadySeconds, now);
  if (maxSurge === 0) {
    let unavailable = 0;
    const candidates: Pod[] = [];
    for (const [node, fit] of fits) {
      if (!fit.shouldRun) continue;
      const live = pods.get(node)?.live ?? [];
      const fresh = live.find((p) => isCurrent(p, hash));
      const old = live.find((p) => !isCurrent(p, hash));
      if (fresh) {
        if (!available(fresh)) unavailable++;
      } else if (!old) {
        unavailable++;
      } else if (!available(old)) {
        // Serving nothing already: replacing it costs no availability.
        unavailable++;
        plan.remove.push(old);
      } else candidates.push(old);
    }
    plan.remove.push(...candidates.slice(0, Math.max(0, maxUnavailable - unavailable)));
    return plan;
  }
  let surging = 0;
  const toSurge: string[] = [];
  for (const [node, fit] of fits) {
    if (!fit.shouldRun) continue;
    const live = pods.get(node)?.live ?? [];
    const fresh = live.find((p) => isCurrent(p, hash));
    const old = live.find((p) => !isCurrent(p, hash));
    if (!old) continue;
    if (fresh) {
      if (available(fresh)) plan.remove.push(old);
      else surging++;
    } else if (!available(old)) plan.remove.push(old);
    else toSurge.push(node);
  }
  plan.create.push(...toSurge.slice(0, Math.max(0, maxSurge - surging)));
  return plan;
}
