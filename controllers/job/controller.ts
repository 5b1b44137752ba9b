// The job controller (Kubernetes' job controller, for the fields cell serves): runs each Job's pods
// and keeps its status.
//
// Counting, exactly once and across restarts: every pod is created with the
// `batch.kubernetes.io/job-tracking` finalizer, so a finished (or deleted) pod stays visible until
// it is counted. A sync first records the uids of newly finished pods in
// status.uncountedTerminatedPods (one status write), then removes their finalizers, then moves them
// from the uncounted lists into succeeded/failed (a second write). A controller that dies between
// the steps leaves the uids in status, and its successor finishes the move; a pod is never counted
// twice because it is counted only while it still has the finalizer and is not listed as uncounted.
// Pods this controller deletes to scale down or suspend lose the finalizer first: they are not
// failures. Pods it stops because the Job failed keep it, and count as failed, as in Kubernetes.
//
// Finishing, in two steps as Kubernetes 1.31+ does: once a sync decides the Job's outcome it sets
// the interim condition — FailureTarget (BackoffLimitExceeded, DeadlineExceeded, PodFailurePolicy,
// FailedIndexes, MaxFailedIndexesExceeded) or SuccessCriteriaMet (CompletionsReached,
// SuccessPolicy) — and stops the remaining pods; the terminal Failed or Complete, with the same
// reason and message, follows once none is running or terminating and every one is counted. The
// interim condition is in the status, so a new leader carries on where the old one stopped.
// Indexed Jobs may limit failures per index (backoffLimitPerIndex, per-index.ts) and succeed
// before every index has (successPolicy, success-policy.ts).
//
// Never more than parallelism pods: creates are guarded by Expectations (a sync whose list of
// pods, when it took it, did not yet show its own creates or deletes does not manage pods), by a
// record of the finalizers it removed, and by the resourceVersion of its own last status write (a
// sync on a Job older than that waits for the informer). Pod events are batched per Job (1 s, as
// Kubernetes' syncJobBatchPeriod), so a thousand pods finishing cost a handful of syncs.
import { isDeepStrictEqual } from 'node:util';
import type { Pod } from '../../shared/api/core.js';
import {
  BACKOFF_LIMIT_EXCEEDED,
  COMPLETIONS_REACHED,
  DEADLINE_EXCEEDED,
  FAILED_INDEXES_REASON,
  finishedCondition,
  JOB_COMPLETE,
  JOB_FAILED,
  JOB_FAILURE_TARGET,
  JOB_SUCCESS_CRITERIA_MET,
  JOB_SUSPENDED,
  JOB_TRACKING_FINALIZER,
  MAX_FAILED_INDEXES_EXCEEDED,
  POD_FAILURE_POLICY_REASON,
  SUCCESS_POLICY_REASON,
  trueCondition,
  type Job,
  type JobCondition,
  type JobStatus,
} from '../../shared/api/batch.js';
import { formatTime } from '../../shared/api/meta.js';
import { POD_GROUP_LABEL } from '../../shared/api/scheduling.js';
import type { EventRecorder } from '../../shared/client/events.js';
import { resourceUrlPath, type ApiClient, type ResourceRef } from '../../shared/client/http-client.js';
import type { Informer } from '../../shared/client/informer.js';
import { AlreadyExistsError, ConflictError, NotFoundError, errorMessage, mayHaveTakenEffect } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { Controller, ControllerContext, ControllerDefinition } from '../controller.js';
import { Expectations, EXPECTATIONS_TIMEOUT_MS, OUTCOME_UNKNOWN_WAIT_MS, slowStartBatch } from '../pod-creation.js';
import { WorkQueue } from '../work-queue.js';
import { POD_FAILURE_BACKOFF, remainingBackoffMs, type FailureBackoff } from './failure-backoff.js';
import { formatIndexes, parseIndexes } from './indexes.js';
import { failsIndex, failureCountAnnotations, indexBackoffRemainingMs, lastFailedPerIndex, nextFailureCounts } from './per-index.js';
import { matchPodFailurePolicy } from './pod-failure-policy.js';
import {
  completionIndex,
  controllerRef,
  hasTrackingFinalizer,
  isActive,
  isFailed,
  isJobRef,
  isReady,
  isTerminal,
  podForJob,
} from './pods.js';
import { matchSuccessPolicy } from './success-policy.js';
import { ttlRemainingMs } from './ttl.js';

export const JOB_CONTROLLER = 'job';
const COMPONENT = 'job-controller';

const JOBS: ResourceRef = { group: 'batch', version: 'v1', resource: 'jobs' };
const PODS: ResourceRef = { version: 'v1', resource: 'pods' };
const PODGROUPS: ResourceRef = { group: 'scheduling.x-k8s.io', version: 'v1alpha1', resource: 'podgroups' };
/** Pod informer index: pods by the uid of the Job that controls them. */
const BY_JOB_UID = 'job:controller-uid';
/** Queue keys of pods whose Job is gone but which still carry the tracking finalizer. */
const ORPHAN_PREFIX = 'orphan-pod:';
/** Kubernetes' MaxPodCreateDeletePerSync. */
const MAX_POD_CHANGES_PER_SYNC = 500;
/** Finalizer patches and deletes in flight at once for one Job. */
const POD_WRITE_CONCURRENCY = 64;

export interface JobControllerOptions {
  /** Pod events of one Job within this window make one sync (Kubernetes' syncJobBatchPeriod, 1 s). */
  syncBatchMs?: number;
  /** Delay before replacing failed pods (10 s doubling to 6 min). */
  failureBackoff?: FailureBackoff;
  workers?: number;
  /** How long pods whose create or delete lost its answer are waited for (OUTCOME_UNKNOWN_WAIT_MS). */
  outcomeUnknownWaitMs?: number;
}

function keyOf(obj: { metadata: { namespace?: string; name?: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** A resourceVersion as a number (cell's are decimal and grow with every write); undefined if not. */
function revision(rv: string | undefined): bigint | undefined {
  if (rv === undefined || !/^\d+$/.test(rv)) return undefined;
  return BigInt(rv);
}

/** Set a condition as Kubernetes does: the transition time moves only when the status flips. */
function setCondition(status: JobStatus, type: string, value: 'True' | 'False', reason: string, message: string, now: string): void {
  const conditions = [...(status.conditions ?? [])];
  const i = conditions.findIndex((c) => c.type === type);
  const old = i >= 0 ? conditions[i] : undefined;
  if (old && old.status === value && old.reason === reason && old.message === message) return;
  const next: JobCondition = {
    type,
    status: value,
    lastProbeTime: now,
    lastTransitionTime: old && old.status === value ? (old.lastTransitionTime ?? now) : now,
    reason,
    message,
  };
  if (i >= 0) conditions[i] = next;
  else conditions.push(next);
  status.conditions = conditions;
}

/** With restartPolicy OnFailure, container restarts of running pods count toward backoffLimit. */
function pastBackoffLimitOnFailure(job: Job, pods: readonly Pod[]): boolean {
  if (job.spec.template.spec.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const p of pods) {
    if (p.status.phase !== 'Running' && p.status.phase !== 'Pending') continue;
    for (const s of [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]) restarts += s.restartCount;
  }
  return job.spec.backoffLimit === 0 ? restarts > 0 : restarts >= job.spec.backoffLimit;
}

/** Which active pods go first when there are too many: unscheduled, then not ready, then the newest. */
function removalOrder(a: Pod, b: Pod): number {
  const bound = Number(a.spec.nodeName !== undefined) - Number(b.spec.nodeName !== undefined);
  if (bound !== 0) return bound;
  const ready = Number(isReady(a)) - Number(isReady(b));
  if (ready !== 0) return ready;
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

/** Runs `fn` over `items` with at most `limit` in flight; resolves to each outcome. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const out: PromiseSettledResult<void>[] = new Array<PromiseSettledResult<void>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!);
        out[i] = { status: 'fulfilled', value: undefined };
      } catch (err) {
        out[i] = { status: 'rejected', reason: err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** What one sync decided about the Job: the interim condition it gets, and why. */
interface Verdict {
  type: typeof JOB_FAILURE_TARGET | typeof JOB_SUCCESS_CRITERIA_MET;
  reason: string;
  message: string;
}

export class JobController implements Controller {
  readonly name = JOB_CONTROLLER;
  private readonly client: ApiClient;
  private readonly log: Logger;
  private readonly events: EventRecorder;
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  private readonly queue: WorkQueue;
  private readonly expectations: Expectations;
  /** Uids of pods whose finalizer this controller removed, until the informer shows it gone. */
  private readonly finalizersRemoved = new Set<string>();
  /** Per Job, the resourceVersion of this controller's last status write. */
  private readonly written = new Map<string, bigint>();
  /** Uids of Jobs whose PodGroup is known to exist. */
  private readonly podGroups = new Set<string>();
  /** Timed re-syncs (back-off, deadlines, TTLs): the earliest per Job wins. */
  private readonly wakeups = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly batchMs: number;
  private readonly backoff: FailureBackoff;
  private running = false;

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    this.client = ctx.client;
    this.log = ctx.log;
    this.events = ctx.events(COMPONENT);
    this.jobs = ctx.informers.get<Job>(JOBS);
    this.pods = ctx.informers.get<Pod>(PODS);
    this.batchMs = opts.syncBatchMs ?? 1000;
    this.backoff = opts.failureBackoff ?? POD_FAILURE_BACKOFF;
    this.expectations = new Expectations(EXPECTATIONS_TIMEOUT_MS, Date.now, opts.outcomeUnknownWaitMs ?? OUTCOME_UNKNOWN_WAIT_MS);
    this.queue = new WorkQueue({ name: JOB_CONTROLLER, sync: (key) => this.sync(key), log: ctx.log, workers: opts.workers ?? 5 , metrics: ctx.queueMetrics });
  }

  start(): void {
    this.running = true;
    this.pods.addIndex(BY_JOB_UID, (pod) => {
      const ref = controllerRef(pod);
      return isJobRef(ref) ? [ref.uid] : [];
    });
    this.jobs.addHandlers({
      add: (job) => this.queue.add(keyOf(job)),
      update: (_old, job) => this.queue.add(keyOf(job)),
      delete: (job) => {
        const key = keyOf(job);
        this.expectations.forget(key);
        this.written.delete(key);
        this.podGroups.delete(job.metadata.uid ?? '');
        this.cancelWakeup(key);
      },
    });
    this.pods.addHandlers({
      add: (pod) => this.onPod(undefined, pod),
      update: (old, pod) => this.onPod(old, pod),
      delete: (pod) => this.onPodDeleted(pod),
    });
    // Managing pods from half-listed caches would create pods that already exist.
    void Promise.all([this.jobs.hasSynced(), this.pods.hasSynced()]).then(() => {
      if (this.running) this.queue.start();
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const w of this.wakeups.values()) clearTimeout(w.timer);
    this.wakeups.clear();
    await this.queue.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /** The key of the Job controlling `pod`, if that Job is the one in the cache. */
  private ownerKey(pod: Pod): string | undefined {
    const ref = controllerRef(pod);
    if (!isJobRef(ref)) return undefined;
    const job = this.jobs.get(pod.metadata.namespace, ref.name);
    if (job?.metadata.uid !== ref.uid) {
      // The Job is gone (or not listed yet): its finalizer must not keep the pod forever.
      if (hasTrackingFinalizer(pod)) this.queue.add(`${ORPHAN_PREFIX}${keyOf(pod)}`);
      return undefined;
    }
    return keyOf(job);
  }

  private onPod(old: Pod | undefined, pod: Pod): void {
    if (!hasTrackingFinalizer(pod)) this.finalizersRemoved.delete(pod.metadata.uid ?? '');
    const key = this.ownerKey(pod);
    if (key === undefined) return;
    if (old === undefined) this.expectations.creationObserved(key);
    else if (old.metadata.deletionTimestamp === undefined && pod.metadata.deletionTimestamp !== undefined) this.expectations.deletionObserved(key);
    this.queue.addAfter(key, this.batchMs);
  }

  private onPodDeleted(pod: Pod): void {
    this.finalizersRemoved.delete(pod.metadata.uid ?? '');
    const ref = controllerRef(pod);
    if (!isJobRef(ref)) return;
    const key = `${pod.metadata.namespace ?? ''}/${ref.name}`;
    // A pod marked for deletion earlier was observed then.
    if (pod.metadata.deletionTimestamp === undefined) this.expectations.deletionObserved(key);
    this.queue.addAfter(key, this.batchMs);
  }

  private wakeAfter(key: string, ms: number): void {
    const at = Date.now() + Math.max(0, ms);
    const existing = this.wakeups.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.wakeups.delete(key);
      this.queue.add(key);
    }, Math.max(0, ms));
    this.wakeups.set(key, { at, timer });
  }

  private cancelWakeup(key: string): void {
    const w = this.wakeups.get(key);
    if (w) clearTimeout(w.timer);
    this.wakeups.delete(key);
  }

  // -------------------------------------------------------------------------------------------
  // Sync

  private async sync(key: string): Promise<void> {
    if (key.startsWith(ORPHAN_PREFIX)) return this.syncOrphan(key.slice(ORPHAN_PREFIX.length));
    const [namespace, name] = splitKey(key);
    const job = this.jobs.get(namespace, name);
    if (!job) {
      this.expectations.forget(key);
      this.written.delete(key);
      return;
    }
    // The cache has not caught up with this controller's own last status write yet: its update
    // event syncs the Job again.
    const cached = revision(job.metadata.resourceVersion);
    const mine = this.written.get(key);
    if (cached !== undefined && mine !== undefined && cached < mine) return;
    // Whether this controller's own creates and deletes are all seen is judged together with the
    // pods it lists, and that one judgement stands for the whole sync: the writes before managing
    // pods can take seconds, and pods created meanwhile are not in this list — judged again later,
    // the expectations would be met while the list still lacks those pods, and they would be
    // created a second time (Kubernetes' syncJob reads its expectations first, for this reason).
    const caughtUp = this.expectations.satisfied(key);
    const pods = this.pods.byIndex(BY_JOB_UID, job.metadata.uid ?? '');
    // Pods whose create or delete lost its answer are waited for until a deadline: look again then.
    const unsure = this.expectations.unsureFor(key);
    if (unsure !== undefined) this.wakeAfter(key, unsure + 1);
    if (job.metadata.deletionTimestamp !== undefined) {
      await this.removeFinalizers(pods.filter((p) => hasTrackingFinalizer(p) && !this.finalizersRemoved.has(p.metadata.uid ?? '')));
      return;
    }
    await this.syncJob(key, job, pods, caughtUp);
  }

  private async syncOrphan(podKey: string): Promise<void> {
    const [namespace, name] = splitKey(podKey);
    const pod = this.pods.get(namespace, name);
    if (!pod || !hasTrackingFinalizer(pod) || this.finalizersRemoved.has(pod.metadata.uid ?? '')) return;
    const ref = controllerRef(pod);
    if (isJobRef(ref) && this.jobs.get(namespace, ref.name)?.metadata.uid === ref.uid) return;
    await this.removeFinalizers([pod]);
  }

  /** `caughtUp`: when `pods` was listed, every pod this controller created or deleted had been seen. */
  private async syncJob(key: string, original: Job, pods: Pod[], caughtUp: boolean): Promise<void> {
    let job = original;
    const now = Date.now();
    const nowTs = formatTime(new Date(now));
    const indexed = job.spec.completionMode === 'Indexed';
    const perIndex = indexed && job.spec.backoffLimitPerIndex !== undefined;
    const completions = job.spec.completions;
    const finishedBefore = finishedCondition(job) !== undefined;
    const status: JobStatus = structuredClone(job.status);
    const uncountedSucceeded = new Set(status.uncountedTerminatedPods?.succeeded ?? []);
    const uncountedFailed = new Set(status.uncountedTerminatedPods?.failed ?? []);
    const completed = indexed ? parseIndexes(status.completedIndexes, completions ?? 0) : new Set<number>();
    const failedIndexes = perIndex ? parseIndexes(status.failedIndexes, completions ?? 0) : new Set<number>();
    // Decided by an earlier sync (of this controller or a predecessor): the Job is finishing.
    let decided = finishedBefore ? undefined : (trueCondition(job, JOB_FAILURE_TARGET) ?? trueCondition(job, JOB_SUCCESS_CRITERIA_MET));
    let failJobMessage: string | undefined;
    let pending: unknown;
    const indexLists = () => {
      if (indexed) status.completedIndexes = formatIndexes(completed);
      // An index that succeeded after all (a pod still running when it failed) is not a failed one.
      if (perIndex) status.failedIndexes = formatIndexes([...failedIndexes].filter((ix) => !completed.has(ix)));
    };

    // 1. Newly finished pods still holding the finalizer: record them as uncounted.
    const finishing: Pod[] = [];
    let newlyUncounted = false;
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      if (!hasTrackingFinalizer(pod) || this.finalizersRemoved.has(uid)) continue;
      if (uncountedSucceeded.has(uid) || uncountedFailed.has(uid)) {
        finishing.push(pod);
        continue;
      }
      const ix = indexed ? completionIndex(pod) : undefined;
      const inRange = ix !== undefined && ix < (completions ?? 0);
      if (pod.status.phase === 'Succeeded') {
        finishing.push(pod);
        uncountedSucceeded.add(uid);
        newlyUncounted = true;
        if (inRange) completed.add(ix);
      } else if (isFailed(pod)) {
        finishing.push(pod);
        const match = pod.status.phase === 'Failed' ? matchPodFailurePolicy(job, pod) : undefined;
        if (match?.action === 'Ignore') continue;
        if (match?.action === 'FailJob') failJobMessage ??= match.message;
        // Pods stopped because the Job is decided fail no index.
        if (perIndex && inRange && decided === undefined && failsIndex(job, pod, match)) failedIndexes.add(ix);
        uncountedFailed.add(uid);
        newlyUncounted = true;
      }
    }
    if (newlyUncounted) {
      status.uncountedTerminatedPods = { succeeded: [...uncountedSucceeded], failed: [...uncountedFailed] };
      indexLists();
      job = await this.writeStatus(key, job, status);
    }

    // 2. Remove their finalizers; 3. count those whose finalizer is gone.
    const removal = await this.removeFinalizers(finishing);
    if (removal.error !== undefined) pending = removal.error;
    const byUid = new Map(pods.map((p) => [p.metadata.uid ?? '', p]));
    const released = (uid: string) => {
      const pod = byUid.get(uid);
      return removal.removed.has(uid) || this.finalizersRemoved.has(uid) || pod === undefined || !hasTrackingFinalizer(pod);
    };
    let succeededNow = 0;
    let failedNow = 0;
    for (const uid of [...uncountedSucceeded]) {
      if (!released(uid)) continue;
      uncountedSucceeded.delete(uid);
      succeededNow++;
    }
    for (const uid of [...uncountedFailed]) {
      if (!released(uid)) continue;
      uncountedFailed.delete(uid);
      failedNow++;
    }
    status.succeeded = indexed ? completed.size : (status.succeeded ?? 0) + succeededNow;
    status.failed = (status.failed ?? 0) + failedNow;
    status.uncountedTerminatedPods = {
      ...(uncountedSucceeded.size > 0 ? { succeeded: [...uncountedSucceeded] } : {}),
      ...(uncountedFailed.size > 0 ? { failed: [...uncountedFailed] } : {}),
    };
    indexLists();

    const succeeded = indexed ? completed.size : status.succeeded + uncountedSucceeded.size;
    const failed = status.failed + uncountedFailed.size;
    const terminating = pods.filter((p) => p.metadata.deletionTimestamp !== undefined && !isTerminal(p));
    let active = pods.filter(isActive);
    let created = 0;

    if (finishedBefore) {
      // A finished Job only settles its counts; anything still running is stopped.
      if (active.length > 0 && caughtUp) await this.deletePods(key, job, active, true);
      status.active = 0;
      status.ready = 0;
    } else {
      const suspended = job.spec.suspend && decided === undefined;
      if (decided === undefined) {
        if (suspended) {
          if (!trueCondition(job, JOB_SUSPENDED)) {
            setCondition(status, JOB_SUSPENDED, 'True', 'JobSuspended', 'Job suspended', nowTs);
            void this.event(job, 'Normal', 'Suspended', 'Job suspended');
          }
        } else {
          if (trueCondition(job, JOB_SUSPENDED)) {
            setCondition(status, JOB_SUSPENDED, 'False', 'JobResumed', 'Job resumed', nowTs);
            // The deadline counts from the resume.
            status.startTime = nowTs;
            void this.event(job, 'Normal', 'Resumed', 'Job resumed');
          }
          status.startTime ??= nowTs;
        }
        const verdict = this.decide(job, status, { failJobMessage, succeeded, failed, active, completed, failedIndexes, now });
        if (verdict) {
          setCondition(status, verdict.type, 'True', verdict.reason, verdict.message, nowTs);
          decided = status.conditions?.find((c) => c.type === verdict.type);
        }
      }

      if (decided !== undefined) {
        // Decided: no new pods; the remaining ones are stopped — counted as failed when the Job
        // fails, not when it succeeded. The terminal condition waits until none is left running
        // or terminating and every finished pod is counted.
        const failing = decided.type === JOB_FAILURE_TARGET;
        // A cache not yet showing this controller's own deletes would have it delete (and
        // expect) the same pods twice, and judge too early that none is left.
        const settled = caughtUp && active.length === 0 && terminating.length === 0 && uncountedSucceeded.size === 0 && uncountedFailed.size === 0;
        if (caughtUp && active.length > 0) {
          try {
            await this.deletePods(key, job, active, failing);
          } catch (err) {
            pending ??= err;
          }
        }
        active = [];
        if (settled) {
          const type = failing ? JOB_FAILED : JOB_COMPLETE;
          setCondition(status, type, 'True', decided.reason ?? '', decided.message ?? '', nowTs);
          if (!failing) status.completionTime = nowTs;
          if (failing) void this.event(job, 'Warning', decided.reason ?? JOB_FAILED, decided.message ?? '');
          else void this.event(job, 'Normal', 'Completed', 'Job completed');
        }
      } else if (caughtUp) {
        try {
          const managed = await this.manage(key, job, pods, active, succeeded, completed, failedIndexes);
          active = managed.active;
          created = managed.created;
        } catch (err) {
          pending ??= err;
        }
      }
      // Pods just created count as active at once, as in Kubernetes; they are not ready yet.
      status.active = active.length + created;
      status.ready = active.filter(isReady).length;
      const deadline = job.spec.activeDeadlineSeconds;
      if (!suspended && decided === undefined && deadline !== undefined && status.startTime !== undefined) {
        this.wakeAfter(key, Date.parse(status.startTime) + deadline * 1000 - now);
      }
    }
    status.terminating = terminating.length;
    if (!isDeepStrictEqual(status, job.status)) job = await this.writeStatus(key, job, status);
    if (pending !== undefined) throw pending;
    await this.expire(key, job, now);
  }

  /**
   * Whether the running Job is decided, in Kubernetes' order of checks: FailureTarget and why, or
   * SuccessCriteriaMet and why; undefined while it runs on.
   */
  private decide(
    job: Job,
    status: JobStatus,
    s: { failJobMessage: string | undefined; succeeded: number; failed: number; active: Pod[]; completed: Set<number>; failedIndexes: Set<number>; now: number },
  ): Verdict | undefined {
    const fail = (reason: string, message: string): Verdict => ({ type: JOB_FAILURE_TARGET, reason, message });
    if (s.failJobMessage !== undefined) return fail(POD_FAILURE_POLICY_REASON, s.failJobMessage);
    if (s.failed > job.spec.backoffLimit || pastBackoffLimitOnFailure(job, s.active)) return fail(BACKOFF_LIMIT_EXCEEDED, 'Job has reached the specified backoff limit');
    const deadline = job.spec.activeDeadlineSeconds;
    if (!job.spec.suspend && deadline !== undefined && status.startTime !== undefined && s.now - Date.parse(status.startTime) >= deadline * 1000) {
      return fail(DEADLINE_EXCEEDED, 'Job was active longer than specified deadline');
    }
    const completions = job.spec.completions;
    const indexed = job.spec.completionMode === 'Indexed';
    if (indexed && job.spec.backoffLimitPerIndex !== undefined) {
      const failedIndexes = [...s.failedIndexes].filter((ix) => !s.completed.has(ix)).length;
      const maxFailed = job.spec.maxFailedIndexes;
      if (maxFailed !== undefined && failedIndexes > maxFailed) return fail(MAX_FAILED_INDEXES_EXCEEDED, 'Job has exceeded the specified maximal number of failed indexes');
      if (failedIndexes > 0 && failedIndexes + s.completed.size >= (completions ?? 0)) return fail(FAILED_INDEXES_REASON, 'Job has failed indexes');
    }
    const succeed = (reason: string, message: string): Verdict => ({ type: JOB_SUCCESS_CRITERIA_MET, reason, message });
    if (indexed) {
      const matched = matchSuccessPolicy(job, s.completed);
      if (matched !== undefined) return succeed(SUCCESS_POLICY_REASON, matched);
    }
    const complete = indexed
      ? s.completed.size >= (completions ?? 0)
      : completions !== undefined
        ? s.succeeded >= completions
        : s.succeeded > 0 && s.active.length === 0;
    return complete ? succeed(COMPLETIONS_REACHED, 'Reached expected number of succeeded pods') : undefined;
  }

  /** Create or delete pods toward what the Job wants running; returns the active pods left and how many were created. */
  private async manage(
    key: string,
    job: Job,
    pods: Pod[],
    active: Pod[],
    succeeded: number,
    completed: Set<number>,
    failedIndexes: Set<number>,
  ): Promise<{ active: Pod[]; created: number }> {
    if (job.spec.suspend) {
      if (active.length > 0) await this.deletePods(key, job, active, false);
      return { active: [], created: 0 };
    }
    const parallelism = job.spec.parallelism;
    const completions = job.spec.completions;
    const indexed = job.spec.completionMode === 'Indexed';
    const perIndex = indexed && job.spec.backoffLimitPerIndex !== undefined;
    // Indexes still to run: neither succeeded nor failed.
    const finishedIndex = (ix: number) => completed.has(ix) || failedIndexes.has(ix);
    let want: number;
    if (indexed) {
      let finished = completed.size;
      for (const ix of failedIndexes) if (!completed.has(ix) && ix < (completions ?? 0)) finished++;
      want = Math.min(parallelism, Math.max(0, (completions ?? 0) - finished));
    } else if (completions === undefined) want = succeeded > 0 ? active.length : parallelism;
    else want = Math.min(parallelism, Math.max(0, completions - succeeded));

    // Indexed: a pod for an index already done (or failed), out of range or held twice is surplus first.
    const surplus: Pod[] = [];
    let keep = active;
    if (indexed) {
      const held = new Set<number>();
      keep = [];
      for (const p of [...active].sort((a, b) => -removalOrder(a, b))) {
        const ix = completionIndex(p);
        if (ix === undefined || ix >= (completions ?? 0) || finishedIndex(ix) || held.has(ix)) surplus.push(p);
        else {
          held.add(ix);
          keep.push(p);
        }
      }
    }
    if (keep.length > want) surplus.push(...[...keep].sort(removalOrder).slice(0, keep.length - want));
    if (surplus.length > 0) {
      const doomed = surplus.slice(0, MAX_POD_CHANGES_PER_SYNC);
      await this.deletePods(key, job, doomed, false);
      const gone = new Set(doomed);
      return { active: active.filter((p) => !gone.has(p)), created: 0 };
    }
    if (active.length >= want) return { active, created: 0 };

    const now = Date.now();
    if (!perIndex) {
      // Replacing failed pods waits out the failure back-off.
      const matchesIgnore = (p: Pod) => matchPodFailurePolicy(job, p)?.action === 'Ignore';
      const wait = remainingBackoffMs(
        pods.filter((p) => p.status.phase === 'Succeeded'),
        pods.filter((p) => p.status.phase === 'Failed' && !matchesIgnore(p)),
        now,
        this.backoff,
      );
      if (wait > 0) {
        this.wakeAfter(key, wait);
        return { active, created: 0 };
      }
    }

    let count = Math.min(want - active.length, MAX_POD_CHANGES_PER_SYNC);
    let indexes: number[] | undefined;
    const annotations: Record<string, string>[] = [];
    if (indexed) {
      const held = new Set(active.map(completionIndex));
      const lastFailed = perIndex ? lastFailedPerIndex(pods, completions ?? 0, now) : undefined;
      let soonest = Number.POSITIVE_INFINITY;
      indexes = [];
      for (let i = 0; i < (completions ?? 0) && indexes.length < count; i++) {
        if (finishedIndex(i) || held.has(i)) continue;
        if (lastFailed) {
          // Each index waits out its own back-off; the others go ahead.
          const replaced = lastFailed.get(i);
          const wait = indexBackoffRemainingMs(replaced, now, this.backoff);
          if (wait > 0) {
            soonest = Math.min(soonest, wait);
            continue;
          }
          annotations.push(failureCountAnnotations(nextFailureCounts(job, replaced)));
        }
        indexes.push(i);
      }
      if (soonest !== Number.POSITIVE_INFINITY) this.wakeAfter(key, soonest);
      count = indexes.length;
    }
    if (count === 0) return { active, created: 0 };
    await this.ensurePodGroup(job);
    this.expectations.expect(key, count, 0);
    const ref = { ...PODS, namespace: job.metadata.namespace };
    const result = await slowStartBatch(count, (batch) => this.client.createMany<Pod>(ref, batch.map((i) => podForJob(job, indexes?.[i], annotations[i]))));
    // Creates that failed or never ran will not be observed; those whose answer was lost may be.
    this.expectations.failed(key, count - result.succeeded - result.unsure, 0, result.unsure);
    if (result.error !== undefined) {
      void this.event(job, 'Warning', 'FailedCreate', `Error creating: ${errorMessage(result.error)}`);
      throw result.error;
    }
    return { active, created: result.succeeded };
  }

  /**
   * Delete pods of the Job. `count` true (the Job finished): they keep the finalizer and are
   * counted as failed once deleted. Otherwise (scale down, suspend) the finalizer goes first.
   */
  private async deletePods(key: string, job: Job, pods: Pod[], count: boolean): Promise<void> {
    if (!count) {
      const removal = await this.removeFinalizers(pods.filter(hasTrackingFinalizer));
      if (removal.error !== undefined) throw removal.error;
    }
    this.expectations.expect(key, 0, pods.length);
    const results = await eachLimited(pods, POD_WRITE_CONCURRENCY, async (pod) => {
      try {
        await this.client.delete({ ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name }, { preconditions: { uid: pod.metadata.uid ?? '' } });
      } catch (err) {
        // Gone already, or replaced under the same name: nothing of this Job's to delete.
        if (err instanceof NotFoundError || err instanceof ConflictError) {
          this.expectations.deletionObserved(key);
          return;
        }
        // Its answer lost, the pod may be going: it stays expected for a while.
        const lost = mayHaveTakenEffect(err);
        this.expectations.failed(key, 0, lost ? 0 : 1, lost ? 1 : 0);
        throw err;
      }
    });
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) {
      void this.event(job, 'Warning', 'FailedDelete', `Error deleting: ${errorMessage(failure.reason)}`);
      throw failure.reason;
    }
  }

  /** Remove the tracking finalizer; a pod already gone counts as done. */
  private async removeFinalizers(pods: Pod[]): Promise<{ removed: Set<string>; error?: unknown }> {
    const removed = new Set<string>();
    const results = await eachLimited(pods, POD_WRITE_CONCURRENCY, async (pod) => {
      const uid = pod.metadata.uid ?? '';
      const at = (pod.metadata.finalizers ?? []).indexOf(JOB_TRACKING_FINALIZER);
      if (at < 0) return;
      try {
        // The test operations make the patch apply only to this pod and this finalizer's position.
        await this.client.patch(
          { ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name },
          [
            { op: 'test', path: '/metadata/uid', value: uid },
            { op: 'test', path: `/metadata/finalizers/${at}`, value: JOB_TRACKING_FINALIZER },
            { op: 'remove', path: `/metadata/finalizers/${at}` },
          ],
          'json',
        );
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      removed.add(uid);
      this.finalizersRemoved.add(uid);
    });
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    return failure ? { removed, error: failure.reason } : { removed };
  }

  /** Write the Job's status against the resourceVersion it was read at; remember the new one. */
  private async writeStatus(key: string, job: Job, status: JobStatus): Promise<Job> {
    const ref = { ...JOBS, namespace: job.metadata.namespace, name: job.metadata.name, subresource: 'status' };
    const updated = await this.client.update<Job>(ref, { ...job, status });
    const rv = revision(updated.metadata.resourceVersion);
    if (rv !== undefined) this.written.set(key, rv);
    return updated;
  }

  /** A gang Job's PodGroup (minMember = parallelism, owned by the Job) exists before its pods do. */
  private async ensurePodGroup(job: Job): Promise<void> {
    const group = job.spec.template.metadata.labels?.[POD_GROUP_LABEL];
    const uid = job.metadata.uid ?? '';
    if (group === undefined || this.podGroups.has(uid)) return;
    const ref = { ...PODGROUPS, namespace: job.metadata.namespace };
    try {
      await this.client.create(ref, {
        apiVersion: 'scheduling.x-k8s.io/v1alpha1',
        kind: 'PodGroup',
        metadata: {
          name: group,
          namespace: job.metadata.namespace,
          ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name ?? '', uid, controller: true, blockOwnerDeletion: true }],
        },
        spec: { minMember: job.spec.parallelism },
      });
      void this.event(job, 'Normal', 'PodGroupCreated', `Created PodGroup ${group} (minMember ${job.spec.parallelism})`);
    } catch (err) {
      // One made by the user (or by this controller before a restart) is used as it is.
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    this.podGroups.add(uid);
  }

  /** ttlSecondsAfterFinished: delete the finished Job (Background propagation) when it expires. */
  private async expire(key: string, job: Job, now: number): Promise<void> {
    const remaining = ttlRemainingMs(job, now);
    if (remaining === undefined) return;
    if (remaining > 0) {
      this.wakeAfter(key, remaining);
      return;
    }
    const ref = { ...JOBS, namespace: job.metadata.namespace, name: job.metadata.name };
    try {
      await this.client.request('DELETE', resourceUrlPath(ref), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid ?? '' } },
      });
      this.log.info('deleted a finished job whose TTL expired', { job: key });
    } catch (err) {
      // Deleted already, or a new Job under the same name: either way this one is gone.
      if (!(err instanceof NotFoundError) && !(err instanceof ConflictError)) throw err;
    }
  }

  private event(job: Job, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.events.record(
      { kind: 'Job', apiVersion: 'batch/v1', name: job.metadata.name ?? '', namespace: job.metadata.namespace ?? 'default', uid: job.metadata.uid ?? '' },
      type,
      reason,
      message,
    );
  }
}

export const jobControllerDefinition: ControllerDefinition = {
  name: JOB_CONTROLLER,
  create: (ctx) => new JobController(ctx, { ...(ctx.config?.concurrentJobSyncs !== undefined ? { workers: ctx.config.concurrentJobSyncs } : {}) }),
};
