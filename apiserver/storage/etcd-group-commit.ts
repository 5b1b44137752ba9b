// Group commit for etcd transactions: the transactions callers submit while earlier ones are in
// flight are sent together, each as a nested transaction (etcd ≥ 3.3) of one outer transaction
// with no compares. Every nested transaction keeps its own compares and branches, so each caller
// gets exactly the answer it would have had alone — but N of them cost one gRPC call, one raft
// entry and one fsync instead of N. gRPC is the largest single CPU cost of a write in the API
// server (a third of a pod create), and etcd's per-request overhead is the other half of the bill.
//
// Why this is equivalent to running them one after another:
// - etcd evaluates every nested compare against the state before the outer transaction, then
//   applies the chosen branches in order. A batch never holds two transactions that touch the same
//   key (in a compare, a read or a write), so no transaction's compare or read could have seen
//   another one's write: the outcome is that of a serial execution.
// - etcd refuses a batch whose puts overlap ("duplicate key"), which disjoint keys also rule out.
// - Limits: etcd checks a nested transaction against `max-txn-ops` minus the outer one's op count,
//   so a batch of N keeps N + (largest nested op count) ≤ MAX_TXN_OPS; and the whole request stays
//   under the request size limit.
//
// What changes for observers: the writes of one batch share one revision (as the writes of one
// Placement always did), and arrive in one watch response, in submission order.
import type { IRequestOp, IResponseOp, ITxnRequest, ITxnResponse } from 'etcd3';
import { MAX_REQUEST_BYTES, MAX_TXN_OPS } from './store.js';

export interface GroupCommitOptions {
  /** Batches in flight at once; the next batch gathers while they are. 0 = no batching. Default 4. */
  maxInFlight?: number;
  /** Upper bound on a batch's size on the wire. Default: half of etcd's request limit. */
  maxBatchBytes?: number;
  /** etcd's --max-txn-ops. Default 128. */
  maxTxnOps?: number;
}

/** Counters for /metrics and the benchmarks. */
export interface GroupCommitStats {
  /** Transactions submitted. */
  txns: number;
  /** Outer calls sent (a lone transaction is sent as itself and counts as one). */
  calls: number;
}

interface Pending {
  req: ITxnRequest;
  /** Every key the transaction touches, as latin1 strings (a byte-exact Set key). */
  keys: string[];
  /** Op count etcd checks against max-txn-ops: the largest of compares, success, failure. */
  ops: number;
  bytes: number;
  /** Ranges over more than one key cannot be proven disjoint cheaply: they go alone. */
  alone: boolean;
  resolve(res: ITxnResponse): void;
  reject(err: unknown): void;
}

/** Per-field protobuf framing, generously (see limits.ts). */
const PER_FIELD_OVERHEAD = 24;
const ENVELOPE_OVERHEAD = 256;

/** Errors etcd raises while checking a request, before anything is applied: safe to split and resend. */
const REFUSED_BEFORE_APPLY = ['duplicate key given in txn request', 'too many operations in txn request', 'request is too large'];

export class TxnGroupCommitter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private flushScheduled = false;
  private readonly maxInFlight: number;
  private readonly maxBatchBytes: number;
  private readonly maxTxnOps: number;
  readonly stats: GroupCommitStats = { txns: 0, calls: 0 };

  constructor(
    /** Sends one transaction to etcd (one gRPC call). */
    private readonly send: (req: ITxnRequest) => Promise<ITxnResponse>,
    opts: GroupCommitOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.maxBatchBytes = opts.maxBatchBytes ?? MAX_REQUEST_BYTES / 2;
    this.maxTxnOps = opts.maxTxnOps ?? MAX_TXN_OPS;
  }

  /** Runs `req` as if alone; resolves to its own response (header = the batch's header). */
  txn(req: ITxnRequest): Promise<ITxnResponse> {
    this.stats.txns++;
    if (this.maxInFlight <= 0) {
      this.stats.calls++;
      return this.send(req);
    }
    return new Promise<ITxnResponse>((resolve, reject) => {
      this.queue.push({ req, ...describe(req), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.flushScheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return;
    this.flushScheduled = true;
    // Wait for the rest of this turn of the event loop: requests parsed from the same socket read
    // arrive together and should share a batch.
    setImmediate(() => {
      this.flushScheduled = false;
      while (this.inFlight < this.maxInFlight && this.queue.length > 0) this.dispatch(this.takeBatch());
    });
  }

  /** The oldest queued transactions that can share a batch (first come, first served). */
  private takeBatch(): Pending[] {
    const first = this.queue.shift()!;
    if (first.alone) return [first];
    const batch = [first];
    const keys = new Set(first.keys);
    let bytes = ENVELOPE_OVERHEAD + first.bytes;
    let maxOps = first.ops;
    const skipped: Pending[] = [];
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.alone) break; // keep order with respect to lone transactions
      const ops = Math.max(maxOps, next.ops);
      if (batch.length + 1 + ops > this.maxTxnOps || bytes + next.bytes > this.maxBatchBytes) break;
      this.queue.shift();
      if (next.keys.some((k) => keys.has(k))) {
        // Touches a key of this batch (or of one already put off): it runs in a later batch, and
        // its keys stay reserved so that nothing behind it that overlaps overtakes it.
        skipped.push(next);
        for (const k of next.keys) keys.add(k);
        continue;
      }
      for (const k of next.keys) keys.add(k);
      bytes += next.bytes;
      maxOps = ops;
      batch.push(next);
    }
    // Overlapping transactions go back to the head, in their order.
    this.queue.unshift(...skipped);
    return batch;
  }

  private dispatch(batch: Pending[]): void {
    this.inFlight++;
    this.stats.calls++;
    const done = () => {
      this.inFlight--;
      this.schedule();
    };
    if (batch.length === 1) {
      const only = batch[0]!;
      this.send(only.req).then(only.resolve, only.reject).finally(done);
      return;
    }
    const outer: ITxnRequest = { success: batch.map((p): IRequestOp => ({ request_txn: p.req })) };
    this.send(outer)
      .then(
        (res) => {
          batch.forEach((p, i) => {
            const nested = (res.responses[i] as IResponseOp | undefined)?.response_txn;
            if (!nested) {
              p.reject(new Error(`etcd answered a batch of ${batch.length} transactions without the result of #${i}`));
              return;
            }
            // Nested responses carry no header of their own: the outer one is theirs.
            p.resolve({ header: res.header, succeeded: nested.succeeded, responses: nested.responses ?? [] });
          });
        },
        (err: unknown) => {
          if (refusedBeforeApply(err)) {
            // Nothing was applied: each transaction gets its own verdict alone.
            for (const p of batch) {
              this.stats.calls++;
              this.send(p.req).then(p.resolve, p.reject);
            }
            return;
          }
          for (const p of batch) p.reject(err);
        },
      )
      .finally(done);
  }
}

function refusedBeforeApply(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return REFUSED_BEFORE_APPLY.some((m) => msg.includes(m));
}

function describe(req: ITxnRequest): Pick<Pending, 'keys' | 'ops' | 'bytes' | 'alone'> {
  const keys: string[] = [];
  let bytes = PER_FIELD_OVERHEAD;
  let alone = false;
  for (const c of req.compare ?? []) {
    if (c.key) keys.push(c.key.toString('latin1'));
    bytes += (c.key?.length ?? 0) + PER_FIELD_OVERHEAD;
    if (c.range_end && c.range_end.length > 0) alone = true;
  }
  const visit = (op: IRequestOp) => {
    const single = op.request_range ?? op.request_put ?? op.request_delete_range;
    if (op.request_txn) {
      alone = true; // already nested: keep the nesting depth and op budget simple
    } else if (single) {
      if (single.key) keys.push(single.key.toString('latin1'));
      bytes += (single.key?.length ?? 0) + (op.request_put?.value?.length ?? 0) + PER_FIELD_OVERHEAD;
      const rangeEnd = op.request_range?.range_end ?? op.request_delete_range?.range_end;
      if (rangeEnd && rangeEnd.length > 0) alone = true;
    }
  };
  (req.success ?? []).forEach(visit);
  (req.failure ?? []).forEach(visit);
  const ops = Math.max(req.compare?.length ?? 0, req.success?.length ?? 0, req.failure?.length ?? 0);
  return { keys, ops, bytes, alone };
}
