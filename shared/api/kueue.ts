// Kueue's `kueue.x-k8s.io/v1beta1` batch queueing kinds, with Kueue's field names, defaults and
// validation for the fields cell implements: ResourceFlavor (what a flavor of capacity is on the
// nodes), ClusterQueue (quota per flavor and resource, a cohort to borrow within), LocalQueue (a
// namespace's door to a ClusterQueue) and Workload (what a Job asks to run, and its admission).
// A ClusterQueue's status.flavorsReservation and status.flavorsUsage are a ledger the API server
// keeps in the transaction of every admission and release (apiserver/queues/).
import { z } from 'zod';
import type { FieldCause } from '../errors.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, qualifiedNameErrors } from '../names.js';
import { Quantity } from '../quantity.js';
import { PodTemplateSpecSchema, QuantitySchema, ResourceListSchema, TaintSchema, TolerationSchema, type Pod, type PodTemplateSpec } from './core.js';
import { cause, childPath } from './field-errors.js';
import { ConditionSchema, LabelSelectorSchema, LabelsSchema, ObjectMetaSchema, TimeSchema } from './meta.js';
import { labelSelectorCauses, labelsCauses, nonNegative, podCauses } from './rules.js';

export const KUEUE_GROUP = 'kueue.x-k8s.io';
export const KUEUE_VERSION = 'v1beta1';
export const KUEUE_API_VERSION = 'kueue.x-k8s.io/v1beta1';

/** On a Job (or pod, PodGroup): the LocalQueue, in the object's namespace, it is submitted to. */
export const QUEUE_NAME_LABEL = 'kueue.x-k8s.io/queue-name';
/** The same, as the annotation older Kueue releases read. */
export const QUEUE_NAME_ANNOTATION = 'kueue.x-k8s.io/queue-name';
/** On a Job: the WorkloadPriorityClass its Workload takes its priority from. */
export const PRIORITY_CLASS_LABEL = 'kueue.x-k8s.io/priority-class';
/** On a Workload: the uid of the Job it was made for. */
export const JOB_UID_LABEL = 'kueue.x-k8s.io/job-uid';
/** On the pods of an admitted workload: the name of the pod set they belong to. */
export const PODSET_LABEL = 'kueue.x-k8s.io/podset';
/** Kueue's finalizer on Workloads, ClusterQueues, LocalQueues and ResourceFlavors still in use. */
export const RESOURCE_IN_USE_FINALIZER = 'kueue.x-k8s.io/resource-in-use';

/** A Workload's condition types. */
export const WORKLOAD_QUOTA_RESERVED = 'QuotaReserved';
export const WORKLOAD_ADMITTED = 'Admitted';
export const WORKLOAD_EVICTED = 'Evicted';
export const WORKLOAD_PREEMPTED = 'Preempted';
export const WORKLOAD_FINISHED = 'Finished';
export const WORKLOAD_REQUEUED = 'Requeued';
export const WORKLOAD_POD_SET_DEFAULT = 'main';

/** A ClusterQueue's or LocalQueue's condition type, and the reasons Kueue gives for it. */
export const QUEUE_ACTIVE = 'Active';
export const CLUSTER_QUEUE_ACTIVE_REASONS = {
  ready: 'Ready',
  flavorNotFound: 'FlavorNotFound',
  stopped: 'Stopped',
  terminating: 'Terminating',
  unknown: 'Unknown',
} as const;

/** Kueue's limits: resource groups per queue, flavors and resources per group, pod sets per workload. */
export const MAX_RESOURCE_GROUPS = 16;
export const MAX_FLAVORS_PER_GROUP = 64;
export const MAX_FLAVORS_PER_QUEUE = 256;
export const MAX_RESOURCES_PER_GROUP = 64;
export const MAX_POD_SETS = 8;

// ---------------------------------------------------------------------------------------------
// ResourceFlavor

export const ResourceFlavorSpecSchema = z
  .object({
    nodeLabels: LabelsSchema.optional().describe('Labels of the nodes this flavor stands for; injected as the node selector of an admitted workload\'s pods.'),
    nodeTaints: z.array(TaintSchema).optional().describe('Taints of the nodes this flavor stands for: a workload must tolerate them to be given the flavor.'),
    tolerations: z.array(TolerationSchema).optional().describe('Tolerations added to the pods of a workload admitted with this flavor.'),
    topologyName: z.string().optional().describe('Kueue\'s topology-aware scheduling (recorded, not used by cell).'),
  })
  .describe('Which nodes the flavor stands for, and what its pods are given.');
export type ResourceFlavorSpec = z.infer<typeof ResourceFlavorSpecSchema>;

export const ResourceFlavorSchema = z
  .object({
    apiVersion: z.literal(KUEUE_API_VERSION).default(KUEUE_API_VERSION),
    kind: z.literal('ResourceFlavor').default('ResourceFlavor'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: ResourceFlavorSpecSchema.prefault({}),
  })
  .describe('A variant of capacity (a GPU model, spot or on-demand machines), tied to the nodes that provide it.');
export type ResourceFlavor = z.infer<typeof ResourceFlavorSchema>;

// ---------------------------------------------------------------------------------------------
// ClusterQueue

export const ResourceQuotaEntrySchema = z.object({
  name: z.string().describe('The resource: cpu, memory, pods, nvidia.com/gpu, ...'),
  nominalQuota: QuantitySchema.describe('What the queue has of this resource in this flavor; at least 0.'),
  borrowingLimit: QuantitySchema
    .optional()
    .describe('The most it may borrow from its cohort beyond nominalQuota; unset: no limit. Only in a cohort.'),
  lendingLimit: QuantitySchema
    .optional()
    .describe('The most of its unused nominalQuota its cohort may borrow; unset: all of it. At most nominalQuota; only in a cohort.'),
});
export type ResourceQuotaEntry = z.infer<typeof ResourceQuotaEntrySchema>;

export const FlavorQuotasSchema = z.object({
  name: z.string().describe('A ResourceFlavor\'s name; one that does not exist makes the queue inactive.'),
  resources: z.array(ResourceQuotaEntrySchema).describe('The quota of each covered resource, in coveredResources\' order.'),
});
export type FlavorQuotas = z.infer<typeof FlavorQuotasSchema>;

export const ResourceGroupSchema = z.object({
  coveredResources: z.array(z.string()).describe('The resources the group\'s flavors provide quota for.'),
  flavors: z.array(FlavorQuotasSchema).describe('The flavors, tried in order, each with a quota for every covered resource.'),
});
export type ResourceGroup = z.infer<typeof ResourceGroupSchema>;

export const QueueingStrategySchema = z.enum(['StrictFIFO', 'BestEffortFIFO']);
export type QueueingStrategy = z.infer<typeof QueueingStrategySchema>;

export const StopPolicySchema = z.enum(['None', 'Hold', 'HoldAndDrain']);
export type StopPolicy = z.infer<typeof StopPolicySchema>;

export const ClusterQueuePreemptionSchema = z.object({
  reclaimWithinCohort: z
    .enum(['Never', 'LowerPriority', 'Any'])
    .default('Never')
    .describe('Whether a workload that fits in its nominal quota may preempt workloads of cohort members that borrow.'),
  borrowWithinCohort: z
    .object({
      policy: z.enum(['Never', 'LowerPriority']).default('Never'),
      maxPriorityThreshold: z.number().int().optional(),
    })
    .optional()
    .describe('Whether a workload that must borrow may preempt lower-priority workloads in the cohort.'),
  withinClusterQueue: z
    .enum(['Never', 'LowerPriority', 'LowerOrNewerEqualPriority'])
    .default('Never')
    .describe('Whether a workload that does not fit may preempt workloads of its own queue.'),
});
export type ClusterQueuePreemption = z.infer<typeof ClusterQueuePreemptionSchema>;

export const FlavorFungibilitySchema = z.object({
  whenCanBorrow: z.enum(['Borrow', 'MayStopSearch', 'TryNextFlavor']).default('Borrow'),
  whenCanPreempt: z.enum(['Preempt', 'MayStopSearch', 'TryNextFlavor']).default('TryNextFlavor'),
});
export type FlavorFungibility = z.infer<typeof FlavorFungibilitySchema>;

export const FairSharingSchema = z.object({
  weight: QuantitySchema.default('1').describe('The queue\'s weight in its cohort\'s fair sharing (default 1).'),
});
export type FairSharing = z.infer<typeof FairSharingSchema>;

export const ClusterQueueSpecSchema = z
  .object({
    resourceGroups: z.array(ResourceGroupSchema).optional().describe('Quota per flavor and resource, in groups of resources assigned one flavor together.'),
    cohort: z.string().optional().describe('Queues naming the same cohort lend each other their unused quota.'),
    queueingStrategy: QueueingStrategySchema.default('BestEffortFIFO').describe('StrictFIFO: the oldest workload blocks the rest; BestEffortFIFO: younger workloads that fit go ahead.'),
    namespaceSelector: LabelSelectorSchema.optional().describe('Namespaces whose workloads the queue admits: unset selects none, {} selects all.'),
    flavorFungibility: FlavorFungibilitySchema.prefault({}),
    preemption: ClusterQueuePreemptionSchema.prefault({}),
    stopPolicy: StopPolicySchema.default('None').describe('Hold: admit nothing new; HoldAndDrain: also evict what is admitted.'),
    fairSharing: FairSharingSchema.optional(),
  })
  .describe('The quota, cohort and policies of the queue.');
export type ClusterQueueSpec = z.infer<typeof ClusterQueueSpecSchema>;

export const ResourceUsageSchema = z.object({
  name: z.string(),
  total: QuantitySchema.optional().describe('What admitted workloads use, borrowed part included.'),
  borrowed: QuantitySchema.optional().describe('The part of total over nominalQuota, borrowed from the cohort.'),
});
export type ResourceUsage = z.infer<typeof ResourceUsageSchema>;

export const FlavorUsageSchema = z.object({
  name: z.string().describe('The flavor.'),
  resources: z.array(ResourceUsageSchema),
});
export type FlavorUsage = z.infer<typeof FlavorUsageSchema>;

export const ClusterQueueStatusSchema = z
  .object({
    flavorsReservation: z
      .array(FlavorUsageSchema)
      .optional()
      .describe('Quota reserved by workloads, per flavor and resource: the ledger the API server moves with every admission and release.'),
    flavorsUsage: z.array(FlavorUsageSchema).optional().describe('Quota used by admitted workloads, per flavor and resource; kept with flavorsReservation.'),
    pendingWorkloads: z.number().int().optional(),
    reservingWorkloads: z.number().int().optional(),
    admittedWorkloads: z.number().int().optional(),
    conditions: z.array(ConditionSchema).optional().describe('Active: whether the queue can admit workloads, and why not.'),
    fairSharing: z.object({ weightedShare: z.number().int() }).optional(),
  })
  .describe('What the queue holds and why it waits.');
export type ClusterQueueStatus = z.infer<typeof ClusterQueueStatusSchema>;

export const ClusterQueueSchema = z
  .object({
    apiVersion: z.literal(KUEUE_API_VERSION).default(KUEUE_API_VERSION),
    kind: z.literal('ClusterQueue').default('ClusterQueue'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: ClusterQueueSpecSchema.prefault({}),
    status: ClusterQueueStatusSchema.prefault({}),
  })
  .describe('A pool of quota, per flavor and resource, that workloads are admitted against.');
export type ClusterQueue = z.infer<typeof ClusterQueueSchema>;

// ---------------------------------------------------------------------------------------------
// LocalQueue

export const LocalQueueResourceUsageSchema = z.object({
  name: z.string(),
  total: QuantitySchema.optional(),
});

export const LocalQueueFlavorUsageSchema = z.object({
  name: z.string(),
  resources: z.array(LocalQueueResourceUsageSchema),
});
export type LocalQueueFlavorUsage = z.infer<typeof LocalQueueFlavorUsageSchema>;

export const LocalQueueSchema = z
  .object({
    apiVersion: z.literal(KUEUE_API_VERSION).default(KUEUE_API_VERSION),
    kind: z.literal('LocalQueue').default('LocalQueue'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: z
      .object({
        clusterQueue: z.string().describe('The ClusterQueue this queue\'s workloads are admitted by.'),
        stopPolicy: StopPolicySchema.default('None'),
        fairSharing: FairSharingSchema.optional(),
      })
      .describe('Which ClusterQueue the namespace\'s workloads go to.'),
    status: z
      .object({
        pendingWorkloads: z.number().int().optional(),
        reservingWorkloads: z.number().int().optional(),
        admittedWorkloads: z.number().int().optional(),
        conditions: z.array(ConditionSchema).optional(),
        flavorsReservation: z.array(LocalQueueFlavorUsageSchema).optional(),
        flavorUsage: z.array(LocalQueueFlavorUsageSchema).optional(),
      })
      .prefault({}),
  })
  .describe('A namespaced queue users submit workloads to (label kueue.x-k8s.io/queue-name).');
export type LocalQueue = z.infer<typeof LocalQueueSchema>;

// ---------------------------------------------------------------------------------------------
// Workload

export const PodSetSchema = z.object({
  name: z.string().default(WORKLOAD_POD_SET_DEFAULT).describe('The pod set\'s name (default main).'),
  template: PodTemplateSpecSchema,
  count: z.number().int().default(1).describe('How many pods of the template.'),
  minCount: z.number().int().optional().describe('The fewest pods partial admission may give the set.'),
});
export type PodSet = z.infer<typeof PodSetSchema>;

export const PodSetAssignmentSchema = z.object({
  name: z.string().describe('The pod set.'),
  flavors: z.record(z.string(), z.string()).optional().describe('The flavor given for each resource.'),
  resourceUsage: ResourceListSchema.optional().describe('What all the pods of the set use, charged to the flavors above.'),
  count: z.number().int().optional().describe('The pods admitted.'),
});
export type PodSetAssignment = z.infer<typeof PodSetAssignmentSchema>;

export const AdmissionSchema = z.object({
  clusterQueue: z.string().describe('The ClusterQueue that reserved the quota.'),
  podSetAssignments: z.array(PodSetAssignmentSchema),
});
export type Admission = z.infer<typeof AdmissionSchema>;

export const WorkloadSpecSchema = z
  .object({
    podSets: z.array(PodSetSchema).describe('Sets of identical pods, 1 to 8; admitted whole or not at all.'),
    queueName: z.string().optional().describe('The LocalQueue, in the workload\'s namespace.'),
    priorityClassName: z.string().optional(),
    priority: z.number().int().optional(),
    priorityClassSource: z.enum(['', 'kueue.x-k8s.io/workloadpriorityclass', 'scheduling.k8s.io/priorityclass']).default(''),
    active: z.boolean().default(true).describe('False: never admitted, and evicted if it is.'),
    maximumExecutionTimeSeconds: z.number().int().optional(),
  })
  .describe('What the workload needs to run.');
export type WorkloadSpec = z.infer<typeof WorkloadSpecSchema>;

export const WorkloadStatusSchema = z
  .object({
    admission: AdmissionSchema.optional().describe('Where quota is reserved for it: set when admitted, cleared when evicted; never changed while set.'),
    requeueState: z.object({ count: z.number().int().optional(), requeueAt: TimeSchema.optional() }).optional(),
    conditions: z.array(ConditionSchema).optional().describe('QuotaReserved, Admitted, Evicted, Preempted, Requeued, Finished.'),
    reclaimablePods: z.array(z.object({ name: z.string(), count: z.number().int() })).optional(),
    resourceRequests: z.array(z.object({ name: z.string(), resources: ResourceListSchema.optional() })).optional(),
    accumulatedPastExexcutionTimeSeconds: z.number().int().optional(),
  })
  .describe('Its admission and why it waits.');
export type WorkloadStatus = z.infer<typeof WorkloadStatusSchema>;

export const WorkloadSchema = z
  .object({
    apiVersion: z.literal(KUEUE_API_VERSION).default(KUEUE_API_VERSION),
    kind: z.literal('Workload').default('Workload'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: WorkloadSpecSchema,
    status: WorkloadStatusSchema.prefault({}),
  })
  .describe('A unit of admission: a Job\'s pods, admitted against a ClusterQueue\'s quota all together.');
export type Workload = z.infer<typeof WorkloadSchema>;

// ---------------------------------------------------------------------------------------------
// Conditions

type WithConditions = { status?: { conditions?: readonly { type: string; status: string }[] | undefined } };

/** Whether the object has the condition `type` with status True. */
export function conditionTrue(obj: WithConditions, type: string): boolean {
  return (obj.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export function isFinished(wl: Pick<Workload, 'status'>): boolean {
  return conditionTrue(wl, WORKLOAD_FINISHED);
}

export function isAdmitted(wl: Pick<Workload, 'status'>): boolean {
  return conditionTrue(wl, WORKLOAD_ADMITTED);
}

/** Quota is reserved for it: status.admission set, and not finished. */
export function hasQuotaReservation(wl: Pick<Workload, 'status'>): boolean {
  return wl.status.admission !== undefined && !isFinished(wl);
}

/** The fair-sharing weight of a queue (1 when unset). */
export function fairSharingWeight(q: Pick<ClusterQueue, 'spec'>): Quantity {
  return Quantity.parse(q.spec.fairSharing?.weight ?? '1');
}

// ---------------------------------------------------------------------------------------------
// Validation (Kueue's webhooks and CEL rules)

function each(field: string, value: string, errs: string[]): FieldCause[] {
  return errs.map((e) => cause.invalid(field, value, e));
}

function nonNegativeQuantity(field: string, value: string | undefined): FieldCause[] {
  if (value === undefined) return [];
  return Quantity.parse(value).isNegative() ? [cause.invalid(field, value, 'must be greater than or equal to 0')] : [];
}


export function resourceFlavorCauses(rf: ResourceFlavor): FieldCause[] {
  const out = labelsCauses(rf.spec.nodeLabels, 'spec.nodeLabels');
  (rf.spec.nodeTaints ?? []).forEach((t, i) => {
    out.push(...each(`spec.nodeTaints[${i}].key`, t.key, qualifiedNameErrors(t.key)));
  });
  return out;
}

export function clusterQueueCauses(cq: ClusterQueue): FieldCause[] {
  const out: FieldCause[] = [];
  const { spec } = cq;
  const inCohort = spec.cohort !== undefined && spec.cohort !== '';
  if (inCohort) out.push(...each('spec.cohort', spec.cohort!, dns1123SubdomainErrors(spec.cohort!)));
  out.push(...labelSelectorCauses(spec.namespaceSelector, 'spec.namespaceSelector'));
  if (spec.fairSharing) out.push(...nonNegativeQuantity('spec.fairSharing.weight', spec.fairSharing.weight));
  const groups = spec.resourceGroups ?? [];
  if (groups.length > MAX_RESOURCE_GROUPS) out.push(cause.tooMany('spec.resourceGroups', groups.length, MAX_RESOURCE_GROUPS));
  const resourceGroupOf = new Map<string, number>();
  const flavorSeen = new Set<string>();
  let flavorCount = 0;
  groups.forEach((g, gi) => {
    const gp = `spec.resourceGroups[${gi}]`;
    if (g.coveredResources.length === 0) out.push(cause.required(`${gp}.coveredResources`, 'must list at least one resource'));
    if (g.coveredResources.length > MAX_RESOURCES_PER_GROUP) out.push(cause.tooMany(`${gp}.coveredResources`, g.coveredResources.length, MAX_RESOURCES_PER_GROUP));
    g.coveredResources.forEach((r, ri) => {
      const f = `${gp}.coveredResources[${ri}]`;
      out.push(...each(f, r, qualifiedNameErrors(r)));
      // A resource belongs to one group: its flavor is chosen once per workload.
      if (resourceGroupOf.has(r)) out.push(cause.duplicate(f, r));
      else resourceGroupOf.set(r, gi);
    });
    if (g.flavors.length === 0) out.push(cause.required(`${gp}.flavors`, 'must list at least one flavor'));
    if (g.flavors.length > MAX_FLAVORS_PER_GROUP) out.push(cause.tooMany(`${gp}.flavors`, g.flavors.length, MAX_FLAVORS_PER_GROUP));
    flavorCount += g.flavors.length;
    g.flavors.forEach((fq, fi) => {
      const fp = `${gp}.flavors[${fi}]`;
      out.push(...each(`${fp}.name`, fq.name, dns1123SubdomainErrors(fq.name)));
      // A flavor belongs to one group, as Kueue requires: usage is kept per flavor and resource.
      if (flavorSeen.has(fq.name)) out.push(cause.duplicate(`${fp}.name`, fq.name));
      flavorSeen.add(fq.name);
      if (fq.resources.length !== g.coveredResources.length) {
        out.push(cause.invalid(`${fp}.resources`, fq.resources.map((r) => r.name), 'flavors must have the same number of resources as the coveredResources'));
      }
      const names = new Set<string>();
      fq.resources.forEach((rq, ri) => {
        const rp = `${fp}.resources[${ri}]`;
        if (names.has(rq.name)) out.push(cause.duplicate(`${rp}.name`, rq.name));
        names.add(rq.name);
        if (ri < g.coveredResources.length && g.coveredResources[ri] !== rq.name) {
          out.push(cause.invalid(`${rp}.name`, rq.name, `must match the name in coveredResources[${ri}] (${JSON.stringify(g.coveredResources[ri])})`));
        }
        out.push(...nonNegativeQuantity(`${rp}.nominalQuota`, rq.nominalQuota));
        out.push(...nonNegativeQuantity(`${rp}.borrowingLimit`, rq.borrowingLimit));
        out.push(...nonNegativeQuantity(`${rp}.lendingLimit`, rq.lendingLimit));
        if (!inCohort && rq.borrowingLimit !== undefined) out.push(cause.invalid(`${rp}.borrowingLimit`, rq.borrowingLimit, 'must be nil when cohort is empty'));
        if (!inCohort && rq.lendingLimit !== undefined) out.push(cause.invalid(`${rp}.lendingLimit`, rq.lendingLimit, 'must be nil when cohort is empty'));
        if (rq.lendingLimit !== undefined && Quantity.parse(rq.lendingLimit).cmp(Quantity.parse(rq.nominalQuota)) > 0) {
          out.push(cause.invalid(`${rp}.lendingLimit`, rq.lendingLimit, `must be less than or equal to the nominalQuota (${rq.nominalQuota})`));
        }
      });
    });
  });
  if (flavorCount > MAX_FLAVORS_PER_QUEUE) out.push(cause.tooMany('spec.resourceGroups', flavorCount, MAX_FLAVORS_PER_QUEUE));
  out.push(...nonNegative('status.pendingWorkloads', cq.status.pendingWorkloads));
  out.push(...nonNegative('status.reservingWorkloads', cq.status.reservingWorkloads));
  out.push(...nonNegative('status.admittedWorkloads', cq.status.admittedWorkloads));
  return out;
}

export function localQueueCauses(lq: LocalQueue): FieldCause[] {
  const out: FieldCause[] = [];
  if (lq.spec.clusterQueue === '') out.push(cause.required('spec.clusterQueue'));
  else out.push(...each('spec.clusterQueue', lq.spec.clusterQueue, dns1123SubdomainErrors(lq.spec.clusterQueue)));
  return out;
}

/** A template pod's causes, on the template's own paths (`spec.podSets[0].template.spec.containers[0].name`). */
function podSetTemplateCauses(template: PodTemplateSpec, prefix: string): FieldCause[] {
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: template.metadata, spec: template.spec, status: {} };
  const out = podCauses(pod).map((c) => ({ ...c, field: c.field.startsWith('spec') ? `${prefix}.${c.field}` : c.field }));
  out.push(...labelsCauses(template.metadata.labels, `${prefix}.metadata.labels`));
  return out;
}

export function workloadCauses(wl: Workload): FieldCause[] {
  const out: FieldCause[] = [];
  const { spec, status } = wl;
  if (spec.podSets.length === 0) out.push(cause.required('spec.podSets', 'must have at least one pod set'));
  if (spec.podSets.length > MAX_POD_SETS) out.push(cause.tooMany('spec.podSets', spec.podSets.length, MAX_POD_SETS));
  const names = new Set<string>();
  let withMinCount = 0;
  spec.podSets.forEach((ps, i) => {
    const p = `spec.podSets[${i}]`;
    out.push(...each(`${p}.name`, ps.name, dns1123LabelErrors(ps.name)));
    if (names.has(ps.name)) out.push(cause.duplicate(`${p}.name`, ps.name));
    names.add(ps.name);
    out.push(...nonNegative(`${p}.count`, ps.count));
    if (ps.minCount !== undefined) {
      withMinCount++;
      if (ps.minCount < 1 || ps.minCount > ps.count) out.push(cause.invalid(`${p}.minCount`, ps.minCount, 'minCount should be positive and less or equal to count'));
    }
    out.push(...podSetTemplateCauses(ps.template, `${p}.template`));
  });
  if (withMinCount > 1) out.push(cause.invalid('spec.podSets', withMinCount, 'at most one podSet can use minCount'));
  if (spec.queueName !== undefined && spec.queueName !== '') out.push(...each('spec.queueName', spec.queueName, dns1123SubdomainErrors(spec.queueName)));
  if (spec.priorityClassName !== undefined && spec.priorityClassName !== '' && spec.priority === undefined) {
    out.push(cause.required('spec.priority', 'priority should not be nil when priorityClassName is set'));
  }
  if (spec.maximumExecutionTimeSeconds !== undefined && spec.maximumExecutionTimeSeconds < 1) {
    out.push(cause.invalid('spec.maximumExecutionTimeSeconds', spec.maximumExecutionTimeSeconds, 'must be greater than or equal to 1'));
  }
  const admission = status.admission;
  if (admission) {
    if (admission.clusterQueue === '') out.push(cause.required('status.admission.clusterQueue'));
    else out.push(...each('status.admission.clusterQueue', admission.clusterQueue, dns1123SubdomainErrors(admission.clusterQueue)));
    const assigned = new Set<string>();
    admission.podSetAssignments.forEach((a, i) => {
      const p = `status.admission.podSetAssignments[${i}]`;
      if (!names.has(a.name)) out.push(cause.notSupported(`${p}.name`, a.name, [...names]));
      if (assigned.has(a.name)) out.push(cause.duplicate(`${p}.name`, a.name));
      assigned.add(a.name);
      out.push(...nonNegative(`${p}.count`, a.count));
      for (const [resource, flavor] of Object.entries(a.flavors ?? {})) {
        out.push(...each(childPath(`${p}.flavors`, resource), flavor, dns1123SubdomainErrors(flavor)));
      }
      for (const [resource, value] of Object.entries(a.resourceUsage ?? {})) {
        out.push(...nonNegativeQuantity(childPath(`${p}.resourceUsage`, resource), value));
      }
    });
  }
  return out;
}
