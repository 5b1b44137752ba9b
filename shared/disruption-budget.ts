// The arithmetic of a PodDisruptionBudget, shared by the disruption controller (which keeps each
// budget's status) and the eviction subresource (which spends it): which pods a budget selects,
// which of them count as healthy, and the status those pods give it. Kubernetes' disruption
// controller rules, with cell's one difference that there are no workload controllers yet, so
// percentages are of the selected pods that have not finished.
import type { Pod } from './api/core.js';
import { formatTime, type Condition } from './api/meta.js';
import {
  DISRUPTION_ALLOWED_CONDITION,
  INSUFFICIENT_PODS_REASON,
  SUFFICIENT_PODS_REASON,
  type IntOrString,
  type PodDisruptionBudget,
  type PodDisruptionBudgetStatus,
} from './api/policy.js';
import { labelSelectorFromSpec, type LabelSelector } from './labels.js';

/**
 * How long a granted eviction keeps its pod out of the healthy count while the pod is still
 * there (Kubernetes' DeletionTimeout): after that the eviction is assumed not to have happened.
 */
export const DELETION_TIMEOUT_MS = 2 * 60_000;

/** Kubernetes' bound on status.disruptedPods: more means evictions the controller never confirmed. */
export const MAX_DISRUPTED_PODS = 2000;

const selectors = new WeakMap<PodDisruptionBudget, LabelSelector | null>();

/**
 * The budget's selector; null when it has none (selects nothing, as in policy/v1). Memoized per
 * object: cached budgets are shared and immutable, and matched against every pod event.
 */
export function selectorOf(pdb: PodDisruptionBudget): LabelSelector | null {
  let sel = selectors.get(pdb);
  if (sel === undefined) {
    // Validated on write, so it parses; an empty selector selects every pod of the namespace.
    sel = pdb.spec.selector ? labelSelectorFromSpec(pdb.spec.selector) : null;
    selectors.set(pdb, sel);
  }
  return sel;
}

/** Whether the budget covers the pod: same namespace, and its selector matches the pod's labels. */
export function selects(pdb: PodDisruptionBudget, pod: Pod): boolean {
  if ((pdb.metadata.namespace ?? '') !== (pod.metadata.namespace ?? '')) return false;
  const sel = selectorOf(pdb);
  return sel !== null && sel.matches(pod.metadata.labels);
}

export function isTerminal(pod: Pod): boolean {
  return pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
}

/**
 * Running and Ready (Kubernetes' IsPodReady on a running pod). Agents report Ready; a pod whose
 * status has no Ready condition at all (a status written by hand, an agent that does not report
 * conditions) counts as ready while it runs.
 */
export function isReady(pod: Pod): boolean {
  if (pod.status.phase !== 'Running') return false;
  const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True';
}

/** A count, or `N%` of `total` rounded up (intstr.GetScaledValueFromIntOrPercent with roundUp). */
export function scaled(value: IntOrString, total: number): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.replace(/%$/, ''));
  return Math.ceil((percent * total) / 100);
}

/** The healthy pods the budget asks for, given how many pods it expects. */
export function desiredHealthyOf(pdb: PodDisruptionBudget, expectedPods: number): number {
  const { minAvailable, maxUnavailable } = pdb.spec;
  if (maxUnavailable !== undefined) return Math.max(0, expectedPods - scaled(maxUnavailable, expectedPods));
  if (minAvailable !== undefined) return scaled(minAvailable, expectedPods);
  return 0;
}

/**
 * Granted evictions whose pods are still there and whose grant is younger than the deletion
 * timeout; entries for pods gone (or replaced under the same name after the grant) are dropped.
 */
export function pendingDisruptions(disrupted: Record<string, string> | undefined, pods: ReadonlyMap<string, Pod>, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, at] of Object.entries(disrupted ?? {})) {
    const pod = pods.get(name);
    const granted = Date.parse(at);
    if (!pod || !Number.isFinite(granted) || granted + DELETION_TIMEOUT_MS <= now) continue;
    const created = Date.parse(pod.metadata.creationTimestamp ?? '');
    // A pod created after the grant is a new one of the same name: the eviction was of the old one.
    if (Number.isFinite(created) && created > granted) continue;
    out[name] = at;
  }
  return out;
}

/** When the earliest of these grants times out (ms since the epoch), or undefined when none does. */
export function nextExpiry(disrupted: Record<string, string> | undefined): number | undefined {
  let first: number | undefined;
  for (const at of Object.values(disrupted ?? {})) {
    const t = Date.parse(at);
    if (Number.isFinite(t) && (first === undefined || t < first)) first = t;
  }
  return first === undefined ? undefined : first + DELETION_TIMEOUT_MS;
}

/** The DisruptionAllowed condition for this many allowed disruptions, keeping the transition time when unchanged. */
export function disruptionCondition(allowed: number, generation: number | undefined, previous: readonly Condition[] | undefined, now: number): Condition[] {
  const status = allowed > 0 ? 'True' : 'False';
  const reason = allowed > 0 ? SUFFICIENT_PODS_REASON : INSUFFICIENT_PODS_REASON;
  const old = previous?.find((c) => c.type === DISRUPTION_ALLOWED_CONDITION);
  const condition: Condition = {
    type: DISRUPTION_ALLOWED_CONDITION,
    status,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: old && old.status === status && old.lastTransitionTime ? old.lastTransitionTime : formatTime(new Date(now)),
    reason,
    message: '',
  };
  return [...(previous ?? []).filter((c) => c.type !== DISRUPTION_ALLOWED_CONDITION), condition];
}

/**
 * The status the selected pods give the budget (the pods are those of its namespace, by name).
 *   expectedPods     selected pods that have not finished
 *   currentHealthy   selected pods running and ready, not being deleted, and not already granted
 *                    an eviction (pendingDisruptions): a granted eviction counts against the
 *                    budget from the moment it is granted, before its pod is seen going
 *   desiredHealthy   minAvailable (a percentage rounds up), or expectedPods − maxUnavailable
 *   disruptionsAllowed  max(0, currentHealthy − desiredHealthy)
 */
export function computeStatus(pdb: PodDisruptionBudget, podsInNamespace: ReadonlyMap<string, Pod>, now: number): PodDisruptionBudgetStatus {
  const selected = [...podsInNamespace.values()].filter((p) => selects(pdb, p));
  const disruptedPods = pendingDisruptions(pdb.status.disruptedPods, podsInNamespace, now);
  const expectedPods = selected.filter((p) => !isTerminal(p)).length;
  const currentHealthy = selected.filter(
    (p) => p.metadata.deletionTimestamp === undefined && !Object.hasOwn(disruptedPods, p.metadata.name ?? '') && isReady(p),
  ).length;
  const desiredHealthy = desiredHealthyOf(pdb, expectedPods);
  const disruptionsAllowed = expectedPods > 0 ? Math.max(0, currentHealthy - desiredHealthy) : 0;
  const generation = pdb.metadata.generation;
  return {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(Object.keys(disruptedPods).length > 0 ? { disruptedPods } : {}),
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    conditions: disruptionCondition(disruptionsAllowed, generation, pdb.status.conditions, now),
  };
}
