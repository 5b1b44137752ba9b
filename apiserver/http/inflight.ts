// Load shedding, like kube-apiserver's --max-requests-inflight: past the limit a request is
// answered at once with 429 and Retry-After (clients back off and retry) instead of queueing
// until the server falls over. Watches are long-running and hand their slot back when they start.
import type { Gauge } from 'prom-client';
import type { ServerResponse } from 'node:http';
import { exchangeOf } from './exchange.js';

export class InflightLimiter {
  private current = 0;

  constructor(
    private readonly limit: number,
    private readonly gauge: Gauge,
  ) {}

  /** Take a slot for this response; false when the server is full. The slot returns on close. */
  admit(res: ServerResponse): boolean {
    if (this.limit > 0 && this.current >= this.limit) return false;
    this.current++;
    this.gauge.inc();
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      this.current--;
      this.gauge.dec();
    };
    exchangeOf(res).releaseInflight = release;
    res.on('close', release);
    return true;
  }
}

/** A long-running request (watch) gives its in-flight slot back. */
export function releaseInflight(res: ServerResponse): void {
  exchangeOf(res).releaseInflight?.();
}
