// Fixtures of the Job tests: the workload cluster (cluster.ts) with the job controller in-process,
// Job manifests, and a watch that records how many of a Job's pods were ever active at once.
import type { Pod } from '../../shared/api/core.js';
import type { Job } from '../../shared/api/batch.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { Informer } from '../../shared/client/informer.js';
import { createLogger } from '../../shared/logging.js';
import { NotFoundError } from '../../shared/errors.js';
import { SharedInformers } from '../../controllers/informers.js';
import { JobController, type JobControllerOptions } from '../../controllers/job/controller.js';
import { waitFor } from '../clients/helpers.js';
import { testControllerContext } from '../controllers/helpers.js';
import { createNamespace, workloadSuite, type WorkloadCluster } from './cluster.js';

export { createNamespace, waitFor };

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

export interface JobCluster extends WorkloadCluster<RunningController> {
  /** Stop the running controller and start a fresh instance (new informers, no memory). */
  restartController(between?: () => Promise<void>): Promise<void>;
}

/** The Job suite's cluster (cluster.ts) with the job controller. */
export function jobSuite(opts: JobClusterOptions = {}): JobCluster {
  const cluster = workloadSuite({
    name: 'job',
    ...(opts.hollowNodes !== undefined ? { hollowNodes: opts.hollowNodes } : {}),
    ...(opts.realAgent ? { realAgent: true } : {}),
    agentArgs: ['--crash-loop-backoff=1s'],
    startControllers: (client) => startController(client, opts.controller),
  });
  return Object.assign(cluster, { restartController: (between?: () => Promise<void>) => cluster.restartControllers(between) });
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
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  successPolicy?: unknown;
  labels?: Record<string, string>;
  cpu?: string;
  /** A real agent runs this with `sh -c` (JOB_COMPLETION_INDEX in its environment). */
  script?: string;
  terminationGracePeriodSeconds?: number;
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
      ...(o.backoffLimitPerIndex !== undefined ? { backoffLimitPerIndex: o.backoffLimitPerIndex } : {}),
      ...(o.maxFailedIndexes !== undefined ? { maxFailedIndexes: o.maxFailedIndexes } : {}),
      ...(o.successPolicy !== undefined ? { successPolicy: o.successPolicy } : {}),
      template: {
        metadata: { ...(Object.keys(annotations).length > 0 ? { annotations } : {}), ...(o.labels ? { labels: o.labels } : {}) },
        spec: {
          restartPolicy: o.restartPolicy ?? 'Never',
          ...(o.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds } : {}),
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: o.script !== undefined ? ['sh', '-c', o.script] : ['work'],
              resources: { requests: { cpu: o.cpu ?? '100m' } },
            },
          ],
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

  /** Pods the watch has seen (and not seen deleted). */
  get size(): number {
    return this.informer.size;
  }

  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.hasSynced();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }
}
