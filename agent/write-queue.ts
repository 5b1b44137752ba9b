// A bounded pool for API writes (hollow mode issues thousands): at most `concurrency` in flight,
// FIFO, and coalescing per key — a newer write for a key that is still waiting replaces the older
// one (only the latest pod status or lease renewal matters). A failed write is logged; retrying is
// the caller's decision (its next heartbeat, or the next watch event).
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';

type Op = () => Promise<void>;

export class WriteQueue {
  private readonly waiting = new Map<string, Op>();
  private readonly order: string[] = [];
  private readonly busy = new Set<string>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly log: Logger,
    private readonly onResult?: (key: string, ok: boolean) => void,
  ) {}

  get size(): number {
    return this.waiting.size + this.running;
  }

  /** Queue `op` under `key`, replacing a not-yet-started op with the same key. */
  push(key: string, op: Op): void {
    if (this.stopped) return;
    if (!this.waiting.has(key)) this.order.push(key);
    this.waiting.set(key, op);
    this.pump();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.waiting.clear();
    this.order.length = 0;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency) {
      // A key whose previous write is still in flight waits its turn (writes per key stay ordered).
      const idx = this.order.findIndex((k) => !this.busy.has(k));
      if (idx < 0) break;
      const key = this.order.splice(idx, 1)[0]!;
      const op = this.waiting.get(key)!;
      this.waiting.delete(key);
      this.busy.add(key);
      this.running++;
      op().then(
        () => this.onResult?.(key, true),
        (err: unknown) => {
          this.onResult?.(key, false);
          this.log.warn('API write failed', { key, error: errorMessage(err) });
        },
      ).finally(() => {
        this.busy.delete(key);
        this.running--;
        this.pump();
        if (this.size === 0) this.idleWaiters.splice(0).forEach((w) => w());
      });
    }
  }
}
