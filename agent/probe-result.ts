// The verdict of one probe of one container instance from its attempts, as the kubelet's probe
// worker keeps it: a result changes only after `successThreshold` consecutive successes or
// `failureThreshold` consecutive failures; until then the last verdict (or the initial one) stands.
// Pure, so that the thresholds are tested without processes or clocks.

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** One attempt: passed, failed, or could not be judged (an error: the attempt is thrown away). */
export type ProbeOutcome = 'success' | 'failure' | 'error';

/** The standing verdict; `unknown` before any threshold is reached (a startup probe's initial state). */
export type ProbeVerdict = 'success' | 'failure' | 'unknown';

export interface Thresholds {
  successThreshold: number;
  failureThreshold: number;
}

/**
 * The kubelet's initial results: a liveness probe passes until it has failed enough times, a
 * readiness probe fails (not ready) until it has passed, a startup probe has not decided yet.
 */
export function initialVerdict(kind: ProbeKind): ProbeVerdict {
  return kind === 'liveness' ? 'success' : kind === 'readiness' ? 'failure' : 'unknown';
}

export class ProbeVerdicts {
  private verdictNow: ProbeVerdict;
  private lastOutcome: 'success' | 'failure' | undefined;
  private run = 0;

  constructor(
    private readonly thresholds: Thresholds,
    initial: ProbeVerdict,
  ) {
    this.verdictNow = initial;
  }

  get verdict(): ProbeVerdict {
    return this.verdictNow;
  }

  /** Count one attempt; true when the verdict changed. */
  observe(outcome: ProbeOutcome): boolean {
    if (outcome === 'error') return false;
    if (outcome === this.lastOutcome) this.run++;
    else {
      this.lastOutcome = outcome;
      this.run = 1;
    }
    const needed = outcome === 'success' ? this.thresholds.successThreshold : this.thresholds.failureThreshold;
    if (this.run < Math.max(1, needed)) return false;
    const changed = this.verdictNow !== outcome;
    this.verdictNow = outcome;
    return changed;
  }
}
