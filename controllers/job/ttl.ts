// ttlSecondsAfterFinished, as Kubernetes' TTL-after-finished controller reads it: a finished Job
// expires that many seconds after its Complete or Failed condition became true.
import { finishedCondition, type Job } from '../../shared/api/batch.js';

/** Milliseconds until the finished Job expires (≤ 0: due now), or undefined when it never does. */
export function ttlRemainingMs(job: Job, now: number): number | undefined {
  const ttl = job.spec.ttlSecondsAfterFinished;
  const finished = finishedCondition(job);
  if (ttl === undefined || finished === undefined) return undefined;
  const at = Date.parse(finished.lastTransitionTime ?? job.status.completionTime ?? '');
  // A finished Job without a time is treated as finished now, so it is not deleted early.
  const since = Number.isNaN(at) ? now : at;
  return since + ttl * 1000 - now;
}
