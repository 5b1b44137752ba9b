// Simulated decision time, for experiments only (off by default): the Omega paper models a
// scheduler's time to decide a job as t_job + t_task × tasks. A scheduler with this knob decides a
// pod on its cache as usual, then waits the pod's share of that time before committing — waiting,
// not burning CPU, so many such schedulers fit one machine — and decides nothing else meanwhile.
// The decision is therefore taken on state that is that much older when it commits, which is what
// makes conflicts grow with decision time, as in the paper.
import type { Pod } from '../../shared/api/core.js';
import { POD_GROUP_LABEL } from '../../shared/api/scheduling.js';

export interface DecisionTimeOptions {
  /** t_job: charged once per job, on the first of its pods this scheduler decides. */
  perJobMs: number;
  /** t_task: charged for every pod. */
  perTaskMs: number;
}

/** How many jobs are remembered as already charged (the oldest are forgotten first). */
const REMEMBERED_JOBS = 10_000;

/** Which job a pod belongs to: its controller (a Job, a ReplicaSet), else its gang, else itself. */
export function jobOf(pod: Pod): string {
  const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
  if (controller) return `owner:${controller.uid}`;
  const group = pod.metadata.labels?.[POD_GROUP_LABEL];
  if (group) return `group:${pod.metadata.namespace ?? ''}/${group}`;
  return `pod:${pod.metadata.uid ?? pod.metadata.name ?? ''}`;
}

export class DecisionTime {
  private readonly charged = new Set<string>();

  constructor(private readonly o: DecisionTimeOptions) {}

  get enabled(): boolean {
    return this.o.perJobMs > 0 || this.o.perTaskMs > 0;
  }

  /** Milliseconds deciding `pod` takes: t_task, plus t_job when its job is new to this scheduler. */
  costOf(pod: Pod): number {
    const job = jobOf(pod);
    if (this.charged.has(job)) return this.o.perTaskMs;
    this.charged.add(job);
    if (this.charged.size > REMEMBERED_JOBS) {
      const oldest = this.charged.values().next().value;
      if (oldest !== undefined) this.charged.delete(oldest);
    }
    return this.o.perJobMs + this.o.perTaskMs;
  }
}
