// The queue controller's test cluster: a real API server on the test etcd, hollow nodes (labelled
// cell.dev/pool=batch), a real scheduler process, and in-process the job controller and one or
// more instances of the queue controller — each with informers of its own, as separate controller
// managers would run them, with no leader election between them. Plus Kueue manifests, waits on
// Workloads, and a workload watch that checks every revision against the queues' limits.
import { expect } from 'chai';
import type { Job } from '../../../shared/api/batch.js';
import type { ClusterQueue, Workload } from '../../../shared/api/kueue.js';
import { ApiClient } from '../../../shared/client/http-client.js';
import { Informer } from '../../../shared/client/informer.js';
import { NotFoundError } from '../../../shared/errors.js';
import { createLogger } from '../../../shared/logging.js';
import { addFlavorAmounts, flattenFlavorAmounts, workloadCharge, type FlavorAmounts } from '../../../shared/queue-fit.js';
import { SharedInformers } from '../../../controllers/informers.js';
import { JobController } from '../../../controllers/job/controller.js';
import { KueueController } from '../../../controllers/kueue/controller.js';
import type { ControllerContext } from '../../../controllers/controller.js';
import { waitFor } from '../../clients/helpers.js';
import { testControllerContext } from '../../controllers/helpers.js';
import { createNamespace, workloadSuite, type WorkloadCluster } from '../../workloads/cluster.js';

export { createNamespace, waitFor };

const KUEUE = { group: 'kueue.x-k8s.io', version: 'v1beta1' };
export const RF = { ...KUEUE, resource: 'resourceflavors' };
export const CQ = { ...KUEUE, resource: 'clusterqueues' };
export const LQ = { ...KUEUE, resource: 'localqueues' };
export const WL = { ...KUEUE, resource: 'workloads' };
export const JOBS = { group: 'batch', version: 'v1', resource: 'jobs' };
export const POOL_LABEL = 'cell.dev/pool';

/** One queue controller instance with its own informers (a controller manager of its own). */
export class QueueControllerInstance {
  readonly context: ControllerContext;
  private controller: KueueController | undefined;
  private informers: SharedInformers;

  constructor(client: ApiClient, readonly name: string) {
    // KUEUE_TEST_LOG=debug shows the controller's decisions when a test needs explaining.
    const log = createLogger(`kueue-${name}`, process.env.KUEUE_TEST_LOG === 'debug' ? 'debug' : 'error');
    this.informers = new SharedInformers(client, log);
    this.context = testControllerContext(client, log, this.informers);
  }

  async start(): Promise<void> {
    this.controller = new KueueController(this.context, { resyncMs: 2_000, statusDelayMs: 50 });
    await this.controller.start();
    await this.informers.start();
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
    await this.informers.stop();
    this.controller = undefined;
  }

  /** This instance's metrics, in the exposition format. */
  metrics(): Promise<string> {
    return this.context.registry.metrics();
  }
}

export interface QueueControllers {
  instances: QueueControllerInstance[];
  stop(): Promise<void>;
}

export async function startQueueControllers(client: ApiClient, instances: number): Promise<QueueControllers> {
  const log = createLogger('job-controller', 'error');
  const informers = new SharedInformers(client, log);
  const jobController = new JobController(testControllerContext(client, log, informers), { syncBatchMs: 100 });
  await jobController.start();
  await informers.start();
  const started: QueueControllerInstance[] = [];
  for (let i = 0; i < instances; i++) {
    const q = new QueueControllerInstance(client, `i${i}`);
    await q.start();
    started.push(q);
  }
  return {
    instances: started,
    async stop() {
      await Promise.all(started.map((q) => q.stop()));
      await jobController.stop();
      await informers.stop();
    },
  };
}

/** The suite's cluster: 4 hollow nodes of 8 cpu in pool `batch`, and `instances` queue controllers. */
export function queueSuite(name: string, instances = 1): WorkloadCluster<QueueControllers> {
  return workloadSuite({
    name,
    hollowNodes: 4,
    agentArgs: [`--labels=${POOL_LABEL}=batch`],
    startControllers: (client) => startQueueControllers(client, instances),
  });
}

// ---------------------------------------------------------------------------------------------
// Manifests

export function flavorManifest(name: string, nodeLabels: Record<string, string> = {}): Record<string, unknown> {
  return { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'ResourceFlavor', metadata: { name }, spec: { nodeLabels } };
}

export interface QueueOptions {
  cohort?: string;
  strategy?: 'StrictFIFO' | 'BestEffortFIFO';
  flavor?: string;
  cpu: string;
  borrowingLimit?: string;
  lendingLimit?: string;
  weight?: string;
  preemption?: Record<string, string>;
  namespaceSelector?: Record<string, unknown>;
}

export function clusterQueueManifest(name: string, o: QueueOptions): Record<string, unknown> {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta1',
    kind: 'ClusterQueue',
    metadata: { name },
    spec: {
      namespaceSelector: o.namespaceSelector ?? {},
      ...(o.cohort ? { cohort: o.cohort } : {}),
      ...(o.strategy ? { queueingStrategy: o.strategy } : {}),
      ...(o.preemption ? { preemption: o.preemption } : {}),
      ...(o.weight ? { fairSharing: { weight: o.weight } } : {}),
      resourceGroups: [
        {
          coveredResources: ['cpu'],
          flavors: [
            {
              name: o.flavor ?? 'default',
              resources: [{ name: 'cpu', nominalQuota: o.cpu, ...(o.borrowingLimit ? { borrowingLimit: o.borrowingLimit } : {}), ...(o.lendingLimit ? { lendingLimit: o.lendingLimit } : {}) }],
            },
          ],
        },
      ],
    },
  };
}

export function localQueueManifest(name: string, clusterQueue: string): Record<string, unknown> {
  return { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'LocalQueue', metadata: { name }, spec: { clusterQueue } };
}

export interface QueuedJobOptions {
  queue: string;
  parallelism?: number;
  completions?: number;
  cpu?: string;
  /** Hollow pods finish after this many seconds; absent: they run until deleted. */
  runSeconds?: number;
  priority?: number;
}

export function queuedJobManifest(name: string, o: QueuedJobOptions): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'kueue.x-k8s.io/queue-name': o.queue } },
    spec: {
      parallelism: o.parallelism ?? 1,
      completions: o.completions ?? o.parallelism ?? 1,
      template: {
        metadata: o.runSeconds !== undefined ? { annotations: { 'cell.dev/run-seconds': String(o.runSeconds) } } : {},
        spec: {
          restartPolicy: 'Never',
          ...(o.priority !== undefined ? { priority: o.priority } : {}),
          containers: [{ name: 'main', image: 'busybox', command: ['work'], resources: { requests: { cpu: o.cpu ?? '1' } } }],
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading back

export async function getJob(client: ApiClient, namespace: string, name: string): Promise<Job> {
  return client.get<Job>({ ...JOBS, namespace, name });
}

/** The Workload of a Job (found by owner), once it exists. */
export async function workloadOfJob(client: ApiClient, namespace: string, job: string, timeoutMs = 30_000): Promise<Workload> {
  return waitFor(async () => {
    const list = await client.list<{ items: Workload[] }>({ ...WL, namespace });
    return list.items.find((w) => w.metadata.ownerReferences?.some((r) => r.kind === 'Job' && r.name === job));
  }, `the Workload of job ${namespace}/${job}`, timeoutMs, 100);
}

export async function getWorkload(client: ApiClient, namespace: string, name: string): Promise<Workload | undefined> {
  try {
    return await client.get<Workload>({ ...WL, namespace, name });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export function cond(wl: Workload | undefined, type: string): { status: string; reason?: string; message?: string } | undefined {
  return wl?.status.conditions?.find((c) => c.type === type);
}

/** Wait until the Job's Workload satisfies `pred`; returns it. */
export async function waitWorkload(client: ApiClient, namespace: string, job: string, pred: (wl: Workload) => boolean, what: string, timeoutMs = 60_000): Promise<Workload> {
  let last: Workload | undefined;
  try {
    return await waitFor(async () => {
      const list = await client.list<{ items: Workload[] }>({ ...WL, namespace });
      last = list.items.find((w) => w.metadata.ownerReferences?.some((r) => r.kind === 'Job' && r.name === job));
      return last && pred(last) ? last : undefined;
    }, `${namespace}/${job}'s workload: ${what}`, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status)}`);
  }
}

export const isAdmittedWl = (wl: Workload) => wl.status.admission !== undefined && cond(wl, 'Admitted')?.status === 'True';
export const isFinishedWl = (wl: Workload) => cond(wl, 'Finished')?.status === 'True';

export async function waitJobCondition(client: ApiClient, namespace: string, name: string, type: string, timeoutMs = 60_000): Promise<Job> {
  let last: Job | undefined;
  try {
    return await waitFor(async () => {
      last = await getJob(client, namespace, name);
      return last.status.conditions?.some((c) => c.type === type && c.status === 'True') ? last : undefined;
    }, `job ${namespace}/${name} ${type}`, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast: ${JSON.stringify(last?.status)}`);
  }
}

/** `flavor/resource` → quantity of a ClusterQueue's recorded reservation, zeros left out. */
export function ledgerOf(cq: ClusterQueue): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of cq.status.flavorsReservation ?? []) for (const r of f.resources) if (r.total && r.total !== '0') out[`${f.name}/${r.name}`] = r.total;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Watching every revision

/**
 * Watches the Workloads of the whole cluster and checks, after every event (the watch delivers
 * every write in revision order), that the reservations charged to each ClusterQueue stay within
 * `limits` (milli-units of cpu per queue), recording the most seen and the order of admissions.
 */
export class ReservationWatch {
  private readonly informer: Informer<Workload>;
  readonly most = new Map<string, bigint>();
  readonly violations: string[] = [];
  /** `ns/name` in the order their quota was reserved (each reservation once). */
  readonly admissions: string[] = [];

  /**
   * `limits`: the most cpu (milli) each queue may hold; `cohorts`: the most a set of queues may
   * hold together (what a cohort's members lend each other).
   */
  constructor(client: ApiClient, private readonly limits: Record<string, bigint>, private readonly cohorts: Record<string, { queues: string[]; limit: bigint }> = {}) {
    this.informer = new Informer<Workload>({ client, ref: WL });
    const check = (old: Workload | undefined, wl: Workload) => {
      if (wl.status.admission && (!old || !old.status.admission)) this.admissions.push(`${wl.metadata.namespace ?? ''}/${wl.metadata.name ?? ''}`);
      this.check(wl.metadata.resourceVersion ?? '');
    };
    this.informer.addHandlers({ add: (wl) => check(undefined, wl), update: check, delete: (wl) => this.check(wl.metadata.resourceVersion ?? '') });
  }

  private check(rv: string): void {
    const per = new Map<string, FlavorAmounts>();
    for (const wl of this.informer.list()) {
      const c = workloadCharge(wl);
      if (c) per.set(c.clusterQueue, addFlavorAmounts(per.get(c.clusterQueue) ?? new Map(), c.amounts));
    }
    const cpuOf = new Map<string, bigint>();
    for (const [cq, amounts] of per) {
      const flat = flattenFlavorAmounts(amounts);
      const cpu = flat.names().reduce((sum, n) => (n.endsWith('/cpu') ? sum + flat.get(n) : sum), 0n);
      cpuOf.set(cq, cpu);
      if (cpu > (this.most.get(cq) ?? 0n)) this.most.set(cq, cpu);
      const limit = this.limits[cq];
      if (limit !== undefined && cpu > limit) this.violations.push(`at resourceVersion ${rv}, ${cq} holds ${cpu}m cpu, over ${limit}m`);
    }
    for (const [cohort, { queues, limit }] of Object.entries(this.cohorts)) {
      const total = queues.reduce((sum, q) => sum + (cpuOf.get(q) ?? 0n), 0n);
      if (total > (this.most.get(cohort) ?? 0n)) this.most.set(cohort, total);
      if (total > limit) this.violations.push(`at resourceVersion ${rv}, cohort ${cohort} holds ${total}m cpu, over ${limit}m`);
    }
  }

  async start(): Promise<void> {
    await this.informer.start();
    await this.informer.hasSynced();
  }

  stop(): Promise<void> {
    return this.informer.stop();
  }

  expectWithinLimits(): void {
    expect(this.violations, this.violations.join('\n')).to.deep.equal([]);
  }
}
