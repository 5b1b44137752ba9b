// The queue invariants of a chaos run (DESIGN §3, §8: zero queues over quota), judged from etcd:
//   queue  at EVERY revision where a ClusterQueue or Workload key changed, for each cohort (or lone
//          queue) the revision touched: every ClusterQueue's recorded reservation
//          (status.flavorsReservation) equals the charges of its admitted, unfinished Workloads and
//          stays within nominalQuota + borrowingLimit, and the cohort draws no more than its
//          members lend. Judged by the declaration GET /audit uses (clusterQueueLedger, checked by
//          checkLedgers), fed the objects decoded from etcd at that revision, so the replay and the
//          server's audit can never disagree on the rule. Also at every revision: a Workload's
//          admission never changes while it is set, and no Job has two Workloads holding quota.
//          At the end: every queued Job finished, runs admitted, or waits with a Workload that
//          says why (QuotaReserved=False with a reason); none lost.
import { isDeepStrictEqual } from 'node:util';
import { JOB_COMPLETE, JOB_FAILED, trueCondition, type Job } from '../../shared/api/batch.js';
import {
  JOB_UID_LABEL,
  WORKLOAD_PREEMPTED,
  WORKLOAD_QUOTA_RESERVED,
  hasQuotaReservation,
  isAdmitted,
  isFinished,
  type ClusterQueue,
  type Workload,
} from '../../shared/api/kueue.js';
import { Quantity } from '../../shared/quantity.js';
import { clusterQueueLedger } from '../../apiserver/queues/audit.js';
import { CLUSTER_QUEUE_RESOURCE, WORKLOAD_RESOURCE } from '../../apiserver/queues/install.js';
import { checkLedgers } from '../../apiserver/ledgers/ledger.js';
import type { ServedResource } from '../../apiserver/http/resources.js';
import type { Decoded, EtcdReader } from './history.js';
import type { Violation } from './invariants.js';

// The declaration's `reads` (which resources the server lists for it) depend on what is served;
// the replay hands state() its objects itself, so an empty table serves.
const LEDGER = clusterQueueLedger(new Map<string, ServedResource>());

/** The ledger violations of these queues and the Workloads charged to them, as GET /audit words them. */
export function judgeQueues(queues: readonly ClusterQueue[], workloads: readonly Workload[]): string[] {
  const state = LEDGER.state((resource) => (resource === CLUSTER_QUEUE_RESOURCE ? queues : resource === WORKLOAD_RESOURCE ? workloads : []));
  return checkLedgers(LEDGER, state).map((v) => `${v.kind}: ${v.message}`);
}

const wlKey = (wl: Workload) => `${wl.metadata.namespace ?? ''}/${wl.metadata.name ?? ''}`;
const cond = (wl: Workload | Job, type: string) => wl.status?.conditions?.find((c) => c.type === type);

/** The Job a Workload stands for (its label, else its controlling owner). */
function jobUidOf(wl: Workload): string {
  return wl.metadata.labels?.[JOB_UID_LABEL] ?? wl.metadata.ownerReferences?.find((r) => r.controller === true)?.uid ?? '';
}

export interface QueueFigures {
  /** Revisions at which a ClusterQueue or Workload key changed, each re-checked. */
  revisionsChecked: number;
  /** Cohorts (or lone queues) judged, summed over those revisions. */
  cohortChecks: number;
  /** Quota reserved (status.admission set), and released (cleared, or the Workload finished or deleted). */
  admissions: number;
  releases: number;
  /** Preempted=True, by reason (InClusterQueue, InCohortReclamation). */
  preemptions: Record<string, number>;
  /** Per Workload (`ns/name`), how many times it was preempted. */
  preemptedTimes: Map<string, number>;
  /** Per Workload, its quota's story (`revision:reserved@queue`, `:preempted(reason)`, `:released`, `:finished`). */
  trails: Map<string, string[]>;
  /** Per `queue flavor/resource`, the most its recorded reservation held and the most it borrowed. */
  peaks: Map<string, { reserved: Quantity; borrowed: Quantity }>;
  violations: number;
}

/**
 * The queue ledgers replayed change by change (invariants.ts drives it with the run's history):
 * apply() every change of a revision, then endRevision() judges the cohorts it touched.
 */
export class QueueReplay {
  readonly figures: QueueFigures = { revisionsChecked: 0, cohortChecks: 0, admissions: 0, releases: 0, preemptions: {}, preemptedTimes: new Map(), trails: new Map(), peaks: new Map(), violations: 0 };
  private readonly queues = new Map<string, ClusterQueue>();
  private readonly workloads = new Map<string, Workload>();
  /** Per ClusterQueue name, the Workloads whose status.admission names it. */
  private readonly charged = new Map<string, Set<string>>();
  /** Per Job uid, its Workloads holding quota. */
  private readonly reservingByJob = new Map<string, Set<string>>();
  private touched = new Set<string>();
  private jobsTouched = new Set<string>();

  constructor(private readonly report: (v: Violation) => void) {}

  private violation(message: string): void {
    this.figures.violations++;
    this.report({ invariant: 'queue', message });
  }

  /** `cohort:<name>` for a member of a cohort, `queue:<name>` for a queue in none (or not there). */
  private groupOf(queue: string): string {
    const cohort = this.queues.get(queue)?.spec.cohort;
    return cohort ? `cohort:${cohort}` : `queue:${queue}`;
  }

  /** Apply one change (`key` without the API server's prefix; `value` undefined for a delete). */
  apply(key: string, value: Decoded | undefined, revision: number): void {
    const resource = key.split('/')[1];
    if (resource === CLUSTER_QUEUE_RESOURCE) this.applyQueue(key.split('/').pop() ?? '', value?.kind === 'clusterqueue' ? value.cq : undefined);
    else if (resource === WORKLOAD_RESOURCE) this.applyWorkload(key.slice(`/${WORKLOAD_RESOURCE}/`.length), value?.kind === 'workload' ? value.wl : undefined, revision);
  }

  private applyQueue(name: string, cq: ClusterQueue | undefined): void {
    this.touched.add(this.groupOf(name));
    if (cq) this.queues.set(name, cq);
    else this.queues.delete(name);
    this.touched.add(this.groupOf(name));
    for (const f of cq?.status.flavorsReservation ?? []) {
      for (const r of f.resources) {
        const id = `${name} ${f.name}/${r.name}`;
        const peak = this.figures.peaks.get(id) ?? { reserved: Quantity.fromMilli(0n), borrowed: Quantity.fromMilli(0n) };
        const reserved = Quantity.parse(r.total ?? '0');
        const borrowed = Quantity.parse(r.borrowed ?? '0');
        this.figures.peaks.set(id, { reserved: reserved.cmp(peak.reserved) > 0 ? reserved : peak.reserved, borrowed: borrowed.cmp(peak.borrowed) > 0 ? borrowed : peak.borrowed });
      }
    }
  }

  private applyWorkload(key: string, next: Workload | undefined, revision: number): void {
    const prev = this.workloads.get(key);
    const prevQueue = prev?.status.admission?.clusterQueue;
    const nextQueue = next?.status.admission?.clusterQueue;
    if (prevQueue !== undefined) {
      this.charged.get(prevQueue)?.delete(key);
      this.touched.add(this.groupOf(prevQueue));
    }
    if (nextQueue !== undefined) {
      const set = this.charged.get(nextQueue) ?? new Set<string>();
      set.add(key);
      this.charged.set(nextQueue, set);
      this.touched.add(this.groupOf(nextQueue));
    }
    if (next) this.workloads.set(key, next);
    else this.workloads.delete(key);

    if (prev?.status.admission && next?.status.admission && !isDeepStrictEqual(prev.status.admission, next.status.admission)) {
      this.violation(`workload ${key}: its admission changed while set, from ${JSON.stringify(prev.status.admission)} to ${JSON.stringify(next.status.admission)}, at revision ${revision}`);
    }
    const held = (wl: Workload | undefined) => wl !== undefined && hasQuotaReservation(wl);
    const trail = (what: string) => {
      const list = this.figures.trails.get(key) ?? [];
      list.push(`${revision}:${what}`);
      this.figures.trails.set(key, list);
    };
    if (!held(prev) && held(next)) {
      this.figures.admissions++;
      trail(`reserved@${nextQueue ?? ''}`);
    }
    if (held(prev) && !held(next)) {
      this.figures.releases++;
      trail(next && isFinished(next) ? 'finished' : next ? 'released' : 'deleted');
    }
    const waiting = next ? cond(next, WORKLOAD_QUOTA_RESERVED) : undefined;
    const waited = prev ? cond(prev, WORKLOAD_QUOTA_RESERVED) : undefined;
    if (waiting?.status === 'False' && (waited?.status !== 'False' || waited.message !== waiting.message)) trail(`waiting(${(waiting.message ?? '').slice(0, 60)})`);
    const preempted = next ? cond(next, WORKLOAD_PREEMPTED) : undefined;
    if (preempted?.status === 'True' && (prev === undefined || cond(prev, WORKLOAD_PREEMPTED)?.status !== 'True')) {
      const reason = preempted.reason ?? '';
      this.figures.preemptions[reason] = (this.figures.preemptions[reason] ?? 0) + 1;
      this.figures.preemptedTimes.set(key, (this.figures.preemptedTimes.get(key) ?? 0) + 1);
      // Kueue's message names the preemptor: `…; preemptor: <ns>/<name> in ClusterQueue <cq>`.
      const by = /preemptor: (\S+) in ClusterQueue/.exec(preempted.message ?? '')?.[1];
      trail(`preempted(${reason}${by ? ` by ${by}` : ''})`);
    }
    for (const wl of [prev, next]) {
      if (!wl) continue;
      const job = jobUidOf(wl);
      const set = this.reservingByJob.get(job) ?? new Set<string>();
      if (wl === next && held(next)) set.add(key);
      else set.delete(key);
      this.reservingByJob.set(job, set);
      this.jobsTouched.add(job);
    }
  }

  /** Judge every cohort (and lone queue) the revision's changes touched. */
  endRevision(revision: number): void {
    if (this.touched.size === 0 && this.jobsTouched.size === 0) return;
    this.figures.revisionsChecked++;
    for (const group of this.touched) {
      this.figures.cohortChecks++;
      const colon = group.indexOf(':');
      const name = group.slice(colon + 1);
      const members = group.startsWith('cohort:')
        ? [...this.queues.values()].filter((q) => q.spec.cohort === name)
        : [this.queues.get(name)].filter((q): q is ClusterQueue => q !== undefined && !q.spec.cohort);
      const names = group.startsWith('cohort:') ? members.map((q) => q.metadata.name ?? '') : [name];
      const workloads = names.flatMap((q) => [...(this.charged.get(q) ?? [])].map((k) => this.workloads.get(k)!));
      for (const m of judgeQueues(members, workloads)) this.violation(`${m} (at revision ${revision})`);
    }
    for (const job of this.jobsTouched) {
      const reserving = this.reservingByJob.get(job);
      if (reserving && reserving.size > 1) this.violation(`job uid ${job} has ${reserving.size} Workloads holding quota at once (${[...reserving].join(', ')}) at revision ${revision}`);
      if (reserving?.size === 0) this.reservingByJob.delete(job);
    }
    this.touched = new Set();
    this.jobsTouched = new Set();
  }
}

/** The queue ledgers at one revision, read as ranges (independent of the replay). */
export async function checkQueuesAt(reader: EtcdReader, revision: number): Promise<Violation[]> {
  const [queues, workloads] = await Promise.all([
    reader.objectsAt<ClusterQueue>(`/${CLUSTER_QUEUE_RESOURCE}/`, revision),
    reader.objectsAt<Workload>(`/${WORKLOAD_RESOURCE}/`, revision),
  ]);
  return judgeQueues(queues, workloads).map((m) => ({ invariant: 'queue' as const, message: `${m} (at sampled revision ${revision})` }));
}

/** A queued Job the tenants submitted. */
export interface QueuedJobRef {
  namespace: string;
  name: string;
}

export interface QueuedJobOutcome {
  jobs: number;
  finished: number;
  /** Admitted (quota reserved) and not finished at the end. */
  running: number;
  pendingWithReason: number;
  violations: Violation[];
}

/**
 * Where every queued Job ended, read from etcd at `revision`: finished with its Workload Finished
 * (its quota released), admitted and running, or suspended with a Workload that says why it
 * waits. A Job gone, without a Workload, with two, running without an admission, or waiting
 * without a reason is lost.
 */
export async function queuedJobOutcomes(reader: EtcdReader, revision: number, jobs: readonly QueuedJobRef[]): Promise<QueuedJobOutcome> {
  const out: QueuedJobOutcome = { jobs: jobs.length, finished: 0, running: 0, pendingWithReason: 0, violations: [] };
  const namespaces = [...new Set(jobs.map((j) => j.namespace))];
  const read = await Promise.all(
    namespaces.map(async (ns) => ({
      ns,
      jobs: await reader.objectsAt<Job>(`/jobs/${ns}/`, revision),
      workloads: await reader.objectsAt<Workload>(`/${WORKLOAD_RESOURCE}/${ns}/`, revision),
    })),
  );
  const lost = (m: string) => out.violations.push({ invariant: 'queue', message: m });
  for (const ref of jobs) {
    const here = read.find((r) => r.ns === ref.namespace)!;
    const what = `queued job ${ref.namespace}/${ref.name}`;
    const job = here.jobs.find((j) => j.metadata.name === ref.name);
    if (!job) {
      lost(`${what} is gone`);
      continue;
    }
    const own = here.workloads.filter((w) => w.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === job.metadata.uid));
    if (own.length > 1) lost(`${what} has ${own.length} Workloads: ${own.map(wlKey).join(', ')}`);
    const wl = own[0];
    const wlText = wl ? `Workload ${wlKey(wl)} status ${JSON.stringify(wl.status)}` : 'no Workload';
    if (trueCondition(job, JOB_COMPLETE) || trueCondition(job, JOB_FAILED)) {
      out.finished++;
      const completions = job.spec.completions ?? 1;
      if (trueCondition(job, JOB_COMPLETE) && (job.status.succeeded ?? 0) !== completions) lost(`${what} is Complete with ${job.status.succeeded ?? 0} succeeded, want ${completions}`);
      if (wl && hasQuotaReservation(wl)) lost(`${what} finished, but its ${wlText} still holds quota`);
      continue;
    }
    if (!wl) {
      lost(`${what} has not finished and has no Workload; job status ${JSON.stringify(job.status)}`);
      continue;
    }
    if (hasQuotaReservation(wl) && isAdmitted(wl)) {
      out.running++;
      continue;
    }
    const waiting = cond(wl, WORKLOAD_QUOTA_RESERVED);
    if (wl.status.admission === undefined && !isFinished(wl) && waiting?.status === 'False' && (waiting.reason ?? '') !== '') {
      out.pendingWithReason++;
      if (job.spec.suspend !== true) lost(`${what} runs (not suspended) while its ${wlText} has no admission`);
      continue;
    }
    lost(`${what} is neither finished, admitted, nor waiting with a reason: job status ${JSON.stringify(job.status)}, suspend ${String(job.spec.suspend)}; ${wlText}`);
  }
  return out;
}
