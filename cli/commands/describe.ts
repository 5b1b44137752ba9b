// `cellctl describe TYPE NAME`: one readable page per object — what it is, where it runs, what
// it holds, its conditions — and the Events about it at the bottom, as kubectl describe shows.
// Pods, nodes, namespaces, pod groups, leases and node allocations have their own layouts;
// anything else is printed as an indented tree.
import type { ConfigMap, Secret } from '../../shared/api/config.js';
import { endpointsText, externalIPText, type Endpoints, type Service } from '../../shared/api/service.js';
import type { Lease } from '../../shared/api/coordination.js';
import type { Container, ContainerState, ContainerStatus, Event, Node, Pod } from '../../shared/api/core.js';
import type { KubeObject } from '../../shared/api/meta.js';
import { podsResource, nodeAllocationsResource, leasesResource, endpointsResource, eventsResource, type ResourceInfo } from '../../shared/api/registry.js';
import { POD_GROUP_LABEL, type NodeAllocation, type PodGroup } from '../../shared/api/scheduling.js';
import { NODE_LEASE_NAMESPACE } from '../../shared/api/coordination.js';
import { age } from '../../shared/duration.js';
import { NotFoundError } from '../../shared/errors.js';
import { escapeFieldValue } from '../../shared/fields.js';
import { parseResourceList, type ResourceAmounts } from '../../shared/resources.js';
import { LAST_APPLIED_ANNOTATION } from '../apply-patch.js';
import type { Cli } from '../context.js';
import { UsageError } from '../errors.js';
import { DescribeWriter, describeTree, keyValues } from '../output/describe.js';
import { isBuiltIn, parseTargets, refFor } from '../resources.js';
import { selectorQuery } from './get.js';
import { describeQuota } from './quota.js';
import { describeWorkload } from './describe-workload.js';
import { describeAutoscaler } from './autoscale.js';
import { podNamesByUid, unnamedPod } from '../ledger-pods.js';

export interface DescribeOptions {
  selector?: string;
  allNamespaces?: boolean;
  showEvents?: boolean;
}

const HIDDEN_ANNOTATIONS = [LAST_APPLIED_ANNOTATION];

function header(w: DescribeWriter, obj: KubeObject, namespaced: boolean): void {
  w.line(0, 'Name:', obj.metadata.name ?? '');
  if (namespaced) w.line(0, 'Namespace:', obj.metadata.namespace ?? '');
}

function labelsAndAnnotations(w: DescribeWriter, obj: KubeObject): void {
  w.multiline(0, 'Labels:', keyValues(obj.metadata.labels));
  w.multiline(0, 'Annotations:', keyValues(obj.metadata.annotations, HIDDEN_ANNOTATIONS));
}

function timestamp(t: string | undefined): string {
  if (!t) return '<unset>';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toUTCString();
}

function percent(used: bigint, total: bigint): string {
  if (total <= 0n) return '0%';
  return `${(used * 100n) / total}%`;
}

function resourceLines(w: DescribeWriter, level: number, title: string, list: Record<string, string | number> | undefined): void {
  const entries = Object.entries(list ?? {});
  if (entries.length === 0) return;
  w.line(level, title);
  for (const [k, v] of entries.sort(([a], [b]) => a.localeCompare(b))) w.line(level + 1, `${k}:`, String(v));
}

// ---------------------------------------------------------------------------------------------
// Pods

function stateLines(w: DescribeWriter, level: number, title: string, state: ContainerState | undefined): void {
  if (state?.running) {
    w.line(level, title, 'Running');
    w.line(level + 1, 'Started:', timestamp(state.running.startedAt));
  } else if (state?.terminated) {
    const t = state.terminated;
    w.line(level, title, 'Terminated');
    if (t.reason) w.line(level + 1, 'Reason:', t.reason);
    if (t.message) w.line(level + 1, 'Message:', t.message);
    w.line(level + 1, 'Exit Code:', String(t.exitCode));
    if (t.signal) w.line(level + 1, 'Signal:', String(t.signal));
    w.line(level + 1, 'Started:', timestamp(t.startedAt));
    w.line(level + 1, 'Finished:', timestamp(t.finishedAt));
  } else if (state?.waiting) {
    w.line(level, title, 'Waiting');
    if (state.waiting.reason) w.line(level + 1, 'Reason:', state.waiting.reason);
    if (state.waiting.message) w.line(level + 1, 'Message:', state.waiting.message);
  } else if (title === 'State:') {
    w.line(level, title, 'Waiting');
  }
}

function containerSection(w: DescribeWriter, title: string, containers: readonly (Container & { targetContainerName?: string })[], statuses: readonly ContainerStatus[]): void {
  if (containers.length === 0) return;
  w.line(0, title);
  for (const c of containers) {
    const st = statuses.find((s) => s.name === c.name);
    w.line(1, `${c.name}:`);
    if (c.targetContainerName) w.line(2, 'Target Container:', c.targetContainerName);
    if (st?.containerID) w.line(2, 'Container ID:', st.containerID);
    w.line(2, 'Image:', c.image);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
    w.line(2, 'Port:', ports.length > 0 ? ports.join(', ') : '<none>');
    const hostPorts = (c.ports ?? []).filter((p) => p.hostPort).map((p) => `${p.hostPort}/${p.protocol ?? 'TCP'}`);
    w.line(2, 'Host Port:', hostPorts.length > 0 ? hostPorts.join(', ') : '<none>');
    if (c.command?.length) {
      w.line(2, 'Command:');
      for (const part of c.command) w.line(3, part);
    }
    if (c.args?.length) {
      w.line(2, 'Args:');
      for (const part of c.args) w.line(3, part);
    }
    if (c.workingDir) w.line(2, 'Working Dir:', c.workingDir);
    stateLines(w, 2, 'State:', st?.state);
    if (st?.lastState && Object.keys(st.lastState).length > 0) stateLines(w, 2, 'Last State:', st.lastState);
    w.line(2, 'Ready:', String(st?.ready ?? false));
    w.line(2, 'Restart Count:', String(st?.restartCount ?? 0));
    resourceLines(w, 2, 'Limits:', c.resources?.limits);
    resourceLines(w, 2, 'Requests:', c.resources?.requests);
    const env = c.env ?? [];
    if (env.length === 0) w.line(2, 'Environment:', '<none>');
    else {
      w.line(2, 'Environment:');
      for (const e of env) w.line(3, `${e.name}:`, e.value ?? '');
    }
  }
}

function describePod(w: DescribeWriter, pod: Pod): void {
  header(w, pod, true);
  w.line(0, 'Priority:', String(pod.spec.priority ?? 0));
  if (pod.spec.priorityClassName) w.line(0, 'Priority Class Name:', pod.spec.priorityClassName);
  w.line(0, 'Service Account:', pod.spec.serviceAccountName ?? 'default');
  w.line(0, 'Scheduler:', pod.spec.schedulerName);
  w.line(0, 'Node:', pod.spec.nodeName ? `${pod.spec.nodeName}${pod.status.hostIP ? `/${pod.status.hostIP}` : ''}` : '<none>');
  w.line(0, 'Start Time:', pod.status.startTime ? timestamp(pod.status.startTime) : '<unset>');
  labelsAndAnnotations(w, pod);
  if (pod.metadata.deletionTimestamp) {
    const lasts = Math.max(0, Math.round((Date.parse(pod.metadata.deletionTimestamp) - Date.now()) / 1000));
    w.line(0, 'Status:', `Terminating (lasts ${lasts}s)`);
    w.line(0, 'Termination Grace Period:', `${pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds}s`);
  } else {
    w.line(0, 'Status:', pod.status.phase ?? 'Pending');
  }
  if (pod.status.reason) w.line(0, 'Reason:', pod.status.reason);
  if (pod.status.message) w.line(0, 'Message:', pod.status.message);
  w.line(0, 'IP:', pod.status.podIP ?? '');
  if (pod.status.nominatedNodeName) w.line(0, 'Nominated Node:', pod.status.nominatedNodeName);
  const group = pod.metadata.labels?.[POD_GROUP_LABEL];
  if (group) w.line(0, 'Pod Group:', group);
  containerSection(w, 'Init Containers:', pod.spec.initContainers ?? [], pod.status.initContainerStatuses ?? []);
  containerSection(w, 'Containers:', pod.spec.containers, pod.status.containerStatuses ?? []);
  containerSection(w, 'Ephemeral Containers:', pod.spec.ephemeralContainers ?? [], pod.status.ephemeralContainerStatuses ?? []);
  const conditions = pod.status.conditions ?? [];
  if (conditions.length > 0) {
    w.line(0, 'Conditions:');
    w.table(1, ['Type', 'Status'], conditions.map((c) => [c.type, c.status]));
    const reasons = conditions.filter((c) => c.status !== 'True' && c.message);
    for (const c of reasons) w.line(1, `${c.type}:`, `${c.reason ? `${c.reason}: ` : ''}${c.message ?? ''}`);
  }
  if (pod.status.qosClass) w.line(0, 'QoS Class:', pod.status.qosClass);
  w.multiline(0, 'Node-Selectors:', keyValues(pod.spec.nodeSelector));
  const tolerations = (pod.spec.tolerations ?? []).map((t) => {
    const kv = t.operator === 'Exists' ? (t.key ?? '') : `${t.key ?? ''}=${t.value ?? ''}`;
    return `${kv}${t.effect ? `:${t.effect}` : ''}${t.tolerationSeconds !== undefined ? ` for ${t.tolerationSeconds}s` : ''}` || 'op=Exists';
  });
  w.multiline(0, 'Tolerations:', tolerations);
}

// ---------------------------------------------------------------------------------------------
// Nodes

async function describeNode(cli: Cli, w: DescribeWriter, node: Node): Promise<void> {
  const name = node.metadata.name ?? '';
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length));
  w.line(0, 'Name:', name);
  w.line(0, 'Roles:', roles.length > 0 ? roles.join(',') : '<none>');
  labelsAndAnnotations(w, node);
  w.line(0, 'CreationTimestamp:', timestamp(node.metadata.creationTimestamp));
  w.multiline(0, 'Taints:', (node.spec.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`));
  w.line(0, 'Unschedulable:', String(node.spec.unschedulable ?? false));

  let lease: Lease | undefined;
  try {
    lease = await cli.client.get<Lease>(refFor(leasesResource, NODE_LEASE_NAMESPACE, name));
  } catch (err) {
    // No agent has ever heartbeated for this node: say so rather than fail the description.
    if (!(err instanceof NotFoundError)) throw err;
  }
  w.line(0, 'Lease:');
  w.line(1, 'HolderIdentity:', lease?.spec.holderIdentity ?? '<unset>');
  w.line(1, 'RenewTime:', timestamp(lease?.spec.renewTime));

  const conditions = node.status.conditions ?? [];
  if (conditions.length > 0) {
    w.line(0, 'Conditions:');
    w.table(
      1,
      ['Type', 'Status', 'LastHeartbeatTime', 'LastTransitionTime', 'Reason', 'Message'],
      conditions.map((c) => [c.type, c.status, timestamp(c.lastHeartbeatTime), timestamp(c.lastTransitionTime), c.reason ?? '', c.message ?? '']),
    );
  } else {
    w.line(0, 'Conditions:', '<none>');
  }
  w.line(0, 'Addresses:');
  for (const a of node.status.addresses ?? []) w.line(1, `${a.type}:`, a.address);
  resourceLines(w, 0, 'Capacity:', node.status.capacity);
  resourceLines(w, 0, 'Allocatable:', node.status.allocatable);
  const info = node.status.nodeInfo;
  if (info) {
    w.line(0, 'System Info:');
    const rows: [string, string | undefined][] = [
      ['Machine ID:', info.machineID],
      ['Kernel Version:', info.kernelVersion],
      ['OS Image:', info.osImage],
      ['Operating System:', info.operatingSystem],
      ['Architecture:', info.architecture],
      ['Agent Version:', info.kubeletVersion],
    ];
    for (const [k, v] of rows) if (v) w.line(1, k, v);
  }

  let alloc: NodeAllocation | undefined;
  try {
    alloc = await cli.client.get<NodeAllocation>(refFor(nodeAllocationsResource, undefined, name));
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
  const allocatable = parseResourceList(node.status.allocatable);
  const pods = alloc?.spec.pods ?? [];
  w.line(0, `Non-terminated Pods:`, `(${pods.length} in total)`);
  if (pods.length > 0) {
    const names = await podNamesByUid(cli, { nodeName: name });
    w.table(
      1,
      ['Namespace', 'Name', 'CPU Requests', 'Memory Requests'],
      pods.map((p) => {
        const r = parseResourceList(p.requests);
        const pod = names.get(p.uid) ?? unnamedPod(p.uid);
        return [pod.namespace, pod.name, requestCell(r, allocatable, 'cpu'), requestCell(r, allocatable, 'memory')];
      }),
    );
  }
  w.line(0, 'Allocated resources:');
  if (alloc) {
    const used = parseResourceList(alloc.spec.allocated);
    const names = [...new Set(['cpu', 'memory', 'pods', ...used.names()])];
    w.table(1, ['Resource', 'Requests'], names.map((r) => [r, requestCell(used, allocatable, r)]));
  } else {
    w.line(1, '<no NodeAllocation: nothing has been bound to this node>');
  }
}

function requestCell(amounts: ResourceAmounts, allocatable: ResourceAmounts, name: string): string {
  return `${amounts.quantity(name).toString()} (${percent(amounts.get(name), allocatable.get(name))})`;
}

// ---------------------------------------------------------------------------------------------
// Other kinds

async function describePodGroup(cli: Cli, w: DescribeWriter, pg: PodGroup): Promise<void> {
  header(w, pg, true);
  labelsAndAnnotations(w, pg);
  w.line(0, 'Min Member:', String(pg.spec.minMember));
  resourceLines(w, 0, 'Min Resources:', pg.spec.minResources);
  w.line(0, 'Schedule Timeout:', pg.spec.scheduleTimeoutSeconds !== undefined ? `${pg.spec.scheduleTimeoutSeconds}s` : '<scheduler default>');
  w.line(0, 'Status:');
  w.line(1, 'Phase:', pg.status.phase ?? 'Pending');
  w.line(1, 'Scheduled:', String(pg.status.scheduled ?? 0));
  w.line(1, 'Running:', String(pg.status.running ?? 0));
  w.line(1, 'Succeeded:', String(pg.status.succeeded ?? 0));
  w.line(1, 'Failed:', String(pg.status.failed ?? 0));
  if (pg.status.occupiedBy) w.line(1, 'Occupied By:', pg.status.occupiedBy);
  if (pg.status.scheduleStartTime) w.line(1, 'Schedule Start Time:', timestamp(pg.status.scheduleStartTime));
  const members = await cli.client.list<{ items: Pod[] }>(refFor(podsResource, pg.metadata.namespace), {
    labelSelector: `${POD_GROUP_LABEL}=${pg.metadata.name ?? ''}`,
  });
  w.line(0, 'Members:', members.items.length === 0 ? '<none>' : `(${members.items.length})`);
  if (members.items.length > 0) {
    w.table(1, ['Name', 'Phase', 'Node'], members.items.map((p) => [p.metadata.name ?? '', p.status.phase ?? 'Pending', p.spec.nodeName ?? '<none>']));
  }
}

function describeLease(w: DescribeWriter, lease: Lease): void {
  header(w, lease, true);
  labelsAndAnnotations(w, lease);
  w.line(0, 'Holder Identity:', lease.spec.holderIdentity ?? '<none>');
  w.line(0, 'Lease Duration:', lease.spec.leaseDurationSeconds !== undefined ? `${lease.spec.leaseDurationSeconds}s` : '<unset>');
  w.line(0, 'Acquire Time:', timestamp(lease.spec.acquireTime));
  w.line(0, 'Renew Time:', lease.spec.renewTime ? `${timestamp(lease.spec.renewTime)} (${age(lease.spec.renewTime)} ago)` : '<unset>');
  w.line(0, 'Lease Transitions:', String(lease.spec.leaseTransitions ?? 0));
}

async function describeAllocation(cli: Cli, w: DescribeWriter, alloc: NodeAllocation): Promise<void> {
  header(w, alloc, false);
  w.line(0, 'Sequence Number:', alloc.metadata.resourceVersion ?? '');
  const allocatable = parseResourceList(alloc.spec.allocatable);
  const used = parseResourceList(alloc.spec.allocated);
  const names = [...new Set([...allocatable.names(), ...used.names()])];
  w.line(0, 'Resources:');
  w.table(1, ['Resource', 'Allocated', 'Allocatable', 'Used'], names.map((r) => [r, used.quantity(r).toString(), allocatable.quantity(r).toString(), percent(used.get(r), allocatable.get(r))]));
  const ports = alloc.spec.hostPorts.map((p) => `${p.hostIP ?? '0.0.0.0'}:${p.port}/${p.protocol}`);
  w.multiline(0, 'Host Ports:', ports);
  w.line(0, 'Pods:', alloc.spec.pods.length === 0 ? '<none>' : `(${alloc.spec.pods.length})`);
  if (alloc.spec.pods.length > 0) {
    const names = await podNamesByUid(cli, { nodeName: alloc.metadata.name ?? '' });
    const rows = alloc.spec.pods.map((p) => {
      const pod = names.get(p.uid) ?? unnamedPod(p.uid);
      return [pod.namespace, pod.name, Object.entries(p.requests).map(([k, v]) => `${k}=${String(v)}`).join(', ')];
    });
    w.table(1, ['Namespace', 'Name', 'Requests'], rows);
  }
}

/** As kubectl: each key with its size, never a value (the terminal may be shared, the scrollback kept). */
function describeSecret(w: DescribeWriter, s: Secret): void {
  header(w, s, true);
  labelsAndAnnotations(w, s);
  w.line(0);
  w.line(0, 'Type:', s.type ?? 'Opaque');
  w.line(0);
  w.line(0, 'Data');
  w.line(0, '====');
  for (const [k, v] of Object.entries(s.data ?? {}).sort(([a], [b]) => a.localeCompare(b))) w.line(0, `${k}:`, `${Buffer.from(v, 'base64').length} bytes`);
}

/** As kubectl: each key, a rule, its value. */
function describeConfigMap(w: DescribeWriter, cm: ConfigMap): void {
  header(w, cm, true);
  labelsAndAnnotations(w, cm);
  w.line(0);
  w.line(0, 'Data');
  w.line(0, '====');
  for (const [k, v] of Object.entries(cm.data ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    w.line(0, `${k}:`);
    w.line(0, '----');
    for (const l of v.split('\n')) w.line(0, l);
  }
  w.line(0);
  w.line(0, 'BinaryData');
  w.line(0, '====');
  for (const [k, v] of Object.entries(cm.binaryData ?? {}).sort(([a], [b]) => a.localeCompare(b))) w.line(0, `${k}:`, `${Buffer.from(v, 'base64').length} bytes`);
}

/** As kubectl: the Service's addressing, then each port with its target, node port and endpoints. */
async function describeService(cli: Cli, w: DescribeWriter, svc: Service): Promise<void> {
  header(w, svc, true);
  labelsAndAnnotations(w, svc);
  w.line(0, 'Selector:', Object.entries(svc.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>');
  w.line(0, 'Type:', svc.spec.type ?? 'ClusterIP');
  if (svc.spec.type === 'ExternalName') {
    w.line(0, 'External Name:', svc.spec.externalName ?? '');
  } else {
    w.line(0, 'IP Family Policy:', svc.spec.ipFamilyPolicy ?? '<unset>');
    w.line(0, 'IP Families:', (svc.spec.ipFamilies ?? []).join(',') || '<none>');
    w.line(0, 'IP:', svc.spec.clusterIP ?? '<none>');
    w.line(0, 'IPs:', (svc.spec.clusterIPs ?? []).join(',') || '<none>');
  }
  if (svc.spec.externalIPs?.length) w.line(0, 'External IPs:', svc.spec.externalIPs.join(','));
  const external = externalIPText(svc);
  if (svc.spec.type === 'LoadBalancer') w.line(0, 'LoadBalancer Ingress:', external === '<pending>' ? '' : external);
  let endpoints: Endpoints | undefined;
  try {
    endpoints = await cli.client.get<Endpoints>(refFor(endpointsResource, svc.metadata.namespace, svc.metadata.name ?? ''));
  } catch (err) {
    // Not made yet (no endpoints controller, or a Service without a selector): none to show.
    if (!(err instanceof NotFoundError)) throw err;
  }
  for (const p of svc.spec.ports ?? []) {
    const name = p.name || '<unset>';
    w.line(0, 'Port:', `${name}  ${p.port}/${p.protocol}`);
    w.line(0, 'TargetPort:', `${String(p.targetPort ?? p.port)}/${p.protocol}`);
    if (p.nodePort) w.line(0, 'NodePort:', `${name}  ${p.nodePort}/${p.protocol}`);
    const text = endpointsText(endpoints, p.name ?? '');
    w.line(0, 'Endpoints:', text === '<none>' ? '' : text);
  }
  w.line(0, 'Session Affinity:', svc.spec.sessionAffinity ?? 'None');
  if (svc.spec.externalTrafficPolicy) w.line(0, 'External Traffic Policy:', svc.spec.externalTrafficPolicy);
  if (svc.spec.internalTrafficPolicy) w.line(0, 'Internal Traffic Policy:', svc.spec.internalTrafficPolicy);
}

function describeGeneric(w: DescribeWriter, info: ResourceInfo, obj: KubeObject & Record<string, unknown>): void {
  header(w, obj, info.namespaced);
  labelsAndAnnotations(w, obj);
  w.line(0, 'API Version:', obj.apiVersion || info.apiVersion);
  w.line(0, 'Kind:', obj.kind || info.kind);
  const { apiVersion: _a, kind: _k, metadata, ...rest } = obj;
  w.line(0, 'Metadata:');
  w.line(1, 'Creation Timestamp:', timestamp(metadata.creationTimestamp));
  w.line(1, 'Resource Version:', metadata.resourceVersion ?? '');
  w.line(1, 'UID:', metadata.uid ?? '');
  describeTree(w, 0, rest);
}

// ---------------------------------------------------------------------------------------------
// Events

/** kubectl's "10s (x3 over 2m)". */
function eventAge(ev: Event): string {
  const last = ev.lastTimestamp ?? ev.series?.lastObservedTime ?? ev.eventTime ?? ev.metadata.creationTimestamp;
  const count = ev.series?.count ?? ev.count ?? 1;
  const first = ev.firstTimestamp ?? ev.eventTime ?? ev.metadata.creationTimestamp;
  return count > 1 ? `${age(last)} (x${count} over ${age(first)})` : age(last);
}

export function eventTime(ev: Event): number {
  const t = ev.lastTimestamp ?? ev.series?.lastObservedTime ?? ev.eventTime ?? ev.metadata.creationTimestamp;
  return t ? Date.parse(t) : 0;
}

/**
 * Events about one object: by involvedObject kind and name (field selectors the server
 * supports), in its namespace — cluster-scoped objects' events may be in any namespace — and,
 * when both sides know it, the same uid (not an earlier object of the same name).
 */
export async function eventsFor(cli: Cli, info: ResourceInfo, obj: KubeObject): Promise<Event[]> {
  const fieldSelector = [
    `involvedObject.kind=${escapeFieldValue(info.kind)}`,
    `involvedObject.name=${escapeFieldValue(obj.metadata.name ?? '')}`,
    ...(info.namespaced ? [`involvedObject.namespace=${escapeFieldValue(obj.metadata.namespace ?? '')}`] : []),
  ].join(',');
  const list = await cli.client.list<{ items: Event[] }>(refFor(eventsResource, info.namespaced ? obj.metadata.namespace : undefined), { fieldSelector });
  const uid = obj.metadata.uid;
  return list.items.filter((e) => !uid || !e.involvedObject.uid || e.involvedObject.uid === uid).sort((a, b) => eventTime(a) - eventTime(b));
}

function eventsSection(cli: Cli, w: DescribeWriter, events: Event[]): void {
  if (events.length === 0) {
    w.line(0, 'Events:', '<none>');
    return;
  }
  w.line(0, 'Events:');
  w.table(
    1,
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    events.map((e) => {
      const type = e.type ?? 'Normal';
      return [type === 'Warning' ? cli.out.yellow(type) : type, e.reason ?? '', eventAge(e), e.source?.component ?? e.reportingComponent ?? '', (e.message ?? '').trim()];
    }),
  );
}

// ---------------------------------------------------------------------------------------------

async function describeOne(cli: Cli, info: ResourceInfo, obj: KubeObject & Record<string, unknown>, showEvents: boolean): Promise<string> {
  const w = new DescribeWriter();
  // A custom resource may reuse a built-in kind's name (a Pod of example.com): only built-ins get their own layout.
  switch (isBuiltIn(info) ? info.kind : '') {
    case 'Pod':
      describePod(w, obj as unknown as Pod);
      break;
    case 'Node':
      await describeNode(cli, w, obj as unknown as Node);
      break;
    case 'PodGroup':
      await describePodGroup(cli, w, obj as unknown as PodGroup);
      break;
    case 'Lease':
      describeLease(w, obj as unknown as Lease);
      break;
    case 'Secret':
      describeSecret(w, obj as unknown as Secret);
      break;
    case 'ConfigMap':
      describeConfigMap(w, obj as unknown as ConfigMap);
      break;
    case 'Service':
      await describeService(cli, w, obj as unknown as Service);
      break;
    case 'NodeAllocation':
      await describeAllocation(cli, w, obj as unknown as NodeAllocation);
      break;
    case 'ResourceQuota':
      describeQuota(w, obj);
      break;
    case 'Workload':
      describeWorkload(w, obj);
      break;
    case 'HorizontalPodAutoscaler':
      describeAutoscaler(w, obj);
      break;
    case 'Namespace':
      header(w, obj, false);
      labelsAndAnnotations(w, obj);
      w.line(0, 'Status:', String((obj.status as { phase?: string } | undefined)?.phase ?? 'Active'));
      break;
    default:
      describeGeneric(w, info, obj);
  }
  if (showEvents && info.kind !== 'Event') eventsSection(cli, w, await eventsFor(cli, info, obj));
  return w.toString();
}

export async function runDescribe(cli: Cli, args: string[], o: DescribeOptions): Promise<number> {
  const { targets } = await parseTargets(cli.types, args);
  const named = targets.some((t) => t.names.length > 0);
  if (named && o.selector) throw new UsageError('a label selector cannot be combined with resource names');
  const pages: string[] = [];
  let failed = false;
  for (const t of targets) {
    const objects: (KubeObject & Record<string, unknown>)[] = [];
    if (t.names.length === 0) {
      const list = await cli.client.list<{ items: (KubeObject & Record<string, unknown>)[] }>(refFor(t.info, o.allNamespaces ? undefined : cli.namespace), selectorQuery(o));
      objects.push(...list.items);
    }
    for (const name of t.names) {
      try {
        objects.push(await cli.client.get<KubeObject & Record<string, unknown>>(refFor(t.info, cli.namespace, name)));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        cli.error(err.message);
        failed = true;
      }
    }
    for (const obj of objects) pages.push(await describeOne(cli, t.info, obj, o.showEvents !== false));
  }
  if (pages.length > 0) cli.print(pages.join('\n'));
  else if (!named) cli.note(`No resources found${o.allNamespaces ? '' : ` in ${cli.namespace} namespace`}.`);
  return failed ? 1 : 0;
}
