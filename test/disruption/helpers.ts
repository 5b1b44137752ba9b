// Fixtures of the disruption tests: an API server on etcd with the disruption controller (an
// in-process cell-controller-manager running only it), pods
// bound to a node and reported Running/Ready through the status subresource as an agent would,
// budgets, and polling on what the store holds.
import type { Pod } from '../../shared/api/core.js';
import type { PodDisruptionBudget, PodDisruptionBudgetSpec } from '../../shared/api/policy.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { startTestControllerManager } from '../controllers/helpers.js';
import { createBoundPod, createNode, podManifest } from '../cli/helpers.js';

export { createNode };

/**
 * An API server on etcd (`auth` as startTestApiServer's) and a controller manager running the
 * disruption controller (and no other) against it with `token`; close() stops both.
 */
export async function startDisruptionServer(o: { auth?: boolean; token?: string } = {}): Promise<TestApiServer> {
  const api = await startTestApiServer({ backend: 'etcd', ...(o.auth ? { auth: true } : {}) });
  const controllers = startTestControllerManager(api.url, { ...(o.token ? { token: o.token } : {}), enabled: ['disruption'] });
  return {
    ...api,
    async close() {
      await controllers.stop();
      await api.close();
    },
  };
}

/** The agent's report of a started pod: Running, with Ready as the agent sets it. */
export async function reportRunning(client: ApiClient, namespace: string, name: string, ready = true): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const status = ready ? 'True' : 'False';
  await client.patch(
    { resource: 'pods', namespace, name, subresource: 'status' },
    {
      status: {
        phase: 'Running',
        conditions: [
          { type: 'Ready', status, lastTransitionTime: now },
          { type: 'ContainersReady', status, lastTransitionTime: now },
        ],
      },
    },
    'merge',
  );
}

export async function reportPhase(client: ApiClient, namespace: string, name: string, phase: 'Succeeded' | 'Failed'): Promise<void> {
  await client.patch({ resource: 'pods', namespace, name, subresource: 'status' }, { status: { phase } }, 'merge');
}

export interface PodOptions {
  namespace?: string;
  labels?: Record<string, string>;
  grace?: number;
  /** Owned by a ReplicaSet (kubectl drain refuses bare pods without --force). */
  owned?: boolean;
}

/** A pod bound to `node` and reported Running and Ready. */
export async function runningPod(client: ApiClient, name: string, node: string, o: PodOptions = {}): Promise<void> {
  const ns = o.namespace ?? 'default';
  if (o.owned) {
    const manifest = podManifest(name, { namespace: ns, labels: o.labels ?? {}, ...(o.grace !== undefined ? { grace: o.grace } : {}) });
    const meta = manifest['metadata'] as Record<string, unknown>;
    meta['ownerReferences'] = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-rs', uid: '6a1d3c1e-0000-4000-8000-000000000001', controller: true }];
    await client.create({ resource: 'pods', namespace: ns }, manifest);
    await client.create({ resource: 'pods', namespace: ns, name, subresource: 'binding' }, { apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { kind: 'Node', name: node } });
  } else {
    await createBoundPod(client, name, node, { namespace: ns, labels: o.labels ?? {}, ...(o.grace !== undefined ? { grace: o.grace } : {}) });
  }
  await reportRunning(client, ns, name);
}

export function budgetManifest(name: string, spec: PodDisruptionBudgetSpec, namespace = 'default'): Record<string, unknown> {
  return { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name, namespace }, spec };
}

export async function createBudget(client: ApiClient, name: string, spec: PodDisruptionBudgetSpec, namespace = 'default'): Promise<PodDisruptionBudget> {
  return client.create<PodDisruptionBudget>({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace }, budgetManifest(name, spec, namespace));
}

export function getBudget(client: ApiClient, name: string, namespace = 'default'): Promise<PodDisruptionBudget> {
  return client.get<PodDisruptionBudget>({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', namespace, name });
}

export async function tryGetPod(client: ApiClient, name: string, namespace = 'default'): Promise<Pod | undefined> {
  const list = await client.list<{ items: Pod[] }>({ resource: 'pods', namespace }, { fieldSelector: `metadata.name=${name}` });
  return list.items[0];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `pred` holds for the budget (current generation observed); the error shows the last status. */
export async function waitForBudget(client: ApiClient, name: string, pred: (b: PodDisruptionBudget) => boolean, namespace = 'default', timeoutMs = 10_000): Promise<PodDisruptionBudget> {
  const deadline = Date.now() + timeoutMs;
  let last: PodDisruptionBudget | undefined;
  for (;;) {
    last = await getBudget(client, name, namespace);
    if ((last.status.observedGeneration ?? 0) >= (last.metadata.generation ?? 1) && pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`budget ${namespace}/${name} did not reach the expected status in ${timeoutMs} ms; last: ${JSON.stringify(last.status)}`);
    await sleep(50);
  }
}

/** The status numbers, for deep-equal assertions. */
export function counts(b: PodDisruptionBudget): { expectedPods: number; currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number } {
  const { expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed } = b.status;
  return { expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed };
}
