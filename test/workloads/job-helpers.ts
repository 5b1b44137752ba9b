// Fixtures of the Job tests: a real API server on the shared test etcd, a real scheduler process,
// real node agents (hollow nodes, or one real agent running pods as host processes), the job
// controller in-process (so a test can stop it and start a fresh one), kubectl on a kubeconfig,
// Job manifests, and a watch that records how many of a Job's pods were ever active at once.
import path from 'node:path';
import type { Pod } from '../../shared/api/core.js';
import type { Job } from '../../shared/api/batch.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { Informer } from '../../shared/client/informer.js';
import { createLogger } from '../../shared/logging.js';
import { NotFoundError } from '../../shared/errors.js';
import { SharedInformers } from '../../controllers/informers.js';
import { JobController, type JobControllerOptions } from '../../controllers/job/controller.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { startSchedulerProcess, type SchedulerProcess } from '../schedulers/scheduler-process.js';
import { killAllWith, removeDir, startAgent, tempRoot, type AgentProcess } from '../agent/helpers.js';
import { findKubectl, run, waitFor, writeKubeconfig, type RunResult } from '../clients/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';

export { waitFor };

export const JOBS_REF = { group: 'batch', version: 'v1', resource: 'jobs' };

export interface JobClusterOptions {
  /** Hollow nodes (default 4); 0 for none. */
  hollowNodes?: number;
  /** One real agent running pods as host processes. */
  realAgent?: boolean;
  controller?: JobControllerOptions;
}

/** The job controller running in this process, with its own informers (as one manager would run it). */
export interface RunningController {
  controller: JobController;
  informers: SharedInformers;
  stop(): Promise<void>;
}

export async function startController(client: ApiClient, opts: JobControllerOptions = {}): Promise<RunningController> {
  const log = createLogger('job-controller', 'error');
  const informers = new SharedInformers(client, log);
  const controller = new JobController(
    testControllerContext(client, log, informers),
    { syncBatchMs: 100, ...opts },
  );
  await controller.start();
  await informers.start();
  return {
    controller,
    informers,
    async stop() {
      await controller.stop();
      await informers.stop();
    },
  };
}

export interface JobCluster {
  api: TestApiServer;
  client: ApiClient;
  sched: SchedulerProcess;
  kubeconfig: string;
  controller: RunningController;
  /** Stop the running controller and start a fresh instance (new informers, no memory). */
  restartController(between?: () => Promise<void>): Promise<void>;
  kubectl(args: string[], timeoutMs?: number): Promise<RunResult>;
}

/** Starts the cluster before the suite's tests and stops it after; call first in a `describe`. */
export function jobSuite(opts: JobClusterOptions = {}): JobCluster {
  const kubectlBin = findKubectl();
  if (!kubectlBin) throw new Error('kubectl is not on PATH (set $KUBECTL)');
  let api: TestApiServer | undefined;
  let client: ApiClient | undefined;
  let sched: SchedulerProcess | undefined;
  let controller: RunningController | undefined;
  let agent: AgentProcess | undefined;
  let root = '';
  let kubeconfig = '';
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the job suite is used before its before() hook ran');
    return v;
  };
  before(async function () {
    this.timeout(120_000);
    root = tempRoot('cell-job-test-');
    api = await startTestApiServer({ backend: 'etcd' });
    client = api.client();
    kubeconfig = writeKubeconfig(path.join(root, 'kubeconfig'), api.url);
    const hollow = opts.hollowNodes ?? (opts.realAgent ? 0 : 4);
    if (opts.realAgent) {
      agent = startAgent([`--server=${api.url}`, '--node-name=job-real-1', '--node-ip=127.0.0.1', '--address=127.0.0.1', `--root-dir=${path.join(root, 'agent')}`, '--cpu=4', '--memory=4Gi', '--heartbeat-interval=1s']);
    } else if (hollow > 0) {
      agent = startAgent([`--server=${api.url}`, `--hollow-nodes=${hollow}`, '--node-prefix=job-node-', '--node-ip=127.0.0.1', '--cpu=8', '--memory=32Gi', '--crash-loop-backoff=1s']);
    }
    const expected = opts.realAgent ? 1 : hollow;
    const c = client;
    await waitFor(async () => {
      const nodes = await c.list<{ items: { status: { conditions?: { type: string; status: string }[] } }[] }>({ resource: 'nodes' });
      return nodes.items.filter((n) => n.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length >= expected;
    }, `${expected} Ready nodes (agent: ${agent?.output().slice(-1000) ?? ''})`, 60_000, 200);
    sched = await startSchedulerProcess({ server: api.url });
    controller = await startController(client, opts.controller);
  });
  after(async function () {
    this.timeout(60_000);
    await controller?.stop();
    if (client) {
      // Pods go first, so a real agent stops its processes before it is stopped itself.
      const pods = await client.list<{ items: Pod[] }>({ resource: 'pods' });
      await Promise.all(pods.items.map((p) => forceDeletePod(started(client), p)));
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
    get sched() {
      return started(sched);
    },
    get kubeconfig() {
      return kubeconfig;
    },
    get controller() {
      return started(controller);
    },
    async restartController(between) {
      await started(controller).stop();
      controller = undefined;
      await between?.();
      controller = await startController(started(client), opts.controller);
    },
    kubectl: (args, timeoutMs = 60_000) => run(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { timeoutMs }),
  };
}

/** Drop a pod's finalizers and delete it at once (test cleanup). */
async function forceDeletePod(client: ApiClient, pod: Pod): Promise<void> {
  const ref = { resource: 'pods', namespace: pod.metadata.namespace, name: pod.metadata.name };
  try {
    if ((pod.metadata.finalizers ?? []).length > 0) await client.patch(ref, { metadata: { finalizers: null } }, 'merge');
    await client.delete(ref, { gracePeriodSeconds: 0 });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export async function createNamespace(client: ApiClient, name: string): Promise<void> {
  await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export interface JobOptions {
  completions?: number;
  parallelism?: number;
  indexed?: boolean;
  backoffLimit?: number;
  /** Hollow pods finish after this many seconds (cell.dev/run-seconds). */
  runSeconds?: number;
  /** …with this exit code (cell.dev/exit-code). */
  exitCode?: number;
  restartPolicy?: 'Never' | 'OnFailure';
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend?: boolean;
  podFailurePolicy?: unknown;
  labels?: Record<string, string>;
  cpu?: string;
}

export function jobManifest(name: string, o: JobOptions = {}): Record<string, unknown> {
  const annotations: Record<string, string> = {};
  if (o.runSeconds !== undefined) annotations['cell.dev/run-seconds'] = String(o.runSeconds);
  if (o.exitCode !== undefined) annotations['cell.dev/exit-code'] = String(o.exitCode);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      ...(o.completions !== undefined ? { completions: o.completions } : {}),
      ...(o.parallelism !== undefined ? { parallelism: o.parallelism } : {}),
      ...(o.indexed ? { completionMode: 'Indexed' } : {}),
      ...(o.backoffLimit !== undefined ? { backoffLimit: o.backoffLimit } : {}),
      ...(o.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: o.activeDeadlineSeconds } : {}),
      ...(o.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: o.ttlSecondsAfterFinished } : {}),
      ...(o.suspend !== undefined ? { suspend: o.suspend } : {}),
      ...(o.podFailurePolicy !== undefined ? { podFailurePolicy: o.podFailurePolicy } : {}),
      template: {
        metadata: { ...(Object.keys(annotations).length > 0 ? { annotations } : {}), ...(o.labels ? { labels: o.labels } : {}) },
        spec: {
          restartPolicy: o.restartPolicy ?? 'Never',
          containers: [{ name: 'main', image: 'busybox', command: ['work'], resources: { requests: { cpu: o.cpu ?? '100m' } } }],
        },
      },
    },
  };
}

export async function createJob(client: ApiClient, namespace: string, manifest: Record<string, unknown>): Promise<Job> {
  return client.create<Job>({ ...JOBS_REF, namespace }, manifest);
}

export async function getJob(client: ApiClient, namespace: string, name: string): Promise<Job | undefined> {
  try {
    return await client.get<Job>({ ...JOBS_REF, namespace, name });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function jobPods(client: ApiClient, namespace: string, job: string): Promise<Pod[]> {
  return (await client.list<{ items: Pod[] }>({ resource: 'pods', namespace }, { labelSelector: `batch.kubernetes.io/job-name=${job}` })).items;
}

/** Wait until the Job has condition `type` True; returns the Job. */
export async function waitCondition(client: ApiClient, namespace: string, name: string, type: string, timeoutMs = 60_000): Promise<Job> {
  let last: Job | undefined;
  try {
    return await waitFor(async () => {
      last = await getJob(client, namespace, name);
      return last?.status.conditions?.some((c) => c.type === type && c.status === 'True') ? last : undefined;
    }, `job ${namespace}/${name} condition ${type}`, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

/**
 * Watches a namespace's pods and records the most that were active (not finished, not being
 * deleted) at any one time, as the watch delivered them.
 */
export class ActiveWatch {
  private readonly informer: Informer<Pod>;
  maxActive = 0;

  constructor(client: ApiClient, namespace: string) {
    this.informer = new Informer<Pod>({ client, ref: { resource: 'pods', namespace } });
    const count = () => {
      const active = this.informer.list().filter((p) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed' && p.metadata.deletionTimestamp === undefined).length;
      this.maxActive = Math.max(this.maxActive, active);
    };
    this.informer.addHandlers({ add: count, update: count, delete: count });
  }

  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.hasSynced();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}
