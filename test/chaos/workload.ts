// The chaos run's workload: pods created at a steady pace over the creation window, a mix of
//   long-running pods and pods that finish (hollow `cell.dev/run-seconds`), for default-scheduler
//   (two active-active replicas) and for the binpack scheduler, at three priorities;
//   gangs (a PodGroup and its labelled members, placed all together);
//   a few pods for the real agents (a real `sh -c 'sleep 1'`, selected by label, tolerating their taint);
//   a few pods that fit nowhere (they must end pending with a reason).
// Finished pods are, half of the time, deleted; every second one is re-created under a new name
// while the pod budget lasts. Creates are retried through API server and etcd faults; an
// AlreadyExists on a retry means an earlier attempt committed (names are never reused).
import type { Pod, PodInput } from '../../shared/api/core.js';
import { POD_GROUP_LABEL } from '../../shared/api/scheduling.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { AlreadyExistsError, NotFoundError } from '../../shared/errors.js';
import { RUN_SECONDS_ANNOTATION } from '../../agent/hollow.js';
import { BINPACK_SCHEDULER, NAMESPACE, REAL_LABEL } from './cluster.js';
import { retryThroughFaults } from './retry.js';

export type PodKind = 'long-running' | 'finishing' | 'gang' | 'real' | 'impossible';

export interface CreatedPod {
  name: string;
  kind: PodKind;
  scheduler: string;
  priority: number;
  /** The finished pod this one replaces. */
  replaces?: string;
  /** The workload deleted it (after it finished). */
  deletedByWorkload: boolean;
  /** When it was seen finished and deleted (for violation messages). */
  deletedNote?: string;
}

export interface WorkloadOptions {
  pods: number;
  creationMs: number;
  realPods: number;
  impossiblePods: number;
  /** Creates in flight at once. */
  concurrency: number;
}

const POD_GROUP_REF: ResourceRef = { group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: NAMESPACE, resource: 'podgroups' };
const PODS_REF: ResourceRef = { namespace: NAMESPACE, resource: 'pods' };
const GANG_FRACTION = 0.06;
const FINISHING_FRACTION = 0.55;
const MEAN_CPU_MILLI = 250;
/** Long-running pods as a fraction of all pods created (fresh ones, less the gangs, the finishing and their re-creations): an estimate for sizing the nodes. */
export const LONG_RUNNING_SHARE = 0.33;

/** cpu per hollow node so that the long-running pods alone fill about `fill` of the cluster. */
export function hollowCpuFor(pods: number, nodes: number, fill = 0.9): string {
  const milli = (pods * LONG_RUNNING_SHARE * MEAN_CPU_MILLI) / nodes / fill;
  return `${Math.max(2000, Math.ceil(milli / 100) * 100)}m`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Workload {
  readonly created = new Map<string, CreatedPod>();
  readonly podGroups: string[] = [];
  /** Writes (creates, deletes) that failed at least once (faults) before they went through. */
  retriedWrites = 0;
  /** Creates answered AlreadyExists on a retry: the earlier, failed-looking attempt had committed. */
  ambiguousCreates = 0;
  private readonly recreate: string[] = [];
  private readonly handled = new Set<string>();
  private readonly budget: number;
  private slot = 0;
  private fresh = 0;
  private stopped = false;
  /** Completions being processed (delete + queue), so run() can wait for them at the end. */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly client: ApiClient,
    private readonly opts: WorkloadOptions,
    private readonly random: () => number,
  ) {
    this.budget = opts.pods;
  }

  get createdCount(): number {
    return this.created.size;
  }

  /** Told of every pod change the watch consumer sees: finished pods are deleted / replaced. */
  onPod(type: string, pod: Pod): void {
    const name = pod.metadata.name ?? '';
    const rec = this.created.get(name);
    if (this.stopped || type === 'DELETED' || !rec || rec.kind !== 'finishing' || pod.status.phase !== 'Succeeded' || this.handled.has(name)) return;
    this.handled.add(name);
    const del = this.random() < 0.5;
    const again = this.random() < 0.5;
    const p = (async () => {
      if (del) {
        await this.retry(`delete pod ${name}`, async () => {
          try {
            await this.client.delete({ ...PODS_REF, name });
          } catch (err) {
            // A retried delete whose first attempt committed.
            if (!(err instanceof NotFoundError)) throw err;
          }
        });
        rec.deletedByWorkload = true;
        rec.deletedNote = `seen Succeeded at ${pod.metadata.resourceVersion}, deleted at ${new Date().toISOString().slice(11, 23)}`;
      }
      if (again) this.recreate.push(name);
    })();
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * Stop creating and stop reacting to finished pods, and wait for the deletes already under way:
   * after this, the workload writes nothing more, so the end state can be judged.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Create the whole budget, paced evenly over the creation window. */
  async run(): Promise<void> {
    const t0 = Date.now();
    const every = this.opts.creationMs / this.opts.pods;
    const worker = async () => {
      while (!this.stopped && this.created.size < this.budget) {
        const slot = this.slot++;
        const wait = t0 + slot * every - Date.now();
        if (wait > 0) await sleep(wait);
        if (this.stopped) return;
        // false: the rest of the budget is in flight; wait for it rather than spin.
        if (!(await this.createNext(slot))) await sleep(50);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
    await Promise.all([...this.pending]);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private priority(): number {
    const r = this.random();
    return r < 0.5 ? 0 : r < 0.85 ? 100 : 1000;
  }

  /** Create the next pod (or gang); false when the budget left is all in flight already. */
  private async createNext(slot: number): Promise<boolean> {
    // Reserve the budget before awaiting, so concurrent workers never overshoot it.
    const left = this.budget - this.created.size - this.inFlight;
    if (left <= 0) return false;
    await this.createChosen(slot, left);
    return true;
  }

  private async createChosen(slot: number, left: number): Promise<void> {
    const replaced = this.recreate.shift();
    if (replaced !== undefined) return this.reserve(1, () => this.createPod(this.plain(`${replaced.replace(/-r\d+$/, '')}-r${slot}`, 'finishing', replaced)));
    const i = this.fresh++;
    const { realPods, impossiblePods, pods } = this.opts;
    if (i < impossiblePods) return this.reserve(1, () => this.createPod(this.impossible(`impossible-${i}`)));
    // Fresh pods are about 60% of the budget (the rest are re-creations): spread the real ones over them.
    if (realPods > 0 && i % Math.max(1, Math.floor((pods * 0.6) / realPods)) === 1 && this.realCount < realPods) {
      this.realCount++;
      return this.reserve(1, () => this.createPod(this.real(`real-${i}`)));
    }
    if (this.random() < GANG_FRACTION / 3.5 && left >= 4) {
      const size = 3 + Math.floor(this.random() * 2);
      return this.reserve(size, () => this.createGang(`g-${i}`, size));
    }
    const kind: PodKind = this.random() < FINISHING_FRACTION ? 'finishing' : 'long-running';
    return this.reserve(1, () => this.createPod(this.plain(`p-${i}`, kind)));
  }

  private realCount = 0;
  private inFlight = 0;

  private async reserve(n: number, fn: () => Promise<void>): Promise<void> {
    this.inFlight += n;
    try {
      await fn();
    } finally {
      this.inFlight -= n;
    }
  }

  private spec(name: string, opts: { scheduler: string; priority: number; cpuMilli: number; memoryMi: number; runSeconds?: number; labels?: Record<string, string> }): PodInput {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: NAMESPACE,
        labels: { app: 'chaos', ...(opts.labels ?? {}) },
        ...(opts.runSeconds !== undefined ? { annotations: { [RUN_SECONDS_ANNOTATION]: String(opts.runSeconds) } } : {}),
      },
      spec: {
        schedulerName: opts.scheduler,
        priority: opts.priority,
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: `${opts.cpuMilli}m`, memory: `${opts.memoryMi}Mi` } } }],
      },
    };
  }

  private plain(name: string, kind: 'finishing' | 'long-running', replaces?: string): { pod: PodInput; rec: CreatedPod } {
    const scheduler = this.random() < 0.5 ? 'default-scheduler' : BINPACK_SCHEDULER;
    const priority = this.priority();
    const cpuMilli = 100 + 50 * Math.floor(this.random() * 7);
    const memoryMi = this.pick([64, 128, 192, 256]);
    const runSeconds = kind === 'finishing' ? 2 + Math.floor(this.random() * 9) : undefined;
    return {
      pod: this.spec(name, { scheduler, priority, cpuMilli, memoryMi, ...(runSeconds !== undefined ? { runSeconds } : {}) }),
      rec: { name, kind, scheduler, priority, deletedByWorkload: false, ...(replaces ? { replaces } : {}) },
    };
  }

  private impossible(name: string): { pod: PodInput; rec: CreatedPod } {
    return {
      pod: this.spec(name, { scheduler: 'default-scheduler', priority: 0, cpuMilli: 1_000_000, memoryMi: 64 }),
      rec: { name, kind: 'impossible', scheduler: 'default-scheduler', priority: 0, deletedByWorkload: false },
    };
  }

  private real(name: string): { pod: PodInput; rec: CreatedPod } {
    const pod = this.spec(name, { scheduler: 'default-scheduler', priority: 0, cpuMilli: 100, memoryMi: 32 });
    pod.spec.nodeSelector = { [REAL_LABEL]: 'true' };
    pod.spec.tolerations = [{ key: REAL_LABEL, operator: 'Equal', value: 'true', effect: 'NoSchedule' }];
    pod.spec.containers[0]!.command = ['sh', '-c', 'sleep 1'];
    return { pod, rec: { name, kind: 'real', scheduler: 'default-scheduler', priority: 0, deletedByWorkload: false } };
  }

  private async createGang(group: string, size: number): Promise<void> {
    await this.retry(`create podgroup ${group}`, () =>
      this.createOnce(POD_GROUP_REF, {
        apiVersion: 'scheduling.x-k8s.io/v1alpha1',
        kind: 'PodGroup',
        metadata: { name: group, namespace: NAMESPACE },
        spec: { minMember: size, scheduleTimeoutSeconds: 60 },
      }),
    );
    this.podGroups.push(group);
    const runSeconds = 3 + Math.floor(this.random() * 6);
    const cpuMilli = 100 + 50 * Math.floor(this.random() * 5);
    await Promise.all(
      Array.from({ length: size }, (_, k) => {
        const name = `${group}-${k}`;
        return this.createPod({
          pod: this.spec(name, { scheduler: 'default-scheduler', priority: 100, cpuMilli, memoryMi: 128, runSeconds, labels: { [POD_GROUP_LABEL]: group } }),
          rec: { name, kind: 'gang', scheduler: 'default-scheduler', priority: 100, deletedByWorkload: false },
        });
      }),
    );
  }

  private async createPod(p: { pod: PodInput; rec: CreatedPod }): Promise<void> {
    await this.retry(`create pod ${p.rec.name}`, () => this.createOnce(PODS_REF, p.pod));
    this.created.set(p.rec.name, p.rec);
  }

  /** One create; AlreadyExists counts as done: every name is created by this workload only, once. */
  private async createOnce(ref: ResourceRef, body: unknown): Promise<void> {
    try {
      await this.client.create(ref, body);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      // The client fails a POST over to the other API server after a connection error, so even a
      // first attempt can meet its own earlier commit.
      this.ambiguousCreates++;
    }
  }

  /** Retry `fn` through faults (retry.ts). */
  private async retry(what: string, fn: () => Promise<void>): Promise<void> {
    if ((await retryThroughFaults(`workload: ${what}`, fn, this.random)) > 0) this.retriedWrites++;
  }
}
