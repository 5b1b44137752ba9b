// Fixtures of the apps/v1 tests: a real API server on the shared test etcd, real hollow nodes, a
// real scheduler process, the ReplicaSet and Deployment controllers in-process (so a test can stop
// them and start fresh instances), kubectl on a kubeconfig, and a watch that samples a
// Deployment's pods after every event to check a rollout's bounds.
import path from 'node:path';
import type { Deployment, ReplicaSet } from '../../shared/api/apps.js';
import { POD_TEMPLATE_HASH_LABEL } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { Informer } from '../../shared/client/informer.js';
import { createLogger } from '../../shared/logging.js';
import { NotFoundError } from '../../shared/errors.js';
import { SharedInformers } from '../../controllers/informers.js';
import { DeploymentController, DEPLOYMENTS } from '../../controllers/deployment/controller.js';
import { ReplicaSetController, REPLICASETS } from '../../controllers/replicaset/controller.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { killAllWith, removeDir, startAgent, tempRoot, type AgentProcess } from '../agent/helpers.js';
import { findKubectl, run, waitFor, writeKubeconfig, type RunResult } from '../clients/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';

export { waitFor, DEPLOYMENTS, REPLICASETS };

/** Both controllers in this process, sharing informers, as one controller manager runs them. */
export interface RunningControllers {
  stop(): Promise<void>;
}

export async function startControllers(client: ApiClient): Promise<RunningControllers> {
  const log = createLogger('apps-controllers', 'error');
  const informers = new SharedInformers(client, log);
  const ctx = testControllerContext(client, log, informers);
  const controllers = [new ReplicaSetController(ctx), new DeploymentController(ctx)];
  for (const c of controllers) c.start();
  await informers.start();
  return {
    async stop() {
      for (const c of controllers) await c.stop();
      await informers.stop();
    },
  };
}

export interface AppsCluster {
  api: TestApiServer;
  client: ApiClient;
  /** Stop the running controllers and start fresh instances (new informers, no memory). */
  restartControllers(): Promise<void>;
  kubectl(args: string[], timeoutMs?: number): Promise<RunResult>;
}

/** Starts the cluster before the suite's tests and stops it after; call first in a `describe`. */
export function appsSuite(opts: { hollowNodes?: number; controllers?: boolean } = {}): AppsCluster {
  const kubectlBin = findKubectl();
  if (!kubectlBin) throw new Error('kubectl is not on PATH (set $KUBECTL)');
  let api: TestApiServer | undefined;
  let client: ApiClient | undefined;
  let sched: SchedulerProcess | undefined;
  let controllers: RunningControllers | undefined;
  let agent: AgentProcess | undefined;
  let root = '';
  let kubeconfig = '';
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the apps suite is used before its before() hook ran');
    return v;
  };
  const hollow = opts.hollowNodes ?? 4;
  before(async function () {
    this.timeout(120_000);
    root = tempRoot('cell-apps-test-');
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    kubeconfig = writeKubeconfig(path.join(root, 'kubeconfig'), api.url);
    if (hollow > 0) {
      agent = startAgent([`--server=${api.url}`, `--hollow-nodes=${hollow}`, '--node-prefix=apps-node-', '--node-ip=127.0.0.1', '--cpu=8', '--memory=32Gi']);
      const c = client;
      await waitFor(async () => {
        const nodes = await c.list<{ items: { status: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
        return nodes.items.filter((n) => n.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length >= hollow;
      }, `${hollow} Ready nodes (agent: ${agent.output().slice(-1000)})`, 60_000, 200);
      sched = await startSchedulerProcess({ server: api.url });
    }
    if (opts.controllers !== false) controllers = await startControllers(client);
  });
  after(async function () {
    this.timeout(60_000);
    await controllers?.stop();
    if (client) {
      const pods = await client.list<{ items: Pod[] }>({ resource: 'pods' });
      await Promise.all(pods.items.map((p) => deletePodNow(started(client), p)));
    }
    await agent?.stop();
    await sched?.stop();
    if (root) killAllWith(root);
    await api?.close();
    if (root) removeDir(root);
  });
  return {
    get api() {
      return started(api);
    },
    get client() {
      return started(client);
    },
    async restartControllers() {
      await started(controllers).stop();
      controllers = undefined;
      controllers = await startControllers(started(client));
    },
    kubectl: (args, timeoutMs = 60_000) => run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs }),
  };
}

async function deletePodNow(client: ApiClient, pod: Pod): Promise<void> {
  try {
    await client.delete({ resource: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name ?? '' }, { gracePeriodSeconds: 0 });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export async function createNamespace(client: ApiClient, name: string): Promise<void> {
  await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export function deploymentManifest(name: string, o: { replicas?: number; image?: string; strategy?: Record<string, unknown>; labels?: Record<string, string>; spec?: Record<string, unknown> } = {}) {
  const labels = o.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: o.replicas ?? 3,
      selector: { matchLabels: labels },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'main', image: o.image ?? 'busybox:1', command: ['sleep', '3600'] }] },
      },
      ...(o.spec ?? {}),
    },
  };
}

export async function getDeployment(client: ApiClient, namespace: string, name: string): Promise<Deployment> {
  return client.get<Deployment>({ ...DEPLOYMENTS, namespace, name });
}

export async function replicaSets(client: ApiClient, namespace: string): Promise<ReplicaSet[]> {
  return (await client.list<{ items: ReplicaSet[] }>({ ...REPLICASETS, namespace })).items;
}

export async function pods(client: ApiClient, namespace: string, labelSelector?: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace }, labelSelector ? { labelSelector } : {})).items;
}

export const isActive = (p: Pod) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed' && p.metadata.deletionTimestamp === undefined;
export const isReady = (p: Pod) => isActive(p) && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Waits until the Deployment's rollout is complete for its current generation, as `kubectl rollout status` judges it. */
export async function waitRolledOut(client: ApiClient, namespace: string, name: string, timeoutMs = 60_000): Promise<Deployment> {
  let last: Deployment | undefined;
  try {
    return await waitFor(async () => {
      last = await getDeployment(client, namespace, name);
      const s = last.status;
      const want = last.spec.replicas;
      const done =
        (s.observedGeneration ?? 0) >= (last.metadata.generation ?? 1) &&
        s.updatedReplicas === want &&
        (s.replicas ?? 0) === want &&
        (s.availableReplicas ?? 0) === want &&
        s.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      return done ? last : undefined;
    }, `deployment ${namespace}/${name} rolled out`, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

/**
 * Watches a namespace's pods and samples, after every event, how many are active (not finished,
 * not being deleted) and how many of those are ready — in total and per pod-template-hash — as
 * the watch delivered them, which is the store's own order of changes.
 */
export class PodSampler {
  private readonly informer: Informer<Pod>;
  samples = 0;
  maxActive = 0;
  minReady = Number.POSITIVE_INFINITY;
  /** Samples in which pods of two templates were active at once. */
  mixed = 0;
  private recording = false;

  constructor(client: ApiClient, namespace: string, labelSelector: string) {
    this.informer = new Informer<Pod>({ client, ref: { resource: 'pods', namespace }, labelSelector });
    const sample = () => {
      if (!this.recording) return;
      const active = this.informer.list().filter(isActive);
      this.samples++;
      this.maxActive = Math.max(this.maxActive, active.length);
      this.minReady = Math.min(this.minReady, active.filter(isReady).length);
      if (new Set(active.map((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL])).size > 1) this.mixed++;
    };
    this.informer.addHandlers({ add: sample, update: sample, delete: sample });
  }

  /** Starts recording once the informer has listed: the bounds are about what follows. */
  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.hasSynced();
    this.recording = true;
  }

  stop(): Promise<void> {
    this.recording = false;
    return this.informer.stop();
  }
}
