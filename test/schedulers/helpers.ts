// Shared fixtures for the scheduler tests: a real API server on the shared test etcd, nodes and
// pods built the way agents and users write them, and waiting on conditions with deadlines.
import type { Event, Pod } from '../../shared/api/core.js';
import type { PodGroup } from '../../shared/api/scheduling.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import type { AuditReport } from '../../apiserver/ledgers/audit.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { startSchedulerProcess, type SchedulerProcess } from './scheduler-process.js';

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  extra?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[];
  unschedulable?: boolean;
}

export function nodeObject(name: string, o: NodeOptions = {}) {
  const resources = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', ...(o.extra ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export interface PodOptions {
  scheduler?: string;
  cpu?: string;
  memory?: string;
  extra?: Record<string, string>;
  priority?: number;
  labels?: Record<string, string>;
  hostPort?: number;
  spec?: Record<string, unknown>;
  grace?: number;
}

export function podObject(name: string, o: PodOptions = {}) {
  const requests: Record<string, string> = { cpu: o.cpu ?? '100m', ...(o.memory ? { memory: o.memory } : {}), ...(o.extra ?? {}) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      schedulerName: o.scheduler ?? 'default-scheduler',
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.grace !== undefined ? { terminationGracePeriodSeconds: o.grace } : {}),
      containers: [
        {
          name: 'main',
          image: 'busybox',
          command: ['sleep', '3600'],
          resources: { requests },
          ...(o.hostPort ? { ports: [{ containerPort: 8080, hostPort: o.hostPort }] } : {}),
        },
      ],
      ...(o.spec ?? {}),
    },
  };
}

export async function createNamespace(client: ApiClient, name: string): Promise<void> {
  await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function createNodes(client: ApiClient, nodes: ReturnType<typeof nodeObject>[]): Promise<void> {
  await pool(nodes.length, 16, (i) => client.create({ resource: 'nodes' }, nodes[i]).then(() => undefined));
}

export async function createPods(client: ApiClient, ns: string, pods: ReturnType<typeof podObject>[]): Promise<void> {
  await pool(pods.length, 32, (i) => client.create({ namespace: ns, resource: 'pods' }, pods[i]).then(() => undefined));
}

export async function getPod(client: ApiClient, ns: string, name: string): Promise<Pod | undefined> {
  try {
    return await client.get<Pod>({ namespace: ns, resource: 'pods', name });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function listPods(client: ApiClient, ns: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ namespace: ns, resource: 'pods' })).items;
}

export async function listEvents(client: ApiClient, ns: string): Promise<Event[]> {
  return (await client.list<{ items: Event[] }>({ namespace: ns, resource: 'events' })).items;
}

export async function getPodGroup(client: ApiClient, ns: string, name: string): Promise<PodGroup> {
  return client.get<PodGroup>({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: ns, resource: 'podgroups', name });
}

export async function audit(client: ApiClient): Promise<AuditReport> {
  return client.request<AuditReport>('GET', '/audit');
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until every named pod is bound; resolves to pod name → node name. */
export async function waitForBound(client: ApiClient, ns: string, names: readonly string[], timeoutMs = 30_000): Promise<Map<string, string>> {
  return waitFor(`pods ${names.length > 5 ? `${names.slice(0, 5).join(', ')}…` : names.join(', ')} to be bound`, async () => {
    const bound = new Map<string, string>();
    for (const p of await listPods(client, ns)) if (p.spec.nodeName) bound.set(p.metadata.name ?? '', p.spec.nodeName);
    return names.every((n) => bound.has(n)) ? bound : undefined;
  }, timeoutMs);
}

/** The FailedScheduling (or other) event messages of one pod. */
export async function eventMessages(client: ApiClient, ns: string, pod: string, reason: string): Promise<string[]> {
  return (await listEvents(client, ns)).filter((e) => e.involvedObject.name === pod && e.reason === reason).map((e) => e.message ?? '');
}

/** Hold for `ms` and check that `check` stays true all along (e.g. "nothing gets bound"). */
export async function holds(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await check())) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

/** Deletes every node (the API server fails their pods first) and every pod of `ns`, at once. */
export async function clearCluster(client: ApiClient, ns: string): Promise<void> {
  for (const p of await listPods(client, ns)) {
    await client.delete({ namespace: ns, resource: 'pods', name: p.metadata.name ?? '' }, { gracePeriodSeconds: 0 }).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
    });
  }
  const nodes = await client.list<{ items: { metadata: { name?: string } }[] }>({ resource: 'nodes' });
  await pool(nodes.items.length, 8, (i) =>
    client.delete({ resource: 'nodes', name: nodes.items[i]!.metadata.name ?? '' }).then(
      () => undefined,
      (err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      },
    ),
  );
}

export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

/** What a suite with one API server (on etcd) and one default scheduler process works with. */
export interface SchedulerSuite {
  api: TestApiServer;
  client: ApiClient;
  sched: SchedulerProcess;
}

/**
 * Starts an API server and a `default-scheduler` process before the suite's tests and stops them
 * after. Call it first in a `describe`, so the suite's own `before` hooks run after it.
 */
export function schedulerSuite(): SchedulerSuite {
  let api: TestApiServer | undefined;
  let client: ApiClient | undefined;
  let sched: SchedulerProcess | undefined;
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the scheduler suite is used before its before() hook ran');
    return v;
  };
  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    sched = await startSchedulerProcess({ server: api.url });
  });
  after(async () => {
    await sched?.stop();
    await api?.close();
  });
  return {
    get api() { return started(api); },
    get client() { return started(client); },
    get sched() { return started(sched); },
  };
}
