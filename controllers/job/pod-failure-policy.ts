// spec.podFailurePolicy, as Kubernetes applies it to a failed pod: the rules are checked in order and
// the first that matches decides — FailJob fails the whole Job at once (the pod counts as failed),
// Ignore leaves the failure out of the count toward backoffLimit, Count counts it. A pod no rule
// matches counts as failed.
import type { ContainerStatus, Pod } from '../../shared/api/core.js';
import type { Job, PodFailurePolicyAction, PodFailurePolicyRule } from '../../shared/api/batch.js';

export interface PolicyMatch {
  action: PodFailurePolicyAction;
  /** Why, in Kubernetes' words (the Failed condition's message for FailJob). */
  message: string;
}

function exitCodeMatch(rule: PodFailurePolicyRule, pod: Pod, index: number): string | undefined {
  const req = rule.onExitCodes;
  if (!req) return undefined;
  const statuses: ContainerStatus[] = [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])];
  for (const s of statuses) {
    if (req.containerName !== undefined && req.containerName !== s.name) continue;
    const code = s.state?.terminated?.exitCode;
    // A container that succeeded never matches, whatever the operator.
    if (code === undefined || code === 0) continue;
    const listed = req.values.includes(code);
    if (req.operator === 'In' ? listed : !listed) {
      return `Container ${s.name} for pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''} failed with exit code ${code} matching ${rule.action} rule at index ${index}`;
    }
  }
  return undefined;
}

function conditionMatch(rule: PodFailurePolicyRule, pod: Pod, index: number): string | undefined {
  for (const pattern of rule.onPodConditions ?? []) {
    const c = pod.status.conditions?.find((cond) => cond.type === pattern.type && cond.status === pattern.status);
    if (c) return `Pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''} has condition ${c.type} matching ${rule.action} rule at index ${index}`;
  }
  return undefined;
}

/** The first rule matching a failed pod, or undefined (the failure counts) when none does or there is no policy. */
export function matchPodFailurePolicy(job: Job, pod: Pod): PolicyMatch | undefined {
  const rules = job.spec.podFailurePolicy?.rules ?? [];
  for (const [i, rule] of rules.entries()) {
    const message = exitCodeMatch(rule, pod, i) ?? conditionMatch(rule, pod, i);
    if (message !== undefined) return { action: rule.action, message };
  }
  return undefined;
}
