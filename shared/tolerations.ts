// Whether a pod's tolerations let it onto (or keep it on) a tainted node: Kubernetes'
// Toleration.ToleratesTaint. The scheduler, the DaemonSet controller and the queue controller's
// flavor assignment all decide with it.
import type { Taint, Toleration } from './api/core.js';

export type TaintLike = Pick<Taint, 'key' | 'effect'> & { value?: string };
export type TolerationLike = Pick<Toleration, 'key' | 'value' | 'effect'> & { operator?: Toleration['operator'] };

export function toleratesTaint(t: TolerationLike, taint: TaintLike): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  if (t.key !== undefined && t.key !== '' && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

export function tolerates(tolerations: readonly TolerationLike[] | undefined, taint: TaintLike): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}
