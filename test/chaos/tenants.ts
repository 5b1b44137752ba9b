// The chaos run's tenants: teams sharing the hollow nodes through Kueue's queues. One
// ResourceFlavor (the hollow nodes, by label), three ClusterQueues in one cohort with different
// quotas and fair-sharing weights, and a LocalQueue in each tenant's namespace:
//   tenant-a  cpu 2, memory 2Gi; weight 2; BestEffortFIFO; reclaims what it lent (reclaimWithinCohort
//             Any) and preempts its own lower-priority workloads (withinClusterQueue LowerPriority)
//   tenant-b  cpu 1500m, memory 1536Mi, borrowing at most 1 cpu / 1Gi; weight 1; StrictFIFO;
//             preempts its own lower-priority workloads
//   tenant-c  cpu 1, memory 1Gi, lending only 500m / 512Mi of it, borrowing at most the same; weight 1
// Queued Jobs (label kueue.x-k8s.io/queue-name) of hollow pods arrive in rounds of the window: first
// tenant-b and tenant-c ask for more than their nominal quota (they borrow what tenant-a does not
// use) and tenant-b, at its limit, for one more at a higher priority (preemption within its
// queue), then tenant-a asks for its own back at a higher priority (reclaim by preemption) and
// for more of its own at mixed priorities, then a seeded mix. The
// demand of a round is several times the cohort's quota, so admissions race, borrow, are preempted
// and release while faults happen. One Job asks for more than the whole cohort: it must wait, with
// a reason, to the end.
import type { Job } from '../../shared/api/batch.js';
import { JOB_COMPLETE, JOB_FAILED, trueCondition } from '../../shared/api/batch.js';
import { QUEUE_NAME_LABEL, WORKLOAD_QUOTA_RESERVED, hasQuotaReservation, isFinished, type Workload } from '../../shared/api/kueue.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { AlreadyExistsError } from '../../shared/errors.js';
import { RUN_SECONDS_ANNOTATION } from '../../agent/hollow.js';
import { HOLLOW_POOL, HOLLOW_POOL_LABEL } from './cluster.js';
import type { QueuedJobRef } from './queue-invariants.js';
import { retryThroughFaults } from './retry.js';

const KUEUE = { group: 'kueue.x-k8s.io', version: 'v1beta1' };
const FLAVORS_REF: ResourceRef = { ...KUEUE, resource: 'resourceflavors' };
const CLUSTER_QUEUES_REF: ResourceRef = { ...KUEUE, resource: 'clusterqueues' };
const localQueuesRef = (namespace: string): ResourceRef => ({ ...KUEUE, namespace, resource: 'localqueues' });
const workloadsRef = (namespace: string): ResourceRef => ({ ...KUEUE, namespace, resource: 'workloads' });
const jobsRef = (namespace: string): ResourceRef => ({ group: 'batch', version: 'v1', namespace, resource: 'jobs' });

export const TENANT_COHORT = 'chaos-tenants';
export const TENANT_FLAVOR = 'chaos-hollow';
const LOCAL_QUEUE = 'queue';
/** Below the controller workload's 2000 (those pods must always fit), above every plain pod's. */
const LOW = 1200;
const HIGH = 1800;

interface Tenant {
  namespace: string;
  clusterQueue: Record<string, unknown>;
}

function quota(name: string, nominal: string, limits: { borrowing?: string; lending?: string }): Record<string, string> {
  return { name, nominalQuota: nominal, ...(limits.borrowing ? { borrowingLimit: limits.borrowing } : {}), ...(limits.lending ? { lendingLimit: limits.lending } : {}) };
}

function clusterQueue(name: string, o: { cpu: string; memory: string; borrow?: [string, string]; lend?: [string, string]; weight: string; strategy: string; preemption: Record<string, string> }): Record<string, unknown> {
  return {
    apiVersion: 'kueue.x-k8s.io/v1beta1',
    kind: 'ClusterQueue',
    metadata: { name },
    spec: {
      cohort: TENANT_COHORT,
      namespaceSelector: {},
      queueingStrategy: o.strategy,
      fairSharing: { weight: o.weight },
      preemption: o.preemption,
      resourceGroups: [
        {
          coveredResources: ['cpu', 'memory'],
          flavors: [
            {
              name: TENANT_FLAVOR,
              resources: [
                quota('cpu', o.cpu, { ...(o.borrow ? { borrowing: o.borrow[0] } : {}), ...(o.lend ? { lending: o.lend[0] } : {}) }),
                quota('memory', o.memory, { ...(o.borrow ? { borrowing: o.borrow[1] } : {}), ...(o.lend ? { lending: o.lend[1] } : {}) }),
              ],
            },
          ],
        },
      ],
    },
  };
}

export const TENANTS: Record<'a' | 'b' | 'c', Tenant> = {
  a: { namespace: 'tenant-a', clusterQueue: clusterQueue('tenant-a', { cpu: '2', memory: '2Gi', weight: '2', strategy: 'BestEffortFIFO', preemption: { reclaimWithinCohort: 'Any', withinClusterQueue: 'LowerPriority' } }) },
  b: { namespace: 'tenant-b', clusterQueue: clusterQueue('tenant-b', { cpu: '1500m', memory: '1536Mi', borrow: ['1', '1Gi'], weight: '1', strategy: 'StrictFIFO', preemption: { withinClusterQueue: 'LowerPriority' } }) },
  c: { namespace: 'tenant-c', clusterQueue: clusterQueue('tenant-c', { cpu: '1', memory: '1Gi', borrow: ['500m', '512Mi'], lend: ['500m', '512Mi'], weight: '1', strategy: 'BestEffortFIFO', preemption: {} }) },
};

export interface TenantJob extends QueuedJobRef {
  tenant: keyof typeof TENANTS;
  /** ms after the window opens. */
  atMs: number;
  priority: number;
  parallelism: number;
  completions: number;
  cpuMilli: number;
  memoryMi: number;
  runSeconds: number;
  /** More than the whole cohort: it can only wait. */
  impossible: boolean;
}

export interface TenantOptions {
  /** Rounds of the timetable over the window; 0: no tenants at all. */
  rounds: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class TenantWorkload {
  readonly timetable: TenantJob[];
  /** Jobs whose create went through (AlreadyExists on a retry included). */
  readonly created: TenantJob[] = [];
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    windowMs: number,
    readonly opts: TenantOptions,
    private readonly random: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.timetable = this.plan(windowMs);
  }

  /** The seeded timetable: `rounds` equal slices of the window, each the same story with jitter. */
  private plan(windowMs: number): TenantJob[] {
    const rounds = this.opts.rounds;
    const slice = windowMs / Math.max(1, rounds);
    const jobs: TenantJob[] = [];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(this.random() * items.length)]!;
    const between = (lo: number, hi: number) => lo + Math.floor(this.random() * (hi - lo + 1));
    for (let r = 0; r < rounds; r++) {
      const at = (fraction: number) => Math.round(r * slice + slice * (fraction + 0.02 * this.random()));
      const add = (tenant: keyof typeof TENANTS, atMs: number, o: { priority: number; parallelism: number; waves: number; cpuMilli: number; runSeconds: number; impossible?: boolean }) => {
        const i = jobs.length;
        jobs.push({
          namespace: TENANTS[tenant].namespace,
          name: `${o.impossible ? 'too-big' : 'q'}-${r}-${i}`,
          tenant,
          atMs,
          priority: o.priority,
          parallelism: o.parallelism,
          completions: o.parallelism * o.waves,
          cpuMilli: o.cpuMilli,
          memoryMi: o.cpuMilli / 2,
          runSeconds: o.runSeconds,
          impossible: o.impossible ?? false,
        });
      };
      // tenant-b and tenant-c ask for more than their nominal quota, for long enough to be
      // borrowing still when tenant-a comes for its own.
      const b = at(0.05);
      for (let k = 0; k < 3; k++) add('b', b, { priority: LOW, parallelism: 2, waves: 2, cpuMilli: 500, runSeconds: between(6, 8) });
      // At its limit (2 of its 2.5 cpu held, the third Job waiting), a Job above the others.
      add('b', at(0.15), { priority: HIGH, parallelism: 2, waves: 1, cpuMilli: 500, runSeconds: between(2, 4) });
      const c = at(0.08);
      for (let k = 0; k < 2; k++) add('c', c, { priority: LOW, parallelism: 1, waves: 2, cpuMilli: 500, runSeconds: between(6, 8) });
      if (r === 0) add('a', at(0.1), { priority: LOW, parallelism: 1, waves: 1, cpuMilli: 6000, runSeconds: 1, impossible: true });
      // tenant-a reclaims: within its nominal quota, at a higher priority than the borrowers.
      const a = at(0.25);
      for (let k = 0; k < 2; k++) add('a', a, { priority: HIGH, parallelism: 2, waves: 1, cpuMilli: 500, runSeconds: between(3, 5) });
      for (let k = 0; k < 2; k++) add('a', a + 300, { priority: LOW, parallelism: 1, waves: 2, cpuMilli: 500, runSeconds: between(3, 5) });
      // And more of its own, above its lower-priority workloads.
      add('a', at(0.32), { priority: HIGH, parallelism: 2, waves: 1, cpuMilli: 500, runSeconds: between(2, 4) });
      // A seeded mix, short Jobs, so the backlog drains before the round ends.
      for (let k = 0; k < 4; k++) {
        add(pick(['a', 'b', 'c'] as const), at(0.4 + 0.2 * this.random()), {
          priority: pick([LOW, HIGH]),
          parallelism: between(1, 2),
          waves: between(1, 2),
          cpuMilli: pick([250, 500]),
          runSeconds: between(1, 3),
        });
      }
    }
    return jobs.sort((x, y) => x.atMs - y.atMs);
  }

  /** The flavor, the cohort's ClusterQueues, the tenants' namespaces and LocalQueues. */
  async setup(): Promise<void> {
    if (this.opts.rounds === 0) return;
    await this.createOnce('flavor', FLAVORS_REF, {
      apiVersion: 'kueue.x-k8s.io/v1beta1',
      kind: 'ResourceFlavor',
      metadata: { name: TENANT_FLAVOR },
      spec: { nodeLabels: { [HOLLOW_POOL_LABEL]: HOLLOW_POOL } },
    });
    for (const t of Object.values(TENANTS)) {
      await this.createOnce('cluster queue', CLUSTER_QUEUES_REF, t.clusterQueue);
      await this.createOnce('namespace', { resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: t.namespace } });
      const cq = (t.clusterQueue as { metadata: { name: string } }).metadata.name;
      await this.createOnce('local queue', localQueuesRef(t.namespace), { apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'LocalQueue', metadata: { name: LOCAL_QUEUE, namespace: t.namespace }, spec: { clusterQueue: cq } });
    }
  }

  /** Submit the timetable (Jobs due at the same moment together) until it ends or stop() is called. */
  async run(): Promise<void> {
    const t0 = Date.now();
    for (let i = 0; i < this.timetable.length; ) {
      const due = this.timetable.filter((j) => j.atMs === this.timetable[i]!.atMs);
      const wait = t0 + due[0]!.atMs - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) return;
      await Promise.all(due.map((j) => this.submit(j)));
      i += due.length;
    }
    this.log(`tenants: ${this.created.length} queued Jobs submitted`);
  }

  stop(): void {
    this.stopped = true;
  }

  private async submit(j: TenantJob): Promise<void> {
    await this.createOnce(`job ${j.namespace}/${j.name}`, jobsRef(j.namespace), {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: j.name, namespace: j.namespace, labels: { [QUEUE_NAME_LABEL]: LOCAL_QUEUE } },
      spec: {
        parallelism: j.parallelism,
        completions: j.completions,
        backoffLimit: 6,
        template: {
          metadata: { annotations: { [RUN_SECONDS_ANNOTATION]: String(j.runSeconds) } },
          spec: {
            priority: j.priority,
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: `${j.cpuMilli}m`, memory: `${j.memoryMi}Mi` } } }],
          },
        },
      },
    });
    this.created.push(j);
  }

  /**
   * Settled: every Job submitted has finished and its Workload released its quota (Finished),
   * except the one too big for the cohort, whose Workload waits saying why.
   */
  async settled(): Promise<{ done: boolean; why: string }> {
    const open: string[] = [];
    for (const t of Object.values(TENANTS).filter((x) => this.created.some((j) => j.namespace === x.namespace))) {
      const [jobs, workloads] = await Promise.all([
        this.client.list<{ items: Job[] }>(jobsRef(t.namespace)),
        this.client.list<{ items: Workload[] }>(workloadsRef(t.namespace)),
      ]);
      for (const j of this.created.filter((x) => x.namespace === t.namespace)) {
        const job = jobs.items.find((x) => x.metadata.name === j.name);
        const wl = workloads.items.find((w) => w.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === job?.metadata.uid));
        const finished = job !== undefined && (trueCondition(job, JOB_COMPLETE) !== undefined || trueCondition(job, JOB_FAILED) !== undefined);
        const waits = wl !== undefined && !hasQuotaReservation(wl) && wl.status.conditions?.some((c) => c.type === WORKLOAD_QUOTA_RESERVED && c.status === 'False' && (c.reason ?? '') !== '');
        const ok = j.impossible ? waits : finished && (wl === undefined || isFinished(wl));
        if (!ok) open.push(`${j.namespace}/${j.name}`);
      }
    }
    return { done: open.length === 0, why: `${open.length} queued Jobs not done (${open.slice(0, 8).join(', ')}${open.length > 8 ? ', …' : ''})` };
  }

  /** AlreadyExists counts as done: each name is created once, by this workload only. */
  private async createOnce(what: string, ref: ResourceRef, body: unknown): Promise<void> {
    await retryThroughFaults(`tenants: create ${what}`, async () => {
      try {
        await this.client.create(ref, body);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
    }, this.random);
  }
}
