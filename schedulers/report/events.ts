// Events the scheduler records (Scheduled, FailedScheduling, Preempted, …), through the shared
// EventRecorder but behind a token bucket and an in-flight cap: at hundreds of pods per second an
// event per pod would cost as many store writes as the pods themselves. Like client-go's event
// broadcaster, events over the limit are dropped and counted, never queued without bound.
import type { EventRecorder, InvolvedObject } from '../../shared/client/events.js';

export interface EventSink {
  record(involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export interface RateLimitOptions {
  /** Sustained events per second. */
  qps: number;
  /** Events allowed in a burst above the sustained rate. */
  burst: number;
  /** Event writes outstanding at once. */
  maxInFlight?: number;
  now?: () => number;
  onDropped?: () => void;
}

export class RateLimitedEvents implements EventSink {
  private tokens: number;
  private last: number;
  private inFlight = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly now: () => number;

  constructor(
    private readonly recorder: EventRecorder,
    private readonly opts: RateLimitOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.tokens = opts.burst;
    this.last = this.now();
  }

  record(involved: InvolvedObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const now = this.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.qps);
    this.last = now;
    if (this.tokens < 1 || this.inFlight >= (this.opts.maxInFlight ?? 8)) {
      this.opts.onDropped?.();
      return;
    }
    this.tokens -= 1;
    this.inFlight++;
    // The recorder logs its own failures; an event is never worth failing scheduling for.
    const p = this.recorder.record(involved, type, reason, message).finally(() => {
      this.inFlight--;
      this.pending.delete(p);
    });
    this.pending.add(p);
  }

  /** Wait for events already sent (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
