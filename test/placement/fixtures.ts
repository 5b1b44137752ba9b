// Nodes, pods and binding helpers shared by the placement tests.
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import type { AuditReport } from '../../apiserver/ledgers/audit.js';

export function nodeObject(name: string, cpu: string, opts: { memory?: string; pods?: string; extra?: Record<string, string> } = {}) {
  const resources = { cpu, memory: opts.memory ?? '8Gi', pods: opts.pods ?? '110', ...(opts.extra ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: {},
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

export function podObject(name: string, cpu: string, opts: { memory?: string; hostPort?: number; labels?: Record<string, string> } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'busybox',
          command: ['sleep', '3600'],
          resources: { requests: { cpu, ...(opts.memory ? { memory: opts.memory } : {}) } },
          ...(opts.hostPort ? { ports: [{ containerPort: 8080, hostPort: opts.hostPort }] } : {}),
        },
      ],
    },
  };
}

export function bindingBody(pod: string, node: string, allocationResourceVersion?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: {
      name: pod,
      ...(allocationResourceVersion ? { annotations: { 'scheduling.cell.dev/allocation-resource-version': allocationResourceVersion } } : {}),
    },
    target: { apiVersion: 'v1', kind: 'Node', name: node },
  };
}

export async function bind(client: ApiClient, ns: string, pod: string, node: string, allocationResourceVersion?: string): Promise<void> {
  await client.create({ namespace: ns, resource: 'pods', name: pod, subresource: 'binding' }, bindingBody(pod, node, allocationResourceVersion));
}

export async function createNamespace(client: ApiClient, name: string): Promise<void> {
  await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function audit(client: ApiClient): Promise<AuditReport> {
  return client.request<AuditReport>('GET', '/audit');
}

export async function listPods(client: ApiClient, ns: string): Promise<Pod[]> {
  const list = await client.list<{ items: Pod[] }>({ namespace: ns, resource: 'pods' });
  return list.items;
}

/** The names of the pods a ledger lists, in its order: entries carry uids, `pods` names them (`uid:<uid>` for one it lacks). */
export function ledgerNames(ledger: Pick<NodeAllocation, 'spec'>, pods: Pod[]): string[] {
  const names = new Map(pods.map((p) => [p.metadata.uid ?? '', p.metadata.name ?? '']));
  return ledger.spec.pods.map((e) => names.get(e.uid) ?? `uid:${e.uid}`);
}

/** Node `node`'s stored ledger, its pods by name (any namespace). */
export async function ledgerPodNames(client: ApiClient, node: string): Promise<string[]> {
  const ledger = await client.get<NodeAllocation>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: node });
  return ledgerNames(ledger, (await client.list<{ items: Pod[] }>({ resource: 'pods' })).items);
}

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` at once. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}
