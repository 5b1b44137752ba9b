// What one sync of a StatefulSet does next, decided from the caches alone (pure, so the tests can
// step through it), in Kubernetes' order (updateStatefulSet):
//   1. every ordinal in [start, start+replicas) gets its pod; a failed one is deleted, to come back
//      under the same name. With OrderedReady a pod is made only once every lower ordinal is
//      Running and available — the sync stops at the first that is not;
//   2. pods above the range (scaled down) are deleted from the highest ordinal down, with
//      OrderedReady one at a time and only while every other pod is healthy;
//   3. a RollingUpdate then deletes the highest-ordinal pod not of the update revision, down to the
//      partition, one at a time, each waiting for the one before to come back healthy.
// With Parallel, steps 1 and 2 make and delete everything at once.
import type { StatefulSet } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import { isPodAvailable } from '../replicaset/pods.js';
import { ordinalOf, revisionOf } from './identity.js';

export interface StatefulPlan {
  /** Ordinals to create, and whether from the update revision's template or the current one's. */
  create: { ordinal: number; revision: 'update' | 'current' }[];
  remove: Pod[];
}

function terminating(p: Pod): boolean {
  return p.metadata.deletionTimestamp !== undefined;
}

function finished(p: Pod): boolean {
  return p.status.phase === 'Failed' || p.status.phase === 'Succeeded';
}

/** Running, available for minReadySeconds and not on its way out. */
export function isHealthy(p: Pod, minReadySeconds: number, now: number): boolean {
  return !terminating(p) && p.status.phase === 'Running' && isPodAvailable(p, minReadySeconds, now);
}

export function startOrdinal(sts: StatefulSet): number {
  return sts.spec.ordinals?.start ?? 0;
}

export function statefulSetPlan(sts: StatefulSet, pods: readonly Pod[], updateRevision: string, now: number): StatefulPlan {
  const plan: StatefulPlan = { create: [], remove: [] };
  const ordered = sts.spec.podManagementPolicy === 'OrderedReady';
  const start = startOrdinal(sts);
  const end = start + sts.spec.replicas;
  const healthy = (p: Pod) => isHealthy(p, sts.spec.minReadySeconds, now);
  const partition = sts.spec.updateStrategy.type === 'RollingUpdate' ? (sts.spec.updateStrategy.rollingUpdate?.partition ?? 0) : 0;

  const slots = new Map<number, Pod>();
  const condemned: Pod[] = [];
  for (const p of pods) {
    const ord = ordinalOf(sts, p);
    if (ord === undefined) continue;
    if (ord >= start && ord < end) slots.set(ord, p);
    else condemned.push(p);
  }
  condemned.sort((a, b) => (ordinalOf(sts, b) ?? 0) - (ordinalOf(sts, a) ?? 0));

  // 1. The replicas, lowest ordinal first.
  let blocked = false;
  for (let ord = start; ord < end; ord++) {
    const p = slots.get(ord);
    if (!p) {
      const below = sts.spec.updateStrategy.type === 'RollingUpdate' && ord - start < partition;
      plan.create.push({ ordinal: ord, revision: below ? 'current' : 'update' });
      if (ordered) return plan;
      blocked = true;
      continue;
    }
    if (terminating(p)) {
      // Its replacement is made once it is gone (same name).
      if (ordered) return plan;
      blocked = true;
      continue;
    }
    if (finished(p)) {
      plan.remove.push(p);
      if (ordered) return plan;
      blocked = true;
      continue;
    }
    if (!healthy(p)) {
      if (ordered) return plan;
      blocked = true;
    }
  }

  // 2. Scaled down: the highest ordinals go first.
  for (const p of condemned) {
    if (terminating(p)) {
      if (ordered) return plan;
      continue;
    }
    // One at a time, and not while another pod is unhealthy (only this one may be).
    if (ordered && (blocked || condemned.some((c) => c !== p && !healthy(c)))) return plan;
    plan.remove.push(p);
    if (ordered) return plan;
  }
  if (plan.create.length > 0 || plan.remove.length > 0 || blocked) return plan;

  // 3. The rolling update, highest ordinal first, down to the partition.
  if (sts.spec.updateStrategy.type !== 'RollingUpdate') return plan;
  for (let ord = end - 1; ord >= start + partition; ord--) {
    const p = slots.get(ord);
    if (!p) return plan;
    if (revisionOf(p) !== updateRevision && !terminating(p)) {
      plan.remove.push(p);
      return plan;
    }
    if (!healthy(p)) return plan;
  }
  return plan;
}
