// Definition names in the OpenAPI documents, spelled the way Kubernetes spells them, so clients and
// tools that key on them (kubectl explain, generators) find what they expect: Kubernetes' own groups
// as `io.k8s.api.<group>.<version>.<Kind>`, the meta types under `io.k8s.apimachinery`, and every
// other group as its reversed domain (`scheduling.cell.dev` → `dev.cell.scheduling`), the way
// kube-apiserver names custom resources.
import { EndpointSchema, EndpointSlicePortSchema } from '../../shared/api/endpoint-slice.js';
import { HTTPIngressPathSchema, IngressBackendSchema, IngressRuleSchema, IngressSpecSchema, NETWORKING_GROUP } from '../../shared/api/networking.js';
import { EndpointAddressSchema, EndpointPortSchema, EndpointSubsetSchema, ServicePortSchema, ServiceSpecSchema } from '../../shared/api/service.js';
import type { z } from 'zod';
import { LeaseSpecSchema } from '../../shared/api/coordination.js';
import {
  AffinitySchema,
  ContainerPortSchema,
  ContainerSchema,
  EphemeralContainerSchema,
  ContainerStateSchema,
  ContainerStatusSchema,
  EnvVarSchema,
  ExecActionSchema,
  GRPCActionSchema,
  HTTPGetActionSchema,
  HTTPHeaderSchema,
  NodeAddressSchema,
  NodeAffinitySchema,
  NodeConditionSchema,
  NodeSelectorRequirementSchema,
  NodeSelectorTermSchema,
  NodeSpecSchema,
  NodeStatusSchema,
  NodeSystemInfoSchema,
  ObjectReferenceSchema,
  PodAffinitySchema,
  PodAffinityTermSchema,
  PodConditionSchema,
  PodSpecSchema,
  PodStatusSchema,
  ProbeSchema,
  LifecycleSchema,
  LifecycleHandlerSchema,
  SleepActionSchema,
  QuantitySchema,
  ResourceRequirementsSchema,
  TaintSchema,
  TCPSocketActionSchema,
  TolerationSchema,
  TopologySpreadConstraintSchema,
  WeightedPodAffinityTermSchema,
} from '../../shared/api/core.js';
import {
  ConditionSchema,
  DeleteOptionsSchema,
  LabelSelectorRequirementSchema,
  LabelSelectorSchema,
  ListMetaSchema,
  ManagedFieldsEntrySchema,
  MicroTimeSchema,
  ObjectMetaSchema,
  OwnerReferenceSchema,
  PreconditionsSchema,
  StatusCauseSchema,
  StatusDetailsSchema,
  StatusSchema,
  TimeSchema,
} from '../../shared/api/meta.js';
import {
  AllocatedPodSchema,
  HostPortSchema,
  HostPortUseSchema,
  NodeAllocationSpecSchema,
  PlacementBindingSchema,
  PlacementResultSchema,
  PlacementSpecSchema,
  PlacementStatusSchema,
  PodGroupSpecSchema,
  PodGroupStatusSchema,
} from '../../shared/api/scheduling.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Where a group's types live: `io.k8s.api.core` for core, `dev.cell.scheduling` for `scheduling.cell.dev`. */
export function packageOf(group: string): string {
  if (group === '') return 'io.k8s.api.core';
  // Kubernetes' own groups (`coordination.k8s.io`, `rbac.authorization.k8s.io`) keep their first label.
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.split('.')[0]!}`;
  // Kubernetes' own groups without a domain (`policy`).
  if (!group.includes('.')) return `io.k8s.api.${group}`;
  return group.split('.').reverse().join('.');
}

/** `io.k8s.api.core.v1.Pod`, `dev.cell.scheduling.v1alpha1.Placement`. */
export function definitionName(group: string, version: string, kind: string): string {
  return `${packageOf(group)}.${version}.${kind}`;
}

/** Names of the meta types the operations refer to (bodies and responses). */
export const META_NAMES = {
  status: `${META}.Status`,
  deleteOptions: `${META}.DeleteOptions`,
  patch: `${META}.Patch`,
  watchEvent: `${META}.WatchEvent`,
} as const;

/**
 * Sub-schemas that get a definition of their own (and a `$ref` wherever they are used), with the
 * Kubernetes name of the type each one models. Anything not listed is written inline.
 */
export function sharedSchemaNames(): Map<z.core.$ZodType, string> {
  const core = (kind: string) => definitionName('', 'v1', kind);
  const coordination = (kind: string) => definitionName('coordination.k8s.io', 'v1', kind);
  const gang = (kind: string) => definitionName('scheduling.x-k8s.io', 'v1alpha1', kind);
  const cell = (kind: string) => definitionName('scheduling.cell.dev', 'v1alpha1', kind);
  const entries: [z.core.$ZodType, string][] = [
    [TimeSchema, `${META}.Time`],
    [MicroTimeSchema, `${META}.MicroTime`],
    [ObjectMetaSchema, `${META}.ObjectMeta`],
    [ListMetaSchema, `${META}.ListMeta`],
    [OwnerReferenceSchema, `${META}.OwnerReference`],
    [ManagedFieldsEntrySchema, `${META}.ManagedFieldsEntry`],
    [LabelSelectorSchema, `${META}.LabelSelector`],
    [LabelSelectorRequirementSchema, `${META}.LabelSelectorRequirement`],
    [ConditionSchema, `${META}.Condition`],
    [StatusSchema, `${META}.Status`],
    [StatusDetailsSchema, `${META}.StatusDetails`],
    [StatusCauseSchema, `${META}.StatusCause`],
    [DeleteOptionsSchema, `${META}.DeleteOptions`],
    [PreconditionsSchema, `${META}.Preconditions`],
    [QuantitySchema, 'io.k8s.apimachinery.pkg.api.resource.Quantity'],
    [ObjectReferenceSchema, core('ObjectReference')],
    [TaintSchema, core('Taint')],
    [NodeSpecSchema, core('NodeSpec')],
    [NodeStatusSchema, core('NodeStatus')],
    [NodeConditionSchema, core('NodeCondition')],
    [NodeAddressSchema, core('NodeAddress')],
    [NodeSystemInfoSchema, core('NodeSystemInfo')],
    [PodSpecSchema, core('PodSpec')],
    [PodStatusSchema, core('PodStatus')],
    [PodConditionSchema, core('PodCondition')],
    [ContainerSchema, core('Container')],
    [EphemeralContainerSchema, core('EphemeralContainer')],
    [ContainerPortSchema, core('ContainerPort')],
    [EnvVarSchema, core('EnvVar')],
    [ResourceRequirementsSchema, core('ResourceRequirements')],
    [ProbeSchema, core('Probe')],
    [ExecActionSchema, core('ExecAction')],
    [HTTPGetActionSchema, core('HTTPGetAction')],
    [HTTPHeaderSchema, core('HTTPHeader')],
    [TCPSocketActionSchema, core('TCPSocketAction')],
    [GRPCActionSchema, core('GRPCAction')],
    [LifecycleSchema, core('Lifecycle')],
    [LifecycleHandlerSchema, core('LifecycleHandler')],
    [SleepActionSchema, core('SleepAction')],
    [ContainerStatusSchema, core('ContainerStatus')],
    [ContainerStateSchema, core('ContainerState')],
    [AffinitySchema, core('Affinity')],
    [NodeAffinitySchema, core('NodeAffinity')],
    [NodeSelectorTermSchema, core('NodeSelectorTerm')],
    [NodeSelectorRequirementSchema, core('NodeSelectorRequirement')],
    [PodAffinitySchema, core('PodAffinity')],
    [PodAffinityTermSchema, core('PodAffinityTerm')],
    [WeightedPodAffinityTermSchema, core('WeightedPodAffinityTerm')],
    [TolerationSchema, core('Toleration')],
    [TopologySpreadConstraintSchema, core('TopologySpreadConstraint')],
    [ServiceSpecSchema, core('ServiceSpec')],
    [ServicePortSchema, core('ServicePort')],
    [EndpointSubsetSchema, core('EndpointSubset')],
    [EndpointAddressSchema, core('EndpointAddress')],
    [EndpointPortSchema, core('EndpointPort')],
    [EndpointSchema, definitionName('discovery.k8s.io', 'v1', 'Endpoint')],
    [EndpointSlicePortSchema, definitionName('discovery.k8s.io', 'v1', 'EndpointPort')],
    [IngressSpecSchema, definitionName(NETWORKING_GROUP, 'v1', 'IngressSpec')],
    [IngressRuleSchema, definitionName(NETWORKING_GROUP, 'v1', 'IngressRule')],
    [HTTPIngressPathSchema, definitionName(NETWORKING_GROUP, 'v1', 'HTTPIngressPath')],
    [IngressBackendSchema, definitionName(NETWORKING_GROUP, 'v1', 'IngressBackend')],
    [LeaseSpecSchema, coordination('LeaseSpec')],
    [PodGroupSpecSchema, gang('PodGroupSpec')],
    [PodGroupStatusSchema, gang('PodGroupStatus')],
    [NodeAllocationSpecSchema, cell('NodeAllocationSpec')],
    [AllocatedPodSchema, cell('AllocatedPod')],
    [HostPortSchema, cell('HostPort')],
    [HostPortUseSchema, cell('HostPortUse')],
    [PlacementSpecSchema, cell('PlacementSpec')],
    [PlacementStatusSchema, cell('PlacementStatus')],
    [PlacementBindingSchema, cell('PlacementBinding')],
    [PlacementResultSchema, cell('PlacementResult')],
  ];
  return new Map(entries);
}
