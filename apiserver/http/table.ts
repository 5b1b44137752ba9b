// The `meta.k8s.io/v1` Table form of lists and watch events, which is what makes `kubectl get`
// print useful columns. Columns follow kubectl's for each kind; wide-only columns have priority 1.
import { metricsSummary, type HorizontalPodAutoscaler } from '../../shared/api/autoscaling.js';
import { age, humanDuration } from '../../shared/duration.js';
import { labelSelectorFromSpec, type LabelSelectorSpec } from '../../shared/labels.js';
import { Quantity } from '../../shared/quantity.js';
import { sliceEndpointsText, type EndpointSlice } from '../../shared/api/endpoint-slice.js';
import { ingressAddressText, ingressHostsText, ingressPortsText, type Ingress, type IngressClass } from '../../shared/api/networking.js';
import { endpointsText, externalIPText, servicePortText, type Endpoints, type Service } from '../../shared/api/service.js';
import type { KubeObject } from '../registry/object.js';
import { quotaColumnText } from '../quota/columns.js';
import { QUEUE_COLUMNS } from '../queues/columns.js';

export interface ColumnDefinition {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** null: nothing there (a custom resource's printer column that finds no value; kubectl prints `<none>`). */
type Cell = string | number | boolean | null;
/** A column and how to fill it from one object. */
export interface Column extends ColumnDefinition {
  cell(obj: KubeObject): Cell;
}

export function col(name: string, cell: (o: KubeObject) => Cell, extra: Partial<ColumnDefinition> = {}): Column {
  return { name, type: 'string', format: '', description: name, priority: 0, cell, ...extra };
}

export const nameCol = col('Name', (o) => o.metadata.name ?? '', { format: 'name', description: 'Name of the object' });
export const ageCol = col('Age', (o) => age(o.metadata.creationTimestamp), { description: 'Time since creation' });

interface ContainerStatusView {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string; exitCode?: number; signal?: number } };
}
interface PodView {
  spec?: { containers?: unknown[]; nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    podIP?: string;
    nominatedNodeName?: string;
    containerStatuses?: ContainerStatusView[];
  };
}

/** kubectl's STATUS column for a pod: a container's reason beats the phase; Terminating wins. */
export function podStatusText(obj: KubeObject): string {
  const pod = obj as PodView;
  let reason = pod.status?.reason || pod.status?.phase || 'Pending';
  for (const cs of pod.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting?.reason;
    const t = cs.state?.terminated;
    if (w) reason = w;
    else if (t) reason = t.reason || (t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`);
  }
  if (obj.metadata.deletionTimestamp && pod.status?.reason !== 'NodeLost') reason = 'Terminating';
  return reason;
}

interface NodeView {
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: { type?: string; status?: string }[];
    nodeInfo?: { kubeletVersion?: string; osImage?: string; kernelVersion?: string; containerRuntimeVersion?: string };
    addresses?: { type?: string; address?: string }[];
  };
}

export function nodeStatusText(obj: KubeObject): string {
  const node = obj as NodeView;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  let s = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  if (node.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

function nodeRoles(obj: KubeObject): string {
  const roles = Object.keys(obj.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function nodeAddress(obj: KubeObject, type: string): string {
  return (obj as NodeView).status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';
}

function field(obj: KubeObject, path: string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** Keys of a ConfigMap's or Secret's `data` or `binaryData`. */
function keyCount(obj: KubeObject, map: 'data' | 'binaryData'): number {
  const m = field(obj, [map]);
  return typeof m === 'object' && m !== null ? Object.keys(m).length : 0;
}

function str(v: unknown, fallback = '<none>'): string {
  return v === undefined || v === null || v === '' ? fallback : String(v);
}

// RBAC kinds, with kubectl's columns: a binding shows its role and (wide) its subjects.
interface BindingView {
  roleRef?: { kind?: string; name?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}
const createdAtCol = col('Created At', (o) => str(o.metadata.creationTimestamp, ''), { type: 'date', description: 'When the object was created' });
function subjectsOf(kind: string): (o: KubeObject) => string {
  return (o) =>
    ((o as BindingView).subjects ?? [])
      .filter((s) => s.kind === kind)
      .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name ?? ''}` : (s.name ?? '')))
      .join(', ');
}
const bindingColumns: Column[] = [
  nameCol,
  col('Role', (o) => `${(o as BindingView).roleRef?.kind ?? ''}/${(o as BindingView).roleRef?.name ?? ''}`, { description: 'The role granted' }),
  ageCol,
  col('Users', subjectsOf('User'), { priority: 1, description: 'Users bound' }),
  col('Groups', subjectsOf('Group'), { priority: 1, description: 'Groups bound' }),
  col('ServiceAccounts', subjectsOf('ServiceAccount'), { priority: 1, description: 'Service accounts bound' }),
];

// Jobs, with kubectl's STATUS, COMPLETIONS and DURATION.
interface JobView {
  spec?: { completions?: number; parallelism?: number; selector?: LabelSelectorSpec; template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
  status?: { succeeded?: number; startTime?: string; completionTime?: string; conditions?: { type?: string; status?: string }[] };
}
/**
 * A Job's STATUS as Kubernetes 1.30–1.33 prints it (printJob): the first condition of each type
 * decides, in this order; FailureTarget reads as itself, SuccessCriteriaMet still reads Running
 * (1.34 added it).
 */
function jobStatusText(obj: KubeObject): string {
  const has = (type: string) => ((obj as JobView).status?.conditions ?? []).find((c) => c.type === type)?.status === 'True';
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (obj.metadata.deletionTimestamp) return 'Terminating';
  if (has('Suspended')) return 'Suspended';
  if (has('FailureTarget')) return 'FailureTarget';
  return 'Running';
}
function jobCompletions(obj: KubeObject): string {
  const { spec, status } = obj as JobView;
  const succeeded = status?.succeeded ?? 0;
  if (spec?.completions !== undefined) return `${succeeded}/${spec.completions}`;
  const parallelism = spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}
function jobDuration(obj: KubeObject): string {
  const status = (obj as JobView).status;
  const start = Date.parse(status?.startTime ?? '');
  if (Number.isNaN(start)) return '';
  const end = Date.parse(status?.completionTime ?? '');
  return humanDuration((Number.isNaN(end) ? Date.now() : end) - start);
}
/** A stored selector as kubectl prints it (`a=b,c in (d)`); `<none>` for none. */
function selectorText(selector: LabelSelectorSpec | undefined): string {
  if (selector === undefined) return '<none>';
  const text = labelSelectorFromSpec(selector).toString();
  return text === '' ? '<none>' : text;
}
const jobContainers = (obj: KubeObject) => (obj as JobView).spec?.template?.spec?.containers ?? [];

// CronJobs, with kubectl's columns.
interface CronJobView {
  spec?: { schedule?: string; timeZone?: string; suspend?: boolean; jobTemplate?: JobView };
  status?: { active?: unknown[]; lastScheduleTime?: string };
}
const cronJob = (obj: KubeObject) => obj as CronJobView;
const cronJobContainers = (obj: KubeObject) => cronJob(obj).spec?.jobTemplate?.spec?.template?.spec?.containers ?? [];

// apps/v1 workloads, with kubectl's columns (READY is ready/desired for a Deployment).
interface WorkloadView {
  spec?: { replicas?: number; selector?: LabelSelectorSpec; template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
  status?: { replicas?: number; readyReplicas?: number; updatedReplicas?: number; availableReplicas?: number };
}
const workload = (obj: KubeObject) => obj as WorkloadView;
const workloadContainers = (obj: KubeObject) => workload(obj).spec?.template?.spec?.containers ?? [];
const workloadWide: Column[] = [
  col('Containers', (o) => workloadContainers(o).map((c) => c.name ?? '').join(','), { priority: 1, description: 'Names of the containers' }),
  col('Images', (o) => workloadContainers(o).map((c) => c.image ?? '').join(','), { priority: 1, description: 'Images of the containers' }),
  col('Selector', (o) => selectorText(workload(o).spec?.selector), { priority: 1, description: 'The label selector of the pods' }),
];

interface DaemonSetView {
  spec?: { template?: { spec?: { nodeSelector?: Record<string, string> } } };
  status?: { desiredNumberScheduled?: number; currentNumberScheduled?: number; numberReady?: number; updatedNumberScheduled?: number; numberAvailable?: number };
}
const daemonSet = (obj: KubeObject) => obj as DaemonSetView;
/** Only stored (decoded) autoscalers reach a table. */
const autoscaler = (obj: KubeObject) => obj as unknown as HorizontalPodAutoscaler;

/** A node selector as kubectl prints it: `k=v` pairs sorted, comma-separated. */
function nodeSelectorText(selector: Record<string, string> | undefined): string {
  const pairs = Object.entries(selector ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.length === 0 ? '<none>' : pairs.map(([k, v]) => `${k}=${v}`).join(',');
}

/** The controller of an object as kubectl names it: `daemonset.apps/NAME`. */
function controllerName(o: KubeObject): string {
  const ref = o.metadata.ownerReferences?.find((r) => r.controller === true);
  if (!ref) return '<none>';
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  return `${ref.kind.toLowerCase()}${group ? `.${group}` : ''}/${ref.name}`;
}

interface UsageView {
  window?: string;
  usage?: { cpu?: string; memory?: string };
  containers?: { usage?: { cpu?: string; memory?: string } }[];
}

/** A metrics object's usage, a pod's containers summed, as its quantities spell it. */
function usageCell(o: KubeObject, r: 'cpu' | 'memory'): string {
  const v = o as UsageView;
  if (v.usage) return v.usage[r] ?? '';
  return sumQuantities((v.containers ?? []).map((c) => c.usage?.[r] ?? '0'), r);
}

/** Sums quantities for display: cores in millicores, bytes in Ki. */
function sumQuantities(parts: string[], r: 'cpu' | 'memory'): string {
  let milli = 0n;
  for (const p of parts) milli += Quantity.parse(p).milliValue();
  return r === 'cpu' ? `${milli}m` : `${milli / 1000n / 1024n}Ki`;
}

/** The metrics API's kinds, as metrics-server prints them (keyed resource.group: their names are the core kinds'). */
const METRICS_COLUMNS: Record<string, Column[]> = Object.fromEntries(
  ['nodes.metrics.k8s.io', 'pods.metrics.k8s.io'].map((key) => [
    key,
    [
      nameCol,
      col('CPU', (o) => usageCell(o, 'cpu'), { description: 'CPU in use over the window' }),
      col('Memory', (o) => usageCell(o, 'memory'), { description: 'Memory resident at the end of the window' }),
      col('Window', (o) => (o as UsageView).window ?? '', { description: 'The window the CPU use is averaged over' }),
    ],
  ]),
);

const COLUMNS: Record<string, Column[]> = {
  ...QUEUE_COLUMNS,
  ...METRICS_COLUMNS,
  resourcequotas: [
    nameCol,
    ageCol,
    col('Request', (o) => quotaColumnText(o, 'request'), { description: 'Used/hard of each limited resource that is not a limit' }),
    col('Limit', (o) => quotaColumnText(o, 'limit'), { description: 'Used/hard of each limits.* resource' }),
  ],
  pods: [
    nameCol,
    col('Ready', (o) => {
      const p = o as PodView;
      const total = p.spec?.containers?.length ?? 0;
      const ready = (p.status?.containerStatuses ?? []).filter((c) => c.ready).length;
      return `${ready}/${total}`;
    }, { description: 'The number of ready containers' }),
    col('Status', podStatusText, { description: 'The aggregate status of the containers' }),
    col('Restarts', (o) => ((o as PodView).status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0), {
      type: 'integer',
      description: 'The number of times the containers have restarted',
    }),
    ageCol,
    col('IP', (o) => str((o as PodView).status?.podIP), { priority: 1, description: 'IP address assigned to the pod' }),
    col('Node', (o) => str((o as PodView).spec?.nodeName), { priority: 1, description: 'Name of the node the pod is bound to' }),
    col('Nominated Node', (o) => str((o as PodView).status?.nominatedNodeName), { priority: 1, description: 'Node a preempting pod waits for' }),
  ],
  nodes: [
    nameCol,
    col('Status', nodeStatusText, { description: 'The status of the node' }),
    col('Roles', nodeRoles, { description: 'The roles of the node' }),
    ageCol,
    col('Version', (o) => str((o as NodeView).status?.nodeInfo?.kubeletVersion, ''), { description: 'Agent version' }),
    col('Internal-IP', (o) => nodeAddress(o, 'InternalIP'), { priority: 1, description: 'Internal IP of the node' }),
    col('External-IP', (o) => nodeAddress(o, 'ExternalIP'), { priority: 1, description: 'External IP of the node' }),
    col('OS-Image', (o) => str((o as NodeView).status?.nodeInfo?.osImage, '<unknown>'), { priority: 1, description: 'OS image' }),
    col('Kernel-Version', (o) => str((o as NodeView).status?.nodeInfo?.kernelVersion, '<unknown>'), { priority: 1, description: 'Kernel version' }),
  ],
  namespaces: [nameCol, col('Status', (o) => str(field(o, ['status', 'phase']), 'Active'), { description: 'Phase' }), ageCol],
  events: [
    col('Last Seen', (o) => age(str(field(o, ['lastTimestamp']) ?? field(o, ['eventTime']), '')), { description: 'Time since last seen' }),
    col('Type', (o) => str(field(o, ['type']), ''), { description: 'Normal or Warning' }),
    col('Reason', (o) => str(field(o, ['reason']), ''), { description: 'Why' }),
    col('Object', (o) => `${String(field(o, ['involvedObject', 'kind']) ?? '').toLowerCase()}/${str(field(o, ['involvedObject', 'name']), '')}`, {
      description: 'The object the event is about',
    }),
    col('Subobject', (o) => str(field(o, ['involvedObject', 'fieldPath']), ''), { priority: 1, description: 'The part of the object, e.g. one of its containers' }),
    col('Source', (o) => [field(o, ['source', 'component']), field(o, ['source', 'host'])].filter((v) => typeof v === 'string' && v !== '').join(', '), {
      priority: 1,
      description: 'The component that reported it',
    }),
    col('Message', (o) => str(field(o, ['message']), ''), { description: 'What happened' }),
    col('First Seen', (o) => age(str(field(o, ['firstTimestamp']) ?? field(o, ['eventTime']), '')), { priority: 1, description: 'Time since first seen' }),
    col('Count', (o) => Number(field(o, ['count']) ?? 1), { type: 'integer', priority: 1, description: 'Times seen' }),
    col('Name', (o) => str(o.metadata.name, ''), { priority: 1, description: "The event's own name" }),
  ],
  services: [
    nameCol,
    col('Type', (o) => str(field(o, ['spec', 'type']), 'ClusterIP'), { description: 'How the Service is reached' }),
    col('Cluster-IP', (o) => str(field(o, ['spec', 'clusterIP']), '<none>'), { description: 'The virtual IP' }),
    col('External-IP', (o) => externalIPText(o as unknown as Service), { description: 'External addresses' }),
    col('Port(s)', (o) => ((o as unknown as Service).spec.ports ?? []).map(servicePortText).join(',') || '<none>', { description: 'Ports exposed' }),
    ageCol,
    col('Selector', (o) => Object.entries((o as unknown as Service).spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>', { priority: 1, description: 'The pods it stands for' }),
  ],
  endpointslices: [
    nameCol,
    col('AddressType', (o) => (o as unknown as EndpointSlice).addressType, { description: 'What the addresses are' }),
    col('Ports', (o) => ((o as unknown as EndpointSlice).ports ?? []).map((p) => (p.port === undefined ? '<unset>' : String(p.port))).join(',') || '<unset>', { description: 'Ports served' }),
    col('Endpoints', (o) => sliceEndpointsText(o as unknown as EndpointSlice), { description: 'Addresses' }),
    ageCol,
  ],
  ingresses: [
    nameCol,
    col('Class', (o) => str(field(o, ['spec', 'ingressClassName']), '<none>'), { description: 'The IngressClass that serves it' }),
    col('Hosts', (o) => ingressHostsText(o as unknown as Ingress), { description: 'Hosts its rules match' }),
    col('Address', (o) => ingressAddressText(o as unknown as Ingress), { description: 'Where its controller serves it' }),
    col('Ports', (o) => ingressPortsText(o as unknown as Ingress), { description: 'Ports served' }),
    ageCol,
  ],
  customresourcedefinitions: [nameCol, col('Created At', (o) => o.metadata.creationTimestamp ?? '', { type: 'date', description: 'When the definition was created' })],
  ingressclasses: [
    nameCol,
    col('Controller', (o) => str(field(o, ['spec', 'controller']), ''), { description: 'Who serves its Ingresses' }),
    col('Parameters', (o) => {
      const p = (o as unknown as IngressClass).spec.parameters;
      return p ? `${p.kind}/${p.name}` : '<none>';
    }, { description: 'Its controller\'s settings' }),
    ageCol,
  ],
  endpoints: [nameCol, col('Endpoints', (o) => endpointsText(o as unknown as Endpoints), { description: 'Ready addresses' }), ageCol],
  configmaps: [nameCol, col('Data', (o) => keyCount(o, 'data') + keyCount(o, 'binaryData'), { type: 'integer', description: 'Number of keys' }), ageCol],
  secrets: [
    nameCol,
    col('Type', (o) => str(field(o, ['type']), ''), { description: 'What the secret holds' }),
    col('Data', (o) => keyCount(o, 'data'), { type: 'integer', description: 'Number of keys' }),
    ageCol,
  ],
  limitranges: [nameCol, col('Created At', (o) => str(o.metadata.creationTimestamp, ''), { description: 'When it was made' })],
  priorityclasses: [
    nameCol,
    col('Value', (o) => Number(field(o, ['value']) ?? 0), { type: 'integer', description: 'Priority of the pods of this class' }),
    col('Global-Default', (o) => field(o, ['globalDefault']) === true, { type: 'boolean', description: 'Taken by pods that name no class' }),
    ageCol,
    col('PreemptionPolicy', (o) => str(field(o, ['preemptionPolicy']), 'PreemptLowerPriority'), { description: 'Whether its pods may preempt others' }),
  ],
  serviceaccounts: [
    nameCol,
    col('Secrets', (o) => (Array.isArray(field(o, ['secrets'])) ? (field(o, ['secrets']) as unknown[]).length : 0), { type: 'integer', description: 'Secrets listed for the account' }),
    ageCol,
  ],
  leases: [nameCol, col('Holder', (o) => str(field(o, ['spec', 'holderIdentity']), ''), { description: 'Holder' }), ageCol],
  podgroups: [
    nameCol,
    col('Phase', (o) => str(field(o, ['status', 'phase']), 'Pending'), { description: 'Phase of the group' }),
    col('MinMember', (o) => Number(field(o, ['spec', 'minMember']) ?? 0), { type: 'integer', description: 'Members required' }),
    col('Scheduled', (o) => Number(field(o, ['status', 'scheduled']) ?? 0), { type: 'integer', description: 'Members bound' }),
    ageCol,
  ],
  roles: [nameCol, createdAtCol],
  clusterroles: [nameCol, createdAtCol],
  rolebindings: bindingColumns,
  clusterrolebindings: bindingColumns,
  poddisruptionbudgets: [
    nameCol,
    col('Min Available', (o) => str(field(o, ['spec', 'minAvailable']), 'N/A'), { description: 'Pods that must stay available' }),
    col('Max Unavailable', (o) => str(field(o, ['spec', 'maxUnavailable']), 'N/A'), { description: 'Pods that may be unavailable' }),
    col('Allowed Disruptions', (o) => Number(field(o, ['status', 'disruptionsAllowed']) ?? 0), { type: 'integer', description: 'Evictions allowed now' }),
    ageCol,
  ],
  deployments: [
    nameCol,
    col('Ready', (o) => `${workload(o).status?.readyReplicas ?? 0}/${workload(o).spec?.replicas ?? 0}`, { description: 'Ready pods out of those wanted' }),
    col('Up-to-date', (o) => workload(o).status?.updatedReplicas ?? 0, { type: 'integer', description: 'Pods of the current template' }),
    col('Available', (o) => workload(o).status?.availableReplicas ?? 0, { type: 'integer', description: 'Pods available to users' }),
    ageCol,
    ...workloadWide,
  ],
  replicasets: [
    nameCol,
    col('Desired', (o) => workload(o).spec?.replicas ?? 0, { type: 'integer', description: 'Pods wanted' }),
    col('Current', (o) => workload(o).status?.replicas ?? 0, { type: 'integer', description: 'Pods counted' }),
    col('Ready', (o) => workload(o).status?.readyReplicas ?? 0, { type: 'integer', description: 'Pods ready' }),
    ageCol,
    ...workloadWide,
  ],
  statefulsets: [
    nameCol,
    col('Ready', (o) => `${workload(o).status?.readyReplicas ?? 0}/${workload(o).spec?.replicas ?? 0}`, { description: 'Ready pods out of those wanted' }),
    ageCol,
    col('Containers', (o) => workloadContainers(o).map((c) => c.name ?? '').join(','), { priority: 1, description: 'Names of the containers' }),
    col('Images', (o) => workloadContainers(o).map((c) => c.image ?? '').join(','), { priority: 1, description: 'Images of the containers' }),
  ],
  daemonsets: [
    nameCol,
    col('Desired', (o) => daemonSet(o).status?.desiredNumberScheduled ?? 0, { type: 'integer', description: 'Nodes that should run the daemon pod' }),
    col('Current', (o) => daemonSet(o).status?.currentNumberScheduled ?? 0, { type: 'integer', description: 'Nodes that run it' }),
    col('Ready', (o) => daemonSet(o).status?.numberReady ?? 0, { type: 'integer', description: 'Nodes whose daemon pod is ready' }),
    col('Up-to-date', (o) => daemonSet(o).status?.updatedNumberScheduled ?? 0, { type: 'integer', description: 'Nodes running the current template' }),
    col('Available', (o) => daemonSet(o).status?.numberAvailable ?? 0, { type: 'integer', description: 'Nodes whose daemon pod is available' }),
    col('Node Selector', (o) => nodeSelectorText(daemonSet(o).spec?.template?.spec?.nodeSelector), { description: 'The node labels the pods ask for' }),
    ageCol,
    ...workloadWide,
  ],
  horizontalpodautoscalers: [
    nameCol,
    col('Reference', (o) => `${autoscaler(o).spec.scaleTargetRef.kind}/${autoscaler(o).spec.scaleTargetRef.name}`, { description: 'The object it scales' }),
    col('Targets', (o) => metricsSummary(autoscaler(o)), { description: 'Each metric as measured / its target' }),
    col('MinPods', (o) => autoscaler(o).spec.minReplicas, { type: 'integer', description: 'Fewest replicas' }),
    col('MaxPods', (o) => autoscaler(o).spec.maxReplicas, { type: 'integer', description: 'Most replicas' }),
    col('Replicas', (o) => autoscaler(o).status.currentReplicas, { type: 'integer', description: 'Replicas when last looked at' }),
    ageCol,
  ],
  controllerrevisions: [
    nameCol,
    col('Controller', (o) => controllerName(o), { description: 'The object whose revision this is' }),
    col('Revision', (o) => Number(field(o, ['revision']) ?? 0), { type: 'integer', description: 'Its revision number' }),
    ageCol,
  ],
  cronjobs: [
    nameCol,
    col('Schedule', (o) => cronJob(o).spec?.schedule ?? '', { description: 'When it runs' }),
    col('Timezone', (o) => str(cronJob(o).spec?.timeZone), { description: 'The time zone of the schedule' }),
    col('Suspend', (o) => (cronJob(o).spec?.suspend === true ? 'True' : 'False'), { type: 'boolean', description: 'Whether runs are held' }),
    col('Active', (o) => cronJob(o).status?.active?.length ?? 0, { type: 'integer', description: 'Jobs still running' }),
    col('Last Schedule', (o) => (cronJob(o).status?.lastScheduleTime ? age(cronJob(o).status?.lastScheduleTime) : '<none>'), { description: 'Time since the last run started' }),
    ageCol,
    col('Containers', (o) => cronJobContainers(o).map((c) => c.name ?? '').join(','), { priority: 1, description: 'Names of the containers' }),
    col('Images', (o) => cronJobContainers(o).map((c) => c.image ?? '').join(','), { priority: 1, description: 'Images of the containers' }),
    col('Selector', (o) => selectorText(cronJob(o).spec?.jobTemplate?.spec?.selector), { priority: 1, description: 'The label selector of the pods' }),
  ],
  jobs: [
    nameCol,
    col('Status', jobStatusText, { description: 'Status of the job' }),
    col('Completions', jobCompletions, { description: 'The number of pods that succeeded out of those wanted' }),
    col('Duration', jobDuration, { description: 'Time the job ran (until it completed)' }),
    ageCol,
    col('Containers', (o) => jobContainers(o).map((c) => c.name ?? '').join(','), { priority: 1, description: 'Names of the containers' }),
    col('Images', (o) => jobContainers(o).map((c) => c.image ?? '').join(','), { priority: 1, description: 'Images of the containers' }),
    col('Selector', (o) => selectorText((o as JobView).spec?.selector), { priority: 1, description: 'The label selector of the pods' }),
  ],
};

/** `resource` is the plural name, or `resource.group` where a name is served in more than one group. */
/** The columns of a built-in resource (or of the metrics API's, keyed `resource.group`). */
export function columnsFor(resource: string): Column[] {
  return COLUMNS[resource] ?? [nameCol, ageCol];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableRequest {
  apiVersion: 'meta.k8s.io/v1' | 'meta.k8s.io/v1beta1';
  includeObject: IncludeObject;
}

/** Does the Accept header ask for a Table? Which version? */
export function tableRequested(accept: string | undefined, includeObject: string | undefined): TableRequest | undefined {
  if (!accept || !accept.includes('as=Table')) return undefined;
  const wants = (v: string) =>
    accept.split(',').some((part) => {
      const params = part.split(';').map((p) => p.trim());
      return params.includes('as=Table') && params.includes(`v=${v}`) && params.includes('g=meta.k8s.io');
    });
  const version = wants('v1') ? 'meta.k8s.io/v1' : wants('v1beta1') ? 'meta.k8s.io/v1beta1' : undefined;
  if (!version) return undefined;
  const inc = includeObject === 'None' || includeObject === 'Object' ? includeObject : 'Metadata';
  return { apiVersion: version, includeObject: inc };
}

function rowObject(obj: KubeObject, include: IncludeObject): KubeObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

export function toTable(
  columns: readonly Column[],
  items: KubeObject[],
  req: TableRequest,
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number },
  withColumns = true,
) {
  return {
    kind: 'Table',
    apiVersion: req.apiVersion,
    metadata: listMeta,
    columnDefinitions: withColumns ? columns.map(({ cell: _c, ...def }) => def) : [],
    rows: items.map((obj) => {
      const object = rowObject(obj, req.includeObject);
      return { cells: columns.map((c) => c.cell(obj)), ...(object ? { object } : {}) };
    }),
  };
}
