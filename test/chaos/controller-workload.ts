// The chaos run's controller-driven workload: Deployments, DaemonSets (on the hollow nodes) and
// StatefulSets created (and rolled out) before the window opens, each given a rolling update (an
// image change) during it, and Jobs of hollow pods that finish after a second or two, started
// during it. The first rollout and the first Job are
// timed from the fault plan so that they are under way when the first controller-manager-kill
// lands; the rest start at seeded offsets. Progress is polled, so the report can say which
// rollouts and Jobs each controller-manager-kill interrupted.
import type { DaemonSet, Deployment, StatefulSet } from '../../shared/api/apps.js';
import type { Job } from '../../shared/api/batch.js';
import type { Container } from '../../shared/api/core.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { AlreadyExistsError, errorMessage } from '../../shared/errors.js';
import { HOLLOW_LABEL, RUN_SECONDS_ANNOTATION } from '../../agent/hollow.js';
import { NAMESPACE } from './cluster.js';
import type { FaultRecord, PlannedFault } from './faults.js';
import { retryThroughFaults } from './retry.js';

export interface ControllerWorkloadOptions {
  deployments: number;
  replicas: number;
  /** DaemonSets over every hollow node (default 0). */
  daemonSets?: number;
  /** StatefulSets of `replicas` pods (default 0). */
  statefulSets?: number;
  jobs: number;
  completions: number;
  parallelism: number;
}

/** A rollout or a Job run, in ms since the window opened; endMs unset while it is not done. */
export interface Activity {
  name: string;
  startMs: number;
  endMs?: number;
}

export const DEPLOYMENTS_REF: ResourceRef = { group: 'apps', version: 'v1', namespace: NAMESPACE, resource: 'deployments' };
export const REPLICASETS_REF: ResourceRef = { group: 'apps', version: 'v1', namespace: NAMESPACE, resource: 'replicasets' };
export const JOBS_REF: ResourceRef = { group: 'batch', version: 'v1', namespace: NAMESPACE, resource: 'jobs' };
export const DAEMONSETS_REF: ResourceRef = { group: 'apps', version: 'v1', namespace: NAMESPACE, resource: 'daemonsets' };
export const STATEFULSETS_REF: ResourceRef = { group: 'apps', version: 'v1', namespace: NAMESPACE, resource: 'statefulsets' };

const IMAGE_BEFORE = 'busybox:1.36';
const IMAGE_AFTER = 'busybox:1.37';
/** Above every workload pod's priority: these pods are never preemption victims, so they always fit. */
const PRIORITY = 2000;
const POLL_MS = 500;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function container(image: string): Container {
  return { name: 'main', image, command: ['sleep', '3600'], resources: { requests: { cpu: '50m', memory: '32Mi' } } };
}

/** Rolled out: the controller saw the current generation and every replica is updated and available. */
export function rolledOut(d: Deployment): boolean {
  const s = d.status ?? {};
  const want = d.spec.replicas;
  return s.observedGeneration === d.metadata.generation && s.replicas === want && s.updatedReplicas === want && s.availableReplicas === want;
}

/** Rolled out: every node that should run the pod runs an available one of the current template. */
export function daemonSetRolledOut(ds: DaemonSet): boolean {
  const s = ds.status;
  return s.observedGeneration === ds.metadata.generation && s.desiredNumberScheduled > 0 && s.updatedNumberScheduled === s.desiredNumberScheduled && s.numberAvailable === s.desiredNumberScheduled && s.numberMisscheduled === 0;
}

/** Rolled out: every replica ready and of the update revision, which has become the current one. */
export function statefulSetRolledOut(sts: StatefulSet): boolean {
  const s = sts.status;
  const want = sts.spec.replicas;
  return s.observedGeneration === sts.metadata.generation && s.replicas === want && s.readyReplicas === want && s.updatedReplicas === want && s.currentRevision === s.updateRevision;
}

/** The workloads that roll out: where they live, when they are done, and what one looks like. */
interface Rollable {
  kind: string;
  ref: ResourceRef;
  names: string[];
  rolledOut(obj: { spec: { template: { spec: { containers: Container[] } } } }): boolean;
}

export function jobComplete(j: Job): boolean {
  return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
}

export class ControllerWorkload {
  readonly deployments: string[];
  readonly daemonSets: string[];
  readonly statefulSets: string[];
  readonly jobs: string[];
  readonly rollouts: Activity[] = [];
  readonly jobRuns: Activity[] = [];
  /** Polls of progress that failed (faults); the next one tries again. */
  failedPolls = 0;
  private stopped = false;
  private t0 = 0;

  constructor(
    private readonly client: ApiClient,
    readonly opts: ControllerWorkloadOptions,
    private readonly random: () => number,
    private readonly log: (line: string) => void,
  ) {
    this.deployments = Array.from({ length: opts.deployments }, (_, i) => `deploy-${i}`);
    this.daemonSets = Array.from({ length: opts.daemonSets ?? 0 }, (_, i) => `daemon-${i}`);
    this.statefulSets = Array.from({ length: opts.statefulSets ?? 0 }, (_, i) => `state-${i}`);
    this.jobs = Array.from({ length: opts.jobs }, (_, i) => `job-${i}`);
  }

  private rollables(): Rollable[] {
    return [
      { kind: 'deployment', ref: DEPLOYMENTS_REF, names: this.deployments, rolledOut: (o) => rolledOut(o as Deployment) },
      { kind: 'daemonset', ref: DAEMONSETS_REF, names: this.daemonSets, rolledOut: (o) => daemonSetRolledOut(o as DaemonSet) },
      { kind: 'statefulset', ref: STATEFULSETS_REF, names: this.statefulSets, rolledOut: (o) => statefulSetRolledOut(o as StatefulSet) },
    ];
  }

  private rollableNamed(name: string): Rollable {
    return this.rollables().find((r) => r.names.includes(name))!;
  }

  /** Create the Deployments, DaemonSets and StatefulSets and wait until they are rolled out (before the window, so any fault time can meet a rollout). */
  async setup(timeoutMs = 60_000): Promise<void> {
    for (const r of this.rollables()) {
      for (const name of r.names) await this.retry(`create ${r.kind} ${name}`, () => this.createOnce(r.ref, this.manifest(r.kind, name)));
    }
    const deadline = Date.now() + timeoutMs;
    for (const r of this.rollables()) {
      for (;;) {
        const list = await this.client.list<{ items: { metadata: { name?: string }; spec: { template: { spec: { containers: Container[] } } }; status?: unknown }[] }>(r.ref);
        if (r.names.every((n) => list.items.some((o) => o.metadata.name === n && r.rolledOut(o)))) break;
        if (Date.now() > deadline) throw new Error(`chaos: ${r.kind}s not rolled out ${timeoutMs} ms after creation: ${JSON.stringify(list.items.map((o) => [o.metadata.name, o.status]))}`);
        await sleep(POLL_MS);
      }
    }
  }

  /**
   * The seeded timetable over the window: the first rollout 1 s and the first Job 2 s before the
   * first planned controller-manager-kill (both take several seconds, so the kill meets them under
   * way); the others anywhere in the first 70% of the window.
   */
  timetable(plan: PlannedFault[], windowMs: number): { at: number; kind: 'rollout' | 'job'; name: string }[] {
    const anchor = plan.find((f) => f.kind === 'controller-manager-kill')?.atMs ?? windowMs / 2;
    const later = () => Math.round(windowMs * (0.05 + 0.65 * this.random()));
    return [
      ...[...this.deployments, ...this.daemonSets, ...this.statefulSets].map((name, i) => ({ at: i === 0 ? Math.max(0, anchor - 1000) : later(), kind: 'rollout' as const, name })),
      ...this.jobs.map((name, i) => ({ at: i === 0 ? Math.max(0, anchor - 2000) : later(), kind: 'job' as const, name })),
    ].sort((a, b) => a.at - b.at);
  }

  /** Run the timetable, then follow progress until everything is done or stop() is called. */
  async run(plan: PlannedFault[], windowMs: number): Promise<void> {
    this.t0 = Date.now();
    const poller = this.poll();
    for (const step of this.timetable(plan, windowMs)) {
      const wait = this.t0 + step.at - Date.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      if (step.kind === 'rollout') {
        const r = this.rollableNamed(step.name);
        await this.retry(`roll out ${r.kind} ${step.name}`, () =>
          this.client.patch({ ...r.ref, name: step.name }, { spec: { template: { spec: { containers: [container(IMAGE_AFTER)] } } } }).then(() => undefined),
        );
        this.rollouts.push({ name: step.name, startMs: Date.now() - this.t0 });
      } else {
        await this.retry(`create job ${step.name}`, () => this.createOnce(JOBS_REF, this.job(step.name)));
        this.jobRuns.push({ name: step.name, startMs: Date.now() - this.t0 });
      }
      this.log(`${step.kind} ${step.name} started at ${((Date.now() - this.t0) / 1000).toFixed(1)}s`);
    }
    // The window ends whether or not every rollout and Job is done: a stuck one is the settle
    // phase's to wait for (bounded) and the report's to name, not a run that never returns. The
    // poller goes on until stop().
    await Promise.race([poller, sleep(Math.max(0, this.t0 + windowMs - Date.now()))]);
  }

  stop(): void {
    this.stopped = true;
  }

  private async poll(): Promise<void> {
    const total = this.deployments.length + this.daemonSets.length + this.statefulSets.length + this.jobs.length;
    while (!this.stopped) {
      await sleep(POLL_MS);
      try {
        await this.observe();
      } catch (err) {
        // A fault in the way: the next poll sees the same progress, a little later.
        this.failedPolls++;
        if (this.failedPolls % 20 === 1) this.log(`controller workload poll failed: ${errorMessage(err)}`);
      }
      const done = [...this.rollouts, ...this.jobRuns].filter((a) => a.endMs !== undefined).length;
      if (done === total) return;
    }
  }

  /** Mark the rollouts and Jobs seen done now. */
  private async observe(): Promise<void> {
    type Listed = { items: { metadata: { name?: string }; spec: { template: { spec: { containers: Container[] } } } }[] };
    const rollables = this.rollables();
    const [lists, jobs] = await Promise.all([Promise.all(rollables.map((r) => this.client.list<Listed>(r.ref))), this.client.list<{ items: Job[] }>(JOBS_REF)]);
    const now = Date.now() - this.t0;
    for (const a of this.rollouts) {
      const i = rollables.findIndex((r) => r.names.includes(a.name));
      const o = lists[i]?.items.find((x) => x.metadata.name === a.name);
      if (a.endMs === undefined && o && o.spec.template.spec.containers[0]?.image === IMAGE_AFTER && rollables[i]!.rolledOut(o)) a.endMs = now;
    }
    for (const a of this.jobRuns) {
      const j = jobs.items.find((x) => x.metadata.name === a.name);
      if (a.endMs === undefined && j && jobComplete(j)) a.endMs = now;
    }
  }

  /** Every rollout and Job started is done (for the settle wait after the window). */
  async settled(): Promise<{ done: boolean; why: string }> {
    await this.observe();
    const open = [...this.rollouts, ...this.jobRuns].filter((a) => a.endMs === undefined).map((a) => a.name);
    const unstarted = this.deployments.length + this.daemonSets.length + this.statefulSets.length + this.jobs.length - this.rollouts.length - this.jobRuns.length;
    return { done: open.length === 0 && unstarted === 0, why: `${open.length} rollouts/Jobs not done (${open.join(', ')}), ${unstarted} never started` };
  }

  /** For the report: what each controller-manager-kill met under way. */
  overlaps(faults: FaultRecord[]): string[] {
    const during = (list: Activity[], at: number) => list.filter((a) => a.startMs <= at && (a.endMs === undefined || a.endMs > at)).map((a) => a.name);
    return faults
      .filter((f) => f.kind === 'controller-manager-kill')
      .map((f) => {
        const r = during(this.rollouts, f.atMs);
        const j = during(this.jobRuns, f.atMs);
        return `controller-manager-kill at ${(f.atMs / 1000).toFixed(1)}s met rollouts [${r.join(', ')}] and Jobs [${j.join(', ')}] under way`;
      });
  }

  private manifest(kind: string, name: string): unknown {
    if (kind === 'daemonset') return this.daemonSet(name);
    if (kind === 'statefulset') return this.statefulSet(name);
    return this.deployment(name);
  }

  /** One pod on every hollow node (the real agents' machines are left alone); a quarter of the nodes updated at a time. */
  private daemonSet(name: string): unknown {
    return {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace: NAMESPACE, labels: { app: name } },
      spec: {
        selector: { matchLabels: { app: name } },
        updateStrategy: { rollingUpdate: { maxUnavailable: '25%' } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            priority: PRIORITY,
            terminationGracePeriodSeconds: 1,
            affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOLLOW_LABEL, operator: 'Exists' }] }] } } },
            containers: [{ ...container(IMAGE_BEFORE), resources: { requests: { cpu: '10m', memory: '8Mi' } } }],
          },
        },
      },
    };
  }

  private statefulSet(name: string): unknown {
    return {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace: NAMESPACE, labels: { app: name } },
      spec: {
        replicas: this.opts.replicas,
        serviceName: name,
        // Ready for 1 s before the next ordinal: an ordered rollout long enough to be interrupted.
        minReadySeconds: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { priority: PRIORITY, terminationGracePeriodSeconds: 1, containers: [container(IMAGE_BEFORE)] },
        },
      },
    };
  }

  private deployment(name: string): unknown {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NAMESPACE, labels: { app: name } },
      spec: {
        replicas: this.opts.replicas,
        // A new pod counts as available 2 s after it is ready: rollouts last long enough to be interrupted.
        minReadySeconds: 2,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { priority: PRIORITY, terminationGracePeriodSeconds: 1, containers: [container(IMAGE_BEFORE)] },
        },
      },
    };
  }

  private job(name: string): unknown {
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: NAMESPACE },
      spec: {
        completions: this.opts.completions,
        parallelism: this.opts.parallelism,
        backoffLimit: 6,
        template: {
          metadata: { annotations: { [RUN_SECONDS_ANNOTATION]: String(1 + Math.floor(this.random() * 2)) } },
          spec: { priority: PRIORITY, restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [container(IMAGE_BEFORE)] },
        },
      },
    };
  }

  /** AlreadyExists on a create counts as done: each name is created once, by this workload only. */
  private async createOnce(ref: ResourceRef, body: unknown): Promise<void> {
    try {
      await this.client.create(ref, body);
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }

  /** Retry through faults (retry.ts). */
  private async retry(what: string, fn: () => Promise<void>): Promise<void> {
    await retryThroughFaults(`controller workload: ${what}`, fn, this.random);
  }
}
