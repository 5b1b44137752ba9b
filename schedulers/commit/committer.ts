// Bind, the last step: decided pods are batched and handed to the Planner (the API server in the
// daemon, planner.ts). One pod goes alone (a Binding); several go together (an Incremental
// Placement, up to the profile's batchSize) — the way throughput goes past etcd's
// per-transaction rate. A gang goes as one all-or-nothing commit. Pods are batched while earlier
// commits are in flight (at most maxInFlight at once), so a busy scheduler sends full batches and
// an idle one sends each pod at once.
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import type { SchedulerMetrics } from '../metrics.js';
import type { CommitKind, CommitOutcome, Decision, Planner } from './planner.js';

export type { CommitOutcome, Decision } from './planner.js';

export interface CommitterOptions {
  /** Where the commits go (ApiPlanner in the daemon). */
  planner: Planner;
  batchSize: number;
  maxInFlight: number;
  metrics: SchedulerMetrics;
  log: Logger;
  /** The commit carrying these decisions is on its way. */
  onSent(d: Decision): void;
  onResult(d: Decision, result: CommitOutcome): void;
}

export class Committer {
  private batch: Decision[] = [];
  private inFlight = 0;
  private held = false;
  private readonly heldGroups: Decision[][] = [];
  private readonly running = new Set<Promise<void>>();
  private roomWaiters: (() => void)[] = [];

  constructor(private readonly opts: CommitterOptions) {}

  /** Decided pods not sent yet. */
  get backlog(): number {
    return this.batch.length;
  }

  /** Whether deciding more pods now would only pile them up. */
  get saturated(): boolean {
    return this.inFlight >= this.opts.maxInFlight && this.batch.length >= this.opts.batchSize;
  }

  add(d: Decision): void {
    this.batch.push(d);
    if (this.batch.length >= this.opts.batchSize) this.flush();
  }

  /**
   * Experiments' simulated decision time: decisions made from now on wait until release(), so they
   * commit on the state they were decided on, that much later.
   */
  hold(): void {
    this.held = true;
  }

  release(): void {
    this.held = false;
    for (const g of this.heldGroups.splice(0)) this.send(g, 'gang');
    this.flush();
  }

  /** Send what is batched, as far as the in-flight limit allows. */
  flush(): void {
    if (this.held) return;
    while (this.batch.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const chunk = this.batch.splice(0, this.opts.batchSize);
      this.send(chunk, chunk.length === 1 ? 'binding' : 'placement');
    }
  }

  /** A gang: all or none, in one request, sent at once. */
  commitGroup(decisions: Decision[]): void {
    if (this.held) this.heldGroups.push(decisions);
    else this.send(decisions, 'gang');
  }

  /** Resolves once deciding more pods makes sense again. */
  async waitForRoom(): Promise<void> {
    while (this.saturated) await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
  }

  /** Send everything and wait for every outcome (shutdown). */
  async drain(): Promise<void> {
    this.release();
    for (;;) {
      this.flush();
      if (this.running.size === 0 && this.batch.length === 0) return;
      await Promise.race([...this.running]);
    }
  }

  private send(chunk: Decision[], kind: CommitKind): void {
    this.inFlight++;
    for (const d of chunk) this.opts.onSent(d);
    const started = performance.now();
    const p = this.opts.planner
      .commit(chunk, kind)
      .then(
        (outcomes) => {
          this.opts.metrics.commits.inc({ kind, outcome: outcomes.every((o) => o.outcome === 'Bound') ? 'bound' : 'partial' });
          chunk.forEach((d, i) => this.opts.onResult(d, outcomes[i]!));
        },
        (err: unknown) => {
          this.opts.metrics.commits.inc({ kind, outcome: 'error' });
          this.opts.log.warn('commit failed', { kind, pods: chunk.length, error: errorMessage(err) });
          for (const d of chunk) this.opts.onResult(d, { outcome: 'Error', message: errorMessage(err) });
        },
      )
      .finally(() => {
        this.opts.metrics.commitDuration.observe({ kind }, (performance.now() - started) / 1000);
        this.opts.metrics.commitBatchSize.observe(chunk.length);
        this.inFlight--;
        this.running.delete(p);
        this.flush();
        const waiters = this.roomWaiters;
        this.roomWaiters = [];
        for (const w of waiters) w();
      });
    this.running.add(p);
  }
}
