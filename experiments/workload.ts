// The workload: Omega's two job classes, arriving as seeded Poisson processes, each job's pods
// created through the API.
//
//   batch    many short jobs of many tasks (small requests, run for seconds, then Succeed)
//   service  fewer long-running jobs with larger requests (run until the run's pods are deleted)
//
// A job is a set of pods sharing the label scheduling.x-k8s.io/pod-group=<job>: the
// scheduler's decision-time knob charges t_job once per such group. Without a PodGroup object the
// Coscheduling plugin would hold those pods, so non-gang runs use a profile without it
// (experiments/profiles/); gang runs create the PodGroup (minMember = all tasks) and keep it on,
// which makes the scheduler commit the job in one AllOrNothing placement. No ownerReference is
// set: an owner that does not exist would have its pods deleted by the garbage collector.
import type { PodInput } from '../shared/api/core.js';
import { POD_GROUP_LABEL } from '../shared/api/scheduling.js';
import type { ApiClient } from '../shared/client/http-client.js';
import { seededRandom } from '../shared/seeded-random.js';

/** The label the recorder and the monolithic scheduler's per-class decision times read. */
export const CLASS_LABEL = 'experiments.cell.dev/class';
/** The hollow agent ends a pod annotated so after that many seconds (agent/hollow.ts). */
const RUN_SECONDS_ANNOTATION = 'cell.dev/run-seconds';

export type ClassName = 'batch' | 'service';

export interface JobClass {
  name: ClassName;
  /** Mean arrivals per second (Poisson). */
  ratePerSecond: number;
  /** Tasks per job: uniform in [min, max]. */
  tasks: { min: number; max: number };
  cpu: string;
  memory: string;
  /** How long each task runs once bound; undefined: until deleted. */
  runSeconds?: number;
  /** Jobs go to these schedulers round-robin (load-balanced). */
  schedulers: string[];
  /** Create a PodGroup with minMember = tasks (all-or-nothing commits). */
  gang?: boolean;
}

export interface PlannedJob {
  name: string;
  cls: ClassName;
  /** Milliseconds after the start of the run. */
  at: number;
  tasks: number;
  scheduler: string;
  gang: boolean;
}

/** Every job of the run, in arrival order: the same seed gives the same jobs. */
export function planJobs(classes: readonly JobClass[], durationMs: number, seed: number): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  classes.forEach((c, ci) => {
    // One stream per class, so changing one class's rate leaves the other's arrivals as they were.
    const random = seededRandom(seed * 31 + ci + 1);
    let t = 0;
    let n = 0;
    for (;;) {
      // Exponential inter-arrival times: a Poisson process of rate λ.
      t += (-Math.log(1 - random()) / c.ratePerSecond) * 1000;
      if (t >= durationMs) break;
      const tasks = c.tasks.min + Math.floor(random() * (c.tasks.max - c.tasks.min + 1));
      jobs.push({ name: `${c.name}-${n}`, cls: c.name, at: t, tasks, scheduler: c.schedulers[n % c.schedulers.length]!, gang: c.gang ?? false });
      n++;
    }
  });
  return jobs.sort((a, b) => a.at - b.at);
}

function podOf(job: PlannedJob, task: number, c: JobClass): PodInput {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${job.name}-${task}`,
      labels: { [POD_GROUP_LABEL]: job.name, [CLASS_LABEL]: job.cls },
      ...(c.runSeconds !== undefined ? { annotations: { [RUN_SECONDS_ANNOTATION]: String(c.runSeconds) } } : {}),
    },
    spec: {
      schedulerName: job.scheduler,
      restartPolicy: 'Never',
      containers: [{ name: 'task', image: 'busybox', command: ['true'], resources: { requests: { cpu: c.cpu, memory: c.memory } } }],
    },
  };
}

/** Create one job: its PodGroup first (gangs), then its pods, all at once. */
async function submitJob(client: ApiClient, namespace: string, job: PlannedJob, c: JobClass): Promise<void> {
  if (job.gang) {
    await client.create(
      { group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace, resource: 'podgroups' },
      { apiVersion: 'scheduling.x-k8s.io/v1alpha1', kind: 'PodGroup', metadata: { name: job.name }, spec: { minMember: job.tasks } },
    );
  }
  await Promise.all(Array.from({ length: job.tasks }, (_, i) => client.create({ namespace, resource: 'pods' }, podOf(job, i, c))));
}

/**
 * Submit `jobs` on their schedule (open loop: a slow cluster does not slow the arrivals), calling
 * `onSubmit` with each job's submit time (epoch ms, taken just before its first create is sent).
 */
export async function submitJobs(
  client: ApiClient,
  namespace: string,
  jobs: readonly PlannedJob[],
  classes: readonly JobClass[],
  onSubmit: (job: PlannedJob, at: number) => void,
): Promise<void> {
  const byName = new Map(classes.map((c) => [c.name, c]));
  const start = Date.now();
  const inFlight: Promise<void>[] = [];
  for (const job of jobs) {
    const wait = start + job.at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    onSubmit(job, Date.now());
    inFlight.push(submitJob(client, namespace, job, byName.get(job.cls)!));
  }
  await Promise.all(inFlight);
}
