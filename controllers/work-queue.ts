// The keyed work queue every controller drains, with the guarantees Kubernetes' workqueue gives:
//   - a key waiting in the queue is there once, however many times it was added;
//   - a key is never processed by two workers at once: added while being processed, it runs again
//     after the current run ends (so no change is missed and none is handled concurrently);
//   - a failed key is retried after a per-key exponential back-off (5 ms doubling to 1000 s, as
//     Kubernetes' default controller rate limiter), reset when it succeeds.
import { backoffMs, type BackoffOptions } from '../shared/backoff.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';

/**
 * Where named queues report what they do, as client-go's workqueue MetricsProvider: one per
 * process, set by the controller manager, so a controller gets its metrics by naming its queue.
 */
export interface WorkQueueMetrics {
  added(queue: string): void;
  depth(queue: string, keys: number): void;
  /** One sync of a key ended: how long it took and whether it succeeded. */
  synced(queue: string, seconds: number, ok: boolean): void;
  retried(queue: string): void;
}

/** The longest delay a Node.js timer holds (2^31 − 1 ms); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const CONTROLLER_RETRY_BACKOFF: BackoffOptions = { initialMs: 5, maxMs: 1_000_000, jitter: 0 };

export interface WorkQueueOptions {
  /** Handles one key; a rejection retries the key with back-off. */
  sync(key: string): Promise<void>;
  workers?: number;
  backoff?: BackoffOptions;
  log?: Logger;
  /** For log lines and metrics (the controller's name). */
  name?: string;
  /** Where the queue reports (the controller manager's workqueue_* metrics), under `name`. */
  metrics?: WorkQueueMetrics;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Added again while processing: run once more when the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly idle: (() => void)[] = [];
  private running = false;
  private stopped = false;
  private active = 0;
  private readonly workers: number;

  constructor(private readonly o: WorkQueueOptions) {
    this.workers = Math.max(1, o.workers ?? 5);
  }

  private report(fn: (m: WorkQueueMetrics, name: string) => void): void {
    if (this.o.metrics && this.o.name !== undefined) fn(this.o.metrics, this.o.name);
  }

  /** Queue `key` now (no-op when already queued). */
  add(key: string): void {
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.report((m, name) => {
      m.added(name);
      m.depth(name, this.queue.length);
    });
    this.pump();
  }

  /**
   * Queue `key` after `ms`; of two pending delays for one key the earlier wins. Delays past what a
   * timer holds (~24.8 days) wait that long and are then queued: the sync decides again.
   */
  addAfter(key: string, ms: number): void {
    // A stopped queue runs nothing again: a timer set now (a handler or a sync finishing late)
    // would only keep the process alive, up to its whole delay.
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const delay = Math.min(ms, MAX_TIMER_MS);
    const at = Date.now() + delay;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delay);
    this.timers.set(key, { timer, at });
  }

  /** How many times `key` has failed in a row. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  get length(): number {
    return this.queue.length;
  }

  start(): void {
    this.running = true;
    this.stopped = false;
    this.pump();
  }

  /** Stops taking keys and waits for the runs in progress. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    if (this.active > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.running && this.active < this.workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.report((m, name) => m.depth(name, this.queue.length));
      this.processing.add(key);
      this.active++;
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const started = performance.now();
    const observe = (ok: boolean) => {
      this.report((m, name) => m.synced(name, (performance.now() - started) / 1000, ok));
    };
    try {
      await this.o.sync(key);
      observe(true);
      this.failures.delete(key);
    } catch (err) {
      observe(false);
      this.report((m, name) => m.retried(name));
      const n = this.failures.get(key) ?? 0;
      this.failures.set(key, n + 1);
      const delay = backoffMs(n, this.o.backoff ?? CONTROLLER_RETRY_BACKOFF);
      this.o.log?.warn('sync failed; will retry', { queue: this.o.name, key, attempt: n + 1, retryInMs: delay, error: errorMessage(err) });
      if (this.running) this.addAfter(key, delay);
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      if (this.active === 0 && (!this.running || this.queue.length === 0)) for (const f of this.idle.splice(0)) f();
      this.pump();
    }
  }
}
