// A Job's pods: how the controller builds one from the template (owner reference, tracking
// finalizer, and for Indexed Jobs the completion index as annotation, label and environment
// variable) and what it reads back from one (owner, index, phase, when it finished).
import type { Container, Pod } from '../../shared/api/core.js';
import {
  BATCH_API_VERSION,
  JOB_COMPLETION_INDEX_ANNOTATION,
  JOB_COMPLETION_INDEX_ENV,
  JOB_TRACKING_FINALIZER,
  type Job,
} from '../../shared/api/batch.js';
import type { OwnerReference } from '../../shared/api/meta.js';

/** Kubernetes' limit on a generateName prefix: 63 characters less the 5 random ones. */
const MAX_GENERATE_NAME_PREFIX = 58;

/** The pod's controlling owner reference, if any. */
export function controllerRef(pod: Pod): OwnerReference | undefined {
  return pod.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** Does this owner reference name a Job (any batch version)? */
export function isJobRef(ref: OwnerReference | undefined): ref is OwnerReference {
  return ref !== undefined && ref.kind === 'Job' && ref.apiVersion.startsWith('batch/');
}

export function isTerminal(pod: Pod): boolean {
  return pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
}

/** Pending or running and not being deleted: what status.active counts. */
export function isActive(pod: Pod): boolean {
  return !isTerminal(pod) && pod.metadata.deletionTimestamp === undefined;
}

/**
 * Failed, or deleted before it succeeded: Kubernetes counts a pod deleted mid-run as a failure, so
 * a pod removed by anyone (an eviction, a node going away) is replaced and counted.
 */
export function isFailed(pod: Pod): boolean {
  return pod.status.phase === 'Failed' || (pod.metadata.deletionTimestamp !== undefined && pod.status.phase !== 'Succeeded');
}

export function isReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function hasTrackingFinalizer(pod: Pod): boolean {
  return pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

/** The completion index of an Indexed Job's pod, or undefined when missing or malformed. */
export function completionIndex(pod: Pod): number | undefined {
  const raw = pod.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION];
  if (raw === undefined || !/^(0|[1-9][0-9]*)$/.test(raw)) return undefined;
  return Number(raw);
}

/** When the pod finished: its containers' last finishedAt, else when it stopped being ready, else now. */
export function finishedAtMs(pod: Pod, now: number): number {
  let latest = Number.NaN;
  for (const s of [...(pod.status.initContainerStatuses ?? []), ...(pod.status.containerStatuses ?? [])]) {
    const t = Date.parse(s.state?.terminated?.finishedAt ?? '');
    if (!Number.isNaN(t) && !(t <= latest)) latest = t;
  }
  if (!Number.isNaN(latest)) return latest;
  const ready = Date.parse(pod.status.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
  return Number.isNaN(ready) ? now : ready;
}

function withIndexEnv(containers: Container[], index: number): Container[] {
  return containers.map((c) => ({
    ...c,
    env: [...(c.env ?? []).filter((e) => e.name !== JOB_COMPLETION_INDEX_ENV), { name: JOB_COMPLETION_INDEX_ENV, value: String(index) }],
  }));
}

/**
 * The pod to create for `job` (for `index` when Indexed), as the body of a POST; `extraAnnotations`
 * carry what the controller records on the pod (an index's failure counts).
 */
export function podForJob(job: Job, index: number | undefined, extraAnnotations: Record<string, string> = {}): Pod {
  const template = job.spec.template;
  const name = job.metadata.name ?? '';
  const labels = { ...template.metadata.labels };
  const annotations = { ...template.metadata.annotations, ...extraAnnotations };
  let spec = template.spec;
  if (index !== undefined) {
    annotations[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    labels[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    spec = {
      ...spec,
      containers: withIndexEnv(spec.containers, index),
      ...(spec.initContainers ? { initContainers: withIndexEnv(spec.initContainers, index) } : {}),
    };
  }
  const owner: OwnerReference = { apiVersion: BATCH_API_VERSION, kind: 'Job', name, uid: job.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-${index === undefined ? '' : `${index}-`}`.slice(0, MAX_GENERATE_NAME_PREFIX),
      namespace: job.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      finalizers: [...(template.metadata.finalizers ?? []).filter((f) => f !== JOB_TRACKING_FINALIZER), JOB_TRACKING_FINALIZER],
      ownerReferences: [owner],
    },
    spec,
    status: {},
  };
}
