// This server's writes to one resource that are on their way to etcd, per key, so that a guarded
// transaction about to decide on a key this server is writing can wait for that write's answer
// first (guarded-txn.ts). Deciding at once would be deciding on a state already known to be stale:
// its compare would fail, and it would be decided again on what the failed transaction read back —
// a wasted transaction, and the key's objects (a node's whole ledger) read and decoded again. Two
// schedulers binding pods to one node through one server did that for ~13% of placements.
//
// Waiting never affects what commits — the compares decide that — only how often a decision is
// taken on a state this server already knows to be out of date. A waiter holds nothing while it
// waits, so no two writers can wait on each other.

interface Flight {
  writes: number;
  waiters: (() => void)[];
}

export class InFlightWrites {
  private readonly flights = new Map<string, Flight>();

  /** A write to `key` is being sent. */
  begin(key: string): void {
    const f = this.flights.get(key);
    if (f) f.writes++;
    else this.flights.set(key, { writes: 1, waiters: [] });
  }

  /** A write begun on `key` has its answer (committed and remembered, or not committed). */
  end(key: string): void {
    const f = this.flights.get(key);
    if (!f) return;
    if (--f.writes > 0) return;
    this.flights.delete(key);
    for (const wake of f.waiters) wake();
  }

  /** Undefined when no write to `key` is on its way; else a promise of the moment none is. */
  settled(key: string): Promise<void> | undefined {
    const f = this.flights.get(key);
    if (!f) return undefined;
    return new Promise((resolve) => f.waiters.push(resolve));
  }

  /** Keys with a write on its way. */
  get size(): number {
    return this.flights.size;
  }
}
