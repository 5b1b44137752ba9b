// Simulated decision time, for experiments only (off by default): the Omega paper models a
// scheduler's time to decide a job as t_job + t_task × tasks. A scheduler with this knob decides a
// pod on its cache as usual, then waits the pod's share of that time before committing — waiting,
// not burning CPU, so many such schedulers fit one machine — and decides nothing else meanwhile.
// The decision is therefore taken on state that is that much older when it commits, which is what
// makes conflicts grow with decision time, as in the paper.
//
// One daemon can model Omega's monolithic scheduler, which spends different times on different job
// classes (a slow service path beside a fast batch path): `classes` keys per-class times by the
// value of one pod label; pods without a listed value get the default times.
import type { Pod } from '../../shared/api/core.js';
import { POD_GROUP_LABEL } from '../../shared/api/scheduling.js';
import { parseDuration } from '../../shared/duration.js';
import { ParseError } from '../../shared/errors.js';

export interface DecisionTimes {
  /** t_job: charged once per job, on the first of its pods this scheduler decides. */
  perJobMs: number;
  /** t_task: charged for every pod. */
  perTaskMs: number;
}

export interface DecisionTimeOptions extends DecisionTimes {
  /** Per-class times: a pod whose label `label` has a value listed in `times` is charged those. */
  classes?: { label: string; times: ReadonlyMap<string, DecisionTimes> };
}

/**
 * `--decision-time-classes` ("service=1s/10ms,batch=0/5ms": class=t_job/t_task, Go durations)
 * into the per-class table.
 */
export function parseDecisionTimeClasses(spec: string): Map<string, DecisionTimes> {
  const times = new Map<string, DecisionTimes>();
  for (const entry of spec.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([^=]+)=([^/]+)\/(.+)$/.exec(entry);
    if (!m) throw new ParseError(`bad decision-time class "${entry}" (want CLASS=T_JOB/T_TASK, e.g. service=1s/10ms)`);
    times.set(m[1]!.trim(), { perJobMs: parseDuration(m[2]!), perTaskMs: parseDuration(m[3]!) });
  }
  return times;
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
    const classTimes = [...(this.o.classes?.times.values() ?? [])];
    return [this.o, ...classTimes].some((t) => t.perJobMs > 0 || t.perTaskMs > 0);
  }

  /** The times that apply to `pod`: its class's, else the default. */
  private timesOf(pod: Pod): DecisionTimes {
    const classes = this.o.classes;
    const value = classes ? pod.metadata.labels?.[classes.label] : undefined;
    return (value !== undefined ? classes?.times.get(value) : undefined) ?? this.o;
  }

  /** Milliseconds deciding `pod` takes: t_task, plus t_job when its job is new to this scheduler. */
  costOf(pod: Pod): number {
    const times = this.timesOf(pod);
    const job = jobOf(pod);
    if (this.charged.has(job)) return times.perTaskMs;
    this.charged.add(job);
    if (this.charged.size > REMEMBERED_JOBS) {
      const oldest = this.charged.values().next().value;
      if (oldest !== undefined) this.charged.delete(oldest);
    }
    return times.perJobMs + times.perTaskMs;
  }
}
