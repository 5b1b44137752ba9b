// The prober of one running container instance, as the kubelet's probe workers behave: a startup
// probe, if any, runs first; liveness and readiness probes start only once it passed. Each probe
// first runs initialDelaySeconds after the container started, then every periodSeconds (counted
// from the start of the previous attempt; an attempt never overlaps the next). Every failed attempt
// is a Warning `Unhealthy` event; the verdicts follow the thresholds (probe-result.ts). A startup or
// liveness verdict of failure asks the pod worker to kill the instance, and the prober stops; a
// readiness verdict change (or the startup probe passing) asks it to report the status again.
// Everything runs on the prober's own timers, outside the pod worker's sync; `stop` ends them and
// any attempt in flight.
import type { Container, Probe } from '../shared/api/core.js';
import { errorMessage } from '../shared/errors.js';
import { runProbe, type ProbeAttempt, type ProbeTarget } from './probe-handlers.js';
import { initialVerdict, ProbeVerdicts, type ProbeKind } from './probe-result.js';

export interface ProberHooks {
  /** Runs one attempt: probe-handlers' runProbe unless given (unit tests of the schedule give their own). */
  run?(probe: Probe, target: ProbeTarget, signal: AbortSignal): Promise<ProbeAttempt>;
  /** Readiness or started changed: the pod's status is due again. */
  changed(): void;
  /** The liveness or startup probe failed: the instance must be killed (the prober has stopped). */
  failed(kind: 'liveness' | 'startup', probe: Probe): void;
  /** An event about the container (Unhealthy). */
  event(type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const KIND_NAMES: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

/** Does the container declare any probe (does its instance need a prober)? */
export function hasProbes(c: Container): boolean {
  return c.livenessProbe !== undefined || c.readinessProbe !== undefined || c.startupProbe !== undefined;
}

/** One probe's schedule and verdicts. */
class ProbeLoop {
  readonly verdicts: ProbeVerdicts;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;

  constructor(
    readonly kind: ProbeKind,
    readonly probe: Probe,
    private readonly attempt: (signal: AbortSignal) => Promise<ProbeAttempt>,
    private readonly onAttempt: (loop: ProbeLoop, a: ProbeAttempt) => void,
  ) {
    this.verdicts = new ProbeVerdicts(probe, initialVerdict(kind));
  }

  /** First attempt at `at` (ms since the epoch; now when past). */
  start(at: number): void {
    this.schedule(at);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.abort();
    this.inFlight = undefined;
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    // Node measures timers against a loop clock cached at the start of the loop turn, so a timer
    // can fire a millisecond before `at` by the wall clock: wait out the rest rather than probe early.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (Date.now() < at) this.schedule(at);
      else void this.tick();
    }, Math.max(0, at - Date.now()));
  }

  private async tick(): Promise<void> {
    const began = Date.now();
    const controller = new AbortController();
    this.inFlight = controller;
    let a: ProbeAttempt;
    try {
      a = await this.attempt(controller.signal);
    } catch (err) {
      // A handler that throws (a command the system cannot even spawn) is a probe that errored,
      // reported as one: never an unhandled rejection in the agent.
      a = { outcome: 'error', message: errorMessage(err) };
    }
    if (this.stopped || controller.signal.aborted) return;
    this.inFlight = undefined;
    this.onAttempt(this, a);
    this.schedule(began + this.probe.periodSeconds * 1000);
  }
}

export class ContainerProber {
  private readonly loops: ProbeLoop[] = [];
  private readonly readiness: ProbeLoop | undefined;
  private startedNow: boolean;
  private stopped = false;

  constructor(
    container: Container,
    /** When the instance started (ms since the epoch): initial delays count from it. */
    private readonly startedAt: number,
    private readonly target: ProbeTarget,
    private readonly hooks: ProberHooks,
  ) {
    const run = hooks.run ?? runProbe;
    const loop = (kind: ProbeKind, probe: Probe | undefined): ProbeLoop | undefined =>
      probe ? new ProbeLoop(kind, probe, (signal) => run(probe, this.target, signal), (l, a) => this.onAttempt(l, a)) : undefined;
    const startup = loop('startup', container.startupProbe);
    this.readiness = loop('readiness', container.readinessProbe);
    const liveness = loop('liveness', container.livenessProbe);
    for (const l of [startup, liveness, this.readiness]) if (l) this.loops.push(l);
    this.startedNow = startup === undefined;
    if (startup) this.begin(startup);
    else this.beginMain();
  }

  /** Has the startup probe passed (true without one)? */
  get started(): boolean {
    return this.startedNow;
  }

  /** Started, and the readiness probe (if any) passes. */
  get ready(): boolean {
    return this.startedNow && (this.readiness === undefined || this.readiness.verdicts.verdict === 'success');
  }

  stop(): void {
    this.stopped = true;
    for (const l of this.loops) l.stop();
  }

  private begin(l: ProbeLoop): void {
    l.start(this.startedAt + (l.probe.initialDelaySeconds ?? 0) * 1000);
  }

  private beginMain(): void {
    for (const l of this.loops) if (l.kind !== 'startup') this.begin(l);
  }

  private onAttempt(l: ProbeLoop, a: ProbeAttempt): void {
    if (this.stopped) return;
    const name = KIND_NAMES[l.kind];
    if (a.outcome === 'failure') this.hooks.event('Warning', 'Unhealthy', `${name} probe failed: ${a.message}`);
    else if (a.outcome === 'error') this.hooks.event('Warning', 'Unhealthy', `${name} probe errored: ${a.message}`);
    const changed = l.verdicts.observe(a.outcome);
    const verdict = l.verdicts.verdict;
    if ((l.kind === 'liveness' || l.kind === 'startup') && verdict === 'failure') {
      this.stop();
      this.hooks.failed(l.kind, l.probe);
      return;
    }
    if (l.kind === 'startup' && verdict === 'success') {
      // Passed once, the startup probe is done; the others take over.
      l.stop();
      this.startedNow = true;
      this.beginMain();
      this.hooks.changed();
      return;
    }
    if (l.kind === 'readiness' && changed) this.hooks.changed();
  }
}
