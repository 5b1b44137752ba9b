// This server's writes to one resource that are on their way to etcd, per key, so that a guarded
// transaction about to decide on a key this server is writing can wait for that write's answer
// first (guarded-txn.ts). Deciding at once would be deciding on a state already known to be stale:
// its compare would fail, and it would be decided again on what the failed transaction read back —
// a wasted transaction, and the key's objects (a node's whole ledger) read and decoded again. Two
// schedulers binding pods to one node through one server did that for ~13% of placements.
//
// Waiting never affects what commits — the compares decide that — only how often a decision is
// taken on a state this server already knows to be out of date. A waiter holds nothing while it
// waits, and waits at most LANDING_WAIT_MS: a write that has not landed by then (etcd slow, or —
// in tests — another writer made to go while a write is on its way) is not worth waiting for, and
// the decision goes ahead as it would have without the wait. So no writer can wait on another for
// long, whatever runs inside a write's store call.

/** The longest a decision waits for a write on its way (several etcd round trips under load). */
export const LANDING_WAIT_MS = 250;

interface Flight {
  writes: number;
  waiters: Set<() => void>;
}

export class InFlightWrites {
  private readonly flights = new Map<string, Flight>();

  /** A write to `key` is being sent. */
  begin(key: string): void {
    const f = this.flights.get(key);
    if (f) f.writes++;
    else this.flights.set(key, { writes: 1, waiters: new Set() });
  }

  /** A write begun on `key` has its answer (committed and remembered, or not committed). */
  end(key: string): void {
    const f = this.flights.get(key);
    if (!f) return;
    if (--f.writes > 0) return;
    this.flights.delete(key);
    for (const wake of f.waiters) wake();
  }

  /**
   * Undefined when no write to `key` is on its way; else a promise of true at the moment none is,
   * or of false once `maxWaitMs` have passed first.
   */
  settled(key: string, maxWaitMs = LANDING_WAIT_MS): Promise<boolean> | undefined {
    const f = this.flights.get(key);
    if (!f) return undefined;
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        f.waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        f.waiters.delete(wake);
        resolve(false);
      }, maxWaitMs);
      f.waiters.add(wake);
    });
  }

  /** Keys with a write on its way. */
  get size(): number {
    return this.flights.size;
  }
}
