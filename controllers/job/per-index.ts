// spec.backoffLimitPerIndex, as Kubernetes' job controller keeps it. Every pod of such an Indexed
// Job carries how many earlier pods of its index failed (and how many failures an Ignore rule left
// uncounted), so a replacement continues its index's history from the pod it replaces — across
// controller restarts, with nothing kept in memory. An index whose counted failures pass the limit,
// or whose pod matched a FailIndex rule, is failed: listed in status.failedIndexes, never retried,
// while the other indexes run on. Retrying an index waits out that index's own failure back-off.
import type { Pod } from '../../shared/api/core.js';
import { JOB_INDEX_FAILURE_COUNT_ANNOTATION, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, type Job } from '../../shared/api/batch.js';
import { backoffDelayMs, POD_FAILURE_BACKOFF, type FailureBackoff } from './failure-backoff.js';
import type { PolicyMatch } from './pod-failure-policy.js';
import { matchPodFailurePolicy } from './pod-failure-policy.js';
import { completionIndex, finishedAtMs, hasTrackingFinalizer } from './pods.js';

export interface IndexFailureCounts {
  /** Failures of the index before this pod that counted toward backoffLimitPerIndex. */
  counted: number;
  /** Failures before this pod that an Ignore rule matched. */
  ignored: number;
}

function annotationCount(pod: Pod, key: string): number {
  const raw = pod.metadata.annotations?.[key];
  return raw !== undefined && /^(0|[1-9][0-9]{0,9})$/.test(raw) ? Number(raw) : 0;
}

export function failureCountsOf(pod: Pod): IndexFailureCounts {
  return { counted: annotationCount(pod, JOB_INDEX_FAILURE_COUNT_ANNOTATION), ignored: annotationCount(pod, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION) };
}

/** The annotations a pod with these counts is created with. */
export function failureCountAnnotations(counts: IndexFailureCounts): Record<string, string> {
  return {
    [JOB_INDEX_FAILURE_COUNT_ANNOTATION]: String(counts.counted),
    [JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION]: String(counts.ignored),
  };
}

/**
 * A failed pod of its index: Failed, or deleted before it finished while the Job still tracks it.
 * (Pods this controller deleted to scale down or suspend lost the tracking finalizer first.)
 */
export function failedForIndex(pod: Pod): boolean {
  if (pod.status.phase === 'Failed') return true;
  return pod.metadata.deletionTimestamp !== undefined && pod.status.phase !== 'Succeeded' && hasTrackingFinalizer(pod);
}

/** Does this failed pod fail its index (`match`: the podFailurePolicy rule it matched)? */
export function failsIndex(job: Job, pod: Pod, match: PolicyMatch | undefined): boolean {
  if (match?.action === 'FailIndex') return true;
  if (match?.action === 'Ignore') return false;
  return failureCountsOf(pod).counted >= (job.spec.backoffLimitPerIndex ?? 0);
}

/** The latest failed pod of each index below `completions`: the one its next pod continues from. */
export function lastFailedPerIndex(pods: readonly Pod[], completions: number, now: number): Map<number, Pod> {
  const out = new Map<number, Pod>();
  const rank = (p: Pod) => {
    const c = failureCountsOf(p);
    return c.counted + c.ignored;
  };
  for (const pod of pods) {
    if (!failedForIndex(pod)) continue;
    const ix = completionIndex(pod);
    if (ix === undefined || ix >= completions) continue;
    const held = out.get(ix);
    const later = held === undefined || rank(pod) > rank(held) || (rank(pod) === rank(held) && finishedAtMs(pod, now) > finishedAtMs(held, now));
    if (later) out.set(ix, pod);
  }
  return out;
}

/** The counts the pod replacing `replaced` (undefined: the index's first pod) starts with. */
export function nextFailureCounts(job: Job, replaced: Pod | undefined): IndexFailureCounts {
  if (!replaced) return { counted: 0, ignored: 0 };
  const c = failureCountsOf(replaced);
  const match = replaced.status.phase === 'Failed' ? matchPodFailurePolicy(job, replaced) : undefined;
  return match?.action === 'Ignore' ? { counted: c.counted, ignored: c.ignored + 1 } : { counted: c.counted + 1, ignored: c.ignored };
}

/** Milliseconds before the index `replaced` belonged to may run again: its every failure doubles the wait. */
export function indexBackoffRemainingMs(replaced: Pod | undefined, now: number, cfg: FailureBackoff = POD_FAILURE_BACKOFF): number {
  if (!replaced) return 0;
  const c = failureCountsOf(replaced);
  return Math.max(0, finishedAtMs(replaced, now) + backoffDelayMs(c.counted + c.ignored + 1, cfg) - now);
}
