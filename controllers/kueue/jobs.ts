// Kueue's batch/v1 Job integration: a Job labelled kueue.x-k8s.io/queue-name (created suspended
// by the API server) gets a Workload; while the Workload is admitted the Job runs, with its
// flavors' node labels and tolerations in its pod template; while it is not, the Job is suspended
// with its submitted template. Every step is decided from what the objects say now, so a controller
// stopped between two steps leaves nothing its successor cannot finish:
//   start:  admitted (checked on a fresh read) and suspended → one Job write: suspend=false and
//           the admitted template;
//   stop:   not admitted, or evicted → suspend=true; then status.startTime cleared (as Kueue does,
//           so the template may change again); then the submitted template restored;
//   release: evicted, the Job suspended and none of its pods left running (both read fresh, not
//           from a cache) → the admission is cleared, which releases the quota through the API
//           server's ledger — never while a pod of it may still run;
//   finish: the Job Complete or Failed → the Workload Finished (its quota released likewise).
// The Job controller deletes a suspended Job's pods itself (without the eviction API); budgets
// are respected by not choosing, as preemption victims, Jobs whose pods a PodDisruptionBudget
// protects (KueueController.disruptable).
import type { Job } from '../../shared/api/batch.js';
import type { Pod } from '../../shared/api/core.js';
import { hasQuotaReservation, isAdmitted, isFinished, WORKLOAD_POD_SET_DEFAULT, type ResourceFlavor, type Workload } from '../../shared/api/kueue.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../../shared/errors.js';
import { labelSelectorFromSpec } from '../../shared/labels.js';
import type { Logger } from '../../shared/logging.js';
import { controllerRef, isJobRef, isTerminal } from '../job/pods.js';
import { JOBS, PODS, WORKLOADS, workloadRef } from './api-refs.js';
import { finishedStatus, isEvicted, requeuedStatus } from './workload-status.js';
import type { WorkloadView } from './workload-view.js';
import type { WorkloadWrites } from './workload-writes.js';
import { admittedTemplate, jobFinished, jobPriority, podSetCount, queueNameOf, sameDirectives, withDirectivesOf, workloadForJob } from './workload-from-job.js';

/** Workload informer index: by the uid of the Job controlling it. */
export const WORKLOAD_BY_JOB_UID = 'kueue:job-uid';
/** Pod informer index: by the uid of the Job controlling it. */
export const POD_BY_JOB_UID = 'kueue:pod-job-uid';

export function jobUidOfWorkload(wl: Workload): string[] {
  const ref = wl.metadata.ownerReferences?.find((r) => r.controller === true);
  return isJobRef(ref) ? [ref.uid] : [];
}

export function jobUidOfPod(pod: Pod): string[] {
  const ref = controllerRef(pod);
  return isJobRef(ref) ? [ref.uid] : [];
}

export interface JobIntegrationDeps {
  client: ApiClient;
  jobs: Informer<Job>;
  pods: Informer<Pod>;
  view: WorkloadView;
  writes: WorkloadWrites;
  events: EventRecorder;
  flavors(): ReadonlyMap<string, ResourceFlavor>;
  log: Logger;
  now(): Date;
}

/** Admitted, not evicted, active: the Job may run. */
function mayRun(wl: Workload): boolean {
  return hasQuotaReservation(wl) && isAdmitted(wl) && !isEvicted(wl) && wl.spec.active !== false;
}

export class JobIntegration {
  constructor(private readonly d: JobIntegrationDeps) {}

  /** The Job's own Workload (controlled by it), if any. */
  workloadOf(job: Job): Workload | undefined {
    return this.d.view.byIndex(WORKLOAD_BY_JOB_UID, job.metadata.uid ?? '')[0];
  }

  async sync(namespace: string, name: string): Promise<void> {
    const job = this.d.jobs.get(namespace, name);
    if (!job || queueNameOf(job) === undefined || job.metadata.deletionTimestamp !== undefined) return;
    const wl = this.workloadOf(job);
    const finished = jobFinished(job);
    if (finished) {
      if (wl && !isFinished(wl)) await this.d.writes.writeStatus(wl, finishedStatus(wl, finished.reason, finished.message, this.d.now()));
      return;
    }
    if (!wl) {
      if (!job.spec.suspend) await this.suspend(job, 'Not admitted by cluster queue');
      await this.createWorkload(job);
      return;
    }
    if (isFinished(wl)) return;
    if (!hasQuotaReservation(wl) && this.outdated(job, wl)) {
      // Changed while waiting (parallelism, queue, priority): Kueue replaces the Workload.
      await this.deleteWorkload(wl);
      return;
    }
    if (mayRun(wl)) {
      if (job.spec.suspend) await this.start(job, wl);
      return;
    }
    if (!job.spec.suspend) {
      // Evicted is final for this admission; "not admitted" is re-read first, so a cache that has
      // not seen the admission yet never stops a Job that may run.
      if (!isEvicted(wl)) {
        const fresh = await this.freshWorkload(wl);
        if (!fresh || mayRun(fresh)) return;
      }
      await this.suspend(job, isEvicted(wl) ? (wl.status.conditions?.find((c) => c.type === 'Evicted')?.message ?? 'Evicted') : 'Not admitted by cluster queue');
      return;
    }
    await this.restore(job, wl);
    if (hasQuotaReservation(wl) && isEvicted(wl)) await this.release(job, wl);
  }

  private outdated(job: Job, wl: Workload): boolean {
    const ps = wl.spec.podSets.find((p) => p.name === WORKLOAD_POD_SET_DEFAULT) ?? wl.spec.podSets[0];
    return ps?.count !== podSetCount(job) || wl.spec.queueName !== queueNameOf(job) || (wl.spec.priority ?? 0) !== jobPriority(job);
  }

  private async createWorkload(job: Job): Promise<void> {
    const body = workloadForJob(job);
    try {
      const created = await this.d.client.create<Workload>({ ...WORKLOADS, namespace: job.metadata.namespace }, body);
      this.d.view.wrote(created);
      this.jobEvent(job, 'Normal', 'CreatedWorkload', `Created Workload: ${job.metadata.namespace ?? ''}/${created.metadata.name ?? ''}`);
    } catch (err) {
      // Made already (by this controller before a restart, or by another instance).
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
  }

  private async deleteWorkload(wl: Workload): Promise<void> {
    try {
      await this.d.client.delete(workloadRef(wl), { preconditions: { uid: wl.metadata.uid ?? '', resourceVersion: wl.metadata.resourceVersion ?? '' } });
    } catch (err) {
      // Gone already, or changed since (admitted, say): the next sync decides on what it is now.
      if (!(err instanceof NotFoundError) && !(err instanceof ConflictError)) throw err;
    }
  }

  private async freshWorkload(wl: Workload): Promise<Workload | undefined> {
    try {
      const fresh = await this.d.client.get<Workload>(workloadRef(wl));
      return fresh.metadata.uid === wl.metadata.uid ? fresh : undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private jobRef(job: Job, subresource?: 'status') {
    return { ...JOBS, namespace: job.metadata.namespace, name: job.metadata.name, ...(subresource ? { subresource } : {}) };
  }

  /** Unsuspend with the admitted template, after reading the Workload fresh. */
  private async start(job: Job, cached: Workload): Promise<void> {
    const wl = await this.freshWorkload(cached);
    if (!wl || !mayRun(wl) || !wl.status.admission) return;
    const podSet = wl.spec.podSets.find((p) => p.name === WORKLOAD_POD_SET_DEFAULT) ?? wl.spec.podSets[0];
    if (!podSet) return;
    let current = job;
    const wanted = withDirectivesOf(job.spec.template, admittedTemplate(podSet.template, wl.status.admission, podSet.name, this.d.flavors()));
    // Where pods run may change only while the Job has not started (status.startTime unset).
    if (!sameDirectives(wanted, job.spec.template) && job.status.startTime !== undefined) current = await this.clearStartTime(job);
    await this.d.client.update<Job>(this.jobRef(current), { ...current, spec: { ...current.spec, suspend: false, template: withDirectivesOf(current.spec.template, wanted) } });
    this.jobEvent(job, 'Normal', 'Started', `Admitted by clusterQueue ${wl.status.admission.clusterQueue}`);
  }

  private async suspend(job: Job, why: string): Promise<void> {
    await this.d.client.update<Job>(this.jobRef(job), { ...job, spec: { ...job.spec, suspend: true } });
    this.jobEvent(job, 'Normal', 'Stopped', why);
  }

  private async clearStartTime(job: Job): Promise<Job> {
    const { startTime: _cleared, ...status } = job.status;
    return this.d.client.update<Job>(this.jobRef(job, 'status'), { ...job, status });
  }

  /** A suspended Job gets back its submitted node selector and tolerations. */
  private async restore(job: Job, wl: Workload): Promise<void> {
    const podSet = wl.spec.podSets.find((p) => p.name === WORKLOAD_POD_SET_DEFAULT) ?? wl.spec.podSets[0];
    if (!podSet || sameDirectives(job.spec.template, podSet.template)) return;
    const current = job.status.startTime !== undefined ? await this.clearStartTime(job) : job;
    await this.d.client.update<Job>(this.jobRef(current), { ...current, spec: { ...current.spec, template: withDirectivesOf(current.spec.template, podSet.template) } });
  }

  /** Clear the admission of an evicted Workload once its Job is suspended and none of its pods runs. */
  private async release(job: Job, wl: Workload): Promise<void> {
    if (this.d.pods.byIndex(POD_BY_JOB_UID, job.metadata.uid ?? '').some((p) => !isTerminal(p))) return; // pod events bring it back
    let fresh: Job;
    try {
      fresh = await this.d.client.get<Job>(this.jobRef(job));
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    if (fresh.metadata.uid !== job.metadata.uid || !fresh.spec.suspend) return;
    const selector = fresh.spec.selector ? labelSelectorFromSpec(fresh.spec.selector).toString() : '';
    const pods = await this.d.client.list<{ items: Pod[] }>({ ...PODS, namespace: job.metadata.namespace }, selector ? { labelSelector: selector } : {});
    const running = pods.items.filter((p) => jobUidOfPod(p).includes(job.metadata.uid ?? '') && !isTerminal(p));
    if (running.length > 0) return;
    await this.d.writes.writeStatus(wl, requeuedStatus(wl, this.d.now()));
    this.d.log.info('released the quota of an evicted workload', { workload: `${wl.metadata.namespace ?? ''}/${wl.metadata.name ?? ''}` });
  }

  private jobEvent(job: Job, type: 'Normal' | 'Warning', reason: string, message: string): void {
    void this.d.events.record({ kind: 'Job', apiVersion: 'batch/v1', name: job.metadata.name ?? '', namespace: job.metadata.namespace ?? 'default', uid: job.metadata.uid ?? '' }, type, reason, message);
  }
}
