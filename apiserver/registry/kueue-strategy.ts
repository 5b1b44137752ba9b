// REST strategies of Kueue's kinds, as Kueue's webhooks and CRD rules make them:
// - ClusterQueue: status.flavorsReservation and status.flavorsUsage are the admission ledger,
//   moved only by the API server in the transaction of each admission and release
//   (apiserver/queues/): a status write keeps the stored values, so a controller writing pending
//   counts and conditions from an older copy never undoes an admission. A queue that still holds
//   reservations is not removed by a delete: it is marked Terminating (admits nothing more) and
//   goes in the transaction that releases its last reservation — Kueue keeps such a queue with
//   its resource-in-use finalizer.
// - LocalQueue: spec.clusterQueue is immutable.
// - Workload: status.admission may be set and cleared, never changed while set; the pod sets
//   and queue name are fixed while quota is reserved.
import { isDeepStrictEqual } from 'node:util';
import { RESOURCE_IN_USE_FINALIZER, type ClusterQueue, type LocalQueue, type Workload } from '../../shared/api/kueue.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import type { FieldCause } from '../../shared/errors.js';
import { isZeroFlavorAmounts, recordedUsage } from '../../shared/queue-fit.js';
import type { KubeObject } from './object.js';
import type { Strategy } from './strategy.js';

/** Objects reaching a strategy were decoded by their kind's schema. */
const cqOf = (obj: KubeObject) => obj as unknown as ClusterQueue;
const lqOf = (obj: KubeObject) => obj as unknown as LocalQueue;
const wlOf = (obj: KubeObject) => obj as unknown as Workload;

/** Whether the queue's ledger holds any reservation. */
export function holdsReservations(cq: Pick<ClusterQueue, 'status'>): boolean {
  return !isZeroFlavorAmounts(recordedUsage(cq, 'reservation')) || !isZeroFlavorAmounts(recordedUsage(cq, 'usage'));
}

export const clusterQueueStrategy: Strategy = {
  prepareForCreate(obj) {
    // The ledger starts empty: no client writes what is reserved.
    obj.status = {};
  },
  prepareForStatusUpdate(next, old) {
    const status = { ...cqOf(next).status };
    const stored = cqOf(old).status;
    if (stored.flavorsReservation !== undefined) status.flavorsReservation = stored.flavorsReservation;
    else delete status.flavorsReservation;
    if (stored.flavorsUsage !== undefined) status.flavorsUsage = stored.flavorsUsage;
    else delete status.flavorsUsage;
    next.status = status;
  },
  kindFinalizers(obj) {
    return holdsReservations(cqOf(obj)) ? [RESOURCE_IN_USE_FINALIZER] : [];
  },
};

export const localQueueStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = {};
  },
  validateUpdate(next, old) {
    const a = lqOf(next).spec.clusterQueue;
    const b = lqOf(old).spec.clusterQueue;
    if (a !== b) throw invalidObjectError({ kind: 'LocalQueue', name: old.metadata.name ?? '' }, [cause.invalid('spec.clusterQueue', a, 'field is immutable')]);
  },
};

export const workloadStrategy: Strategy = {
  prepareForCreate(obj) {
    // Status is the queue controller's; an admission arrives through the status subresource,
    // where the ledger commits it.
    obj.status = {};
  },
  validateUpdate(next, old) {
    const prev = wlOf(old);
    if (prev.status.admission === undefined) return;
    const causes: FieldCause[] = [];
    const a = wlOf(next).spec;
    if (!isDeepStrictEqual(a.podSets, prev.spec.podSets)) causes.push(cause.invalid('spec.podSets', 'podSets', 'field is immutable while the workload has quota reserved'));
    if (a.queueName !== prev.spec.queueName) causes.push(cause.invalid('spec.queueName', a.queueName ?? '', 'field is immutable while the workload has quota reserved'));
    if (causes.length > 0) throw invalidObjectError({ kind: 'Workload', name: old.metadata.name ?? '' }, causes);
  },
  validateStatusUpdate(next, old) {
    const a = wlOf(next).status.admission;
    const b = wlOf(old).status.admission;
    if (a === undefined || b === undefined || isDeepStrictEqual(a, b)) return;
    throw invalidObjectError({ kind: 'Workload', name: old.metadata.name ?? '' }, [
      cause.invalid('status.admission', a.clusterQueue, 'field is immutable while set: clear it first'),
    ]);
  },
};
