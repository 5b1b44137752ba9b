// apps/v1 ReplicaSet, Deployment, DaemonSet, StatefulSet and ControllerRevision, and the
// autoscaling/v1 Scale body of the `scale` subresource, with Kubernetes' field names, defaults and
// validation. A ReplicaSet keeps a number of pods from its template running; a Deployment rolls its
// template out through ReplicaSets, one per template (the `pod-template-hash` label tells them
// apart); a DaemonSet runs one pod on every node that fits, and a StatefulSet numbered pods with
// stable names, their templates kept as ControllerRevisions (the `controller-revision-hash` label
// tells its pods' templates apart).
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { labelSelectorFromSpec } from '../labels.js';
import { PodTemplateSpecSchema, type PodTemplateSpec } from './core.js';
import { cause } from './field-errors.js';
import { ConditionStatusSchema, LabelSelectorSchema, ObjectMetaSchema, TimeSchema, type LabelSelector } from './meta.js';
import { IntOrStringSchema, type IntOrString } from './policy.js';
import { labelSelectorCauses, labelsCauses, nonNegative, podTemplateCauses } from './rules.js';

export const APPS_GROUP = 'apps';
export const APPS_API_VERSION = 'apps/v1';
export const AUTOSCALING_API_VERSION = 'autoscaling/v1';

// Labels and annotations the Deployment controller writes, and kubectl reads (rollout history/undo).
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** What `kubectl rollout history` prints as CHANGE-CAUSE; copied from a Deployment to its ReplicaSets. */
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';


// ---------------------------------------------------------------------------------------------
// ReplicaSet

export const ReplicaSetSpecSchema = z.object({
  replicas: z.number().int().default(1).describe('How many pods should run. Defaults to 1.'),
  minReadySeconds: z.number().int().default(0).describe('Seconds a new pod must be ready, without a container crashing, to count as available.'),
  selector: LabelSelectorSchema.describe('The pods this ReplicaSet counts; must match the template labels. Immutable.'),
  template: PodTemplateSpecSchema.describe('The pods created when too few match the selector.'),
});
export type ReplicaSetSpec = z.infer<typeof ReplicaSetSpecSchema>;

export const ReplicaSetConditionSchema = z.object({
  type: z.string().describe('ReplicaFailure: pods could not be created or deleted.'),
  status: ConditionStatusSchema,
  lastTransitionTime: TimeSchema.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type ReplicaSetCondition = z.infer<typeof ReplicaSetConditionSchema>;

export const ReplicaSetStatusSchema = z.object({
  replicas: z.number().int().default(0).describe('Pods the ReplicaSet counts (not terminating, not finished).'),
  fullyLabeledReplicas: z.number().int().optional().describe('Counted pods whose labels match the template labels.'),
  readyReplicas: z.number().int().optional().describe('Counted pods that are Ready.'),
  availableReplicas: z.number().int().optional().describe('Counted pods that have been Ready for at least minReadySeconds.'),
  observedGeneration: z.number().int().optional().describe('The metadata.generation this status was computed for.'),
  conditions: z.array(ReplicaSetConditionSchema).optional().describe('ReplicaFailure when pods cannot be created or deleted.'),
});
export type ReplicaSetStatus = z.infer<typeof ReplicaSetStatusSchema>;

export const ReplicaSetSchema = z
  .object({
    apiVersion: z.literal(APPS_API_VERSION).default(APPS_API_VERSION),
    kind: z.literal('ReplicaSet').default('ReplicaSet'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: ReplicaSetSpecSchema,
    status: ReplicaSetStatusSchema.prefault({}).describe('What the ReplicaSet controller last counted. Read-only to clients.'),
  })
  .describe('Keeps a number of pods from one template running.');
export type ReplicaSet = z.infer<typeof ReplicaSetSchema>;

// ---------------------------------------------------------------------------------------------
// Deployment

export const DEFAULT_MAX_SURGE: IntOrString = '25%';
export const DEFAULT_MAX_UNAVAILABLE: IntOrString = '25%';

export const RollingUpdateDeploymentSchema = z.object({
  maxUnavailable: IntOrStringSchema.optional().describe(
    'How many pods may be unavailable during the update: a number or a percentage of replicas (rounded down). Defaults to 25%.',
  ),
  maxSurge: IntOrStringSchema.optional().describe(
    'How many pods may run above replicas during the update: a number or a percentage of replicas (rounded up). Defaults to 25%.',
  ),
});
export type RollingUpdateDeployment = z.infer<typeof RollingUpdateDeploymentSchema>;

/** An update strategy with its defaults filled in: RollingUpdate unless another type is named, its bounds where unset. */
function withRollingDefaults<T extends { type?: string | undefined; rollingUpdate?: { maxUnavailable?: IntOrString | undefined; maxSurge?: IntOrString | undefined } | undefined }>(
  s: T,
  maxUnavailable: IntOrString,
  maxSurge: IntOrString,
) {
  const type = s.type ?? 'RollingUpdate';
  if (type !== 'RollingUpdate') return { ...s, type };
  return { ...s, type, rollingUpdate: { ...s.rollingUpdate, maxUnavailable: s.rollingUpdate?.maxUnavailable ?? maxUnavailable, maxSurge: s.rollingUpdate?.maxSurge ?? maxSurge } };
}

export const DeploymentStrategyTypeSchema = z.enum(['Recreate', 'RollingUpdate']);

export const DeploymentStrategySchema = z
  .object({
    type: DeploymentStrategyTypeSchema.optional().describe('RollingUpdate (the default) replaces pods gradually; Recreate stops every old pod before new ones start.'),
    rollingUpdate: RollingUpdateDeploymentSchema.optional().describe('Bounds of a RollingUpdate; only with type RollingUpdate.'),
  })
  // Kubernetes' SetDefaults_Deployment: RollingUpdate, with 25%/25% for what is not set.
  .transform((s) => withRollingDefaults(s, DEFAULT_MAX_UNAVAILABLE, DEFAULT_MAX_SURGE))
  .describe('How old pods are replaced by new ones.');
export type DeploymentStrategy = z.infer<typeof DeploymentStrategySchema>;

export const DeploymentSpecSchema = z.object({
  replicas: z.number().int().default(1).describe('How many pods should run. Defaults to 1.'),
  selector: LabelSelectorSchema.describe("The pods (and ReplicaSets) this Deployment manages; must match the template labels. Immutable."),
  template: PodTemplateSpecSchema.describe('The pods to run; changing it starts a rollout.'),
  strategy: DeploymentStrategySchema.prefault({}).describe('How old pods are replaced by new ones.'),
  minReadySeconds: z.number().int().default(0).describe('Seconds a new pod must be ready to count as available.'),
  revisionHistoryLimit: z.number().int().default(10).describe('Old ReplicaSets kept for rollback. Defaults to 10.'),
  paused: z.boolean().optional().describe('While true, template changes start no rollout (scaling still applies).'),
  progressDeadlineSeconds: z
    .number()
    .int()
    .default(600)
    .describe('Seconds a rollout may make no progress before Progressing turns False with reason ProgressDeadlineExceeded. Defaults to 600.'),
});
export type DeploymentSpec = z.infer<typeof DeploymentSpecSchema>;

export const DeploymentConditionSchema = z.object({
  type: z.string().describe('Available, Progressing or ReplicaFailure.'),
  status: ConditionStatusSchema,
  lastUpdateTime: TimeSchema.optional(),
  lastTransitionTime: TimeSchema.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type DeploymentCondition = z.infer<typeof DeploymentConditionSchema>;

export const DeploymentStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation this status was computed for.'),
  replicas: z.number().int().optional().describe('Pods of every ReplicaSet of the Deployment.'),
  updatedReplicas: z.number().int().optional().describe('Pods of the current template.'),
  readyReplicas: z.number().int().optional().describe('Pods that are Ready.'),
  availableReplicas: z.number().int().optional().describe('Pods that have been Ready for at least minReadySeconds.'),
  unavailableReplicas: z.number().int().optional().describe('Pods still needed for the desired count to be available.'),
  conditions: z.array(DeploymentConditionSchema).optional().describe('Available, Progressing and ReplicaFailure.'),
  collisionCount: z.number().int().optional().describe('Counts pod-template-hash collisions; part of the hash input, so a collision yields a new name.'),
});
export type DeploymentStatus = z.infer<typeof DeploymentStatusSchema>;

export const DeploymentSchema = z
  .object({
    apiVersion: z.literal(APPS_API_VERSION).default(APPS_API_VERSION),
    kind: z.literal('Deployment').default('Deployment'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: DeploymentSpecSchema,
    status: DeploymentStatusSchema.prefault({}).describe('Progress of the rollout, as the Deployment controller last saw it. Read-only to clients.'),
  })
  .describe('Runs a number of pods from a template and rolls template changes out through ReplicaSets.');
export type Deployment = z.infer<typeof DeploymentSchema>;

// ---------------------------------------------------------------------------------------------
// DaemonSet and ControllerRevision

/** On a DaemonSet's pods and ControllerRevisions: the revision (template) a pod was made from. */
export const CONTROLLER_REVISION_HASH_LABEL = 'controller-revision-hash';
export const DEFAULT_DAEMONSET_MAX_UNAVAILABLE: IntOrString = 1;
export const DEFAULT_DAEMONSET_MAX_SURGE: IntOrString = 0;

export const RollingUpdateDaemonSetSchema = z.object({
  maxUnavailable: IntOrStringSchema.optional().describe(
    'How many nodes may be without an available daemon pod during the update: a number or a percentage of the nodes that should run one (rounded up). Defaults to 1.',
  ),
  maxSurge: IntOrStringSchema.optional().describe(
    "How many nodes may run the new pod beside the old one during the update: a number or a percentage (rounded up). Defaults to 0; with it above 0, maxUnavailable must be 0.",
  ),
});
export type RollingUpdateDaemonSet = z.infer<typeof RollingUpdateDaemonSetSchema>;

export const DaemonSetUpdateStrategySchema = z
  .object({
    type: z.enum(['RollingUpdate', 'OnDelete']).optional().describe('RollingUpdate (the default) replaces daemon pods node by node; OnDelete only when someone deletes a pod.'),
    rollingUpdate: RollingUpdateDaemonSetSchema.optional().describe('Bounds of a RollingUpdate; only with type RollingUpdate.'),
  })
  // Kubernetes' SetDefaults_DaemonSet: RollingUpdate, maxUnavailable 1 and maxSurge 0 where not set.
  .transform((s) => withRollingDefaults(s, DEFAULT_DAEMONSET_MAX_UNAVAILABLE, DEFAULT_DAEMONSET_MAX_SURGE))
  .describe("How a template change reaches the daemon pods.");
export type DaemonSetUpdateStrategy = z.infer<typeof DaemonSetUpdateStrategySchema>;

export const DaemonSetSpecSchema = z.object({
  selector: LabelSelectorSchema.describe('The pods this DaemonSet manages; must match the template labels. Immutable.'),
  template: PodTemplateSpecSchema.describe('The pod to run on every node that fits its node selector, affinity and tolerations.'),
  updateStrategy: DaemonSetUpdateStrategySchema.prefault({}).describe('How a template change reaches the daemon pods.'),
  minReadySeconds: z.number().int().default(0).describe('Seconds a new pod must be ready to count as available.'),
  revisionHistoryLimit: z.number().int().default(10).describe('Old ControllerRevisions kept for rollback. Defaults to 10.'),
});
export type DaemonSetSpec = z.infer<typeof DaemonSetSpecSchema>;

export const DaemonSetConditionSchema = DeploymentConditionSchema.omit({ lastUpdateTime: true });
export type DaemonSetCondition = z.infer<typeof DaemonSetConditionSchema>;

export const DaemonSetStatusSchema = z.object({
  currentNumberScheduled: z.number().int().default(0).describe('Nodes that should run the daemon pod and run at least one.'),
  numberMisscheduled: z.number().int().default(0).describe('Nodes that run the daemon pod but should not.'),
  desiredNumberScheduled: z.number().int().default(0).describe('Nodes that should run the daemon pod.'),
  numberReady: z.number().int().default(0).describe('Nodes that should run the daemon pod and whose pod is Ready.'),
  observedGeneration: z.number().int().optional().describe('The metadata.generation this status was computed for.'),
  updatedNumberScheduled: z.number().int().optional().describe('Nodes running the daemon pod of the current template.'),
  numberAvailable: z.number().int().optional().describe('Nodes whose daemon pod has been Ready for at least minReadySeconds.'),
  numberUnavailable: z.number().int().optional().describe('Nodes that should run the daemon pod and have none available.'),
  collisionCount: z.number().int().optional().describe('Counts revision hash collisions; part of the hash input, so a collision yields a new name.'),
  conditions: z.array(DaemonSetConditionSchema).optional(),
});
export type DaemonSetStatus = z.infer<typeof DaemonSetStatusSchema>;

export const DaemonSetSchema = z
  .object({
    apiVersion: z.literal(APPS_API_VERSION).default(APPS_API_VERSION),
    kind: z.literal('DaemonSet').default('DaemonSet'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: DaemonSetSpecSchema,
    status: DaemonSetStatusSchema.prefault({}).describe('What the DaemonSet controller last counted, node by node. Read-only to clients.'),
  })
  .describe('Runs one pod from a template on every node that fits it.');
export type DaemonSet = z.infer<typeof DaemonSetSchema>;

export const ControllerRevisionSchema = z
  .object({
    apiVersion: z.literal(APPS_API_VERSION).default(APPS_API_VERSION),
    kind: z.literal('ControllerRevision').default('ControllerRevision'),
    metadata: ObjectMetaSchema.prefault({}),
    data: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("The state recorded: for a DaemonSet, a strategic merge patch that puts its template back. Immutable."),
    revision: z.number().int().describe('The revision number: the highest is the owner\'s current state.'),
  })
  .describe("One recorded state of a controller's object (a DaemonSet's template), for rollout history and rollback.");
export type ControllerRevision = z.infer<typeof ControllerRevisionSchema>;

/** What a DaemonSet's or StatefulSet's revision records: the patch that makes `template` current again. */
export function revisionDataFor(template: PodTemplateSpec): Record<string, unknown> {
  return { spec: { template: { ...template, $patch: 'replace' } } };
}

/** The template a revision puts back: its patch's template without the `$patch` directive. */
export function templateOfRevision(r: ControllerRevision): PodTemplateSpec {
  const spec = r.data?.['spec'] as { template?: Record<string, unknown> } | undefined;
  const { $patch: _directive, ...template } = spec?.template ?? {};
  return template as unknown as PodTemplateSpec;
}

// ---------------------------------------------------------------------------------------------
// StatefulSet

/** On a StatefulSet's pods: the pod's own name, and its ordinal (Kubernetes' pod-index label). */
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export const StatefulSetUpdateStrategySchema = z
  .object({
    type: z.enum(['RollingUpdate', 'OnDelete']).optional().describe('RollingUpdate (the default) replaces pods from the highest ordinal down; OnDelete only when someone deletes a pod.'),
    rollingUpdate: z
      .object({
        partition: z.number().int().optional().describe('Pods with an ordinal below this keep the old template (a staged rollout). Defaults to 0.'),
      })
      .optional()
      .describe('Bounds of a RollingUpdate; only with type RollingUpdate.'),
  })
  // Kubernetes' SetDefaults_StatefulSet: RollingUpdate with partition 0.
  .transform((s) => {
    const type = s.type ?? 'RollingUpdate';
    if (type !== 'RollingUpdate') return { ...s, type };
    return { ...s, type, rollingUpdate: { ...s.rollingUpdate, partition: s.rollingUpdate?.partition ?? 0 } };
  })
  .describe('How a template change reaches the pods.');
export type StatefulSetUpdateStrategy = z.infer<typeof StatefulSetUpdateStrategySchema>;

export const StatefulSetSpecSchema = z.object({
  replicas: z.number().int().default(1).describe('How many pods, named <name>-0 … <name>-(replicas-1). Defaults to 1.'),
  selector: LabelSelectorSchema.describe('The pods this StatefulSet manages; must match the template labels. Immutable.'),
  template: PodTemplateSpecSchema.describe('The pod each ordinal runs.'),
  serviceName: z.string().optional().describe('The headless Service that names the pods (DNS is not served by cell; kept for manifests that set it). Immutable.'),
  podManagementPolicy: z
    .enum(['OrderedReady', 'Parallel'])
    .default('OrderedReady')
    .describe('OrderedReady (the default): a pod is made only once every lower ordinal is Running and ready, and removed only after every higher one is gone. Parallel: all at once. Immutable.'),
  updateStrategy: StatefulSetUpdateStrategySchema.prefault({}).describe('How a template change reaches the pods.'),
  revisionHistoryLimit: z.number().int().default(10).describe('Old ControllerRevisions kept for rollback. Defaults to 10.'),
  minReadySeconds: z.number().int().default(0).describe('Seconds a new pod must be ready to count as available.'),
  ordinals: z
    .object({ start: z.number().int().default(0).describe('The first ordinal. Defaults to 0.') })
    .optional()
    .describe('Where the pods\' numbering starts.'),
});
export type StatefulSetSpec = z.infer<typeof StatefulSetSpecSchema>;

export const StatefulSetStatusSchema = z.object({
  observedGeneration: z.number().int().optional().describe('The metadata.generation this status was computed for.'),
  replicas: z.number().int().default(0).describe('Pods the StatefulSet has made and not yet deleted.'),
  readyReplicas: z.number().int().optional().describe('Pods that are Ready.'),
  currentReplicas: z.number().int().optional().describe('Pods of currentRevision.'),
  updatedReplicas: z.number().int().optional().describe('Pods of updateRevision.'),
  availableReplicas: z.number().int().optional().describe('Pods that have been Ready for at least minReadySeconds.'),
  currentRevision: z.string().optional().describe('The ControllerRevision the pods below the update ran before it (all pods, once it completes).'),
  updateRevision: z.string().optional().describe("The ControllerRevision of the current template."),
  collisionCount: z.number().int().optional().describe('Counts revision hash collisions; part of the hash input, so a collision yields a new name.'),
  conditions: z.array(DaemonSetConditionSchema).optional(),
});
export type StatefulSetStatus = z.infer<typeof StatefulSetStatusSchema>;

export const StatefulSetSchema = z
  .object({
    apiVersion: z.literal(APPS_API_VERSION).default(APPS_API_VERSION),
    kind: z.literal('StatefulSet').default('StatefulSet'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: StatefulSetSpecSchema,
    status: StatefulSetStatusSchema.prefault({}).describe('What the StatefulSet controller last counted. Read-only to clients.'),
  })
  .describe('Runs numbered pods with stable names from one template, made, removed and updated in order.');
export type StatefulSet = z.infer<typeof StatefulSetSchema>;

// Condition types and reasons of a Deployment, as kubectl and Kubernetes' tooling read them.
export const DEPLOYMENT_PROGRESSING = 'Progressing';
export const DEPLOYMENT_AVAILABLE = 'Available';
export const REPLICA_FAILURE = 'ReplicaFailure';
export const REASON = {
  newReplicaSetCreated: 'NewReplicaSetCreated',
  foundNewReplicaSet: 'FoundNewReplicaSet',
  replicaSetUpdated: 'ReplicaSetUpdated',
  newReplicaSetAvailable: 'NewReplicaSetAvailable',
  progressDeadlineExceeded: 'ProgressDeadlineExceeded',
  deploymentPaused: 'DeploymentPaused',
  deploymentResumed: 'DeploymentResumed',
  minimumReplicasAvailable: 'MinimumReplicasAvailable',
  minimumReplicasUnavailable: 'MinimumReplicasUnavailable',
  failedCreate: 'FailedCreate',
  failedDelete: 'FailedDelete',
} as const;

// ---------------------------------------------------------------------------------------------
// Scale (autoscaling/v1): the body of `deployments/{name}/scale` and `replicasets/{name}/scale`.

export const ScaleSchema = z
  .object({
    apiVersion: z.literal(AUTOSCALING_API_VERSION).default(AUTOSCALING_API_VERSION),
    kind: z.literal('Scale').default('Scale'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z.object({ replicas: z.number().int().optional().describe('The desired number of pods.') }).prefault({}),
    status: z
      .object({
        replicas: z.number().int().default(0).describe('The number of pods the controller counts.'),
        selector: z.string().optional().describe('The label selector of the pods, in its query-string form.'),
      })
      .prefault({}),
  })
  .describe('The replica count of a scalable resource, read and written through its scale subresource.');
export type Scale = z.infer<typeof ScaleSchema>;

// ---------------------------------------------------------------------------------------------
// Validation (Kubernetes' ValidateDeployment / ValidateReplicaSet)

const PERCENT = /^[0-9]+%$/;


/** A count or a percentage; `max100` for maxUnavailable, which cannot exceed every pod. */
function intOrPercentCauses(field: string, value: IntOrString | undefined, max100: boolean): FieldCause[] {
  if (value === undefined) return [];
  if (typeof value === 'number') return nonNegative(field, value);
  if (!PERCENT.test(value)) {
    return [cause.invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  return max100 && Number(value.slice(0, -1)) > 100 ? [cause.invalid(field, value, 'must not be greater than 100%')] : [];
}

function isZero(value: IntOrString | undefined): boolean {
  return value === 0 || value === '0%';
}

function selectorIsEmpty(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

const KIND_NAMES: Record<string, string> = { daemonset: 'DaemonSet', statefulset: 'StatefulSet' };

/** The selector must be non-empty and select the template's labels; the template must be valid pod-wise. */
function selectorAndTemplateCauses(selector: LabelSelector, template: PodTemplateSpec, kind: string): FieldCause[] {
  const out = labelSelectorCauses(selector, 'spec.selector');
  if (selectorIsEmpty(selector)) out.push(cause.invalid('spec.selector', selector, `empty selector is invalid for ${kind}`));
  const labels = template.metadata.labels ?? {};
  out.push(...labelsCauses(labels, 'spec.template.metadata.labels'));
  if (out.length === 0 && !labelSelectorFromSpec(selector).matches(labels)) {
    out.push(cause.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
  }
  out.push(...podTemplateCauses(template));
  // Controllers replace pods that exit; a template whose pods are meant to finish would never settle.
  if (template.spec.restartPolicy !== 'Always') out.push(cause.notSupported('spec.template.spec.restartPolicy', template.spec.restartPolicy, ['Always']));
  if (template.spec.activeDeadlineSeconds !== undefined) {
    out.push(cause.forbidden('spec.template.spec.activeDeadlineSeconds', `activeDeadlineSeconds in ${KIND_NAMES[kind] ?? 'ReplicaSet'} is not Supported`));
  }
  return out;
}

export function replicaSetCauses(rs: ReplicaSet): FieldCause[] {
  const { spec, status } = rs;
  const out = [...nonNegative('spec.replicas', spec.replicas), ...nonNegative('spec.minReadySeconds', spec.minReadySeconds)];
  out.push(...selectorAndTemplateCauses(spec.selector, spec.template, 'replicaset'));
  for (const key of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'] as const) {
    out.push(...nonNegative(`status.${key}`, status[key]));
  }
  return out;
}

export function deploymentCauses(d: Deployment): FieldCause[] {
  const { spec, status } = d;
  const out = [
    ...nonNegative('spec.replicas', spec.replicas),
    ...nonNegative('spec.minReadySeconds', spec.minReadySeconds),
    ...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit),
  ];
  out.push(...selectorAndTemplateCauses(spec.selector, spec.template, 'deployment'));
  const { strategy } = spec;
  if (strategy.type === 'Recreate') {
    if (strategy.rollingUpdate !== undefined) {
      out.push(cause.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
    }
  } else if (strategy.rollingUpdate !== undefined) {
    const { maxSurge, maxUnavailable } = strategy.rollingUpdate;
    out.push(...intOrPercentCauses('spec.strategy.rollingUpdate.maxUnavailable', maxUnavailable, true));
    out.push(...intOrPercentCauses('spec.strategy.rollingUpdate.maxSurge', maxSurge, false));
    // Neither surging nor dropping a pod: the rollout could never take a step.
    if (isZero(maxSurge) && isZero(maxUnavailable)) {
      out.push(cause.invalid('spec.strategy.rollingUpdate.maxUnavailable', maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
    }
  }
  if (spec.progressDeadlineSeconds <= 0) {
    out.push(cause.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than 0'));
  } else if (spec.progressDeadlineSeconds <= spec.minReadySeconds) {
    out.push(cause.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  for (const key of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas', 'observedGeneration', 'collisionCount'] as const) {
    out.push(...nonNegative(`status.${key}`, status[key]));
  }
  return out;
}

export function scaleCauses(scale: Scale): FieldCause[] {
  return [...nonNegative('spec.replicas', scale.spec.replicas), ...nonNegative('status.replicas', scale.status.replicas)];
}

export function daemonSetCauses(ds: DaemonSet): FieldCause[] {
  const { spec, status } = ds;
  const out = [...nonNegative('spec.minReadySeconds', spec.minReadySeconds), ...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit)];
  out.push(...selectorAndTemplateCauses(spec.selector, spec.template, 'daemonset'));
  const { updateStrategy } = spec;
  if (updateStrategy.type === 'OnDelete') {
    if (updateStrategy.rollingUpdate !== undefined) {
      out.push(cause.forbidden('spec.updateStrategy.rollingUpdate', "may not be specified when strategy `type` is 'OnDelete'"));
    }
  } else if (updateStrategy.rollingUpdate !== undefined) {
    const { maxSurge, maxUnavailable } = updateStrategy.rollingUpdate;
    out.push(...intOrPercentCauses('spec.updateStrategy.rollingUpdate.maxUnavailable', maxUnavailable, true));
    out.push(...intOrPercentCauses('spec.updateStrategy.rollingUpdate.maxSurge', maxSurge, true));
    // Neither surging nor dropping a pod, the update could never take a step; a node takes either
    // a second pod or a gap, not both (Kubernetes' rule).
    if (isZero(maxSurge) && isZero(maxUnavailable)) {
      out.push(cause.required('spec.updateStrategy.rollingUpdate.maxUnavailable', 'cannot be 0 when maxSurge is 0'));
    } else if (!isZero(maxSurge) && !isZero(maxUnavailable)) {
      out.push(cause.invalid('spec.updateStrategy.rollingUpdate.maxSurge', maxSurge, 'may not be set when maxUnavailable is non-zero'));
    }
  }
  for (const key of ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable', 'collisionCount'] as const) {
    out.push(...nonNegative(`status.${key}`, status[key]));
  }
  return out;
}

export function controllerRevisionCauses(cr: ControllerRevision): FieldCause[] {
  return nonNegative('revision', cr.revision);
}

export function statefulSetCauses(sts: StatefulSet): FieldCause[] {
  const { spec, status } = sts;
  const out = [
    ...nonNegative('spec.replicas', spec.replicas),
    ...nonNegative('spec.minReadySeconds', spec.minReadySeconds),
    ...nonNegative('spec.revisionHistoryLimit', spec.revisionHistoryLimit),
    ...nonNegative('spec.ordinals.start', spec.ordinals?.start),
  ];
  out.push(...selectorAndTemplateCauses(spec.selector, spec.template, 'statefulset'));
  const { updateStrategy } = spec;
  if (updateStrategy.type === 'OnDelete') {
    if (updateStrategy.rollingUpdate !== undefined) {
      out.push(cause.invalid('spec.updateStrategy.rollingUpdate', updateStrategy.rollingUpdate, 'only allowed for updateStrategy \'RollingUpdate\''));
    }
  } else out.push(...nonNegative('spec.updateStrategy.rollingUpdate.partition', updateStrategy.rollingUpdate?.partition));
  for (const key of ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'observedGeneration', 'collisionCount'] as const) {
    out.push(...nonNegative(`status.${key}`, status[key]));
  }
  return out;
}
