// A Deployment's status and conditions, computed from its ReplicaSets as Kubernetes computes them:
// the replica counts, Available (at least replicas − maxUnavailable available), Progressing (a new
// ReplicaSet created, found, progressing, complete, paused, resumed, or stuck past the progress
// deadline) and ReplicaFailure (copied from a ReplicaSet that cannot create pods).
import {
  DEPLOYMENT_AVAILABLE,
  DEPLOYMENT_PROGRESSING,
  REASON,
  REPLICA_FAILURE,
  type Deployment,
  type DeploymentCondition,
  type DeploymentStatus,
  type ReplicaSet,
} from '../../shared/api/apps.js';
import { formatTime } from '../../shared/api/meta.js';
import { actualReplicas, availableReplicas, maxUnavailable, readyReplicas, specReplicas } from './rollout.js';

export function condition(status: DeploymentStatus, type: string): DeploymentCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

export function newCondition(type: string, status: DeploymentCondition['status'], reason: string, message: string, now = Date.now()): DeploymentCondition {
  const t = formatTime(new Date(now));
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** Kubernetes' SetDeploymentCondition: no change for the same status and reason; the transition time kept while the status holds. */
export function setCondition(status: DeploymentStatus, cond: DeploymentCondition): void {
  const current = condition(status, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return;
  const next = current && current.status === cond.status ? { ...cond, lastTransitionTime: current.lastTransitionTime } : cond;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

/** Kubernetes' HasProgressDeadline: the deadline is MaxInt32 for "never". */
export function hasProgressDeadline(d: Deployment): boolean {
  return d.spec.progressDeadlineSeconds !== 2147483647;
}

/** The counts of `all` and the Available condition (Kubernetes' calculateStatus). */
export function calculateStatus(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined, now = Date.now()): DeploymentStatus {
  const available = availableReplicas(all);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: actualReplicas(all),
    updatedReplicas: newRS ? newRS.status.replicas : 0,
    readyReplicas: readyReplicas(all),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, specReplicas(all) - available),
    ...(d.status.collisionCount !== undefined ? { collisionCount: d.status.collisionCount } : {}),
    conditions: [...(d.status.conditions ?? [])],
  };
  if (available >= d.spec.replicas - maxUnavailable(d)) {
    setCondition(status, newCondition(DEPLOYMENT_AVAILABLE, 'True', REASON.minimumReplicasAvailable, 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition(DEPLOYMENT_AVAILABLE, 'False', REASON.minimumReplicasUnavailable, 'Deployment does not have minimum availability.', now));
  }
  return status;
}

/** Every replica updated, counted and available, for the current generation. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const want = d.spec.replicas;
  return (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1);
}

/** Something moved since the stored status: more updated, fewer old, more ready or more available. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status;
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** Ms until the progress deadline of a rollout in progress passes; undefined when none is running. */
export function msUntilDeadline(d: Deployment, s: DeploymentStatus, now = Date.now()): number | undefined {
  if (!hasProgressDeadline(d)) return undefined;
  const cond = condition(s, DEPLOYMENT_PROGRESSING);
  if (!cond || cond.reason === REASON.newReplicaSetAvailable || cond.reason === REASON.progressDeadlineExceeded) return undefined;
  const from = Date.parse(cond.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return undefined;
  return from + d.spec.progressDeadlineSeconds * 1000 - now;
}

export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now = Date.now()): boolean {
  const cond = condition(s, DEPLOYMENT_PROGRESSING);
  if (!hasProgressDeadline(d) || !cond || cond.reason === REASON.newReplicaSetAvailable) return false;
  if (cond.reason === REASON.progressDeadlineExceeded) return true;
  const left = msUntilDeadline(d, s, now);
  return left !== undefined && left < 0;
}

/**
 * The status a rollout step leaves (Kubernetes' syncRolloutStatus): the counts, then Progressing
 * — complete, progressing (the transition time kept while it stays True), or timed out — and
 * ReplicaFailure from the ReplicaSets.
 */
export function rolloutStatus(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined, now = Date.now()): DeploymentStatus {
  const s = calculateStatus(d, all, newRS, now);
  if (!hasProgressDeadline(d)) removeCondition(s, DEPLOYMENT_PROGRESSING);
  const current = condition(s, DEPLOYMENT_PROGRESSING);
  const complete = s.replicas === s.updatedReplicas && current?.reason === REASON.newReplicaSetAvailable;
  if (hasProgressDeadline(d) && !complete) {
    const name = newRS?.metadata.name ?? '';
    if (deploymentComplete(d, s)) {
      setCondition(s, newCondition(DEPLOYMENT_PROGRESSING, 'True', REASON.newReplicaSetAvailable, `ReplicaSet "${name}" has successfully progressed.`, now));
    } else if (deploymentProgressing(d, s)) {
      // Progress refreshes lastUpdateTime, which is what the deadline counts from.
      const cond = newCondition(DEPLOYMENT_PROGRESSING, 'True', REASON.replicaSetUpdated, `ReplicaSet "${name}" is progressing.`, now);
      if (current?.status === 'True' && current.lastTransitionTime !== undefined) cond.lastTransitionTime = current.lastTransitionTime;
      removeCondition(s, DEPLOYMENT_PROGRESSING);
      s.conditions = [...(s.conditions ?? []), cond];
    } else if (deploymentTimedOut(d, s, now)) {
      setCondition(s, newCondition(DEPLOYMENT_PROGRESSING, 'False', REASON.progressDeadlineExceeded, `ReplicaSet "${name}" has timed out progressing.`, now));
    }
  }
  const failing = [...all].reverse().map((rs) => rs.status.conditions?.find((c) => c.type === REPLICA_FAILURE && c.status === 'True')).find((c) => c !== undefined);
  if (failing) setCondition(s, newCondition(REPLICA_FAILURE, 'True', failing.reason ?? REASON.failedCreate, failing.message ?? '', now));
  else removeCondition(s, REPLICA_FAILURE);
  return s;
}

/** Status equality that ignores condition order. */
export function sameStatus(a: DeploymentStatus, b: DeploymentStatus): boolean {
  const norm = (s: DeploymentStatus) =>
    JSON.stringify({
      observedGeneration: s.observedGeneration ?? 0,
      replicas: s.replicas ?? 0,
      updatedReplicas: s.updatedReplicas ?? 0,
      readyReplicas: s.readyReplicas ?? 0,
      availableReplicas: s.availableReplicas ?? 0,
      unavailableReplicas: s.unavailableReplicas ?? 0,
      collisionCount: s.collisionCount ?? 0,
      conditions: [...(s.conditions ?? [])].sort((x, y) => (x.type < y.type ? -1 : 1)).map((c) => [c.type, c.status, c.reason, c.message, c.lastUpdateTime, c.lastTransitionTime]),
    });
  return norm(a) === norm(b);
}
