// Revisions of a Deployment, kept in annotations as Kubernetes keeps them, because kubectl reads
// them: each ReplicaSet's `deployment.kubernetes.io/revision` (rollout history lists them, rollout
// undo finds the template of a revision by it), the revisions a reused ReplicaSet had before
// (`revision-history`), and the replica counts a ReplicaSet was last sized for (`desired-replicas`,
// `max-replicas`, which proportional scaling reads).
import {
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  type Deployment,
  type ReplicaSet,
} from '../../shared/api/apps.js';

/** Deployment annotations that are the controller's own, or kubectl's, and not copied to ReplicaSets. */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

/** Kubernetes' cap on the revision-history annotation's length. */
const MAX_REVISION_HISTORY_CHARS = 2000;

export function revisionOf(obj: { metadata: { annotations?: Record<string, string> } }): number {
  const n = Number.parseInt(obj.metadata.annotations?.[REVISION_ANNOTATION] ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

export function maxRevision(sets: readonly ReplicaSet[]): number {
  return sets.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
}

/** Sets desired/max replicas on `annotations`; true when they changed. */
export function setReplicasAnnotations(annotations: Record<string, string>, desired: number, max: number): boolean {
  let changed = false;
  for (const [key, value] of [
    [DESIRED_REPLICAS_ANNOTATION, String(desired)],
    [MAX_REPLICAS_ANNOTATION, String(max)],
  ] as const) {
    if (annotations[key] !== value) {
      annotations[key] = value;
      changed = true;
    }
  }
  return changed;
}

export function desiredReplicasAnnotation(rs: ReplicaSet): number | undefined {
  const n = Number.parseInt(rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION] ?? '', 10);
  return Number.isNaN(n) ? undefined : n;
}

export function maxReplicasAnnotation(rs: ReplicaSet): number | undefined {
  const n = Number.parseInt(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION] ?? '', 10);
  return Number.isNaN(n) ? undefined : n;
}

/**
 * The annotations of the Deployment's new ReplicaSet (Kubernetes' SetNewReplicaSetAnnotations):
 * the Deployment's own (change-cause and the like), the revision when it is higher than the
 * ReplicaSet's — a ReplicaSet brought back by a rollback moves up to the new revision and keeps
 * the one it had in revision-history — and, for a ReplicaSet about to be created, the replica
 * counts. Changes `annotations` in place; true when anything changed.
 */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  annotations: Record<string, string>,
  newRevision: number,
  exists: boolean,
  maxSurge: number,
): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (NOT_COPIED.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const previous = annotations[REVISION_ANNOTATION];
  const old = Number.parseInt(previous ?? '', 10);
  const oldRevision = Number.isNaN(old) ? 0 : old;
  if (oldRevision < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (previous !== undefined && previous !== '') {
      const history = annotations[REVISION_HISTORY_ANNOTATION];
      let next = history ? `${history},${previous}` : previous;
      // Oldest entries go first when the list grows past the cap.
      while (next.length > MAX_REVISION_HISTORY_CHARS && next.includes(',')) next = next.slice(next.indexOf(',') + 1);
      annotations[REVISION_HISTORY_ANNOTATION] = next;
    }
  }
  if (!exists && setReplicasAnnotations(annotations, d.spec.replicas, d.spec.replicas + maxSurge)) changed = true;
  return changed;
}
