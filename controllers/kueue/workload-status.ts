// A Workload's status transitions, with Kueue's condition types, reasons and messages: pending
// (and why), quota reserved and admitted (one write, with status.admission), evicted (and, when
// preempted, by whom), requeued once its Job stopped (the admission cleared), and finished.
// Each returns the whole next status; the caller writes it against the resourceVersion it read.
import type { Condition } from '../../shared/api/meta.js';
import { formatTime } from '../../shared/api/meta.js';
import {
  WORKLOAD_ADMITTED,
  WORKLOAD_EVICTED,
  WORKLOAD_FINISHED,
  WORKLOAD_PREEMPTED,
  WORKLOAD_QUOTA_RESERVED,
  WORKLOAD_REQUEUED,
  type Admission,
  type Workload,
  type WorkloadStatus,
} from '../../shared/api/kueue.js';

/** QuotaReserved=False reasons: waiting for quota, or unable to queue at all (no such queue, inactive). */
export const PENDING_REASON = 'Pending';
export const INADMISSIBLE_REASON = 'Inadmissible';
/** Evicted reasons. */
export const EVICTED_BY_PREEMPTION = 'Preempted';
export const EVICTED_BY_DEACTIVATION = 'InactiveWorkload';
/** Preempted reasons. */
export type PreemptionReason = 'InClusterQueue' | 'InCohortReclamation';

/** The condition of `type`, if any. */
export function condition(wl: Pick<Workload, 'status'>, type: string): Condition | undefined {
  return wl.status.conditions?.find((c) => c.type === type);
}

/**
 * Set a condition as Kubernetes' meta.SetStatusCondition does: lastTransitionTime moves only when
 * the status flips. Returns a new list.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const old = i >= 0 ? list[i] : undefined;
  const c: Condition = { ...next, lastTransitionTime: old && old.status === next.status ? (old.lastTransitionTime ?? formatTime(now)) : formatTime(now) };
  if (i >= 0) list[i] = c;
  else list.push(c);
  return list;
}

/** Whether the condition of `type` already says this (status, reason and message). */
export function conditionIs(wl: Pick<Workload, 'status'>, type: string, status: 'True' | 'False', reason: string, message: string): boolean {
  const c = condition(wl, type);
  return c !== undefined && c.status === status && c.reason === reason && c.message === message;
}

/** Waiting: QuotaReserved=False with why. */
export function pendingStatus(wl: Workload, reason: string, message: string, now: Date): WorkloadStatus {
  return { ...wl.status, conditions: setCondition(wl.status.conditions, { type: WORKLOAD_QUOTA_RESERVED, status: 'False', reason, message }, now) };
}

export function quotaReservedMessage(clusterQueue: string): string {
  return `Quota reserved in ClusterQueue ${clusterQueue}`;
}

/**
 * Quota reserved and admitted in one write (cell has no admission checks, so both at once). A
 * previous eviction's conditions turn False, as Kueue keeps them ("Previously: …").
 */
export function admittedStatus(wl: Workload, admission: Admission, now: Date): WorkloadStatus {
  let conditions = setCondition(wl.status.conditions, { type: WORKLOAD_QUOTA_RESERVED, status: 'True', reason: 'QuotaReserved', message: quotaReservedMessage(admission.clusterQueue) }, now);
  conditions = setCondition(conditions, { type: WORKLOAD_ADMITTED, status: 'True', reason: 'Admitted', message: 'The workload is admitted' }, now);
  for (const type of [WORKLOAD_EVICTED, WORKLOAD_PREEMPTED]) {
    const old = conditions.find((c) => c.type === type);
    if (old?.status === 'True') conditions = setCondition(conditions, { type, status: 'False', reason: 'QuotaReserved', message: `Previously: ${old.message ?? ''}` }, now);
  }
  return { ...wl.status, admission, conditions };
}

/** Evicted (and, for a preemption, Preempted with its reason): the Job is to stop; quota is kept until it has. */
export function evictedStatus(wl: Workload, reason: string, message: string, now: Date, preempted?: PreemptionReason): WorkloadStatus {
  let conditions = setCondition(wl.status.conditions, { type: WORKLOAD_EVICTED, status: 'True', reason, message }, now);
  if (preempted) conditions = setCondition(conditions, { type: WORKLOAD_PREEMPTED, status: 'True', reason: preempted, message }, now);
  return { ...wl.status, conditions };
}

/**
 * The Job has stopped: the admission is cleared (releasing its quota through the API server's
 * ledger) and the workload is queued again, QuotaReserved=False saying why.
 */
export function requeuedStatus(wl: Workload, now: Date): WorkloadStatus {
  const evicted = condition(wl, WORKLOAD_EVICTED);
  const why = evicted?.message ?? 'The workload was evicted';
  let conditions = setCondition(wl.status.conditions, { type: WORKLOAD_QUOTA_RESERVED, status: 'False', reason: PENDING_REASON, message: why }, now);
  conditions = setCondition(conditions, { type: WORKLOAD_ADMITTED, status: 'False', reason: 'NoReservation', message: 'The workload has no reservation' }, now);
  conditions = setCondition(conditions, { type: WORKLOAD_REQUEUED, status: 'True', reason: evicted?.reason ?? PENDING_REASON, message: why }, now);
  const { admission: _cleared, ...rest } = wl.status;
  return { ...rest, conditions };
}

export function finishedStatus(wl: Workload, reason: string, message: string, now: Date): WorkloadStatus {
  return { ...wl.status, conditions: setCondition(wl.status.conditions, { type: WORKLOAD_FINISHED, status: 'True', reason, message }, now) };
}

/** Evicted=True: its Job is being stopped (or has stopped, and the admission is about to be cleared). */
export function isEvicted(wl: Pick<Workload, 'status'>): boolean {
  return condition(wl, WORKLOAD_EVICTED)?.status === 'True';
}

/**
 * When the workload joined its queue, for FIFO order: the last eviction (Kueue's default
 * requeuingTimestamp, Eviction), else its creation.
 */
export function queuedAt(wl: Pick<Workload, 'status' | 'metadata'>): number {
  const evicted = condition(wl, WORKLOAD_EVICTED);
  const at = evicted?.status === 'True' ? evicted.lastTransitionTime : undefined;
  return Date.parse(at ?? wl.metadata.creationTimestamp ?? '') || 0;
}

/** When quota was reserved (for "newest first" among preemption candidates). */
export function reservedAt(wl: Pick<Workload, 'status'>): number {
  const c = condition(wl, WORKLOAD_QUOTA_RESERVED);
  return c?.status === 'True' ? Date.parse(c.lastTransitionTime ?? '') || 0 : 0;
}

export function workloadPriority(wl: Pick<Workload, 'spec'>): number {
  return wl.spec.priority ?? 0;
}
