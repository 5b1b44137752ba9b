// The Job's REST strategy, as Kubernetes' job strategy: on create the server owns the status and,
// unless spec.manualSelector, generates the selector from the Job's uid and labels the template to
// match. On update the selector, completion mode, pod failure policy, per-index back-off limit,
// success policy and pod template are immutable (a suspended Job that never started may still
// change where and how its pods are scheduled), and completions too but for an Indexed Job scaled
// with its parallelism. A status write is checked against the stored Job: terminal conditions
// stay, counters do not go back, the interim conditions come first.
// A Job submitted to a Kueue LocalQueue (label kueue.x-k8s.io/queue-name) is created suspended, as
// Kueue's webhook makes it: the queue controller unsuspends it once its Workload is admitted.
import { isDeepStrictEqual } from 'node:util';
import {
  JOB_CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  LEGACY_CONTROLLER_UID_LABEL,
  LEGACY_JOB_NAME_LABEL,
  jobStatusUpdateCauses,
  type Job,
  type JobSpec,
} from '../../shared/api/batch.js';
import { cause, invalidObjectError } from '../../shared/api/field-errors.js';
import { QUEUE_NAME_ANNOTATION, QUEUE_NAME_LABEL } from '../../shared/api/kueue.js';
import type { FieldCause } from '../../shared/errors.js';
import type { KubeObject } from './object.js';
import type { Strategy } from './strategy.js';

/** Objects reaching the strategy were decoded by JobSchema; this is that view of them. */
function jobOf(obj: KubeObject): Job {
  return obj as unknown as Job;
}

function invalid(job: Job, causes: FieldCause[]): Error {
  return invalidObjectError({ kind: 'Job', name: job.metadata.name ?? '' }, causes);
}

/**
 * A template without what Kubernetes lets a suspended, never-started Job change (to move it before
 * it runs): node selector, node affinity (not pod affinity), tolerations, labels and annotations.
 */
function withoutSchedulingDirectives(template: JobSpec['template']): unknown {
  const { nodeSelector: _n, affinity, tolerations: _t, ...spec } = template.spec;
  const { labels: _l, annotations: _an, ...metadata } = template.metadata;
  const { nodeAffinity: _na, ...otherAffinity } = affinity ?? {};
  // An affinity left empty once its node affinity is set aside is the same as none.
  return { metadata, spec: Object.keys(otherAffinity).length > 0 ? { ...spec, affinity: otherAffinity } : spec };
}

/** Kubernetes' validateCompletions: fixed, but for an Indexed Job whose new completions equal its parallelism. */
function completionsCauses(a: JobSpec, b: JobSpec): FieldCause[] {
  if (a.completions === b.completions) return [];
  if (a.completionMode !== 'Indexed') return [cause.invalid('spec.completions', a.completions ?? null, 'field is immutable')];
  // An Indexed Job without completions is refused by the Job's own validation already.
  if (a.completions === undefined || a.completions === a.parallelism) return [];
  return [cause.invalid('spec.completions', a.completions, 'can only be modified in tandem with spec.parallelism')];
}

export const jobStrategy: Strategy = {
  prepareForCreate(obj) {
    const job = jobOf(obj);
    // Kubernetes ignores a status sent with a create: the job controller writes it.
    job.status = {};
    if (job.metadata.labels?.[QUEUE_NAME_LABEL] || job.metadata.annotations?.[QUEUE_NAME_ANNOTATION]) job.spec.suspend = true;
    if (job.spec.manualSelector === true) return;
    if (job.spec.selector !== undefined) {
      throw invalid(job, [cause.invalid('spec.selector', job.spec.selector, '`selector` will be auto-generated')]);
    }
    const uid = job.metadata.uid ?? '';
    const name = job.metadata.name ?? job.metadata.generateName ?? '';
    job.spec.selector = { matchLabels: { [JOB_CONTROLLER_UID_LABEL]: uid } };
    job.spec.template.metadata.labels = {
      ...job.spec.template.metadata.labels,
      [JOB_CONTROLLER_UID_LABEL]: uid,
      [LEGACY_CONTROLLER_UID_LABEL]: uid,
      // Label values hold at most 63 characters; a longer Job name is left off, as Kubernetes does.
      ...(name.length <= 63 ? { [JOB_NAME_LABEL]: name, [LEGACY_JOB_NAME_LABEL]: name } : {}),
    };
  },
  validateUpdate(next, old) {
    const a = jobOf(next).spec;
    const b = jobOf(old).spec;
    const causes: FieldCause[] = [];
    const immutable = (field: string, x: unknown, y: unknown) => {
      if (!isDeepStrictEqual(x, y)) causes.push(cause.invalid(field, x ?? null, 'field is immutable'));
    };
    // In Kubernetes' order (ValidateJobSpecUpdate).
    causes.push(...completionsCauses(a, b));
    immutable('spec.selector', a.selector, b.selector);
    const neverStarted = b.suspend && jobOf(old).status.startTime === undefined;
    const templateA = neverStarted ? withoutSchedulingDirectives(a.template) : a.template;
    const templateB = neverStarted ? withoutSchedulingDirectives(b.template) : b.template;
    if (!isDeepStrictEqual(templateA, templateB)) {
      causes.push(cause.invalid('spec.template', 'template', 'field is immutable'));
    }
    immutable('spec.completionMode', a.completionMode, b.completionMode);
    immutable('spec.podFailurePolicy', a.podFailurePolicy, b.podFailurePolicy);
    immutable('spec.backoffLimitPerIndex', a.backoffLimitPerIndex, b.backoffLimitPerIndex);
    immutable('spec.successPolicy', a.successPolicy, b.successPolicy);
    if (causes.length > 0) throw invalid(jobOf(old), causes);
  },
  validateStatusUpdate(next, old) {
    const causes = jobStatusUpdateCauses(jobOf(next), jobOf(old));
    if (causes.length > 0) throw invalid(jobOf(old), causes);
  },
};
