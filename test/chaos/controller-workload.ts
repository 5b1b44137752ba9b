// The chaos run's controller-driven workload: Deployments created (and rolled out) before the
// window opens, each given a rolling update (an image change) during it, and Jobs of hollow pods
// that finish after a second or two, started during it. The first rollout and the first Job are
// timed from the fault plan so that they are under way when the first controller-manager-kill
// lands; the rest start at seeded offsets. Progress is polled, so the report can say which
// rollouts and Jobs each controller-manager-kill interrupted.
import type { Deployment } from '../../shared/api/apps.js';
import type { Job } from '../../shared/api/batch.js';
import type { Container } from '../../shared/api/core.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import { AlreadyExistsError, errorMessage } from '../../shared/errors.js';
import { RUN_SECONDS_ANNOTATION } from '../../agent/hollow.js';
import { NAMESPACE } from './cluster.js';
import type { FaultRecord, PlannedFault } from './faults.js';
import { retryThroughFaults } from './retry.js';

export interface ControllerWorkloadOptions {
  deployments: number;
  replicas: number;
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

export function jobComplete(j: Job): boolean {
  return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ?? false;
}

export class ControllerWorkload {
  readonly deployments: string[];
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
    this.jobs = Array.from({ length: opts.jobs }, (_, i) => `job-${i}`);
  }

  /** Create the Deployments and wait until they are rolled out (before the window, so any fault time can meet a rollout). */
  async setup(timeoutMs = 60_000): Promise<void> {
    for (const name of this.deployments) await this.retry(`create deployment ${name}`, () => this.createOnce(DEPLOYMENTS_REF, this.deployment(name)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await this.client.list<{ items: Deployment[] }>(DEPLOYMENTS_REF);
      if (this.deployments.every((n) => list.items.some((d) => d.metadata.name === n && rolledOut(d)))) return;
      if (Date.now() > deadline) throw new Error(`chaos: deployments not rolled out ${timeoutMs} ms after creation: ${JSON.stringify(list.items.map((d) => [d.metadata.name, d.status]))}`);
      await sleep(POLL_MS);
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
      ...this.deployments.map((name, i) => ({ at: i === 0 ? Math.max(0, anchor - 1000) : later(), kind: 'rollout' as const, name })),
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
        await this.retry(`roll out deployment ${step.name}`, () =>
          this.client.patch({ ...DEPLOYMENTS_REF, name: step.name }, { spec: { template: { spec: { containers: [container(IMAGE_AFTER)] } } } }).then(() => undefined),
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
    const total = this.deployments.length + this.jobs.length;
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
    const [deps, jobs] = await Promise.all([this.client.list<{ items: Deployment[] }>(DEPLOYMENTS_REF), this.client.list<{ items: Job[] }>(JOBS_REF)]);
    const now = Date.now() - this.t0;
    for (const a of this.rollouts) {
      const d = deps.items.find((x) => x.metadata.name === a.name);
      if (a.endMs === undefined && d && d.spec.template.spec.containers[0]?.image === IMAGE_AFTER && rolledOut(d)) a.endMs = now;
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
    const unstarted = this.deployments.length + this.jobs.length - this.rollouts.length - this.jobRuns.length;
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
