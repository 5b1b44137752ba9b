// The one table of everything the API serves. Discovery lists it, routing resolves paths with it,
// validation takes its schema and rules, field selectors check against it, and cellctl resolves
// `po`, `pod`, `pods`, `podgroups.scheduling.x-k8s.io` through it.
import type { z } from 'zod';
import type { FieldCause } from '../errors.js';
import {
  AUTOSCALING_GROUP,
  HorizontalPodAutoscalerSchema,
  HorizontalPodAutoscalerV1Schema,
  horizontalPodAutoscalerCauses,
  horizontalPodAutoscalerFromV1,
  horizontalPodAutoscalerToV1,
  horizontalPodAutoscalerV1Causes,
  type HorizontalPodAutoscaler,
  type HorizontalPodAutoscalerV1,
} from './autoscaling.js';
import { DISCOVERY_GROUP, endpointSliceCauses, EndpointSliceSchema, type EndpointSlice } from './endpoint-slice.js';
import { ingressCauses, ingressClassCauses, IngressClassSchema, IngressSchema, NETWORKING_GROUP, type Ingress, type IngressClass } from './networking.js';
import { APIEXTENSIONS_GROUP, customResourceDefinitionCauses, CustomResourceDefinitionSchema, type CustomResourceDefinition } from './apiextensions.js';
import { cause } from './field-errors.js';
import { endpointsCauses, EndpointsSchema, serviceCauses, ServiceSchema, type Endpoints, type Service } from './service.js';
import { configMapCauses, ConfigMapSchema, secretCauses, SecretSchema, type ConfigMap, type Secret } from './config.js';
import { LeaseSchema, type Lease } from './coordination.js';
import {
  BindingSchema,
  EventSchema,
  NamespaceSchema,
  NodeSchema,
  PodSchema,
  type Binding,
  type Event,
  type Namespace,
  type Node,
  type Pod,
} from './core.js';
import {
  noCauses,
  selfSubjectAccessReviewCauses,
  subjectAccessReviewCauses,
  SelfSubjectAccessReviewSchema,
  SelfSubjectReviewSchema,
  SelfSubjectRulesReviewSchema,
  SubjectAccessReviewSchema,
  type SelfSubjectAccessReview,
  type SelfSubjectReview,
  type SelfSubjectRulesReview,
  type SubjectAccessReview,
} from './authorization.js';
import type { KubeObject } from './meta.js';
import { limitRangeCauses, LimitRangeSchema, type LimitRange } from './limit-range.js';
import { priorityClassCauses, PriorityClassSchema, SCHEDULING_GROUP, type PriorityClass } from './priority-class.js';
import {
  ServiceAccountSchema,
  tokenRequestCauses,
  TokenRequestSchema,
  tokenReviewCauses,
  TokenReviewSchema,
  type ServiceAccount,
  type TokenRequest,
  type TokenReview,
} from './serviceaccount.js';
import { METRICS_GROUP, METRICS_VERSION, NodeMetricsSchema, PodMetricsSchema, type NodeMetrics, type PodMetrics } from './metrics.js';
import {
  bindingCauses,
  eventCauses,
  leaseCauses,
  namespaceCauses,
  nodeAllocationCauses,
  nodeCauses,
  placementCauses,
  podCauses,
  podGroupCauses,
  type NameRules,
} from './rules.js';
import {
  clusterRoleBindingCauses,
  clusterRoleCauses,
  ClusterRoleBindingSchema,
  ClusterRoleSchema,
  roleBindingCauses,
  roleCauses,
  RoleBindingSchema,
  RoleSchema,
  type ClusterRole,
  type ClusterRoleBinding,
  type Role,
  type RoleBinding,
} from './rbac.js';
import {
  NodeAllocationSchema,
  PlacementSchema,
  PodGroupSchema,
  type NodeAllocation,
  type Placement,
  type PodGroup,
} from './scheduling.js';
import {
  evictionCauses,
  EvictionSchema,
  podDisruptionBudgetCauses,
  PodDisruptionBudgetSchema,
  type Eviction,
  type PodDisruptionBudget,
} from './policy.js';
import { resourceQuotaCauses, ResourceQuotaSchema, type ResourceQuota } from './quota.js';
import { jobCauses, JobSchema, type Job } from './batch.js';
import { cronJobCauses, CronJobSchema, type CronJob } from './cronjob.js';
import {
  clusterQueueCauses,
  ClusterQueueSchema,
  KUEUE_GROUP,
  KUEUE_VERSION,
  localQueueCauses,
  LocalQueueSchema,
  resourceFlavorCauses,
  ResourceFlavorSchema,
  workloadCauses,
  WorkloadSchema,
  type ClusterQueue,
  type LocalQueue,
  type ResourceFlavor,
  type Workload,
} from './kueue.js';
import {
  controllerRevisionCauses,
  ControllerRevisionSchema,
  daemonSetCauses,
  DaemonSetSchema,
  deploymentCauses,
  DeploymentSchema,
  statefulSetCauses,
  StatefulSetSchema,
  replicaSetCauses,
  ReplicaSetSchema,
  scaleCauses,
  ScaleSchema,
  type ControllerRevision,
  type DaemonSet,
  type Deployment,
  type ReplicaSet,
  type Scale,
  type StatefulSet,
} from './apps.js';

/** Kubernetes verb names, as discovery reports them. */
export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export const ALL_VERBS: readonly Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const READ_VERBS: readonly Verb[] = ['get', 'list', 'watch'];
export const STATUS_VERBS: readonly Verb[] = ['get', 'patch', 'update'];

/** What decoding and validating one kind needs (a served resource, or a subresource body such as Binding). */
export interface KindInfo<T extends KubeObject = KubeObject> extends NameRules {
  readonly group: string;
  readonly version: string;
  /** `v1` or `group/version`, as objects spell it. */
  readonly apiVersion: string;
  readonly kind: string;
  /** Decodes and defaults; output is the stored form. */
  readonly schema: z.ZodType<T, unknown>;
  /**
   * Legitimate Kubernetes fields cell drops on decode (volumes, lifecycle hooks, ...): not reported as
   * unknown under fieldValidation=Strict. `[*]` stands for any list index; a prefix covers its subtree.
   */
  readonly ignoredFields: readonly string[];
  /** Semantic rules beyond the schema and ObjectMeta; one cause per bad field. */
  validate(obj: T): FieldCause[];
}

export interface SubresourceInfo {
  /** `binding`, `status`, `log` */
  readonly name: string;
  /** Kind of the request/response body. */
  readonly kind: string;
  /** The body kind's group and version, when not the resource's own (pods/eviction takes a policy/v1 Eviction). */
  readonly group?: string;
  readonly version?: string;
  readonly verbs: readonly Verb[];
  /**
   * A connect subresource (pods/exec): GET or POST opens a stream to the pod's node rather than
   * reading or writing an object, and either is authorized as `create`, as Kubernetes does (a
   * `get` grant, which every viewer has, must not run commands).
   */
  readonly connect?: boolean;
}

export interface ResourceInfo<T extends KubeObject = KubeObject> extends KindInfo<T> {
  /** Plural, as in URLs: `pods`. */
  readonly resource: string;
  readonly listKind: string;
  readonly singularName: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly verbs: readonly Verb[];
  readonly subresources: readonly SubresourceInfo[];
  /** Field names `?fieldSelector=` accepts; anything else is a 400. */
  readonly fieldSelectors: readonly string[];
  /** Values of `fieldSelectors` for one object (absent fields as ""; booleans as "true"/"false"). */
  fieldsOf(obj: T): Record<string, string>;
  /** The value of one of `fieldSelectors` for one object, read alone (a watch's selector reads one or two per event). */
  fieldValue(obj: T, field: string): string;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** How to read each field of a kind's field selectors from an object. */
export type FieldReaders<T> = Readonly<Record<string, (obj: T) => string>>;

/** A kind's field selectors: metadata.name and metadata.namespace, which every kind has, and `own`. */
function selectableFields<T extends KubeObject>(own: FieldReaders<T> = {}): Pick<ResourceInfo<T>, 'fieldSelectors' | 'fieldsOf' | 'fieldValue'> {
  const readers: FieldReaders<T> = { 'metadata.name': (o) => o.metadata.name ?? '', 'metadata.namespace': (o) => o.metadata.namespace ?? '', ...own };
  const names = Object.keys(readers);
  return {
    fieldSelectors: names,
    fieldsOf: (obj) => Object.fromEntries(names.map((n) => [n, readers[n]!(obj)])),
    fieldValue: (obj, field) => (Object.hasOwn(readers, field) ? readers[field]!(obj) : ''),
  };
}

/** What a resource definition must say; the rest takes the common defaults (defineResource). */
export interface ResourceSpec<T extends KubeObject> {
  group: string;
  version: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  schema: z.ZodType<T, unknown>;
  validate: (obj: T) => FieldCause[];
  shortNames?: readonly string[];
  categories?: readonly string[];
  nameFormat?: ResourceInfo['nameFormat'];
  nameRequired?: boolean;
  verbs?: readonly Verb[];
  subresources?: readonly SubresourceInfo[];
  /** Beyond COMMON_IGNORED. */
  ignored?: readonly string[];
  /** Field selectors beyond metadata.name and metadata.namespace. */
  fields?: FieldReaders<T>;
  singularName?: string;
  /** `<Kind>List` unless a custom resource names its own. */
  listKind?: string;
}

/**
 * A resource with the common defaults: every verb, subdomain names, `<Kind>List`, no subresources.
 * Built-in kinds are defined here; custom resources at run time (apiserver/customresources/).
 */
export function defineResource<T extends KubeObject>(o: ResourceSpec<T>): ResourceInfo<T> {
  return {
    group: o.group,
    version: o.version,
    apiVersion: apiVersionOf(o.group, o.version),
    kind: o.kind,
    listKind: o.listKind ?? `${o.kind}List`,
    resource: o.resource,
    singularName: o.singularName ?? o.kind.toLowerCase(),
    shortNames: o.shortNames ?? [],
    categories: o.categories ?? [],
    namespaced: o.namespaced,
    nameFormat: o.nameFormat ?? 'subdomain',
    nameRequired: o.nameRequired ?? true,
    verbs: o.verbs ?? ALL_VERBS,
    subresources: o.subresources ?? [],
    schema: o.schema,
    ignoredFields: [...COMMON_IGNORED, ...(o.ignored ?? [])],
    validate: o.validate,
    ...selectableFields<T>(o.fields),
  };
}

/** Dropped-but-legitimate fields every kind may carry (selfLink: removed in Kubernetes 1.20, old clients send it). */
const COMMON_IGNORED = ['metadata.selfLink'] as const;

const CONTAINER_IGNORED = [
  'volumeMounts',
  'volumeDevices',
  // Needs spec.os.name in Kubernetes, and cell stops every process with SIGTERM.
  'lifecycle.stopSignal',
  'securityContext',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'resizePolicy',
];

const CONTAINER_STATUS_IGNORED = ['allocatedResources', 'resources', 'volumeMounts', 'user'];

/**
 * Pod fields kubectl and client libraries commonly send that do not change what cell does.
 * Fields that would change scheduling or accounting (overhead, schedulingGates, resourceClaims)
 * are deliberately absent, so Strict validation rejects them rather than silently ignoring them.
 */
const POD_IGNORED = [
  ...COMMON_IGNORED,
  'spec.volumes',
  'spec.securityContext',
  'spec.dnsPolicy',
  'spec.dnsConfig',
  'spec.hostname',
  'spec.subdomain',
  'spec.hostAliases',
  'spec.hostPID',
  'spec.hostIPC',
  'spec.imagePullSecrets',
  'spec.readinessGates',
  'spec.runtimeClassName',
  'spec.os',
  'spec.serviceAccount',
  'spec.automountServiceAccountToken',
  'spec.shareProcessNamespace',
  'spec.setHostnameAsFQDN',
  'spec.hostUsers',
  ...CONTAINER_IGNORED.map((f) => `spec.containers[*].${f}`),
  ...CONTAINER_IGNORED.map((f) => `spec.initContainers[*].${f}`),
  ...CONTAINER_IGNORED.map((f) => `spec.ephemeralContainers[*].${f}`),
  'status.hostIPs',
  'status.resize',
  'status.resourceClaimStatuses',
  ...CONTAINER_STATUS_IGNORED.map((f) => `status.containerStatuses[*].${f}`),
  ...CONTAINER_STATUS_IGNORED.map((f) => `status.initContainerStatuses[*].${f}`),
  ...CONTAINER_STATUS_IGNORED.map((f) => `status.ephemeralContainerStatuses[*].${f}`),
];

const NODE_IGNORED = [
  ...COMMON_IGNORED,
  'spec.configSource',
  'spec.externalID',
  'status.phase',
  'status.images',
  'status.volumesInUse',
  'status.volumesAttached',
  'status.config',
  'status.runtimeHandlers',
  'status.features',
];

export const namespacesResource: ResourceInfo<Namespace> = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  resource: 'namespaces',
  singularName: 'namespace',
  shortNames: ['ns'],
  categories: [],
  namespaced: false,
  nameFormat: 'label',
  nameRequired: true,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [{ name: 'status', kind: 'Namespace', verbs: STATUS_VERBS }],
  schema: NamespaceSchema,
  ignoredFields: COMMON_IGNORED,
  validate: namespaceCauses,
  ...selectableFields<Namespace>({ 'status.phase': (ns) => ns.status.phase }),
};

export const nodesResource: ResourceInfo<Node> = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Node',
  listKind: 'NodeList',
  resource: 'nodes',
  singularName: 'node',
  shortNames: ['no'],
  categories: [],
  namespaced: false,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  subresources: [{ name: 'status', kind: 'Node', verbs: STATUS_VERBS }],
  schema: NodeSchema,
  ignoredFields: NODE_IGNORED,
  validate: nodeCauses,
  ...selectableFields<Node>({ 'spec.unschedulable': (node) => String(node.spec.unschedulable ?? false) }),
};

export const podsResource: ResourceInfo<Pod> = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Pod',
  listKind: 'PodList',
  resource: 'pods',
  singularName: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  subresources: [
    { name: 'binding', kind: 'Binding', verbs: ['create'] },
    { name: 'status', kind: 'Pod', verbs: STATUS_VERBS },
    { name: 'log', kind: 'Pod', verbs: ['get'] },
    { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'update', 'patch'] },
    { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'], connect: true },
    { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'], connect: true },
    { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'], connect: true },
    { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
  ],
  schema: PodSchema,
  ignoredFields: POD_IGNORED,
  validate: podCauses,
  ...selectableFields<Pod>({
    'spec.nodeName': (pod) => pod.spec.nodeName ?? '',
    'spec.schedulerName': (pod) => pod.spec.schedulerName,
    'spec.restartPolicy': (pod) => pod.spec.restartPolicy,
    'spec.serviceAccountName': (pod) => pod.spec.serviceAccountName ?? '',
    'spec.hostNetwork': (pod) => String(pod.spec.hostNetwork ?? false),
    'status.phase': (pod) => pod.status.phase ?? '',
    'status.podIP': (pod) => pod.status.podIP ?? '',
    'status.nominatedNodeName': (pod) => pod.status.nominatedNodeName ?? '',
  }),
};

export const eventsResource: ResourceInfo<Event> = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  resource: 'events',
  singularName: 'event',
  shortNames: ['ev'],
  categories: [],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  subresources: [],
  schema: EventSchema,
  ignoredFields: COMMON_IGNORED,
  validate: eventCauses,
  ...selectableFields<Event>({
    'involvedObject.kind': (ev) => ev.involvedObject.kind ?? '',
    'involvedObject.namespace': (ev) => ev.involvedObject.namespace ?? '',
    'involvedObject.name': (ev) => ev.involvedObject.name ?? '',
    'involvedObject.uid': (ev) => ev.involvedObject.uid ?? '',
    'involvedObject.apiVersion': (ev) => ev.involvedObject.apiVersion ?? '',
    'involvedObject.resourceVersion': (ev) => ev.involvedObject.resourceVersion ?? '',
    'involvedObject.fieldPath': (ev) => ev.involvedObject.fieldPath ?? '',
    reason: (ev) => ev.reason ?? '',
    reportingComponent: (ev) => ev.reportingComponent ?? '',
    source: (ev) => ev.source?.component ?? '',
    type: (ev) => ev.type ?? '',
  }),
};

export const leasesResource: ResourceInfo<Lease> = {
  group: 'coordination.k8s.io',
  version: 'v1',
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  listKind: 'LeaseList',
  resource: 'leases',
  singularName: 'lease',
  shortNames: [],
  categories: [],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  subresources: [],
  schema: LeaseSchema,
  // Newer coordinated-leader-election fields; plain leader election and node leases do not use them.
  ignoredFields: [...COMMON_IGNORED, 'spec.strategy', 'spec.preferredHolder'],
  validate: leaseCauses,
  ...selectableFields(),
};

export const podGroupsResource: ResourceInfo<PodGroup> = {
  group: 'scheduling.x-k8s.io',
  version: 'v1alpha1',
  apiVersion: 'scheduling.x-k8s.io/v1alpha1',
  kind: 'PodGroup',
  listKind: 'PodGroupList',
  resource: 'podgroups',
  singularName: 'podgroup',
  shortNames: ['pg', 'pgs'],
  categories: [],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  subresources: [{ name: 'status', kind: 'PodGroup', verbs: STATUS_VERBS }],
  schema: PodGroupSchema,
  ignoredFields: COMMON_IGNORED,
  validate: podGroupCauses,
  ...selectableFields<PodGroup>({ 'status.phase': (pg) => pg.status.phase ?? '' }),
};

export const nodeAllocationsResource: ResourceInfo<NodeAllocation> = {
  group: 'scheduling.cell.dev',
  version: 'v1alpha1',
  apiVersion: 'scheduling.cell.dev/v1alpha1',
  kind: 'NodeAllocation',
  listKind: 'NodeAllocationList',
  resource: 'nodeallocations',
  singularName: 'nodeallocation',
  shortNames: ['na'],
  categories: [],
  namespaced: false,
  nameFormat: 'subdomain',
  nameRequired: true,
  // Written only by the API server, inside bind/release transactions.
  verbs: READ_VERBS,
  subresources: [],
  schema: NodeAllocationSchema,
  ignoredFields: COMMON_IGNORED,
  validate: nodeAllocationCauses,
  ...selectableFields(),
};

export const placementsResource: ResourceInfo<Placement> = {
  group: 'scheduling.cell.dev',
  version: 'v1alpha1',
  apiVersion: 'scheduling.cell.dev/v1alpha1',
  kind: 'Placement',
  listKind: 'PlacementList',
  resource: 'placements',
  singularName: 'placement',
  shortNames: [],
  categories: [],
  namespaced: false,
  nameFormat: 'subdomain',
  // Never stored: the response is the outcome, so a name would identify nothing.
  nameRequired: false,
  verbs: ['create'],
  subresources: [],
  schema: PlacementSchema,
  ignoredFields: COMMON_IGNORED,
  validate: placementCauses,
  ...selectableFields(),
};

// RBAC kinds (rbac.authorization.k8s.io/v1). Names are path segments: `system:node` is valid.
function rbacResource<T extends KubeObject>(kind: string, resource: string, namespaced: boolean, schema: z.ZodType<T, unknown>, validate: (obj: T) => FieldCause[]): ResourceInfo<T> {
  return defineResource({ group: 'rbac.authorization.k8s.io', version: 'v1', kind, resource, namespaced, schema, validate, nameFormat: 'path' });
}

export const rolesResource = rbacResource<Role>('Role', 'roles', true, RoleSchema, roleCauses);
export const clusterRolesResource = rbacResource<ClusterRole>('ClusterRole', 'clusterroles', false, ClusterRoleSchema, clusterRoleCauses);
export const roleBindingsResource = rbacResource<RoleBinding>('RoleBinding', 'rolebindings', true, RoleBindingSchema, roleBindingCauses);
export const clusterRoleBindingsResource = rbacResource<ClusterRoleBinding>(
  'ClusterRoleBinding',
  'clusterrolebindings',
  false,
  ClusterRoleBindingSchema,
  clusterRoleBindingCauses,
);

// Reviews: create-only, never stored; the answer is the response's status (apiserver/auth/reviews.ts).
function reviewResource<T extends KubeObject>(group: string, kind: string, resource: string, schema: z.ZodType<T, unknown>, validate: (obj: T) => FieldCause[], ignored: readonly string[] = []): ResourceInfo<T> {
  return defineResource({ group, version: 'v1', kind, resource, namespaced: false, schema, validate, nameRequired: false, verbs: ['create'], ignored });
}

/** Selector fields of newer clients' access reviews; cell answers on the other attributes. */
const SELECTOR_ATTRIBUTES = ['spec.resourceAttributes.fieldSelector', 'spec.resourceAttributes.labelSelector'];

export const selfSubjectAccessReviewsResource = reviewResource<SelfSubjectAccessReview>(
  'authorization.k8s.io',
  'SelfSubjectAccessReview',
  'selfsubjectaccessreviews',
  SelfSubjectAccessReviewSchema,
  selfSubjectAccessReviewCauses,
  SELECTOR_ATTRIBUTES,
);
export const selfSubjectRulesReviewsResource = reviewResource<SelfSubjectRulesReview>(
  'authorization.k8s.io',
  'SelfSubjectRulesReview',
  'selfsubjectrulesreviews',
  SelfSubjectRulesReviewSchema,
  noCauses,
);
export const subjectAccessReviewsResource = reviewResource<SubjectAccessReview>(
  'authorization.k8s.io',
  'SubjectAccessReview',
  'subjectaccessreviews',
  SubjectAccessReviewSchema,
  subjectAccessReviewCauses,
  SELECTOR_ATTRIBUTES,
);
export const tokenReviewsResource = reviewResource<TokenReview>('authentication.k8s.io', 'TokenReview', 'tokenreviews', TokenReviewSchema, tokenReviewCauses);
export const selfSubjectReviewsResource = reviewResource<SelfSubjectReview>(
  'authentication.k8s.io',
  'SelfSubjectReview',
  'selfsubjectreviews',
  SelfSubjectReviewSchema,
  noCauses,
);

export const podDisruptionBudgetsResource: ResourceInfo<PodDisruptionBudget> = {
  group: 'policy',
  version: 'v1',
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  listKind: 'PodDisruptionBudgetList',
  resource: 'poddisruptionbudgets',
  singularName: 'poddisruptionbudget',
  shortNames: ['pdb'],
  categories: [],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  // Status is the disruption controller's and the eviction subresource's to write.
  subresources: [{ name: 'status', kind: 'PodDisruptionBudget', verbs: STATUS_VERBS }],
  schema: PodDisruptionBudgetSchema,
  ignoredFields: COMMON_IGNORED,
  validate: podDisruptionBudgetCauses,
  ...selectableFields(),
};

/** Pod fields dropped on decode, on a pod template's paths (`spec.template.spec.volumes`). */
const POD_TEMPLATE_IGNORED = POD_IGNORED.filter((f) => f.startsWith('spec.')).map((f) => `spec.template.${f}`);

export const jobsResource: ResourceInfo<Job> = {
  group: 'batch',
  version: 'v1',
  apiVersion: 'batch/v1',
  kind: 'Job',
  listKind: 'JobList',
  resource: 'jobs',
  singularName: 'job',
  shortNames: [],
  categories: ['all'],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  // Status is the job controller's.
  subresources: [{ name: 'status', kind: 'Job', verbs: STATUS_VERBS }],
  schema: JobSchema,
  // Newer Job fields cell does not implement are absent, so Strict validation names them.
  ignoredFields: [...COMMON_IGNORED, ...POD_TEMPLATE_IGNORED],
  validate: jobCauses,
  ...selectableFields<Job>({ 'status.successful': (job) => String(job.status.succeeded ?? 0) }),
};

export const cronJobsResource = defineResource<CronJob>({
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  resource: 'cronjobs',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  // Status is the cronjob controller's.
  subresources: [{ name: 'status', kind: 'CronJob', verbs: STATUS_VERBS }],
  schema: CronJobSchema,
  ignored: POD_TEMPLATE_IGNORED.map((f) => `spec.jobTemplate.${f}`),
  validate: cronJobCauses,
});

/** The scale subresource of apps/v1 workloads: an autoscaling/v1 Scale, as in Kubernetes. */
const SCALE_SUBRESOURCE: SubresourceInfo = { name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: STATUS_VERBS };

/** apps/v1 workloads: status is their controller's to write, scale is how `kubectl scale` resizes them. */
function appsResource<T extends KubeObject>(kind: string, resource: string, shortNames: string[], schema: z.ZodType<T, unknown>, validate: (obj: T) => FieldCause[], ignored: readonly string[] = []): ResourceInfo<T> {
  const subresources = [{ name: 'status', kind, verbs: STATUS_VERBS }, SCALE_SUBRESOURCE];
  return defineResource({ group: 'apps', version: 'v1', kind, resource, namespaced: true, shortNames, categories: ['all'], subresources, schema, ignored: [...POD_TEMPLATE_IGNORED, ...ignored], validate });
}

export const deploymentsResource = appsResource<Deployment>('Deployment', 'deployments', ['deploy'], DeploymentSchema, deploymentCauses);
export const replicaSetsResource = appsResource<ReplicaSet>('ReplicaSet', 'replicasets', ['rs'], ReplicaSetSchema, replicaSetCauses);
/** Volume claims are dropped: a cell pod is host processes with no volumes of its own. */
export const statefulSetsResource = appsResource<StatefulSet>('StatefulSet', 'statefulsets', ['sts'], StatefulSetSchema, statefulSetCauses, [
  'spec.volumeClaimTemplates',
  'spec.persistentVolumeClaimRetentionPolicy',
]);

/** A DaemonSet has no replica count to scale: one pod per fitting node. */
export const daemonSetsResource = defineResource<DaemonSet>({
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  resource: 'daemonsets',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  // Status is the DaemonSet controller's.
  subresources: [{ name: 'status', kind: 'DaemonSet', verbs: STATUS_VERBS }],
  schema: DaemonSetSchema,
  ignored: POD_TEMPLATE_IGNORED,
  validate: daemonSetCauses,
});

/** Written by the DaemonSet controller, read by `kubectl rollout history|undo`. */
export const controllerRevisionsResource = defineResource<ControllerRevision>({
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  resource: 'controllerrevisions',
  namespaced: true,
  schema: ControllerRevisionSchema,
  validate: controllerRevisionCauses,
});

/** HorizontalPodAutoscalers in one of their versions; status is the autoscaler controller's to write. */
function autoscalerResource<T extends KubeObject>(version: string, schema: z.ZodType<T, unknown>, validate: (obj: T) => FieldCause[]): ResourceInfo<T> {
  const kind = 'HorizontalPodAutoscaler';
  const subresources = [{ name: 'status', kind, verbs: STATUS_VERBS }];
  return defineResource({ group: AUTOSCALING_GROUP, version, kind, resource: 'horizontalpodautoscalers', namespaced: true, shortNames: ['hpa'], categories: ['all'], subresources, schema, validate });
}

/** Stored as autoscaling/v2. */
export const horizontalPodAutoscalersResource = autoscalerResource<HorizontalPodAutoscaler>('v2', HorizontalPodAutoscalerSchema, horizontalPodAutoscalerCauses);

/**
 * A stored resource also served in an older version (autoscaling/v1 HorizontalPodAutoscalers,
 * which `kubectl autoscale` writes): requests in `served`'s form are converted to `stored`'s on the
 * way in and back on the way out; the store, its watch cache and the controllers see only one.
 */
export interface ConvertedVersion {
  served: ResourceInfo;
  stored: ResourceInfo;
  /** A decoded object of the served version → the stored version's, still to be decoded; with errors found converting. */
  toStored(obj: KubeObject): { object: unknown; causes: FieldCause[] };
  toServed(obj: KubeObject): KubeObject;
}

export const horizontalPodAutoscalersV1: ConvertedVersion = {
  served: autoscalerResource<HorizontalPodAutoscalerV1>('v1', HorizontalPodAutoscalerV1Schema, horizontalPodAutoscalerV1Causes),
  stored: horizontalPodAutoscalersResource,
  toStored: (obj) => horizontalPodAutoscalerFromV1(obj as HorizontalPodAutoscalerV1),
  toServed: (obj) => horizontalPodAutoscalerToV1(obj as HorizontalPodAutoscaler),
};

/** Every resource served in a version other than its stored one. */
export const CONVERTED_VERSIONS: readonly ConvertedVersion[] = [horizontalPodAutoscalersV1];

/** The body of `.../{deployments,replicasets}/{name}/scale`. */
export const scaleKind: KindInfo<Scale> = {
  group: 'autoscaling',
  version: 'v1',
  apiVersion: 'autoscaling/v1',
  kind: 'Scale',
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: false,
  schema: ScaleSchema,
  ignoredFields: COMMON_IGNORED,
  validate: scaleCauses,
};

export const resourceQuotasResource: ResourceInfo<ResourceQuota> = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  listKind: 'ResourceQuotaList',
  resource: 'resourcequotas',
  singularName: 'resourcequota',
  shortNames: ['quota'],
  categories: [],
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  verbs: ALL_VERBS,
  // status.used is the admission ledger (apiserver/quota/); the quota controller writes status.hard and a recount.
  subresources: [{ name: 'status', kind: 'ResourceQuota', verbs: STATUS_VERBS }],
  schema: ResourceQuotaSchema,
  ignoredFields: COMMON_IGNORED,
  validate: resourceQuotaCauses,
  ...selectableFields(),
};

/** v1 Service: its cluster IP and node ports are allocated by the API server (apiserver/services/); status is a load balancer's. */
export const servicesResource = defineResource<Service>({
  group: '',
  version: 'v1',
  kind: 'Service',
  resource: 'services',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  subresources: [{ name: 'status', kind: 'Service', verbs: STATUS_VERBS }],
  schema: ServiceSchema,
  validate: serviceCauses,
  fields: { 'spec.clusterIP': (s) => s.spec.clusterIP ?? '', 'spec.type': (s) => s.spec.type ?? '' },
});
/** v1 Endpoints: a Service's pods' addresses, kept by the endpoints controller (or by hand for a Service without a selector). */
export const endpointsResource = defineResource<Endpoints>({
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  resource: 'endpoints',
  singularName: 'endpoints',
  namespaced: true,
  shortNames: ['ep'],
  schema: EndpointsSchema,
  validate: endpointsCauses,
});
/** discovery.k8s.io/v1 EndpointSlice: a selector Service's endpoints with their conditions, kept by the endpointslice controller. */
export const endpointSlicesResource = defineResource<EndpointSlice>({
  group: DISCOVERY_GROUP,
  version: 'v1',
  kind: 'EndpointSlice',
  resource: 'endpointslices',
  namespaced: true,
  schema: EndpointSliceSchema,
  validate: endpointSliceCauses,
});
/** networking.k8s.io/v1 Ingress: HTTP routes to Services, served by the agents for cell's IngressClasses (agent/ingress-proxy.ts). */
export const ingressesResource = defineResource<Ingress>({
  group: NETWORKING_GROUP,
  version: 'v1',
  kind: 'Ingress',
  resource: 'ingresses',
  namespaced: true,
  shortNames: ['ing'],
  subresources: [{ name: 'status', kind: 'Ingress', verbs: STATUS_VERBS }],
  schema: IngressSchema,
  validate: ingressCauses,
});
/** networking.k8s.io/v1 IngressClass: which controller serves an Ingress; the default one is given to Ingresses without a class. */
export const ingressClassesResource = defineResource<IngressClass>({
  group: NETWORKING_GROUP,
  version: 'v1',
  kind: 'IngressClass',
  resource: 'ingressclasses',
  namespaced: false,
  schema: IngressClassSchema,
  validate: ingressClassCauses,
});
/** apiextensions.k8s.io/v1 CustomResourceDefinition: each adds a kind (apiserver/customresources/). */
export const customResourceDefinitionsResource = defineResource<CustomResourceDefinition>({
  group: APIEXTENSIONS_GROUP,
  version: 'v1',
  kind: 'CustomResourceDefinition',
  resource: 'customresourcedefinitions',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  subresources: [{ name: 'status', kind: 'CustomResourceDefinition', verbs: STATUS_VERBS }],
  schema: CustomResourceDefinitionSchema,
  validate: (crd) => [...customResourceDefinitionCauses(crd), ...builtInGroupCauses(crd.spec.group)],
});

/** A custom kind may not join a group the server serves itself: its names would meet the built-in ones. */
function builtInGroupCauses(group: string): FieldCause[] {
  return RESOURCES.some((r) => r.group === group) ? [cause.forbidden('spec.group', `"${group}" is served by the API server itself`)] : [];
}
export const configMapsResource = defineResource<ConfigMap>({ group: '', version: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true, shortNames: ['cm'], schema: ConfigMapSchema, validate: configMapCauses });
export const secretsResource = defineResource<Secret>({ group: '', version: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true, schema: SecretSchema, validate: secretCauses, fields: { type: (s) => s.type ?? '' } });
/** v1 LimitRange: a namespace's defaults and bounds for its pods' resources (apiserver/limits/). */
export const limitRangesResource = defineResource<LimitRange>({ group: '', version: 'v1', kind: 'LimitRange', resource: 'limitranges', namespaced: true, shortNames: ['limits'], schema: LimitRangeSchema, validate: limitRangeCauses });
/** scheduling.k8s.io/v1: the named priorities pods take their spec.priority from (apiserver/priority/). */
export const priorityClassesResource = defineResource<PriorityClass>({
  group: SCHEDULING_GROUP,
  version: 'v1',
  kind: 'PriorityClass',
  resource: 'priorityclasses',
  namespaced: false,
  shortNames: ['pc'],
  schema: PriorityClassSchema,
  validate: priorityClassCauses,
});
/** `serviceaccounts/token` takes an authentication.k8s.io/v1 TokenRequest and answers with a signed token. */
export const serviceAccountsResource = defineResource<ServiceAccount>({
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  resource: 'serviceaccounts',
  namespaced: true,
  shortNames: ['sa'],
  subresources: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }],
  schema: ServiceAccountSchema,
  validate: noCauses,
});

// Kueue's kinds (kueue.x-k8s.io/v1beta1), with Kueue's scopes and short names. A ClusterQueue's
// status.flavorsReservation and flavorsUsage are the admission ledger (apiserver/queues/).
function kueueResource<T extends KubeObject>(
  kind: string,
  resource: string,
  namespaced: boolean,
  shortNames: string[],
  withStatus: boolean,
  schema: z.ZodType<T, unknown>,
  validate: (obj: T) => FieldCause[],
  ignored: readonly string[] = [],
): ResourceInfo<T> {
  const subresources = withStatus ? [{ name: 'status', kind, verbs: STATUS_VERBS }] : [];
  return defineResource({ group: KUEUE_GROUP, version: KUEUE_VERSION, kind, resource, namespaced, shortNames, subresources, schema, validate, ignored });
}

export const resourceFlavorsResource = kueueResource<ResourceFlavor>('ResourceFlavor', 'resourceflavors', false, ['flavor', 'flavors', 'rf'], false, ResourceFlavorSchema, resourceFlavorCauses);
export const clusterQueuesResource = kueueResource<ClusterQueue>('ClusterQueue', 'clusterqueues', false, ['cq'], true, ClusterQueueSchema, clusterQueueCauses);
export const localQueuesResource = kueueResource<LocalQueue>('LocalQueue', 'localqueues', true, ['queue', 'queues', 'lq'], true, LocalQueueSchema, localQueueCauses);
/** Pod fields dropped on decode, on a Workload's pod set templates. */
const POD_SET_TEMPLATE_IGNORED = POD_IGNORED.filter((f) => f.startsWith('spec.')).map((f) => `spec.podSets[*].template.${f}`);
export const workloadsResource = kueueResource<Workload>('Workload', 'workloads', true, ['wl'], true, WorkloadSchema, workloadCauses, POD_SET_TEMPLATE_IGNORED);

/** The body of `POST .../pods/{name}/eviction` (policy/v1; the handler accepts policy/v1beta1 too). */
export const evictionKind: KindInfo<Eviction> = {
  group: 'policy',
  version: 'v1',
  apiVersion: 'policy/v1',
  kind: 'Eviction',
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: false,
  schema: EvictionSchema,
  ignoredFields: COMMON_IGNORED,
  validate: evictionCauses,
};

/** The body of `POST .../serviceaccounts/{name}/token` (`kubectl create token`). */
export const tokenRequestKind: KindInfo<TokenRequest> = {
  group: 'authentication.k8s.io',
  version: 'v1',
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenRequest',
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: false,
  schema: TokenRequestSchema,
  ignoredFields: COMMON_IGNORED,
  validate: tokenRequestCauses,
};

/** The body of `POST .../pods/{name}/binding`; metadata.name is the pod's name. */
export const bindingKind: KindInfo<Binding> = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Binding',
  namespaced: true,
  nameFormat: 'subdomain',
  nameRequired: true,
  schema: BindingSchema,
  ignoredFields: COMMON_IGNORED,
  validate: bindingCauses,
};

// metrics.k8s.io: NodeMetrics and PodMetrics are made on request from the agents' usage samples
// (apiserver/controllers/resource-metrics.ts), never stored, so they are not in RESOURCES (the
// kinds the server stores); described here for discovery and the OpenAPI documents.
function metricsResource<T extends KubeObject>(kind: string, resource: string, namespaced: boolean, schema: z.ZodType<T, unknown>): ResourceInfo<T> {
  // As metrics-server's discovery: no singular name, no short names.
  return defineResource({ group: METRICS_GROUP, version: METRICS_VERSION, kind, resource, namespaced, schema, validate: noCauses, verbs: ['get', 'list'], singularName: '' });
}

export const nodeMetricsResource = metricsResource<NodeMetrics>('NodeMetrics', 'nodes', false, NodeMetricsSchema);
export const podMetricsResource = metricsResource<PodMetrics>('PodMetrics', 'pods', true, PodMetricsSchema);
/** The metrics API's resources (not stored: see above). */
export const METRICS_RESOURCES: readonly ResourceInfo[] = [nodeMetricsResource, podMetricsResource];

/**
 * Every served resource, in discovery order. Each entry keeps its own object type; this list is
 * the generic view (`fieldsOf`/`validate` are methods, so an entry for Pod reads as one for KubeObject).
 */
export const RESOURCES: readonly ResourceInfo[] = [
  namespacesResource,
  nodesResource,
  podsResource,
  eventsResource,
  servicesResource,
  endpointsResource,
  configMapsResource,
  secretsResource,
  serviceAccountsResource,
  limitRangesResource,
  leasesResource,
  podGroupsResource,
  nodeAllocationsResource,
  placementsResource,
  rolesResource,
  clusterRolesResource,
  roleBindingsResource,
  clusterRoleBindingsResource,
  selfSubjectAccessReviewsResource,
  selfSubjectRulesReviewsResource,
  subjectAccessReviewsResource,
  tokenReviewsResource,
  selfSubjectReviewsResource,
  podDisruptionBudgetsResource,
  priorityClassesResource,
  resourceQuotasResource,
  jobsResource,
  cronJobsResource,
  deploymentsResource,
  replicaSetsResource,
  statefulSetsResource,
  daemonSetsResource,
  controllerRevisionsResource,
  endpointSlicesResource,
  ingressesResource,
  ingressClassesResource,
  customResourceDefinitionsResource,
  horizontalPodAutoscalersResource,
  resourceFlavorsResource,
  clusterQueuesResource,
  localQueuesResource,
  workloadsResource,
];

/** Every resource the OpenAPI documents describe: the stored ones, their other served versions, the metrics API. */
export const DESCRIBED_RESOURCES: readonly ResourceInfo[] = [...RESOURCES, ...CONVERTED_VERSIONS.map((c) => c.served), ...METRICS_RESOURCES];

export function resourceFor(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/** By kind, optionally pinned to an apiVersion (`cellctl apply -f` reads both from the file). */
export function resourceForKind(kind: string, apiVersion?: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.kind === kind && (apiVersion === undefined || r.apiVersion === apiVersion));
}

/**
 * What a user typed on the command line: plural, singular, short name or kind, any case, optionally
 * qualified as kubectl allows (`podgroups.scheduling.x-k8s.io`, `pods.v1`, `leases.v1.coordination.k8s.io`).
 */
export function resolveResource(typed: string): ResourceInfo | undefined {
  return resolveResourceIn(RESOURCES, typed);
}

/**
 * resolveResource's rules over another list: cellctl resolves custom resources, which it learns
 * from the server's discovery documents, by the same names (first match wins, so list preferred versions first).
 */
export function resolveResourceIn(resources: readonly ResourceInfo[], typed: string): ResourceInfo | undefined {
  const text = typed.toLowerCase();
  const names = (r: ResourceInfo) => [r.resource, r.singularName, r.kind.toLowerCase(), ...r.shortNames];
  const exact = resources.find((r) => names(r).includes(text));
  if (exact) return exact;
  const dot = text.indexOf('.');
  if (dot < 0) return undefined;
  const name = text.slice(0, dot);
  const qualifier = text.slice(dot + 1);
  return resources.find(
    (r) =>
      names(r).includes(name) &&
      (qualifier === r.group || qualifier === `${r.version}.${r.group}` || (r.group === '' && qualifier === r.version)),
  );
}

/** Served group/versions, in discovery order (core `v1` first). */
export function groupVersions(): { group: string; version: string; groupVersion: string }[] {
  const out: { group: string; version: string; groupVersion: string }[] = [];
  for (const r of RESOURCES) {
    if (!out.some((gv) => gv.group === r.group && gv.version === r.version)) {
      out.push({ group: r.group, version: r.version, groupVersion: r.apiVersion });
    }
  }
  return out;
}

export function resourcesIn(group: string, version: string): ResourceInfo[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}

/** Resources in a category (`cellctl get all`). */
export function resourcesInCategory(category: string): ResourceInfo[] {
  return RESOURCES.filter((r) => r.categories.includes(category));
}
