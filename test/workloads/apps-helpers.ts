// Fixtures of the apps/v1 tests: the workload cluster (cluster.ts) with the ReplicaSet and
// Deployment controllers in-process, manifests, and a watch that samples a Deployment's pods after
// every event to check a rollout's bounds.
import type { Deployment, ReplicaSet } from '../../shared/api/apps.js';
import { POD_TEMPLATE_HASH_LABEL } from '../../shared/api/apps.js';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { Informer } from '../../shared/client/informer.js';
import { createLogger } from '../../shared/logging.js';
import { SharedInformers } from '../../controllers/informers.js';
import { DeploymentController, DEPLOYMENTS } from '../../controllers/deployment/controller.js';
import { ReplicaSetController, REPLICASETS } from '../../controllers/replicaset/controller.js';
import { waitFor } from '../clients/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';
import { createNamespace, workloadSuite, type WorkloadCluster } from './cluster.js';

export { createNamespace, waitFor, DEPLOYMENTS, REPLICASETS };

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

/** The apps suite's cluster (cluster.ts) with the ReplicaSet and Deployment controllers, unless `controllers: false`. */
export function appsSuite(opts: { hollowNodes?: number; controllers?: boolean } = {}): WorkloadCluster<RunningControllers> {
  return workloadSuite({ name: 'apps', hollowNodes: opts.hollowNodes ?? 4, ...(opts.controllers === false ? {} : { startControllers }) });
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
 * Watches a namespace's pods (by label) and, once started, hands every event to the subclass, in
 * the order the watch delivered them — the store's own order of changes. By default every event
 * calls `sample()`, which reads the informer's current pods.
 */
export abstract class PodWatchSampler {
  protected readonly informer: Informer<Pod>;
  samples = 0;
  private recording = false;

  constructor(client: ApiClient, namespace: string, labelSelector: string) {
    this.informer = new Informer<Pod>({ client, ref: { resource: 'pods', namespace }, labelSelector });
    this.informer.addHandlers({
      add: (p) => this.recording && this.added(p),
      update: (old, p) => this.recording && this.updated(old, p),
      delete: (p) => this.recording && this.deleted(p),
    });
  }

  protected abstract sample(): void;

  protected added(_pod: Pod): void {
    this.samples++;
    this.sample();
  }

  protected updated(_old: Pod, _pod: Pod): void {
    this.samples++;
    this.sample();
  }

  protected deleted(_pod: Pod): void {
    this.samples++;
    this.sample();
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

/**
 * Samples, after every event, how many of a Deployment's pods are active (not finished, not being
 * deleted) and how many of those are ready — in total and per pod-template-hash.
 */
export class PodSampler extends PodWatchSampler {
  maxActive = 0;
  minReady = Number.POSITIVE_INFINITY;
  /** Samples in which pods of two templates were active at once. */
  mixed = 0;

  protected sample(): void {
    const active = this.informer.list().filter(isActive);
    this.maxActive = Math.max(this.maxActive, active.length);
    this.minReady = Math.min(this.minReady, active.filter(isReady).length);
    if (new Set(active.map((p) => p.metadata.labels?.[POD_TEMPLATE_HASH_LABEL])).size > 1) this.mixed++;
  }
}
