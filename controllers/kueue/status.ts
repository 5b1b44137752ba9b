// The status the controller keeps on ClusterQueues and LocalQueues (Kueue's fields): how many
// workloads are pending, reserving and admitted, the Active condition (and why a queue cannot
// admit), the ClusterQueue's fair-sharing weighted share, and a LocalQueue's reservation and usage
// per flavor. A ClusterQueue's flavorsReservation/flavorsUsage are not here: they are the ledger
// the API server moves with each admission. Each function returns the status fields to merge-patch,
// or undefined when the object already says so (no write, no event storm).
import { isDeepStrictEqual } from 'node:util';
import type { Condition } from '../../shared/api/meta.js';
import { QUEUE_ACTIVE, type ClusterQueue, type LocalQueue, type LocalQueueFlavorUsage } from '../../shared/api/kueue.js';
import type { FlavorAmounts, InactiveReason } from '../../shared/queue-fit.js';
import { setCondition } from './workload-status.js';

export interface QueueCounts {
  pending: number;
  reserving: number;
  admitted: number;
}

function sameCondition(old: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>): boolean {
  const c = old?.find((x) => x.type === next.type);
  return c !== undefined && c.status === next.status && c.reason === next.reason && c.message === next.message;
}

function activeCondition(inactive: InactiveReason | undefined): Omit<Condition, 'lastTransitionTime'> {
  return inactive
    ? { type: QUEUE_ACTIVE, status: 'False', reason: inactive.reason, message: inactive.message }
    : { type: QUEUE_ACTIVE, status: 'True', reason: 'Ready', message: 'Can admit new workloads' };
}

export type ClusterQueueStatusPatch = Pick<ClusterQueue['status'], 'pendingWorkloads' | 'reservingWorkloads' | 'admittedWorkloads' | 'conditions' | 'fairSharing'>;

export function clusterQueueStatusPatch(cq: ClusterQueue, counts: QueueCounts, inactive: InactiveReason | undefined, weightedShare: number, now: Date): ClusterQueueStatusPatch | undefined {
  const active = activeCondition(inactive);
  const s = cq.status;
  if (
    s.pendingWorkloads === counts.pending &&
    s.reservingWorkloads === counts.reserving &&
    s.admittedWorkloads === counts.admitted &&
    s.fairSharing?.weightedShare === weightedShare &&
    sameCondition(s.conditions, active)
  ) {
    return undefined;
  }
  return {
    pendingWorkloads: counts.pending,
    reservingWorkloads: counts.reserving,
    admittedWorkloads: counts.admitted,
    conditions: setCondition(s.conditions, active, now),
    fairSharing: { weightedShare },
  };
}

/** Why a LocalQueue cannot take workloads: its ClusterQueue is missing or inactive. */
export type LocalQueueTarget = 'ready' | 'missing' | 'inactive';

function localActiveCondition(target: LocalQueueTarget): Omit<Condition, 'lastTransitionTime'> {
  switch (target) {
    case 'ready':
      return { type: QUEUE_ACTIVE, status: 'True', reason: 'Ready', message: 'Can submit new workloads to localQueue' };
    case 'missing':
      return { type: QUEUE_ACTIVE, status: 'False', reason: 'ClusterQueueDoesNotExist', message: "Can't submit new workloads to clusterQueue" };
    case 'inactive':
      return { type: QUEUE_ACTIVE, status: 'False', reason: 'ClusterQueueIsInactive', message: "Can't submit new workloads to clusterQueue" };
  }
}

/** A LocalQueue's per-flavor list (no borrowed field: borrowing is the ClusterQueue's). */
export function localFlavorList(amounts: FlavorAmounts): LocalQueueFlavorUsage[] {
  return [...amounts]
    .map(([flavor, a]) => ({ name: flavor, resources: a.names().map((r) => ({ name: r, total: a.quantity(r).toString() })) }))
    .sort((x, y) => x.name.localeCompare(y.name));
}

export type LocalQueueStatusPatch = Partial<LocalQueue['status']>;

export function localQueueStatusPatch(lq: LocalQueue, counts: QueueCounts, target: LocalQueueTarget, reservation: FlavorAmounts, usage: FlavorAmounts, now: Date): LocalQueueStatusPatch | undefined {
  const active = localActiveCondition(target);
  const s = lq.status;
  const flavorsReservation = localFlavorList(reservation);
  const flavorUsage = localFlavorList(usage);
  if (
    s.pendingWorkloads === counts.pending &&
    s.reservingWorkloads === counts.reserving &&
    s.admittedWorkloads === counts.admitted &&
    sameCondition(s.conditions, active) &&
    isDeepStrictEqual(s.flavorsReservation ?? [], flavorsReservation) &&
    isDeepStrictEqual(s.flavorUsage ?? [], flavorUsage)
  ) {
    return undefined;
  }
  return {
    pendingWorkloads: counts.pending,
    reservingWorkloads: counts.reserving,
    admittedWorkloads: counts.admitted,
    conditions: setCondition(s.conditions, active, now),
    flavorsReservation,
    flavorUsage,
  };
}
