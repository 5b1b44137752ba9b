// The arithmetic of a rollout, as Kubernetes' deployment controller does it: how far a rolling
// update may surge above and drop below the desired count, how big the new ReplicaSet may grow
// now, and how a resize is spread over ReplicaSets in proportion to their size (so scaling in the
// middle of a rollout keeps the mix of old and new). Pure functions of the objects.
import type { Deployment, ReplicaSet } from '../../shared/api/apps.js';
import type { IntOrString } from '../../shared/api/policy.js';
import { desiredReplicasAnnotation, maxReplicasAnnotation } from './revisions.js';

/** A count, or a percentage of `total` rounded up or down (Kubernetes' GetScaledValueFromIntOrPercent). */
export function scaledValue(value: IntOrString | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const percent = Number.parseInt(value.replace(/%$/, ''), 10);
  if (Number.isNaN(percent)) return 0;
  const exact = (percent * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export function isRollingUpdate(d: Deployment): boolean {
  return d.spec.strategy.type === 'RollingUpdate';
}

/** Surge rounds up, unavailability down; both zero would stall, so unavailability becomes 1. */
export function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  const ru = d.spec.strategy.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge, d.spec.replicas, true);
  let unavailable = scaledValue(ru?.maxUnavailable, d.spec.replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: Deployment): number {
  return isRollingUpdate(d) ? fenceposts(d).surge : 0;
}

export function maxUnavailable(d: Deployment): number {
  if (!isRollingUpdate(d) || d.spec.replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, d.spec.replicas);
}

export const specReplicas = (sets: readonly ReplicaSet[]) => sets.reduce((n, rs) => n + rs.spec.replicas, 0);
export const actualReplicas = (sets: readonly ReplicaSet[]) => sets.reduce((n, rs) => n + rs.status.replicas, 0);
export const readyReplicas = (sets: readonly ReplicaSet[]) => sets.reduce((n, rs) => n + (rs.status.readyReplicas ?? 0), 0);
export const availableReplicas = (sets: readonly ReplicaSet[]) => sets.reduce((n, rs) => n + (rs.status.availableReplicas ?? 0), 0);

/**
 * How many replicas the new ReplicaSet may have now (Kubernetes' NewRSNewReplicas). Each
 * ReplicaSet counts as the larger of its spec and the active pods its status reports: an old one
 * scaled down whose pods are not deleted yet (its controller busy, or restarted in between) still
 * holds those pods, and new ones made beside them would surge past maxSurge.
 */
export function newReplicaSetReplicas(d: Deployment, all: readonly ReplicaSet[], newRS: ReplicaSet | undefined): number {
  if (!isRollingUpdate(d)) return d.spec.replicas;
  const current = newRS?.spec.replicas ?? 0;
  const maxTotal = d.spec.replicas + fenceposts(d).surge;
  const total = all.reduce((n, rs) => n + Math.max(rs.spec.replicas, rs.status.replicas), 0);
  if (total >= maxTotal) return current;
  return current + Math.min(maxTotal - total, d.spec.replicas - current);
}

/** The new ReplicaSet is the whole Deployment: sized, annotated and available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  return desiredReplicasAnnotation(rs) === d.spec.replicas && rs.spec.replicas === d.spec.replicas && (rs.status.availableReplicas ?? 0) === d.spec.replicas;
}

/** The only ReplicaSet with replicas, or (none having any) the new one or the newest. */
export function activeOrLatest(newRS: ReplicaSet | undefined, olds: readonly ReplicaSet[]): ReplicaSet | undefined {
  const all = [...olds, ...(newRS ? [newRS] : [])];
  const active = all.filter((rs) => rs.spec.replicas > 0);
  if (active.length === 1) return active[0];
  if (active.length > 1) return undefined;
  return newRS ?? [...all].sort(byCreation).at(-1);
}

/** Oldest first, ties by name (Kubernetes' ReplicaSetsByCreationTimestamp). */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const x = a.metadata.creationTimestamp ?? '';
  const y = b.metadata.creationTimestamp ?? '';
  if (x !== y) return x < y ? -1 : 1;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1;
}

/** What each ReplicaSet's size should become when the Deployment's size changed (proportional scaling). */
export function proportionalSizes(d: Deployment, active: readonly ReplicaSet[]): Map<string, number> {
  const allowed = d.spec.replicas > 0 ? d.spec.replicas + maxSurge(d) : 0;
  const toAdd = allowed - specReplicas(active);
  // Bigger first; on a tie newer first when growing, older first when shrinking.
  const sorted = [...active].sort((a, b) => {
    if (a.spec.replicas !== b.spec.replicas) return b.spec.replicas - a.spec.replicas;
    return toAdd > 0 ? byCreation(b, a) : byCreation(a, b);
  });
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of sorted) {
    let proportion = 0;
    if (toAdd !== 0 && rs.spec.replicas > 0 && added !== toAdd) {
      const fraction = replicaSetFraction(d, rs);
      const remaining = toAdd - added;
      proportion = toAdd > 0 ? Math.min(fraction, remaining) : Math.max(fraction, remaining);
    }
    sizes.set(rs.metadata.name ?? '', rs.spec.replicas + proportion);
    added += proportion;
  }
  // What rounding left over goes to the biggest ReplicaSet.
  const first = sorted[0];
  if (first && toAdd !== 0) {
    const name = first.metadata.name ?? '';
    sizes.set(name, Math.max(0, (sizes.get(name) ?? 0) + toAdd - added));
  }
  return sizes;
}

function replicaSetFraction(d: Deployment, rs: ReplicaSet): number {
  if (d.spec.replicas === 0) return -rs.spec.replicas;
  const deploymentReplicas = d.spec.replicas + maxSurge(d);
  const annotated = maxReplicasAnnotation(rs) ?? d.status.replicas ?? 0;
  if (annotated === 0) return 0;
  return Math.round((rs.spec.replicas * deploymentReplicas) / annotated) - rs.spec.replicas;
}
