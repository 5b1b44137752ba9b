// batch/v1 Job, with Kubernetes' field names, defaults and validation. A Job runs pods until a
// number of them succeed (or, Indexed, until each index 0..completions-1 has succeeded once); the
// job controller (controllers/job/) keeps its status.
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { PodTemplateSpecSchema, type PodTemplateSpec } from './core.js';
import { cause } from './field-errors.js';
import { ConditionStatusSchema, LabelSelectorSchema, ObjectMetaSchema, TimeSchema } from './meta.js';
import { labelSelectorCauses, labelsCauses, podTemplateCauses } from './rules.js';
import { labelSelectorFromSpec } from '../labels.js';

export const BATCH_GROUP = 'batch';
export const BATCH_API_VERSION = 'batch/v1';

/** Label (and selector key) the server puts on a Job's template unless spec.manualSelector. */
export const JOB_CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
/** The pre-1.27 spellings Kubernetes still sets, so older selectors and tools keep working. */
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
/** Annotation (and label) carrying an Indexed Job pod's completion index. */
export const JOB_COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** The environment variable every container of an Indexed Job pod gets. */
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** Pod finalizer: a pod is not gone before the controller has counted it. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';
/**
 * With backoffLimitPerIndex: on each pod, how many earlier pods of its index failed (counted), and
 * how many failures a podFailurePolicy Ignore rule left uncounted.
 */
export const JOB_INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
export const JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-ignored-failure-count';

/** Kubernetes' limit on completions and parallelism of an Indexed Job. */
export const MAX_INDEXED_COMPLETIONS = 100_000;
/** Kubernetes' limit on maxFailedIndexes. */
export const MAX_FAILED_INDEXES = 100_000;
/** backoffLimit when only backoffLimitPerIndex is given: no global limit (Go's MaxInt32). */
export const UNLIMITED_BACKOFF = 2_147_483_647;
const DEFAULT_BACKOFF_LIMIT = 6;
/** Kubernetes' limits on podFailurePolicy and successPolicy. */
const MAX_POD_FAILURE_POLICY_RULES = 20;
const MAX_ON_POD_CONDITIONS_PATTERNS = 20;
const MAX_ON_EXIT_CODES_VALUES = 255;
const MAX_SUCCESS_POLICY_RULES = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;

export const CompletionModeSchema = z.enum(['NonIndexed', 'Indexed']);
export type CompletionMode = z.infer<typeof CompletionModeSchema>;


export const PodFailurePolicyActionSchema = z.enum(['FailJob', 'FailIndex', 'Ignore', 'Count']);
export type PodFailurePolicyAction = z.infer<typeof PodFailurePolicyActionSchema>;

export const PodFailurePolicyOnExitCodesRequirementSchema = z.object({
  containerName: z.string().optional().describe('Only exit codes of this container match; unset: any container.'),
  operator: z.enum(['In', 'NotIn']).describe('In: the exit code is one of values; NotIn: it is none of them (exit code 0 never matches).'),
  values: z.array(z.number().int()).describe('Exit codes, at most 255 of them, without duplicates; In may not list 0.'),
});
export type PodFailurePolicyOnExitCodesRequirement = z.infer<typeof PodFailurePolicyOnExitCodesRequirementSchema>;

export const PodFailurePolicyOnPodConditionsPatternSchema = z.object({
  type: z.string().describe('The pod condition type to match.'),
  status: ConditionStatusSchema.default('True').describe('The condition status to match (default True).'),
});

export const PodFailurePolicyRuleSchema = z.object({
  action: PodFailurePolicyActionSchema.describe(
    'What a match does: FailJob fails the Job at once; FailIndex (with backoffLimitPerIndex) fails the pod\'s index without retries; Ignore does not count the failure; Count counts it.',
  ),
  onExitCodes: PodFailurePolicyOnExitCodesRequirementSchema.optional(),
  onPodConditions: z.array(PodFailurePolicyOnPodConditionsPatternSchema).optional(),
});
export type PodFailurePolicyRule = z.infer<typeof PodFailurePolicyRuleSchema>;

export const PodFailurePolicySchema = z.object({
  rules: z.array(PodFailurePolicyRuleSchema).describe('Checked in order against a failed pod; the first match decides.'),
});
export type PodFailurePolicy = z.infer<typeof PodFailurePolicySchema>;

export const SuccessPolicyRuleSchema = z.object({
  succeededIndexes: z
    .string()
    .optional()
    .describe('Indexes that must all have succeeded, as intervals within 0..completions-1 in increasing order ("0,2-4").'),
  succeededCount: z
    .number()
    .int()
    .optional()
    .describe('How many indexes (of succeededIndexes, when given) must have succeeded.'),
});
export type SuccessPolicyRule = z.infer<typeof SuccessPolicyRuleSchema>;

export const SuccessPolicySchema = z.object({
  rules: z
    .array(SuccessPolicyRuleSchema)
    .describe('Checked in order; the first rule met adds SuccessCriteriaMet, the remaining pods are stopped, and the Job is Complete. At most 20.'),
});
export type SuccessPolicy = z.infer<typeof SuccessPolicySchema>;

export const JobSpecSchema = z
  .object({
    parallelism: z.number().int().optional().describe('How many pods may run at once (default 1).'),
    completions: z
      .number()
      .int()
      .optional()
      .describe('How many pods must succeed. Unset (with parallelism set): any success, once all pods ended, completes the Job.'),
    completionMode: CompletionModeSchema.default('NonIndexed').describe('NonIndexed: any completions successes; Indexed: each index 0..completions-1 succeeds once.'),
    backoffLimit: z
      .number()
      .int()
      .optional()
      .describe('Failed pods (or, with OnFailure, container restarts) before the Job fails (default 6; unlimited with backoffLimitPerIndex).'),
    backoffLimitPerIndex: z
      .number()
      .int()
      .optional()
      .describe('Indexed Jobs: failed pods tolerated per index; an index past it is failed and not retried, while the others run on.'),
    maxFailedIndexes: z
      .number()
      .int()
      .optional()
      .describe('With backoffLimitPerIndex: more failed indexes than this fail the Job at once (MaxFailedIndexesExceeded).'),
    successPolicy: SuccessPolicySchema.optional().describe('Indexed Jobs: when the Job succeeds before every index has (SuccessCriteriaMet).'),
    activeDeadlineSeconds: z.number().int().optional().describe('Seconds the Job may be active (since startTime) before it is failed with DeadlineExceeded.'),
    ttlSecondsAfterFinished: z.number().int().optional().describe('Seconds after the Job finished when it is deleted (with its pods).'),
    suspend: z.boolean().default(false).describe('While true no pods run: active ones are deleted and none are created.'),
    manualSelector: z.boolean().optional().describe('True: spec.selector is yours; otherwise the server generates it from the Job uid.'),
    selector: LabelSelectorSchema.optional().describe("The pods of the Job; generated by the server unless manualSelector."),
    template: PodTemplateSpecSchema.describe('The pods the Job runs; restartPolicy must be Never or OnFailure.'),
    podFailurePolicy: PodFailurePolicySchema.optional().describe('How failed pods count, by exit code or pod condition (restartPolicy Never only).'),
  })
  // Kubernetes' defaults: neither set means one pod that must succeed once; backoffLimit is 6, or
  // unlimited when the limit is per index.
  .transform((spec) => {
    const backoffLimit = spec.backoffLimit ?? (spec.backoffLimitPerIndex !== undefined ? UNLIMITED_BACKOFF : DEFAULT_BACKOFF_LIMIT);
    if (spec.parallelism !== undefined) return { ...spec, backoffLimit, parallelism: spec.parallelism };
    return { ...spec, backoffLimit, parallelism: 1, completions: spec.completions ?? 1 };
  });
export type JobSpec = z.infer<typeof JobSpecSchema>;

export const JOB_CONDITION_TYPES = ['Complete', 'Failed', 'Suspended', 'FailureTarget', 'SuccessCriteriaMet'] as const;
export const JobConditionSchema = z.object({
  type: z
    .string()
    .describe('Complete or Failed (terminal); FailureTarget or SuccessCriteriaMet (decided, pods still stopping); Suspended.'),
  status: ConditionStatusSchema,
  lastProbeTime: TimeSchema.optional(),
  lastTransitionTime: TimeSchema.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type JobCondition = z.infer<typeof JobConditionSchema>;

export const UncountedTerminatedPodsSchema = z
  .object({
    succeeded: z.array(z.string()).optional(),
    failed: z.array(z.string()).optional(),
  })
  .describe('Uids of finished pods whose tracking finalizer is being removed; they are added to the counts afterwards.');
export type UncountedTerminatedPods = z.infer<typeof UncountedTerminatedPodsSchema>;

export const JobStatusSchema = z.object({
  startTime: TimeSchema.optional().describe('When the Job (last) started running: set on first sync and on resume.'),
  completionTime: TimeSchema.optional().describe('When the Job completed (Complete only).'),
  active: z.number().int().optional().describe('Pods running or pending (not terminating).'),
  ready: z.number().int().optional().describe('Active pods with a Ready condition.'),
  terminating: z.number().int().optional().describe('Pods being deleted that have not finished.'),
  succeeded: z.number().int().optional().describe('Pods that succeeded, each counted once.'),
  failed: z.number().int().optional().describe('Pods that failed, each counted once.'),
  completedIndexes: z.string().optional().describe('Indexed Jobs: the indexes that succeeded, as ranges ("1,3-5").'),
  failedIndexes: z.string().optional().describe('With backoffLimitPerIndex: the indexes that failed and are not retried, as ranges.'),
  uncountedTerminatedPods: UncountedTerminatedPodsSchema.optional(),
  conditions: z.array(JobConditionSchema).optional(),
  observedGeneration: z.number().int().optional(),
});
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const JobSchema = z
  .object({
    apiVersion: z.literal(BATCH_API_VERSION).default(BATCH_API_VERSION),
    kind: z.literal('Job').default('Job'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: JobSpecSchema.describe('What the Job runs and when it is done.'),
    status: JobStatusSchema.prefault({}).describe("The Job's progress, kept by the job controller."),
  })
  .describe('Runs pods until a number of them succeed.');
export type Job = z.infer<typeof JobSchema>;
export type JobInput = z.input<typeof JobSchema>;

// Conditions and their reasons, as Kubernetes spells them. A Job that is decided gets the interim
// FailureTarget or SuccessCriteriaMet first; the terminal Failed or Complete (same reason and
// message) follows once its remaining pods have stopped.
export const JOB_COMPLETE = 'Complete';
export const JOB_FAILED = 'Failed';
export const JOB_SUSPENDED = 'Suspended';
export const JOB_FAILURE_TARGET = 'FailureTarget';
export const JOB_SUCCESS_CRITERIA_MET = 'SuccessCriteriaMet';
export const BACKOFF_LIMIT_EXCEEDED = 'BackoffLimitExceeded';
export const DEADLINE_EXCEEDED = 'DeadlineExceeded';
export const POD_FAILURE_POLICY_REASON = 'PodFailurePolicy';
export const MAX_FAILED_INDEXES_EXCEEDED = 'MaxFailedIndexesExceeded';
export const FAILED_INDEXES_REASON = 'FailedIndexes';
export const SUCCESS_POLICY_REASON = 'SuccessPolicy';
export const COMPLETIONS_REACHED = 'CompletionsReached';

/** The condition of `type` with status True, if any. */
export function trueCondition(job: Job, type: string): JobCondition | undefined {
  return job.status.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** Complete or Failed: the job controller leaves a finished Job alone (but for its TTL). */
export function finishedCondition(job: Job): JobCondition | undefined {
  return trueCondition(job, JOB_COMPLETE) ?? trueCondition(job, JOB_FAILED);
}

// ---------------------------------------------------------------------------------------------
// Validation (Kubernetes' ValidateJob)

function atLeast(field: string, value: number | undefined, min: number): FieldCause[] {
  return value !== undefined && value < min ? [cause.invalid(field, value, `must be greater than or equal to ${min}`)] : [];
}

/** A template pod's causes, on the template's own paths (`spec.template.spec.containers[0].name`). */
function templateCauses(template: PodTemplateSpec): FieldCause[] {
  const out = podTemplateCauses(template);
  out.push(...labelsCauses(template.metadata.labels, 'spec.template.metadata.labels'));
  const policy = template.spec.restartPolicy;
  if (policy !== 'Never' && policy !== 'OnFailure') out.push(cause.notSupported('spec.template.spec.restartPolicy', policy, ['OnFailure', 'Never']));
  return out;
}

function podFailurePolicyCauses(spec: JobSpec): FieldCause[] {
  const policy = spec.podFailurePolicy;
  if (!policy) return [];
  const out: FieldCause[] = [];
  if (spec.template.spec.restartPolicy !== 'Never') {
    out.push(cause.invalid('spec.template.spec.restartPolicy', spec.template.spec.restartPolicy, 'only "Never" is supported when podFailurePolicy is specified'));
  }
  if (policy.rules.length > MAX_POD_FAILURE_POLICY_RULES) out.push(cause.tooMany('spec.podFailurePolicy.rules', policy.rules.length, MAX_POD_FAILURE_POLICY_RULES));
  const containers = new Set([...spec.template.spec.containers, ...(spec.template.spec.initContainers ?? [])].map((c) => c.name));
  policy.rules.forEach((rule, i) => {
    const p = `spec.podFailurePolicy.rules[${i}]`;
    if (rule.action === 'FailIndex' && spec.backoffLimitPerIndex === undefined) {
      out.push(cause.invalid(`${p}.action`, rule.action, 'requires the backoffLimitPerIndex to be set'));
    }
    if (rule.onExitCodes !== undefined && rule.onPodConditions !== undefined) {
      out.push(cause.invalid(p, 'rule', 'specifying both OnExitCodes and OnPodConditions is not supported'));
    } else if (rule.onExitCodes === undefined && rule.onPodConditions === undefined) {
      out.push(cause.invalid(p, 'rule', 'specifying one of OnExitCodes and OnPodConditions is required'));
    }
    if ((rule.onPodConditions?.length ?? 0) > MAX_ON_POD_CONDITIONS_PATTERNS) {
      out.push(cause.tooMany(`${p}.onPodConditions`, rule.onPodConditions?.length ?? 0, MAX_ON_POD_CONDITIONS_PATTERNS));
    }
    const codes = rule.onExitCodes;
    if (codes) {
      if (codes.containerName !== undefined && !containers.has(codes.containerName)) {
        out.push(cause.invalid(`${p}.onExitCodes.containerName`, codes.containerName, 'must be one of the container or initContainer names in the pod template'));
      }
      if (codes.values.length === 0) out.push(cause.invalid(`${p}.onExitCodes.values`, codes.values, 'at least one value is required'));
      if (codes.values.length > MAX_ON_EXIT_CODES_VALUES) out.push(cause.tooMany(`${p}.onExitCodes.values`, codes.values.length, MAX_ON_EXIT_CODES_VALUES));
      const seen = new Set<number>();
      codes.values.forEach((v, j) => {
        if (codes.operator === 'In' && v === 0) out.push(cause.invalid(`${p}.onExitCodes.values[${j}]`, v, 'must not be 0 for the In operator'));
        if (seen.has(v)) out.push(cause.duplicate(`${p}.onExitCodes.values[${j}]`, v));
        seen.add(v);
      });
      if (codes.values.some((v, j) => j > 0 && codes.values[j - 1]! > v)) out.push(cause.invalid(`${p}.onExitCodes.values`, codes.values, 'must be ordered'));
    }
  });
  return out;
}

/** One interval of an index list ("3" or "3-5") as [first, last], or why it does not parse (Kubernetes' wording). */
function parseIndexInterval(interval: string, completions: number): [number, number] | string {
  const parts = interval.split('-');
  if (parts.length > 2) return `the fragment ${JSON.stringify(interval)} violates the requirement that an index interval can have at most two parts separated by '-'`;
  const index = (part: string): number | string => {
    if (!/^[+-]?\d+$/.test(part) || Math.abs(Number(part)) > 2 ** 31 - 1) return `cannot convert string to integer for index: ${JSON.stringify(part)}`;
    const n = Number(part);
    return n >= completions ? `too large index: ${JSON.stringify(part)}` : n;
  };
  const first = index(parts[0]!);
  if (typeof first === 'string') return first;
  if (parts.length === 1) return [first, first];
  const last = index(parts[1]!);
  if (typeof last === 'string') return last;
  return first >= last ? `non-increasing order, previous: ${first}, current: ${last}` : [first, last];
}

/**
 * Checks an index list ("1,3-5") as Kubernetes does for successPolicy and the status: increasing
 * intervals of decimal indexes below `completions`. Returns how many indexes it names, or why not.
 */
export function checkIndexIntervals(text: string, completions: number): { total: number } | { error: string } {
  if (text === '') return { total: 0 };
  let previous: number | undefined;
  let total = 0;
  for (const interval of text.split(',')) {
    const parsed = parseIndexInterval(interval, completions);
    if (typeof parsed === 'string') return { error: parsed };
    const [first, last] = parsed;
    if (previous !== undefined && previous >= first) return { error: `non-increasing order, previous: ${previous}, current: ${first}` };
    total += last - first + 1;
    previous = last;
  }
  return { total };
}

/**
 * The lowest index both lists name, walking their intervals in order as Kubernetes does (an
 * interval that does not parse is skipped: the format check reports it); undefined when none.
 */
function firstOverlap(completed: string, failed: string, completions: number): number | undefined {
  if (completed === '' || failed === '') return undefined;
  const intervals = (text: string) => text.split(',').map((i) => parseIndexInterval(i, completions));
  const c = intervals(completed);
  const f = intervals(failed);
  let i = 0;
  let j = 0;
  while (i < c.length && j < f.length) {
    const a = c[i]!;
    const b = f[j]!;
    if (typeof a === 'string') i++;
    else if (typeof b === 'string') j++;
    else if (a[0] <= b[1] && b[0] <= a[1]) return Math.max(a[0], b[0]);
    else if (a[0] <= b[0]) i++;
    else j++;
  }
  return undefined;
}

function successPolicyCauses(spec: JobSpec): FieldCause[] {
  const policy = spec.successPolicy;
  if (!policy) return [];
  const out: FieldCause[] = [];
  if (spec.completionMode !== 'Indexed') return [cause.invalid('spec.successPolicy', policy, 'requires indexed completion mode')];
  const completions = spec.completions ?? 0;
  if (policy.rules.length === 0) out.push(cause.required('spec.successPolicy.rules', 'at least one rules must be specified when the successPolicy is specified'));
  if (policy.rules.length > MAX_SUCCESS_POLICY_RULES) out.push(cause.tooMany('spec.successPolicy.rules', policy.rules.length, MAX_SUCCESS_POLICY_RULES));
  policy.rules.forEach((rule, i) => {
    const p = `spec.successPolicy.rules[${i}]`;
    if (rule.succeededIndexes === undefined && rule.succeededCount === undefined) {
      out.push(cause.required(p, 'at least one of succeededCount or succeededIndexes must be specified'));
    }
    let total = 0;
    if (rule.succeededIndexes !== undefined) {
      if (rule.succeededIndexes.length > MAX_SUCCEEDED_INDEXES_LENGTH) out.push(cause.tooLong(`${p}.succeededIndexes`, MAX_SUCCEEDED_INDEXES_LENGTH));
      const checked = checkIndexIntervals(rule.succeededIndexes, completions);
      if ('error' in checked) out.push(cause.invalid(`${p}.succeededIndexes`, rule.succeededIndexes, `error parsing succeededIndexes: ${checked.error}`));
      else total = checked.total;
    }
    const count = rule.succeededCount;
    if (count !== undefined) {
      out.push(...atLeast(`${p}.succeededCount`, count, 0));
      if (count > completions) out.push(cause.invalid(`${p}.succeededCount`, count, `must be less than or equal to ${completions} (the number of specified completions)`));
      if (rule.succeededIndexes !== undefined && count > total) {
        out.push(cause.invalid(`${p}.succeededCount`, count, `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`));
      }
    }
  });
  return out;
}

/** backoffLimitPerIndex and maxFailedIndexes: Indexed Jobs only, and the second needs the first. */
function perIndexCauses(spec: JobSpec): FieldCause[] {
  const out: FieldCause[] = [];
  const { backoffLimitPerIndex: perIndex, maxFailedIndexes: maxFailed } = spec;
  out.push(...atLeast('spec.backoffLimitPerIndex', perIndex, 0));
  out.push(...atLeast('spec.maxFailedIndexes', maxFailed, 0));
  if (maxFailed !== undefined && perIndex === undefined) out.push(cause.required('spec.backoffLimitPerIndex', 'when maxFailedIndexes is specified'));
  if (spec.completionMode !== 'Indexed') {
    if (perIndex !== undefined) out.push(cause.invalid('spec.backoffLimitPerIndex', perIndex, 'requires indexed completion mode'));
    if (maxFailed !== undefined) out.push(cause.invalid('spec.maxFailedIndexes', maxFailed, 'requires indexed completion mode'));
    return out;
  }
  if (maxFailed !== undefined) {
    if (spec.completions !== undefined && maxFailed > spec.completions) out.push(cause.invalid('spec.maxFailedIndexes', maxFailed, 'must be less than or equal to completions'));
    if (maxFailed > MAX_FAILED_INDEXES) out.push(cause.invalid('spec.maxFailedIndexes', maxFailed, `must be less than or equal to ${MAX_FAILED_INDEXES}`));
  }
  // Failures are counted per pod; with a podFailurePolicy its own check already says so.
  const restartPolicy = spec.template.spec.restartPolicy;
  if (perIndex !== undefined && restartPolicy === 'OnFailure' && spec.podFailurePolicy === undefined) {
    out.push(cause.invalid('spec.template.spec.restartPolicy', restartPolicy, 'only "Never" is supported when backoffLimitPerIndex is specified'));
  }
  return out;
}

/** Two optional timestamps name the same instant (or both are unset). */
function sameTime(a: string | undefined, b: string | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && Date.parse(a) === Date.parse(b));
}

/** Status conditions Kubernetes words without repeating a value ("Invalid value: cannot ..."). */
function conditionsCause(detail: string): FieldCause {
  return cause.invalidWithoutValue('status.conditions', detail);
}

/**
 * Kubernetes' checks of a write to a Job's status subresource (ValidateJobStatusUpdate with the
 * strengthened options kube-apiserver applies since the Job managedBy field): what may never hold,
 * what may not move backwards (terminal conditions, counters, completionTime), and — only when
 * the fields concerned change, so a controller can still write the rest of a status a spec change
 * made inconsistent — the combinations a finished or finishing Job may not have.
 * SuccessCriteriaMet may come before any Complete, not only a success policy's (Kubernetes' controller
 * adds it for every success since 1.31). Not checked here: that a finished Job has a startTime and no
 * uncounted or terminating pods — this job controller may still count a finished Job's stray pods,
 * and completes a suspended Job with completions 0 without ever starting it.
 */
export function jobStatusUpdateCauses(job: Job, old: Job): FieldCause[] {
  const { spec, status } = job;
  const was = old.status;
  const out: FieldCause[] = [];
  const is = (j: Job, type: string) => trueCondition(j, type) !== undefined;
  const flipped = (type: string) => is(job, type) !== is(old, type);
  const finished = (j: Job) => is(j, JOB_COMPLETE) || is(j, JOB_FAILED);
  const complete = is(job, JOB_COMPLETE);
  const failed = is(job, JOB_FAILED);
  const failureTarget = is(job, JOB_FAILURE_TARGET);
  const criteriaMet = is(job, JOB_SUCCESS_CRITERIA_MET);
  const completeChanged = flipped(JOB_COMPLETE);
  const failedChanged = flipped(JOB_FAILED);
  const startChanged = !sameTime(status.startTime, was.startTime);
  const completionChanged = !sameTime(status.completionTime, was.completionTime);
  const activeChanged = (status.active ?? 0) !== (was.active ?? 0);
  const completedIndexesChanged = (status.completedIndexes ?? '') !== (was.completedIndexes ?? '');
  const failedIndexesChanged = status.failedIndexes !== was.failedIndexes;

  for (const key of ['active', 'succeeded', 'failed', 'ready', 'terminating'] as const) out.push(...atLeast(`status.${key}`, status[key], 0));
  // A pod uid is counted once, as a success or as a failure.
  const seen = new Set<string>();
  for (const list of ['succeeded', 'failed'] as const) {
    (status.uncountedTerminatedPods?.[list] ?? []).forEach((uid, i) => {
      const field = `status.uncountedTerminatedPods.${list}[${i}]`;
      if (uid === '') out.push(cause.invalid(field, uid, 'must not be empty'));
      else if (seen.has(uid)) out.push(cause.duplicate(field, uid));
      else seen.add(uid);
    });
  }
  if ((completeChanged || failedChanged) && complete && failed) out.push(conditionsCause('cannot set Complete=True and Failed=true conditions'));
  if ((completeChanged || flipped(JOB_FAILURE_TARGET)) && complete && failureTarget) out.push(conditionsCause('cannot set Complete=True and FailureTarget=true conditions'));
  if (completeChanged || completionChanged) {
    if (status.completionTime !== undefined && !complete) {
      out.push(cause.invalid('status.completionTime', status.completionTime, 'cannot set completionTime when there is no Complete=True condition'));
    }
    if (status.completionTime === undefined && complete) out.push(cause.required('status.completionTime', 'completionTime is required for Complete jobs'));
  }
  if ((startChanged || completionChanged) && status.startTime !== undefined && status.completionTime !== undefined && Date.parse(status.completionTime) < Date.parse(status.startTime)) {
    out.push(cause.invalid('status.completionTime', status.completionTime, 'completionTime cannot be set before startTime'));
  }
  // The interim condition comes first: Failed only after FailureTarget, Complete only after SuccessCriteriaMet.
  if ((failedChanged || failedIndexesChanged) && failed && !failureTarget) out.push(conditionsCause('cannot set Failed=True condition without the FailureTarget=true condition'));
  if ((completeChanged || flipped(JOB_SUCCESS_CRITERIA_MET)) && complete && !criteriaMet) {
    out.push(conditionsCause('cannot set Complete=True condition without the SuccessCriteriaMet=true condition'));
  }
  if ((finished(job) !== finished(old) || activeChanged) && finished(job) && (status.active ?? 0) > 0) {
    out.push(cause.invalid('status.active', status.active, 'active>0 is invalid for finished job'));
  }
  const completions = spec.completions;
  if (completedIndexesChanged && completions !== undefined && status.completedIndexes !== undefined) {
    const checked = checkIndexIntervals(status.completedIndexes, completions);
    if ('error' in checked) out.push(cause.invalid('status.completedIndexes', status.completedIndexes, `error parsing completedIndexes: ${checked.error}`));
  }
  if (failedIndexesChanged && completions !== undefined && spec.backoffLimitPerIndex !== undefined && status.failedIndexes !== undefined) {
    const checked = checkIndexIntervals(status.failedIndexes, completions);
    if ('error' in checked) out.push(cause.invalid('status.failedIndexes', status.failedIndexes, `error parsing failedIndexes: ${checked.error}`));
  }
  const indexed = spec.completionMode === 'Indexed';
  if (completedIndexesChanged && !indexed && (status.completedIndexes ?? '') !== '') {
    out.push(cause.invalid('status.completedIndexes', status.completedIndexes, 'cannot set non-empty completedIndexes when non-indexed completion mode'));
  }
  if (failedIndexesChanged && spec.backoffLimitPerIndex === undefined && status.failedIndexes !== undefined) {
    out.push(cause.invalid('status.failedIndexes', status.failedIndexes, 'cannot set non-null failedIndexes when backoffLimitPerIndex is null'));
  }
  if ((failedIndexesChanged || completedIndexesChanged) && completions !== undefined && status.failedIndexes !== undefined) {
    const overlap = firstOverlap(status.completedIndexes ?? '', status.failedIndexes, completions);
    if (overlap !== undefined) out.push(cause.invalid('status.failedIndexes', status.failedIndexes, `failedIndexes and completedIndexes overlap at index: ${overlap}`));
  }
  if (((status.ready ?? 0) !== (was.ready ?? 0) || activeChanged) && (status.ready ?? 0) > (status.active ?? 0)) {
    out.push(cause.invalid('status.ready', status.ready, 'cannot set more ready pods than active'));
  }
  if (criteriaMet && failed) out.push(conditionsCause('cannot set SuccessCriteriaMet=True and Failed=true conditions'));
  if (criteriaMet && failureTarget) out.push(conditionsCause('cannot set SuccessCriteriaMet=True and FailureTarget=true conditions'));
  if (spec.successPolicy !== undefined && complete && !criteriaMet) out.push(conditionsCause('cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True'));

  // What may not move backwards.
  for (const type of [JOB_FAILED, JOB_COMPLETE, JOB_FAILURE_TARGET]) {
    if (is(old, type) && !is(job, type)) out.push(conditionsCause(`cannot disable the terminal ${type}=True condition`));
  }
  if ((status.failed ?? 0) < (was.failed ?? 0)) out.push(cause.invalid('status.failed', status.failed ?? 0, 'cannot decrease the failed counter'));
  // An Indexed Job scaled down (completions moved with parallelism) may lose successes past its new end.
  const scalable = indexed && completions === spec.parallelism;
  if (!scalable && (status.succeeded ?? 0) < (was.succeeded ?? 0)) out.push(cause.invalid('status.succeeded', status.succeeded ?? 0, 'cannot decrease the succeeded counter'));
  if (status.completionTime !== undefined && was.completionTime !== undefined && completionChanged) {
    out.push(cause.invalid('status.completionTime', status.completionTime, 'completionTime cannot be mutated'));
  }
  // startTime restarts the deadline only when the Job is suspended or just resumed (Suspended True → not).
  const resumed = is(old, JOB_SUSPENDED) && !is(job, JOB_SUSPENDED);
  if (startChanged && was.startTime !== undefined && !spec.suspend && !resumed) {
    out.push(cause.required('status.startTime', 'startTime cannot be removed for unsuspended job'));
  }
  if (is(old, JOB_SUCCESS_CRITERIA_MET) && !criteriaMet) out.push(conditionsCause('cannot disable the SuccessCriteriaMet=True condition'));
  if (is(old, JOB_COMPLETE) && !is(old, JOB_SUCCESS_CRITERIA_MET) && criteriaMet) {
    out.push(conditionsCause('cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions'));
  }
  return out;
}

/**
 * A Job's spec and template, as Kubernetes' ValidateJob. Not its status: a create drops it, an
 * update of the Job keeps the stored one, and a status write is checked against the stored Job
 * (jobStatusUpdateCauses).
 */
export function jobCauses(job: Job): FieldCause[] {
  const { spec } = job;
  const out: FieldCause[] = [];
  out.push(...atLeast('spec.parallelism', spec.parallelism, 0));
  out.push(...atLeast('spec.completions', spec.completions, 0));
  out.push(...atLeast('spec.backoffLimit', spec.backoffLimit, 0));
  out.push(...atLeast('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 1));
  out.push(...atLeast('spec.ttlSecondsAfterFinished', spec.ttlSecondsAfterFinished, 0));
  if (spec.completionMode === 'Indexed') {
    if (spec.completions === undefined) out.push(cause.required('spec.completions', 'when completion mode is Indexed'));
    else if (spec.completions > MAX_INDEXED_COMPLETIONS) out.push(cause.invalid('spec.completions', spec.completions, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`));
    if (spec.parallelism > MAX_INDEXED_COMPLETIONS) out.push(cause.invalid('spec.parallelism', spec.parallelism, `must be less than or equal to ${MAX_INDEXED_COMPLETIONS} when completion mode is Indexed`));
  }
  out.push(...perIndexCauses(spec));
  out.push(...templateCauses(spec.template));
  out.push(...podFailurePolicyCauses(spec));
  out.push(...successPolicyCauses(spec));
  if (spec.manualSelector === true && spec.selector === undefined) out.push(cause.required('spec.selector'));
  if (spec.selector !== undefined) {
    const selectorCauses = labelSelectorCauses(spec.selector, 'spec.selector');
    out.push(...selectorCauses);
    const empty = (spec.selector.matchLabels === undefined || Object.keys(spec.selector.matchLabels).length === 0) && (spec.selector.matchExpressions ?? []).length === 0;
    if (empty) out.push(cause.invalid('spec.selector', spec.selector, 'empty selector is invalid for a Job'));
    else if (selectorCauses.length === 0 && !labelSelectorFromSpec(spec.selector).matches(spec.template.metadata.labels)) {
      out.push(cause.invalid('spec.template.metadata.labels', spec.template.metadata.labels ?? {}, '`selector` does not match template `labels`'));
    }
  }
  return out;
}
