// A queued Job as Kueue sees it: the Workload that stands for it (one pod set of `parallelism`
// pods, capped by completions, with the Job's pod template), and the Job's pod template while it
// is admitted (the assigned flavors' node labels in its nodeSelector, their tolerations added).
// The Workload's pod set keeps the template as the Job was submitted: it is what an eviction
// restores, as Kueue restores a stopped Job's pod sets.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BATCH_API_VERSION, JOB_COMPLETE, JOB_FAILED, trueCondition, type Job } from '../../shared/api/batch.js';
import type { PodTemplateSpec, Toleration } from '../../shared/api/core.js';
import {
  JOB_UID_LABEL,
  KUEUE_API_VERSION,
  QUEUE_NAME_ANNOTATION,
  QUEUE_NAME_LABEL,
  WORKLOAD_POD_SET_DEFAULT,
  type Admission,
  type ResourceFlavor,
  type Workload,
} from '../../shared/api/kueue.js';

/** The LocalQueue a Job is submitted to (label, or the annotation older Kueue releases read). */
export function queueNameOf(job: Pick<Job, 'metadata'>): string | undefined {
  const name = job.metadata.labels?.[QUEUE_NAME_LABEL] ?? job.metadata.annotations?.[QUEUE_NAME_ANNOTATION];
  return name === undefined || name === '' ? undefined : name;
}

/** DNS subdomain limit, less the `-xxxxx` suffix. */
const MAX_PREFIX = 253 - 6;

/**
 * Kueue's workload name for a Job: `job-<name>-<5 hex of a hash of name, uid and kind>`, so a Job
 * recreated under the same name gets a different Workload.
 */
export function workloadNameForJob(job: Pick<Job, 'metadata'>): string {
  const name = job.metadata.name ?? '';
  const hash = createHash('sha256').update(`${name}/${job.metadata.uid ?? ''}/${BATCH_API_VERSION}/Job`).digest('hex').slice(0, 5);
  return `${`job-${name}`.slice(0, MAX_PREFIX)}-${hash}`;
}

/** Pods the Job runs at once: parallelism, capped by completions (Kueue's PodsCount for batch Jobs). */
export function podSetCount(job: Pick<Job, 'spec'>): number {
  const parallelism = job.spec.parallelism;
  const completions = job.spec.completions;
  return completions !== undefined && completions < parallelism ? completions : parallelism;
}

/** The Job's priority: its pods' spec.priority (PriorityClasses are not served), else 0. */
export function jobPriority(job: Pick<Job, 'spec'>): number {
  return job.spec.template.spec.priority ?? 0;
}

/** The Workload to create for a queued Job: owned by it (controller), one pod set `main`. */
export function workloadForJob(job: Job): Workload {
  const queueName = queueNameOf(job);
  const priorityClassName = job.spec.template.spec.priorityClassName;
  return {
    apiVersion: KUEUE_API_VERSION,
    kind: 'Workload',
    metadata: {
      name: workloadNameForJob(job),
      namespace: job.metadata.namespace,
      labels: { [JOB_UID_LABEL]: job.metadata.uid ?? '' },
      ownerReferences: [{ apiVersion: BATCH_API_VERSION, kind: 'Job', name: job.metadata.name ?? '', uid: job.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      podSets: [{ name: WORKLOAD_POD_SET_DEFAULT, count: podSetCount(job), template: structuredClone(job.spec.template) }],
      ...(queueName !== undefined ? { queueName } : {}),
      ...(priorityClassName !== undefined ? { priorityClassName, priorityClassSource: 'scheduling.k8s.io/priorityclass' as const } : { priorityClassSource: '' as const }),
      priority: jobPriority(job),
      active: true,
    },
    status: {},
  };
}

/** Complete or Failed, with the Workload Finished condition's reason and message. */
export function jobFinished(job: Job): { reason: string; message: string } | undefined {
  const complete = trueCondition(job, JOB_COMPLETE);
  if (complete) return { reason: 'Succeeded', message: complete.message ?? 'Job finished successfully' };
  const failed = trueCondition(job, JOB_FAILED);
  if (failed) return { reason: 'Failed', message: failed.message ?? 'Job failed' };
  return undefined;
}

function sameToleration(a: Toleration, b: Toleration): boolean {
  return isDeepStrictEqual({ ...a, operator: a.operator ?? 'Equal' }, { ...b, operator: b.operator ?? 'Equal' });
}

/**
 * The pod template an admitted Job runs with: the submitted `original`, its nodeSelector extended
 * by the node labels of every flavor assigned to the pod set, and the flavors' tolerations added.
 * Flavors that no longer exist add nothing (the admission stays what the ledger charged).
 */
export function admittedTemplate(original: PodTemplateSpec, admission: Admission, podSet: string, flavors: ReadonlyMap<string, ResourceFlavor>): PodTemplateSpec {
  const assignment = admission.podSetAssignments.find((a) => a.name === podSet);
  const template = structuredClone(original);
  const names = [...new Set(Object.values(assignment?.flavors ?? {}))];
  const nodeSelector: Record<string, string> = { ...(template.spec.nodeSelector ?? {}) };
  const tolerations: Toleration[] = [...(template.spec.tolerations ?? [])];
  for (const name of names) {
    const flavor = flavors.get(name);
    if (!flavor) continue;
    Object.assign(nodeSelector, flavor.spec.nodeLabels ?? {});
    for (const t of flavor.spec.tolerations ?? []) if (!tolerations.some((x) => sameToleration(x, t))) tolerations.push(t);
  }
  if (Object.keys(nodeSelector).length > 0) template.spec.nodeSelector = nodeSelector;
  if (tolerations.length > 0) template.spec.tolerations = tolerations;
  return template;
}

/** The parts of a template an admission changes and an eviction restores. */
export function schedulingDirectives(t: PodTemplateSpec): { nodeSelector: Record<string, string>; tolerations: Toleration[] } {
  return { nodeSelector: t.spec.nodeSelector ?? {}, tolerations: (t.spec.tolerations ?? []).map((x) => ({ ...x, operator: x.operator ?? 'Equal' })) };
}

/** `current` with the nodeSelector and tolerations of `wanted` (everything else as it is). */
export function withDirectivesOf(current: PodTemplateSpec, wanted: PodTemplateSpec): PodTemplateSpec {
  const spec = { ...current.spec };
  if (wanted.spec.nodeSelector !== undefined) spec.nodeSelector = wanted.spec.nodeSelector;
  else delete spec.nodeSelector;
  if (wanted.spec.tolerations !== undefined) spec.tolerations = wanted.spec.tolerations;
  else delete spec.tolerations;
  return { ...current, spec };
}

export function sameDirectives(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return isDeepStrictEqual(schedulingDirectives(a), schedulingDirectives(b));
}
