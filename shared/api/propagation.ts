// Deletion propagation (DeleteOptions.propagationPolicy) as Kubernetes records it on the object being
// deleted: Orphan and Foreground are finalizers the garbage collector acts on and then removes;
// Background leaves neither, the object goes at once and its dependents follow.
import type { z } from 'zod';
import type { DeletionPropagationSchema } from './meta.js';

export type DeletionPropagation = z.infer<typeof DeletionPropagationSchema>;

/** metav1.FinalizerOrphanDependents: dependents lose their reference to the object, then it goes. */
export const ORPHAN_FINALIZER = 'orphan';
/** metav1.FinalizerDeleteDependents: the object stays until its blocking dependents are gone. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** The policy a delete asks for, from either spelling (validation refuses both at once). */
export function requestedPropagation(opts: { propagationPolicy?: DeletionPropagation; orphanDependents?: boolean }): DeletionPropagation | undefined {
  if (opts.propagationPolicy !== undefined) return opts.propagationPolicy;
  if (opts.orphanDependents !== undefined) return opts.orphanDependents ? 'Orphan' : 'Background';
  return undefined;
}

/**
 * The object's finalizers after a delete with `policy`, or undefined when they stay as they are.
 * No policy keeps what an earlier delete asked for (a second plain delete of an object being deleted
 * in the foreground stays foreground); an explicit one replaces it (Orphan → Foreground switches
 * the finalizer, Background drops both). Every kind here defaults to Background, as apps/v1 does.
 */
export function finalizersAfterDelete(finalizers: readonly string[], policy: DeletionPropagation | undefined): string[] | undefined {
  if (policy === undefined) return undefined;
  const next = finalizers.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (policy === 'Orphan') next.push(ORPHAN_FINALIZER);
  if (policy === 'Foreground') next.push(FOREGROUND_FINALIZER);
  const same = next.length === finalizers.length && next.every((f) => finalizers.includes(f));
  return same ? undefined : next;
}
