// Exponential back-off, one formula for every retry loop in the project (etcd calls and watches,
// the watch cache's re-list, the HTTP client, the informer): `initialMs` doubling per attempt up
// to `maxMs`, with jitter so that many clients failing together do not retry in lockstep.

export interface BackoffOptions {
  /** Delay of attempt 0. */
  initialMs: number;
  /** Ceiling. */
  maxMs: number;
  /**
   * Share of the delay that is random: 0.2 gives ±20% around it; 0 none. Default 0.2.
   * (The delay never exceeds maxMs by more than the jitter.)
   */
  jitter?: number;
}

/** The delay before retry number `attempt` (0-based). */
export function backoffMs(attempt: number, o: BackoffOptions): number {
  const base = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(Math.max(0, attempt), 30));
  const jitter = o.jitter ?? 0.2;
  return Math.round(base * (1 - jitter + 2 * jitter * Math.random()));
}

/** Waits backoffMs(attempt, o). */
export function sleepBackoff(attempt: number, o: BackoffOptions): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, o)));
}
