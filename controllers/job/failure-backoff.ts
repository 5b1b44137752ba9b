// The delay before a Job replaces failed pods, as Kubernetes computes it: 10 s after the first
// failure since the last success, doubling with each further one, capped at 6 minutes, counted
// from the latest failure. It is derived from the Job's pods themselves (failed pods stay until the
// Job goes), so a restarted controller keeps the same back-off rather than starting over.
import type { Pod } from '../../shared/api/core.js';
import { finishedAtMs } from './pods.js';

export interface FailureBackoff {
  baseMs: number;
  maxMs: number;
}

/** Kubernetes' DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const POD_FAILURE_BACKOFF: FailureBackoff = { baseMs: 10_000, maxMs: 6 * 60_000 };

/**
 * Milliseconds still to wait before creating pods, given the Job's succeeded pods and the failed
 * ones that count (not those a podFailurePolicy Ignore rule matched).
 */
export function remainingBackoffMs(succeeded: readonly Pod[], failed: readonly Pod[], now: number, cfg: FailureBackoff = POD_FAILURE_BACKOFF): number {
  let lastSuccess = Number.NEGATIVE_INFINITY;
  for (const p of succeeded) lastSuccess = Math.max(lastSuccess, finishedAtMs(p, now));
  let failures = 0;
  let lastFailure = Number.NEGATIVE_INFINITY;
  for (const p of failed) {
    const at = finishedAtMs(p, now);
    if (at <= lastSuccess) continue;
    failures++;
    lastFailure = Math.max(lastFailure, at);
  }
  if (failures === 0) return 0;
  return Math.max(0, lastFailure + backoffDelayMs(failures, cfg) - now);
}

/** The delay after `failures` consecutive failures: base, doubling with each, capped. */
export function backoffDelayMs(failures: number, cfg: FailureBackoff = POD_FAILURE_BACKOFF): number {
  if (failures <= 0) return 0;
  return Math.min(cfg.baseMs * 2 ** Math.min(failures - 1, 30), cfg.maxMs);
}
