// Scheduling kinds beyond core v1:
// - PodGroup (scheduling.x-k8s.io/v1alpha1), gang scheduling as the scheduler-plugins project defines it;
// - NodeAllocation and Placement (scheduling.cell.dev/v1alpha1), cell's optimistic-concurrency
//   ledger and multi-binding commit (DESIGN §3).
import { z } from 'zod';
import { ProtocolSchema, ResourceListSchema } from './core.js';
import { ConditionSchema, ObjectMetaSchema, TimeSchema } from './meta.js';

// ---------------------------------------------------------------------------------------------
// PodGroup

/** Pods join a group by carrying this label with the group's name. */
export const POD_GROUP_LABEL = 'scheduling.x-k8s.io/pod-group';

export const PodGroupPhaseSchema = z.enum([
  'Pending',
  'PreScheduling',
  'Scheduling',
  'Scheduled',
  'Running',
  'Succeeded',
  'Failed',
  'Finished',
  'Unknown',
]);
export type PodGroupPhase = z.infer<typeof PodGroupPhaseSchema>;

export const PodGroupSpecSchema = z.object({
  /** Pods that must be placeable together before any of them is bound. */
  minMember: z.number().int().describe('How many pods of the group must be placeable together before any of them is bound.'),
  minResources: ResourceListSchema.optional().describe('Resources the whole group needs at least.'),
  /** Unset: the scheduler's own default applies. */
  scheduleTimeoutSeconds: z
    .number()
    .int()
    .optional()
    .describe("How long the scheduler keeps trying to place the whole group; unset: the scheduler's default."),
});

export const PodGroupStatusSchema = z.object({
  phase: PodGroupPhaseSchema.optional(),
  occupiedBy: z.string().optional(),
  scheduled: z.number().int().optional(),
  running: z.number().int().optional(),
  succeeded: z.number().int().optional(),
  failed: z.number().int().optional(),
  scheduleStartTime: TimeSchema.optional(),
  /** Set by schedulers, e.g. PodGroupScheduled=False reason Unschedulable after scheduleTimeoutSeconds. */
  conditions: z.array(ConditionSchema).optional(),
});

export const PodGroupSchema = z
  .object({
    apiVersion: z.literal('scheduling.x-k8s.io/v1alpha1').default('scheduling.x-k8s.io/v1alpha1'),
    kind: z.literal('PodGroup').default('PodGroup'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: PodGroupSpecSchema,
    status: PodGroupStatusSchema.prefault({}),
  })
  .describe('A gang: pods carrying the label scheduling.x-k8s.io/pod-group=<name> are bound together or not at all.');
export type PodGroup = z.infer<typeof PodGroupSchema>;
export type PodGroupSpec = z.infer<typeof PodGroupSpecSchema>;
export type PodGroupStatus = z.infer<typeof PodGroupStatusSchema>;

// ---------------------------------------------------------------------------------------------
// NodeAllocation: one per node, same name, written only by the API server in the transaction
// that binds or releases a pod. Its resourceVersion is the node's allocation sequence number.

export const HostPortSchema = z.object({
  port: z.number().int(),
  protocol: ProtocolSchema.default('TCP'),
  /** Absent or 0.0.0.0: every address of the node. */
  hostIP: z.string().optional(),
});
export type HostPort = z.infer<typeof HostPortSchema>;

export const HostPortUseSchema = HostPortSchema.extend({ podUID: z.string() });
export type HostPortUse = z.infer<typeof HostPortUseSchema>;

/**
 * One bound, non-terminal pod and what it holds on the node: its uid, not its name. Every binding
 * rewrites the node's whole ledger, so each byte of an entry is paid again by every later binding
 * to the node; a reader that wants names finds the pods by `spec.nodeName` and joins on the uid.
 */
export const AllocatedPodSchema = z.object({
  uid: z.string(),
  /** The pod's effective requests (Kubernetes' rule: max(sum of containers, each init container)). */
  requests: ResourceListSchema.prefault({}),
  hostPorts: z.array(HostPortSchema).optional(),
});
export type AllocatedPod = z.infer<typeof AllocatedPodSchema>;

/**
 * All in spec, no status: the ledger is one consistent record written whole in one transaction, and
 * keeping it out of `status` keeps it clear of the main-resource/status-subresource split.
 */
export const NodeAllocationSpecSchema = z.object({
  /** The node's allocatable as of the last write, so a fit check needs only the ledger. */
  allocatable: ResourceListSchema.prefault({}),
  /** Sum of `pods[].requests`, plus `pods`: the number of pods. */
  allocated: ResourceListSchema.prefault({}),
  /** Every host port of `pods[]`, with its owner, for the host-ports check. */
  hostPorts: z.array(HostPortUseSchema).default([]),
  pods: z.array(AllocatedPodSchema).default([]),
});
export type NodeAllocationSpec = z.infer<typeof NodeAllocationSpecSchema>;

export const NodeAllocationSchema = z
  .object({
    apiVersion: z.literal('scheduling.cell.dev/v1alpha1').default('scheduling.cell.dev/v1alpha1'),
    kind: z.literal('NodeAllocation').default('NodeAllocation'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: NodeAllocationSpecSchema.prefault({}),
  })
  .describe(
    "A node's ledger of what is bound to it, written by the API server in the transaction that binds or releases a pod. " +
      "Read-only; its resourceVersion is the node's allocation sequence number.",
  );
export type NodeAllocation = z.infer<typeof NodeAllocationSchema>;

// ---------------------------------------------------------------------------------------------
// Placement: many bindings in one create request (an Omega transaction, a Nomad plan). Not
// stored; the response carries each binding's outcome.

export const PlacementModeSchema = z.enum(['Incremental', 'AllOrNothing']);
export type PlacementMode = z.infer<typeof PlacementModeSchema>;

/**
 * Fine: a binding fails only if its pod no longer fits. Coarse: every change to the allocation since
 * `allocationResourceVersion` fails it. Unset: coarse for bindings that carry a version, fine otherwise.
 */
export const ConflictModeSchema = z.enum(['Fine', 'Coarse']);
export type ConflictMode = z.infer<typeof ConflictModeSchema>;

export const PlacementBindingSchema = z.object({
  podNamespace: z.string().default('default'),
  podName: z.string(),
  /** When set, the pod must still be this incarnation (uid precondition). */
  podUID: z.string().optional(),
  nodeName: z.string(),
  /** The NodeAllocation resourceVersion the scheduler decided on (coarse-grained detection). */
  allocationResourceVersion: z.string().optional(),
});
export type PlacementBinding = z.infer<typeof PlacementBindingSchema>;

export const PlacementOutcomeSchema = z.enum(['Bound', 'Conflict', 'Invalid', 'NotFound', 'Skipped']);
export type PlacementOutcome = z.infer<typeof PlacementOutcomeSchema>;

/**
 * Why a binding did not commit, for programs (the message is for people): a scheduler decides
 * what to do from this, never from the wording.
 *   PodNotFound / NodeNotFound   gone (NotFound)
 *   PodTaken                     already bound, by someone else or an earlier attempt
 *   PodChanged                   being deleted, finished, or replaced by another incarnation
 *   Insufficient / HostPortInUse the node's ledger has no room for it
 *   LedgerMoved                  coarse detection: the ledger changed since the decision; or it
 *                                kept changing under a fine-grained commit
 *   Duplicate / NotAttempted     the same pod twice in one Placement / not tried (AllOrNothing)
 */
export const PlacementReasonSchema = z.enum([
  'PodNotFound',
  'NodeNotFound',
  'PodTaken',
  'PodChanged',
  'Insufficient',
  'HostPortInUse',
  'LedgerMoved',
  'Duplicate',
  'NotAttempted',
]);
export type PlacementReason = z.infer<typeof PlacementReasonSchema>;

/**
 * A refused Binding's 409 Status carries its PlacementReason as `details.causes[0].reason`, and the
 * ledger version the refusal was decided on as the message of a cause with this reason.
 */
export const ALLOCATION_VERSION_CAUSE = 'AllocationResourceVersion';

export const PlacementResultSchema = z.object({
  podNamespace: z.string(),
  podName: z.string(),
  nodeName: z.string(),
  outcome: PlacementOutcomeSchema,
  reason: PlacementReasonSchema.optional(),
  message: z.string().optional(),
  /**
   * The node ledger's resourceVersion the server decided on (Insufficient, HostPortInUse,
   * LedgerMoved): equal to the one the scheduler decided on means its view was not stale.
   */
  allocationResourceVersion: z.string().optional(),
});
export type PlacementResult = z.infer<typeof PlacementResultSchema>;

export const PlacementSpecSchema = z.object({
  mode: PlacementModeSchema.default('Incremental').describe(
    'Incremental commits every binding that still fits and reports the rest; AllOrNothing commits all of them or none.',
  ),
  conflictMode: ConflictModeSchema.optional().describe(
    "Fine: a binding fails only if its pod no longer fits. Coarse: any change to the node's allocation since " +
      'allocationResourceVersion fails it. Unset: coarse for bindings that carry a version, fine otherwise.',
  ),
  bindings: z.array(PlacementBindingSchema).describe('The pods to bind, each to its node.'),
});
export type PlacementSpec = z.infer<typeof PlacementSpecSchema>;

export const PlacementStatusSchema = z.object({
  /** One per spec.bindings item, same order. */
  results: z.array(PlacementResultSchema).default([]),
  /** How many results are Bound. */
  bound: z.number().int().default(0),
});
export type PlacementStatus = z.infer<typeof PlacementStatusSchema>;

export const PlacementSchema = z
  .object({
    apiVersion: z.literal('scheduling.cell.dev/v1alpha1').default('scheduling.cell.dev/v1alpha1'),
    kind: z.literal('Placement').default('Placement'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: PlacementSpecSchema,
    status: PlacementStatusSchema.optional().describe("Each binding's outcome, in the response; never stored."),
  })
  .describe('Many bindings committed in one request, each checked against its node allocation. Create-only; never stored.');
export type Placement = z.infer<typeof PlacementSchema>;
