// The cronjob controller (Kubernetes' CronJob controller v2, for the fields cell serves): at each
// time a CronJob's schedule names it makes a Job from the template, named
// `<cronjob>-<minutes since the epoch>` so that one scheduled time can only ever make one Job
// (a second create — another leader, a retry whose answer was lost — is an AlreadyExists), and
// keeps the status: the Jobs still running, the last scheduled and last successful times.
//
// One sync per CronJob, on any change to it or its Jobs and at its next scheduled time:
//   1. status.active follows the Jobs it controls (finished or deleted ones leave it);
//   2. finished Jobs beyond the history limits are deleted, oldest first, with their pods;
//   3. unless suspended or being deleted, the latest time due since the last run (or since the
//      CronJob was made) gets a Job — if within startingDeadlineSeconds, and as concurrencyPolicy
//      says while another still runs (Allow: start; Forbid: skip this time; Replace: delete the
//      running ones, then start). Times missed while the controller was away are not made up:
//      only the latest runs, as in Kubernetes (with a warning past 100 missed).
// The clock is injectable so tests can move time without waiting for it.
import { trueCondition, type Job } from '../../shared/api/batch.js';
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, type CronJob, type CronJobStatus } from '../../shared/api/cronjob.js';
import type { ObjectReference } from '../../shared/api/core.js';
import { formatTime } from '../../shared/api/meta.js';
import type { EventRecorder } from '../../shared/client/events.js';
import type { ApiClient, ResourceRef } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, ConflictError, NotFoundError, errorMessage } from '../../shared/errors.js';
import { CronSchedule, TOO_MANY_MISSED } from '../../shared/cron-schedule.js';
import type { Logger } from '../../shared/logging.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { controllerRefOf, controllerRefTo } from '../replicaset/controller-ref.js';
import { WorkQueue } from '../work-queue.js';

export const CRONJOB_CONTROLLER = 'cronjob';
const COMPONENT = 'cronjob-controller';

const CRONJOBS: ResourceRef = { group: 'batch', version: 'v1', resource: 'cronjobs' };
const JOBS: ResourceRef = { group: 'batch', version: 'v1', resource: 'jobs' };
/** Job informer index: Jobs by the uid of the CronJob that controls them. */
const BY_CRONJOB_UID = 'cronjob:controller-uid';
/** A sync due at a scheduled time runs this long after it, so the time has surely passed. */
const SCHEDULE_SLACK_MS = 100;
/** A CronJob is looked at again at least this often, whatever its schedule (the wall clock may jump). */
const MAX_RESYNC_MS = 60 * 60_000;

export interface CronJobControllerOptions {
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
  workers?: number;
}

function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function isFinished(job: Job): 'Complete' | 'Failed' | undefined {
  if (trueCondition(job, 'Complete')) return 'Complete';
  if (trueCondition(job, 'Failed')) return 'Failed';
  return undefined;
}

function finishedAt(job: Job): number {
  const t = job.status.completionTime ?? job.status.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.lastTransitionTime;
  return Date.parse(t ?? job.metadata.creationTimestamp ?? '') || 0;
}

/** The time a Job was scheduled for: its annotation, else its creation. */
function scheduledAt(job: Job): number {
  return Date.parse(job.metadata.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION] ?? job.metadata.creationTimestamp ?? '') || 0;
}

function jobReference(job: Job): ObjectReference {
  return { kind: 'Job', namespace: job.metadata.namespace ?? '', name: job.metadata.name ?? '', uid: job.metadata.uid ?? '', apiVersion: 'batch/v1', resourceVersion: job.metadata.resourceVersion ?? '' };
}

/** The Job a CronJob makes for scheduled time `at` (Kubernetes' getJobFromTemplate2). */
export function jobFor(cj: CronJob, at: number): Record<string, unknown> {
  const t = cj.spec.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${cj.metadata.name ?? ''}-${Math.floor(at / 60_000)}`,
      namespace: cj.metadata.namespace,
      labels: { ...t.metadata.labels },
      annotations: { ...t.metadata.annotations, [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: formatTime(new Date(at)) },
      ownerReferences: [controllerRefTo(cj)],
    },
    spec: t.spec,
  };
}

export class CronJobController implements Controller {
  readonly name = CRONJOB_CONTROLLER;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly cronJobs: Informer<CronJob>;
  private readonly jobs: Informer<Job>;
  private readonly queue: WorkQueue;
  private readonly now: () => number;
  /** Uids of Jobs this controller created that its informer has not shown yet. */
  private readonly justCreated = new Set<string>();
  /**
   * Per CronJob uid, the latest scheduled time this controller has dealt with (started, found
   * started, or missed): a sync on a CronJob read before its own status write reached the
   * informer must not take that time for one still due (Replace would delete the Job it just made).
   */
  private readonly handled = new Map<string, number>();
  private running = false;

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events(COMPONENT);
    this.cronJobs = ctx.informers.get<CronJob>(CRONJOBS);
    this.jobs = ctx.informers.get<Job>(JOBS);
    this.now = opts.now ?? Date.now;
    this.queue = new WorkQueue({ name: CRONJOB_CONTROLLER, sync: (key) => this.sync(key), log: ctx.log, workers: opts.workers ?? 5, metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    this.jobs.addIndex(BY_CRONJOB_UID, (job) => {
      const ref = controllerRefOf(job);
      return ref?.kind === 'CronJob' && ref.apiVersion.startsWith('batch/') ? [ref.uid] : [];
    });
    this.cronJobs.addHandlers({
      add: (cj) => this.queue.add(keyOf(cj)),
      update: (_old, cj) => this.queue.add(keyOf(cj)),
      delete: (cj) => this.handled.delete(cj.metadata.uid ?? ''),
    });
    const onJob = (job: Job) => {
      const ref = controllerRefOf(job);
      if (ref?.kind === 'CronJob') this.queue.add(`${job.metadata.namespace ?? ''}/${ref.name}`);
    };
    this.jobs.addHandlers({ add: onJob, update: (_old, job) => onJob(job), delete: onJob });
    void Promise.all([this.cronJobs.hasSynced(), this.jobs.hasSynced()]).then(() => {
      if (this.running) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.queue.stop();
  }

  /** Look again when the clock may have moved past a scheduled time (tests that move the clock). */
  resyncAll(): void {
    for (const cj of this.cronJobs.list()) this.queue.add(keyOf(cj));
  }

  private async sync(key: string): Promise<void> {
    const slash = key.indexOf('/');
    const cj = this.cronJobs.get(key.slice(0, slash), key.slice(slash + 1));
    if (!cj) return;
    const owned = this.jobs.byIndex(BY_CRONJOB_UID, cj.metadata.uid ?? '');
    const status: CronJobStatus = structuredClone(cj.status);
    this.trackActive(cj, status, owned);
    await this.pruneHistory(cj, owned);
    const next = await this.runDue(cj, status, owned);
    await this.writeStatus(cj, status);
    if (next !== undefined) this.queue.addAfter(key, Math.min(MAX_RESYNC_MS, Math.max(0, next - this.now()) + SCHEDULE_SLACK_MS));
  }

  /** status.active: the controlled Jobs still running; lastSuccessfulTime from the newest success. */
  private trackActive(cj: CronJob, status: CronJobStatus, owned: readonly Job[]): void {
    const before = new Set((status.active ?? []).map((r) => r.uid));
    const running = owned.filter((j) => !isFinished(j) && j.metadata.deletionTimestamp === undefined);
    // A Job listed as active that the informer no longer has may be one just created and not yet
    // seen: it stays until it is seen finished or deleted (its name holds the scheduled minute).
    const known = new Set(owned.map((j) => j.metadata.uid));
    const unseen = (status.active ?? []).filter((r) => !known.has(r.uid) && this.justCreated.has(r.uid ?? ''));
    status.active = [...running.map(jobReference), ...unseen];
    if (status.active.length === 0) delete status.active;
    for (const j of owned) {
      const outcome = isFinished(j);
      if (!outcome || !before.has(j.metadata.uid)) continue;
      void this.events.record(this.involved(cj), 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata.name ?? ''}, condition: ${outcome}`);
      if (outcome === 'Complete') {
        const at = finishedAt(j);
        if (at > (Date.parse(status.lastSuccessfulTime ?? '') || 0)) status.lastSuccessfulTime = formatTime(new Date(at));
      }
    }
    for (const uid of [...this.justCreated]) if (known.has(uid)) this.justCreated.delete(uid);
  }

  /** Finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit, oldest first, are deleted. */
  private async pruneHistory(cj: CronJob, owned: readonly Job[]): Promise<void> {
    for (const [outcome, limit] of [['Complete', cj.spec.successfulJobsHistoryLimit], ['Failed', cj.spec.failedJobsHistoryLimit]] as const) {
      const finished = owned.filter((j) => isFinished(j) === outcome && j.metadata.deletionTimestamp === undefined).sort((a, b) => finishedAt(a) - finishedAt(b) || scheduledAt(a) - scheduledAt(b));
      for (const j of finished.slice(0, Math.max(0, finished.length - limit))) {
        await this.deleteJob(cj, j, 'SuccessfulDelete', `Deleted job ${j.metadata.name ?? ''}`);
      }
    }
  }

  private async deleteJob(cj: CronJob, job: Job, reason: string, message: string): Promise<void> {
    try {
      await this.client.delete({ ...JOBS, namespace: job.metadata.namespace, name: job.metadata.name }, { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid ?? '' } });
      void this.events.record(this.involved(cj), 'Normal', reason, message);
    } catch (err) {
      // Gone already, or the name now belongs to another Job: either way this one is not there.
      if (!(err instanceof NotFoundError) && !(err instanceof ConflictError)) throw err;
    }
  }

  /** Start the run that is due, if any; returns when the next one is (undefined: never, or suspended). */
  private async runDue(cj: CronJob, status: CronJobStatus, owned: readonly Job[]): Promise<number | undefined> {
    if (cj.metadata.deletionTimestamp !== undefined) return undefined;
    let schedule: CronSchedule;
    try {
      schedule = CronSchedule.parse(cj.spec.schedule, cj.spec.timeZone);
    } catch (err) {
      // Validated on write; a time zone the runtime no longer knows ends here.
      void this.events.record(this.involved(cj), 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec.schedule}: ${errorMessage(err)}`);
      return undefined;
    }
    const now = this.now();
    const next = schedule.next(now);
    if (cj.spec.suspend) return undefined;
    const uid = cj.metadata.uid ?? '';
    const handled = this.handled.get(uid);
    // A status write of an earlier sync that lost a race is made good here.
    if (handled !== undefined && handled > (Date.parse(status.lastScheduleTime ?? '') || 0)) status.lastScheduleTime = formatTime(new Date(handled));
    const since = Math.max(Date.parse(status.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '') || now, handled ?? 0);
    const { latest, count } = schedule.latestIn(since, now);
    if (latest === undefined) return next;
    const body = jobFor(cj, latest);
    const name = (body.metadata as { name: string }).name;
    if (owned.some((j) => j.metadata.name === name)) {
      // Started already (by this controller before a restart, or another leader): only the status lags.
      this.handled.set(uid, latest);
      status.lastScheduleTime = formatTime(new Date(latest));
      return next;
    }
    const running = owned.filter((j) => !isFinished(j));
    if (count > TOO_MANY_MISSED) {
      void this.events.record(this.involved(cj), 'Warning', 'TooManyMissedTimes', `too many missed start times: ${count}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`);
    }
    const deadline = cj.spec.startingDeadlineSeconds;
    if (deadline !== undefined && latest + deadline * 1000 < now) {
      void this.events.record(this.involved(cj), 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${formatTime(new Date(latest))}`);
      this.handled.set(uid, latest);
      status.lastScheduleTime = formatTime(new Date(latest));
      return next;
    }
    if (running.length > 0 && cj.spec.concurrencyPolicy === 'Forbid') {
      void this.events.record(this.involved(cj), 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      // Tried again when the running Job finishes: this time is still the latest due then.
      return next;
    }
    if (running.length > 0 && cj.spec.concurrencyPolicy === 'Replace') {
      for (const j of running) await this.deleteJob(cj, j, 'SuccessfulDelete', `Deleted job ${j.metadata.name ?? ''}`);
      status.active = (status.active ?? []).filter((r) => !running.some((j) => j.metadata.uid === r.uid));
    }
    try {
      const job = await this.client.create<Job>({ ...JOBS, namespace: cj.metadata.namespace }, body);
      this.justCreated.add(job.metadata.uid ?? '');
      status.active = [...(status.active ?? []), jobReference(job)];
      void this.events.record(this.involved(cj), 'Normal', 'SuccessfulCreate', `Created job ${job.metadata.name ?? ''}`);
    } catch (err) {
      // This time's Job exists already (made before a restart whose status write was lost).
      if (!(err instanceof AlreadyExistsError)) {
        void this.events.record(this.involved(cj), 'Warning', 'FailedCreate', `Error creating job: ${errorMessage(err)}`);
        throw err;
      }
    }
    this.handled.set(uid, latest);
    status.lastScheduleTime = formatTime(new Date(latest));
    return next;
  }

  private async writeStatus(cj: CronJob, status: CronJobStatus): Promise<void> {
    if (JSON.stringify(status) === JSON.stringify(cj.status)) return;
    try {
      await this.client.update({ ...CRONJOBS, namespace: cj.metadata.namespace, name: cj.metadata.name, subresource: 'status' }, { ...cj, status });
    } catch (err) {
      // Changed meanwhile: the informer brings the new version, and its sync redoes this one's work
      // (the Job it may have created is found by its name, so not made twice).
      if (err instanceof ConflictError || err instanceof NotFoundError) {
        this.log.debug('cronjob status write lost a race; resyncing', { cronjob: keyOf(cj), error: errorMessage(err) });
        return;
      }
      throw err;
    }
  }

  private involved(cj: CronJob) {
    return { kind: 'CronJob', apiVersion: 'batch/v1', namespace: cj.metadata.namespace ?? '', name: cj.metadata.name ?? '', uid: cj.metadata.uid ?? '' };
  }
}

export const cronJobControllerDefinition: ControllerDefinition = {
  name: CRONJOB_CONTROLLER,
  create: (ctx) => new CronJobController(ctx),
};
