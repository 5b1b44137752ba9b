// Core `v1` kinds: Namespace, Node, Pod, Event, and the Binding a scheduler posts to
// `pods/{name}/binding`. Field names, enums and defaults are Kubernetes'; fields cell does not
// model are dropped on decode (see `ignoredFields` in the registry for the legitimate ones).
import { z } from 'zod';
import { ParseError } from '../errors.js';
import { Quantity } from '../quantity.js';
import {
  ConditionStatusSchema,
  LabelSelectorSchema,
  LabelsSchema,
  MicroTimeSchema,
  ObjectMetaSchema,
  TimeSchema,
} from './meta.js';

/**
 * A resource quantity: a string ("500m", "1Gi") or a JSON number (`cpu: 1`), stored in
 * Kubernetes' canonical string form ("0.5" → "500m"), as kube-apiserver writes it back.
 */
export const QuantitySchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return Quantity.parse(value).toString();
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message, params: { reason: 'FieldValueInvalid' } });
    return z.NEVER;
  }
});

/** Resource name → quantity (`requests`, `limits`, `capacity`, `allocatable`, `minResources`). */
export const ResourceListSchema = z.record(z.string(), QuantitySchema);
export type ResourceListValue = z.infer<typeof ResourceListSchema>;

export const ProtocolSchema = z.enum(['TCP', 'UDP', 'SCTP']);
export type Protocol = z.infer<typeof ProtocolSchema>;

export const ObjectReferenceSchema = z.object({
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  apiVersion: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
});
export type ObjectReference = z.infer<typeof ObjectReferenceSchema>;

// ---------------------------------------------------------------------------------------------
// Namespace

export const NamespaceSchema = z.object({
  apiVersion: z.literal('v1').default('v1'),
  kind: z.literal('Namespace').default('Namespace'),
  metadata: ObjectMetaSchema.prefault({}),
  spec: z.object({ finalizers: z.array(z.string()).optional() }).prefault({}),
  status: z
    .object({
      phase: z.enum(['Active', 'Terminating']).default('Active'),
      conditions: z
        .array(
          z.object({
            type: z.string(),
            status: ConditionStatusSchema,
            lastTransitionTime: TimeSchema.optional(),
            reason: z.string().optional(),
            message: z.string().optional(),
          }),
        )
        .optional(),
    })
    .prefault({}),
}).describe('A scope for names of namespaced objects; deleting it deletes everything in it.');
export type Namespace = z.infer<typeof NamespaceSchema>;

// ---------------------------------------------------------------------------------------------
// Node

export const TaintEffectSchema = z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
export type TaintEffect = z.infer<typeof TaintEffectSchema>;

export const TaintSchema = z.object({
  key: z.string(),
  value: z.string().optional(),
  effect: TaintEffectSchema,
  timeAdded: TimeSchema.optional(),
});
export type Taint = z.infer<typeof TaintSchema>;

export const NodeConditionSchema = z.object({
  /** Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable */
  type: z.string(),
  status: ConditionStatusSchema,
  lastHeartbeatTime: TimeSchema.optional(),
  lastTransitionTime: TimeSchema.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type NodeCondition = z.infer<typeof NodeConditionSchema>;

export const NodeAddressSchema = z.object({
  type: z.enum(['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS']),
  address: z.string(),
});

export const NodeSystemInfoSchema = z.object({
  machineID: z.string().optional(),
  systemUUID: z.string().optional(),
  bootID: z.string().optional(),
  kernelVersion: z.string().optional(),
  osImage: z.string().optional(),
  containerRuntimeVersion: z.string().optional(),
  kubeletVersion: z.string().optional(),
  kubeProxyVersion: z.string().optional(),
  operatingSystem: z.string().optional(),
  architecture: z.string().optional(),
});

export const NodeSpecSchema = z.object({
  podCIDR: z.string().optional(),
  podCIDRs: z.array(z.string()).optional(),
  providerID: z.string().optional(),
  unschedulable: z.boolean().optional(),
  taints: z.array(TaintSchema).optional(),
});

export const NodeStatusSchema = z
  .object({
    capacity: ResourceListSchema.optional(),
    allocatable: ResourceListSchema.optional(),
    conditions: z.array(NodeConditionSchema).optional(),
    addresses: z.array(NodeAddressSchema).optional(),
    nodeInfo: NodeSystemInfoSchema.optional(),
    daemonEndpoints: z
      .object({ kubeletEndpoint: z.object({ Port: z.number().int() }).optional() })
      .optional(),
  })
  // Kubernetes defaults allocatable to capacity when a node reports only capacity.
  .transform((status) => (status.allocatable === undefined && status.capacity !== undefined
    ? { ...status, allocatable: { ...status.capacity } }
    : status));

export const NodeSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Node').default('Node'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: NodeSpecSchema.prefault({}).describe('Whether the node takes new pods (unschedulable), and its taints.'),
    status: NodeStatusSchema.prefault({}).describe('Capacity, allocatable resources, conditions and addresses, as the node agent reports them.'),
  })
  .describe('A machine pods run on, registered and kept alive by its node agent.');
export type Node = z.infer<typeof NodeSchema>;
export type NodeSpec = z.infer<typeof NodeSpecSchema>;
export type NodeStatus = z.infer<typeof NodeStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Pod spec

export const ContainerPortSchema = z.object({
  name: z.string().optional(),
  containerPort: z.number().int(),
  hostPort: z.number().int().optional(),
  hostIP: z.string().optional(),
  protocol: ProtocolSchema.default('TCP'),
});
export type ContainerPort = z.infer<typeof ContainerPortSchema>;

/** A field of the pod itself (`metadata.name`, `spec.nodeName`, `status.podIP`, ...): the downward API. */
export const ObjectFieldSelectorSchema = z.object({
  apiVersion: z.string().default('v1').describe('The version the field path is in; v1 (the only one).'),
  fieldPath: z.string().describe('The field, e.g. metadata.name, metadata.labels[\'app\'], spec.nodeName, status.podIP.'),
});

/** One of the container's own requests or limits, in units of `divisor`. */
export const ResourceFieldSelectorSchema = z.object({
  containerName: z.string().optional().describe('The container whose resources are read; this one when empty.'),
  resource: z.string().describe('limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory or requests.ephemeral-storage.'),
  divisor: QuantitySchema.optional().describe('The unit the value is given in (1 when absent; cpu rounds up).'),
});

/** A key of a ConfigMap or Secret in the pod's namespace. */
export const KeySelectorSchema = z.object({
  name: z.string().optional(),
  key: z.string(),
  optional: z.boolean().optional().describe('When true, a missing object or key leaves the variable unset instead of keeping the container from starting.'),
});
export type KeySelector = z.infer<typeof KeySelectorSchema>;

export const EnvVarSourceSchema = z
  .object({
    fieldRef: ObjectFieldSelectorSchema.optional(),
    resourceFieldRef: ResourceFieldSelectorSchema.optional(),
    configMapKeyRef: KeySelectorSchema.optional(),
    secretKeyRef: KeySelectorSchema.optional(),
  })
  .describe('Where a variable\'s value comes from: exactly one of its fields.');
export type EnvVarSource = z.infer<typeof EnvVarSourceSchema>;

export const EnvVarSchema = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: EnvVarSourceSchema.optional().describe('The value read from the pod, the container\'s resources, a ConfigMap or a Secret (not with value).'),
});
export type EnvVar = z.infer<typeof EnvVarSchema>;

/** Every key of a ConfigMap or Secret. */
export const ObjectRefSchema = z.object({
  name: z.string().optional(),
  optional: z.boolean().optional(),
});

export const EnvFromSourceSchema = z
  .object({
    prefix: z.string().optional().describe('Put before each key to make the variable\'s name.'),
    configMapRef: ObjectRefSchema.optional(),
    secretRef: ObjectRefSchema.optional(),
  })
  .describe('Every key of a ConfigMap or a Secret as a variable.');
export type EnvFromSource = z.infer<typeof EnvFromSourceSchema>;

export const ResourceRequirementsSchema = z
  .object({
    limits: ResourceListSchema.optional().describe('The most of each resource the container may use.'),
    requests: ResourceListSchema.optional().describe(
      'What the container needs of each resource (cpu, memory, extended resources). The pod is placed only on a node ' +
        'with room for the sum of its requests, and that node accounts for them. A missing request defaults to its limit.',
    ),
  })
  // Kubernetes defaults each missing request to its limit, so a limits-only container is scheduled
  // with what it may use, not with nothing.
  .transform((r) => {
    if (r.limits === undefined) return r;
    const requests = { ...r.limits, ...r.requests };
    return { ...r, requests };
  })
  .describe('Compute resources of a container: what it needs (requests) and the most it may use (limits).');
export type ResourceRequirements = z.infer<typeof ResourceRequirementsSchema>;

/** A port by number, or by the name of one of the container's ports (Kubernetes' IntOrString). */
export const PortNumberOrNameSchema = z.union([z.number().int(), z.string()]);
export type PortNumberOrName = z.infer<typeof PortNumberOrNameSchema>;

export const ExecActionSchema = z.object({
  command: z.array(z.string()).optional().describe('The command run in the container\'s environment (not through a shell); exit status 0 is success.'),
});

export const HTTPHeaderSchema = z.object({ name: z.string(), value: z.string() });

export const HTTPGetActionSchema = z
  .object({
    path: z.string().optional().describe('The path requested; / when empty.'),
    port: PortNumberOrNameSchema.describe('The port: a number, or the name of one of the container\'s ports.'),
    host: z.string().optional().describe('The host connected to; the pod\'s IP (its node\'s) when empty.'),
    scheme: z.enum(['HTTP', 'HTTPS']).optional().describe('HTTP (the default) or HTTPS (the certificate is not verified).'),
    httpHeaders: z.array(HTTPHeaderSchema).optional().describe('Headers sent with the request; a Host header sets the virtual host.'),
  })
  // Kubernetes' SetDefaults_HTTPGetAction.
  .transform((a) => ({ ...a, path: a.path === undefined || a.path === '' ? '/' : a.path, scheme: a.scheme ?? 'HTTP' }));

export const TCPSocketActionSchema = z.object({
  port: PortNumberOrNameSchema.describe('The port: a number, or the name of one of the container\'s ports.'),
  host: z.string().optional().describe('The host connected to; the pod\'s IP (its node\'s) when empty.'),
});

export const GRPCActionSchema = z.object({
  port: z.number().int().describe('The port of the gRPC server implementing the standard health service.'),
  service: z.string().optional().describe('The service name sent in the HealthCheckRequest; empty for the server as a whole.'),
});

export const SleepActionSchema = z.object({
  seconds: z.number().int().describe('Seconds the hook sleeps (in the agent: no process runs).'),
});

export const LifecycleHandlerSchema = z
  .object({
    exec: ExecActionSchema.optional().describe('Run a command in the container\'s environment; a non-zero exit fails the hook.'),
    httpGet: HTTPGetActionSchema.optional().describe('GET a URL; a status outside 200 to 399 fails the hook.'),
    tcpSocket: TCPSocketActionSchema.optional().describe('Deprecated, kept for compatibility as in Kubernetes: accepted, and fails when run.'),
    sleep: SleepActionSchema.optional().describe('Sleep for a number of seconds.'),
  })
  .describe('What a lifecycle hook does: exactly one of exec, httpGet, tcpSocket and sleep.');
export type LifecycleHandler = z.infer<typeof LifecycleHandlerSchema>;

export const LifecycleSchema = z
  .object({
    postStart: LifecycleHandlerSchema.optional().describe('Runs right after the container started; it is not ready, nor probed, until the hook returned, and killed if the hook failed.'),
    preStop: LifecycleHandlerSchema.optional().describe('Runs before the container is sent SIGTERM, within the termination grace period.'),
  })
  .describe('Actions the agent takes when a container starts and before it stops.');
export type Lifecycle = z.infer<typeof LifecycleSchema>;

/** A setting Kubernetes defaults when absent or 0 (SetDefaults_Probe). */
const defaultedWhenZero = (fallback: number) => z.number().int().optional().transform((v) => (v === undefined || v === 0 ? fallback : v));

export const ProbeSchema = z
  .object({
    exec: ExecActionSchema.optional().describe('Run a command in the container.'),
    httpGet: HTTPGetActionSchema.optional().describe('GET a URL; a status from 200 to 399 is success.'),
    tcpSocket: TCPSocketActionSchema.optional().describe('Open a TCP connection; connecting is success.'),
    grpc: GRPCActionSchema.optional().describe('Call the gRPC health service; SERVING is success.'),
    initialDelaySeconds: z.number().int().optional().describe('Seconds after the container started before the probe first runs (0).'),
    timeoutSeconds: defaultedWhenZero(1).describe('Seconds a probe may take before it counts as failed (1).'),
    periodSeconds: defaultedWhenZero(10).describe('Seconds between probes (10).'),
    successThreshold: defaultedWhenZero(1).describe('Consecutive successes, after a failure, for the probe to pass (1; must be 1 for liveness and startup probes).'),
    failureThreshold: defaultedWhenZero(3).describe('Consecutive failures for the probe to fail (3).'),
    terminationGracePeriodSeconds: z.number().int().optional().describe('Grace period for a container killed by this liveness or startup probe; the pod\'s when absent.'),
  })
  .describe('A health check of a container: exactly one of exec, httpGet, tcpSocket and grpc, and how often it runs.');
export type Probe = z.infer<typeof ProbeSchema>;

export const ContainerSchema = z
  .object({
    name: z.string().describe('Name of the container, unique within the pod (a DNS label).'),
    /** Required as in Kubernetes; recorded, never pulled: the agent runs command/args as a host process. */
    image: z.string().describe('Container image name. Recorded only: the node agent runs command and args as a process.'),
    imagePullPolicy: z.enum(['Always', 'Never', 'IfNotPresent']).optional(),
    command: z.array(z.string()).optional().describe('The program to run and its first arguments.'),
    args: z.array(z.string()).optional().describe('Further arguments, after command.'),
    workingDir: z.string().optional().describe('Working directory of the process.'),
    env: z.array(EnvVarSchema).optional().describe('Environment variables of the process (after envFrom: a name in both takes this value).'),
    envFrom: z.array(EnvFromSourceSchema).optional().describe('ConfigMaps and Secrets whose keys become environment variables.'),
    resources: ResourceRequirementsSchema.prefault({}).describe('Compute resources the container needs and may use.'),
    ports: z.array(ContainerPortSchema).optional().describe('Ports the container listens on; with hostPort set, the port is reserved on the node.'),
    livenessProbe: ProbeSchema.optional().describe('When it fails, the container is killed and restarted per restartPolicy.'),
    readinessProbe: ProbeSchema.optional().describe('While it fails, the container (and so the pod) is not ready: no traffic, not available to rollouts.'),
    startupProbe: ProbeSchema.optional().describe('Runs first; liveness and readiness probes start once it succeeded, and its failure restarts the container.'),
    lifecycle: LifecycleSchema.optional().describe('Hooks run after the container starts (postStart) and before it is stopped (preStop).'),
    stdin: z.boolean().optional().describe('Give the process a stdin that attached clients (kubectl attach, kubectl run -i) write to; without it, stdin reads EOF.'),
    stdinOnce: z.boolean().optional().describe('Close stdin (the process reads EOF) when the first attached client is done with it.'),
    tty: z.boolean().optional().describe('Run the process on a terminal of its own (needs stdin).'),
  })
  .describe('One process of a pod.');
export type Container = z.infer<typeof ContainerSchema>;

/**
 * A container added to a running pod (pods/ephemeralcontainers), to look inside it: run once,
 * never restarted, with no ports, probes, hooks or resources of its own (kubectl debug).
 */
export const EphemeralContainerSchema = ContainerSchema.extend({
  targetContainerName: z.string().optional().describe('The container whose processes this one means to see; recorded only (pods share the node\'s namespaces here).'),
}).describe('A container added to a running pod to inspect it; run once, never restarted.');
export type EphemeralContainer = z.infer<typeof EphemeralContainerSchema>;

export const NodeSelectorOperatorSchema = z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

export const NodeSelectorRequirementSchema = z.object({
  key: z.string(),
  operator: NodeSelectorOperatorSchema,
  values: z.array(z.string()).optional(),
});
export type NodeSelectorRequirement = z.infer<typeof NodeSelectorRequirementSchema>;

export const NodeSelectorTermSchema = z.object({
  matchExpressions: z.array(NodeSelectorRequirementSchema).optional(),
  matchFields: z.array(NodeSelectorRequirementSchema).optional(),
});
export type NodeSelectorTerm = z.infer<typeof NodeSelectorTermSchema>;

export const NodeAffinitySchema = z.object({
  requiredDuringSchedulingIgnoredDuringExecution: z
    .object({ nodeSelectorTerms: z.array(NodeSelectorTermSchema) })
    .optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z
    .array(z.object({ weight: z.number().int(), preference: NodeSelectorTermSchema }))
    .optional(),
});

export const PodAffinityTermSchema = z.object({
  labelSelector: LabelSelectorSchema.optional(),
  namespaces: z.array(z.string()).optional(),
  namespaceSelector: LabelSelectorSchema.optional(),
  topologyKey: z.string(),
});
export type PodAffinityTerm = z.infer<typeof PodAffinityTermSchema>;

export const WeightedPodAffinityTermSchema = z.object({
  weight: z.number().int(),
  podAffinityTerm: PodAffinityTermSchema,
});

/** Same shape for podAffinity and podAntiAffinity. */
export const PodAffinitySchema = z.object({
  requiredDuringSchedulingIgnoredDuringExecution: z.array(PodAffinityTermSchema).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(WeightedPodAffinityTermSchema).optional(),
});

export const AffinitySchema = z.object({
  nodeAffinity: NodeAffinitySchema.optional(),
  podAffinity: PodAffinitySchema.optional(),
  podAntiAffinity: PodAffinitySchema.optional(),
});
export type Affinity = z.infer<typeof AffinitySchema>;

export const TolerationSchema = z.object({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).default('Equal'),
  value: z.string().optional(),
  /** Absent = tolerates every effect. */
  effect: TaintEffectSchema.optional(),
  tolerationSeconds: z.number().int().optional(),
});
export type Toleration = z.infer<typeof TolerationSchema>;

export const TopologySpreadConstraintSchema = z.object({
  maxSkew: z.number().int(),
  topologyKey: z.string(),
  whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']),
  labelSelector: LabelSelectorSchema.optional(),
  minDomains: z.number().int().optional(),
});
export type TopologySpreadConstraint = z.infer<typeof TopologySpreadConstraintSchema>;

export const RestartPolicySchema = z.enum(['Always', 'OnFailure', 'Never']);
export type RestartPolicy = z.infer<typeof RestartPolicySchema>;

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export const PodSpecSchema = z
  .object({
    containers: z.array(ContainerSchema).describe('The containers of the pod; at least one.'),
    initContainers: z.array(ContainerSchema).optional().describe('Containers run one after another, each to completion, before the containers start.'),
    ephemeralContainers: z
      .array(EphemeralContainerSchema)
      .optional()
      .describe('Containers added to the running pod through its ephemeralcontainers subresource (kubectl debug); never removed or changed.'),
    restartPolicy: RestartPolicySchema.default('Always').describe('Whether containers are restarted when they exit: Always, OnFailure or Never.'),
    terminationGracePeriodSeconds: z.number().int().default(30),
    activeDeadlineSeconds: z.number().int().optional(),
    nodeSelector: LabelsSchema.optional().describe('Labels a node must have for the pod to be placed on it.'),
    serviceAccountName: z.string().optional(),
    enableServiceLinks: z
      .boolean()
      .optional()
      .describe("Whether the containers' environment describes the Services of the pod's namespace, as Docker links did (unset: true)."),
    nodeName: z.string().optional().describe('The node the pod is bound to; set by a scheduler through the binding subresource.'),
    hostNetwork: z.boolean().optional(),
    affinity: AffinitySchema.optional(),
    schedulerName: z.string().default(DEFAULT_SCHEDULER_NAME).describe('The scheduler that places this pod (each cell-scheduler owns the pods naming it).'),
    tolerations: z.array(TolerationSchema).optional().describe('Taints of nodes this pod tolerates.'),
    priorityClassName: z.string().optional(),
    priority: z.number().int().optional(),
    preemptionPolicy: z.enum(['PreemptLowerPriority', 'Never']).optional(),
    topologySpreadConstraints: z.array(TopologySpreadConstraintSchema).optional(),
  })
  // With hostNetwork a container port *is* a host port; Kubernetes defaults hostPort to match.
  .transform((spec) => {
    if (spec.hostNetwork !== true) return spec;
    const withHostPorts = (cs: Container[]): Container[] =>
      cs.map((c) => (c.ports === undefined
        ? c
        : { ...c, ports: c.ports.map((p) => (p.hostPort === undefined || p.hostPort === 0 ? { ...p, hostPort: p.containerPort } : p)) }));
    return {
      ...spec,
      containers: withHostPorts(spec.containers),
      ...(spec.initContainers === undefined ? {} : { initContainers: withHostPorts(spec.initContainers) }),
    };
  });
export type PodSpec = z.infer<typeof PodSpecSchema>;

/** A pod template (Kubernetes' core/v1 PodTemplateSpec): the metadata and spec of the pods a controller creates. */
export const PodTemplateSpecSchema = z
  .object({
    metadata: ObjectMetaSchema.prefault({}).describe('Labels and annotations every pod created from the template gets.'),
    spec: PodSpecSchema.describe('The spec of every pod created from the template.'),
  })
  .describe('The pods a controller creates: their metadata and spec.');
export type PodTemplateSpec = z.infer<typeof PodTemplateSpecSchema>;

// ---------------------------------------------------------------------------------------------
// Pod status

export const PodPhaseSchema = z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);
export type PodPhase = z.infer<typeof PodPhaseSchema>;

/** Condition types the project sets; Kubernetes allows others (readiness gates), so the field is open. */
export const POD_CONDITION_TYPES = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'] as const;

export const PodConditionSchema = z.object({
  type: z.string(),
  status: ConditionStatusSchema,
  lastProbeTime: TimeSchema.optional(),
  lastTransitionTime: TimeSchema.optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export type PodCondition = z.infer<typeof PodConditionSchema>;

export const ContainerStateSchema = z.object({
  waiting: z.object({ reason: z.string().optional(), message: z.string().optional() }).optional(),
  running: z.object({ startedAt: TimeSchema.optional() }).optional(),
  terminated: z
    .object({
      exitCode: z.number().int(),
      signal: z.number().int().optional(),
      reason: z.string().optional(),
      message: z.string().optional(),
      startedAt: TimeSchema.optional(),
      finishedAt: TimeSchema.optional(),
      containerID: z.string().optional(),
    })
    .optional(),
});
export type ContainerState = z.infer<typeof ContainerStateSchema>;

export const ContainerStatusSchema = z.object({
  name: z.string(),
  state: ContainerStateSchema.optional(),
  lastState: ContainerStateSchema.optional(),
  ready: z.boolean().default(false),
  restartCount: z.number().int().default(0),
  image: z.string().default(''),
  imageID: z.string().default(''),
  containerID: z.string().optional(),
  started: z.boolean().optional(),
});
export type ContainerStatus = z.infer<typeof ContainerStatusSchema>;

export const PodStatusSchema = z.object({
  phase: PodPhaseSchema.optional(),
  conditions: z.array(PodConditionSchema).optional(),
  message: z.string().optional(),
  reason: z.string().optional(),
  nominatedNodeName: z.string().optional(),
  hostIP: z.string().optional(),
  podIP: z.string().optional(),
  podIPs: z.array(z.object({ ip: z.string() })).optional(),
  startTime: TimeSchema.optional(),
  initContainerStatuses: z.array(ContainerStatusSchema).optional(),
  containerStatuses: z.array(ContainerStatusSchema).optional(),
  ephemeralContainerStatuses: z.array(ContainerStatusSchema).optional(),
  qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']).optional(),
});
export type PodStatus = z.infer<typeof PodStatusSchema>;

export const PodSchema = z
  .object({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Pod').default('Pod'),
    metadata: ObjectMetaSchema.prefault({}),
    spec: PodSpecSchema.describe('What the pod runs and where it may be placed.'),
    status: PodStatusSchema.prefault({}).describe('What the pod is doing, as its node agent last reported. Read-only to clients.'),
  })
  .describe('A group of containers placed together on one node; the unit cell schedules.');
export type Pod = z.infer<typeof PodSchema>;
/** What a client may send: defaults not yet applied, quantities as strings or numbers. */
export type PodInput = z.input<typeof PodSchema>;

// ---------------------------------------------------------------------------------------------
// Event and Binding

export const EventSchema = z.object({
  apiVersion: z.literal('v1').default('v1'),
  kind: z.literal('Event').default('Event'),
  metadata: ObjectMetaSchema.prefault({}),
  involvedObject: ObjectReferenceSchema,
  reason: z.string().optional(),
  message: z.string().optional(),
  source: z.object({ component: z.string().optional(), host: z.string().optional() }).optional(),
  firstTimestamp: TimeSchema.optional(),
  lastTimestamp: TimeSchema.optional(),
  count: z.number().int().optional(),
  type: z.enum(['Normal', 'Warning']).optional(),
  eventTime: MicroTimeSchema.optional(),
  series: z.object({ count: z.number().int().optional(), lastObservedTime: MicroTimeSchema.optional() }).optional(),
  action: z.string().optional(),
  related: ObjectReferenceSchema.optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
}).describe('A report of something that happened to an object (scheduling failures, pod starts, node changes).');
export type Event = z.infer<typeof EventSchema>;

/** Annotation on a Binding asking for coarse-grained conflict detection against this allocation version (§3). */
export const ALLOCATION_RESOURCE_VERSION_ANNOTATION = 'scheduling.cell.dev/allocation-resource-version';

/** Body of `POST pods/{name}/binding`: assigns the pod named by metadata.name to `target`. */
export const BindingSchema = z.object({
  apiVersion: z.literal('v1').default('v1'),
  kind: z.literal('Binding').default('Binding'),
  metadata: ObjectMetaSchema.prefault({}),
  target: ObjectReferenceSchema.describe('The node to bind the pod to (kind Node, name).'),
}).describe('Binds the pod named by metadata.name to a node: the body of POST pods/{name}/binding.');
export type Binding = z.infer<typeof BindingSchema>;
