// Registering the Node: capacity and allocatable (capacity less what is reserved for the agent and
// the system, as the kubelet's --kube-reserved and --system-reserved), labels, taints, addresses, the log server's port
// and system info. As the kubelet does, an agent that finds its Node already there (a restart)
// updates the status and its own labels but leaves taints and other labels to whoever set them.
import { NODE_INGRESS_ADDRESS_ANNOTATION } from '../shared/api/networking.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Node, Taint } from '../shared/api/core.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { backoffMs } from '../shared/backoff.js';
import { AlreadyExistsError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';
import { parseResourceList, ResourceAmounts, subtract, toResourceList } from '../shared/resources.js';
import { healthyConditions } from './node-status.js';

export const AGENT_VERSION = 'v1.30.0-cell.0.1.0';

export interface NodeDescription {
  name: string;
  ip: string;
  /** Log server port (0 = none). */
  port: number;
  cpu: string;
  memory: string;
  pods: number;
  /** Held back from pods for the agent and the system (--kube-reserved + --system-reserved). */
  reserved: Record<string, string>;
  labels: Record<string, string>;
  taints: Taint[];
  /** Where this agent serves Ingresses (`IP:PORT`), published as NODE_INGRESS_ADDRESS_ANNOTATION. */
  ingressAddress?: string;
  hollow?: boolean;
}

/** The node's capacity as Kubernetes lists it. */
export function capacityOf(d: Pick<NodeDescription, 'cpu' | 'memory' | 'pods'>): Record<string, string> {
  return { cpu: d.cpu, memory: d.memory, pods: String(d.pods) };
}

/** What pods may have: the capacity less what is reserved, as the kubelet computes allocatable. */
export function allocatableOf(d: Pick<NodeDescription, 'cpu' | 'memory' | 'pods' | 'reserved'>): Record<string, string> {
  const capacity = capacityOf(d);
  if (Object.keys(d.reserved).length === 0) return capacity;
  const left = subtract(parseResourceList(capacity), parseResourceList(d.reserved));
  return { ...capacity, ...toResourceList(new ResourceAmounts(Object.keys(d.reserved).map((r) => [r, left.quantity(r)] as const))) };
}

function readTrimmed(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Go's GOARCH names, which is what Kubernetes labels and nodeInfo use. */
export function goArch(arch = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return arch;
  }
}

function osImage(): string {
  const release = readTrimmed('/etc/os-release') ?? '';
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release);
  return m?.[1] ?? `${os.type()} ${os.release()}`;
}

/** Host facts computed once per process (hollow mode builds thousands of nodes). */
let hostInfo: Node['status']['nodeInfo'] | undefined;
function systemInfo(): NonNullable<Node['status']['nodeInfo']> {
  hostInfo ??= {
    machineID: readTrimmed('/etc/machine-id') ?? '',
    bootID: readTrimmed('/proc/sys/kernel/random/boot_id') ?? '',
    kernelVersion: os.release(),
    osImage: osImage(),
    containerRuntimeVersion: `cell-process://${AGENT_VERSION}`,
    kubeletVersion: AGENT_VERSION,
    kubeProxyVersion: '',
    operatingSystem: process.platform,
    architecture: goArch(),
  };
  return hostInfo;
}

export function nodeLabels(d: NodeDescription): Record<string, string> {
  return {
    ...d.labels,
    'kubernetes.io/hostname': d.name,
    'kubernetes.io/os': process.platform,
    'kubernetes.io/arch': goArch(),
  };
}

export function nodeStatus(d: NodeDescription, existing?: Node): Node['status'] {
  return {
    capacity: capacityOf(d),
    allocatable: allocatableOf(d),
    conditions: healthyConditions(existing?.status.conditions),
    addresses: [
      { type: 'InternalIP', address: d.ip },
      { type: 'Hostname', address: d.hollow ? d.name : os.hostname() },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: d.port } },
    nodeInfo: d.hollow ? { ...systemInfo(), machineID: d.name, systemUUID: d.name } : systemInfo(),
  };
}

export function buildNode(d: NodeDescription): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: d.name, labels: nodeLabels(d), ...(d.ingressAddress ? { annotations: { [NODE_INGRESS_ADDRESS_ANNOTATION]: d.ingressAddress } } : {}) },
    spec: d.taints.length > 0 ? { taints: d.taints } : {},
    status: nodeStatus(d),
  };
}

/** Create the Node, or bring an existing one's status and agent-owned labels up to date. */
export async function registerNode(client: ApiClient, d: NodeDescription, log: Logger): Promise<Node> {
  try {
    const created = await client.create<Node>({ resource: 'nodes' }, buildNode(d));
    log.log(d.hollow ? 'debug' : 'info', 'registered node', { node: d.name });
    return created;
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  const existing = await client.get<Node>({ resource: 'nodes', name: d.name });
  const labels = nodeLabels(d);
  const stale = Object.entries(labels).filter(([k, v]) => existing.metadata.labels?.[k] !== v);
  // The ingress address is this agent's too: set, changed, or removed (null) as its flag says now.
  const ingress = d.ingressAddress ?? null;
  const ingressStale = (existing.metadata.annotations?.[NODE_INGRESS_ADDRESS_ANNOTATION] ?? null) !== ingress;
  if (stale.length > 0 || ingressStale) {
    const metadata = {
      ...(stale.length > 0 ? { labels: Object.fromEntries(stale) } : {}),
      ...(ingressStale ? { annotations: { [NODE_INGRESS_ADDRESS_ANNOTATION]: ingress } } : {}),
    };
    await client.patch({ resource: 'nodes', name: d.name }, { metadata }, 'merge');
  }
  const updated = await client.patch<Node>({ resource: 'nodes', name: d.name, subresource: 'status' }, { status: nodeStatus(d, existing) }, 'strategic');
  log.log(d.hollow ? 'debug' : 'info', 'node already registered; status updated', { node: d.name });
  return updated;
}

/** registerNode until it succeeds (the API server may not be up yet), or `signal` aborts. */
export async function registerWithRetry(client: ApiClient, d: NodeDescription, log: Logger, signal?: AbortSignal): Promise<Node | undefined> {
  for (let attempt = 0; !signal?.aborted; attempt++) {
    try {
      return await registerNode(client, d, log);
    } catch (err) {
      const delay = backoffMs(attempt, { initialMs: 500, maxMs: 10_000 });
      log.warn('node registration failed; retrying', { node: d.name, error: errorMessage(err), retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  return undefined;
}
