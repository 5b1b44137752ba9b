// Group commit for etcd transactions: the transactions callers submit while earlier ones are in
// flight are sent together, each as a nested transaction (etcd ≥ 3.3) of one outer transaction
// with no compares. Every nested transaction keeps its own compares and branches, so each caller
// gets exactly the answer it would have had alone — but N of them cost one gRPC call, one raft
// entry and one fsync instead of N. gRPC is the largest single CPU cost of a write in the API
// server (a third of a pod create), and etcd's per-request overhead is the other half of the bill.
//
// Why this is equivalent to running them one after another:
// - etcd evaluates every nested compare against the state before the outer transaction, then
//   applies the chosen branches in order. A batch never holds two transactions of which one writes
//   a key the other touches (in a compare, a read or a write), so no transaction's compare or read
//   could have seen another one's write: the outcome is that of a serial execution. Keys they only
//   compare or read may be shared (many creates in one namespace all compare its quota epoch).
// - etcd refuses a batch whose puts overlap ("duplicate key"), which disjoint keys also rule out.
// - Limits: etcd checks a nested transaction against `max-txn-ops` minus the outer one's op count,
//   so a batch of N keeps N + (largest nested op count) ≤ MAX_TXN_OPS; and the whole request stays
//   under the request size limit.
//
// What changes for observers: the writes of one batch share one revision (as the writes of one
// Placement always did), and arrive in one watch response, in submission order. Each put is
// stamped here with its position among the request's writes (resource-version.ts), so every
// object write still gets a resourceVersion of its own.
import type { IRequestOp, IResponseOp, ITxnRequest, ITxnResponse } from 'etcd3';
import { refusedBeforeApply } from './etcd-errors.js';
import { stampValue } from './resource-version.js';
import { MAX_REQUEST_BYTES, MAX_TXN_OPS } from './store.js';

/** A transaction's answer, and the write position of each write of the branch that ran. */
export interface GroupCommitResult {
  response: ITxnResponse;
  /**
   * Per write (put or delete) of the branch that ran, in op order: its position in the etcd
   * revision. A delete's is the one a watcher of its resource derives (resource-version.ts).
   */
  positions: number[];
}

export interface GroupCommitOptions {
  /** Batches in flight at once; the next batch gathers while they are. 0 = no batching. Default 4. */
  maxInFlight?: number;
  /** Upper bound on a batch's size on the wire. Default: half of etcd's request limit. */
  maxBatchBytes?: number;
  /** etcd's --max-txn-ops. Default 128. */
  maxTxnOps?: number;
  /** The resource a key belongs to (whose watchers derive delete positions together). Default: the whole key. */
  resourceOf?: (key: Buffer) => string;
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
  /** Writes in its larger branch: the positions it reserves in a batch. */
  writes: number;
  /** It deletes something (deletes' positions depend on the other writes of their resource). */
  deletes: boolean;
  /** Every key the transaction writes (put or delete), as latin1 strings (a byte-exact Set key). */
  writeKeys: string[];
  /** Keys it only compares or reads. */
  readKeys: string[];
  /** Op count etcd checks against max-txn-ops: the largest of compares, success, failure. */
  ops: number;
  bytes: number;
  /** Ranges over more than one key cannot be proven disjoint cheaply: they go alone. */
  alone: boolean;
  resolve(res: GroupCommitResult): void;
  reject(err: unknown): void;
}

/** Per-field protobuf framing, generously (see limits.ts). */
const PER_FIELD_OVERHEAD = 24;
const ENVELOPE_OVERHEAD = 256;


export class TxnGroupCommitter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private flushScheduled = false;
  private readonly maxInFlight: number;
  private readonly maxBatchBytes: number;
  private readonly maxTxnOps: number;
  private readonly resourceOf: (key: Buffer) => string;
  readonly stats: GroupCommitStats = { txns: 0, calls: 0 };

  constructor(
    /** Sends one transaction to etcd (one gRPC call). */
    private readonly send: (req: ITxnRequest) => Promise<ITxnResponse>,
    opts: GroupCommitOptions = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.maxBatchBytes = opts.maxBatchBytes ?? MAX_REQUEST_BYTES / 2;
    this.maxTxnOps = opts.maxTxnOps ?? MAX_TXN_OPS;
    this.resourceOf = opts.resourceOf ?? ((key) => key.toString('latin1'));
  }

  /** Runs `req` as if alone; resolves to its own response (header = the batch's header). */
  txn(req: ITxnRequest): Promise<GroupCommitResult> {
    this.stats.txns++;
    if (this.maxInFlight <= 0) {
      this.stats.calls++;
      return this.sendAlone(req);
    }
    return new Promise<GroupCommitResult>((resolve, reject) => {
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
    // Keys written by the batch (or by transactions put off), and keys it compares or reads.
    const written = new Set(first.writeKeys);
    const read = new Set(first.readKeys);
    const reserve = (p: Pending) => {
      for (const k of p.writeKeys) written.add(k);
      for (const k of p.readKeys) read.add(k);
    };
    let bytes = ENVELOPE_OVERHEAD + first.bytes;
    let maxOps = first.ops;
    const skipped: Pending[] = [];
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (next.alone) break; // keep order with respect to lone transactions
      const ops = Math.max(maxOps, next.ops);
      if (batch.length + 1 + ops > this.maxTxnOps || bytes + next.bytes > this.maxBatchBytes) break;
      this.queue.shift();
      if (next.writeKeys.some((k) => written.has(k) || read.has(k)) || next.readKeys.some((k) => written.has(k))) {
        // Writes a key this batch (or one already put off) touches, or touches a key it writes:
        // it runs in a later batch, and its keys stay reserved so that nothing behind it that
        // overlaps overtakes it.
        skipped.push(next);
        reserve(next);
        continue;
      }
      reserve(next);
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
      this.sendAlone(only.req).then(only.resolve, only.reject).finally(done);
      return;
    }
    const bases: number[] = [];
    let next = 0;
    const nested = batch.map((p): IRequestOp => {
      bases.push(next);
      const stamped = stamp(p.req, next);
      next += p.writes;
      return { request_txn: stamped };
    });
    const outer: ITxnRequest = { success: nested };
    this.send(outer)
      .then(
        (res) => {
          const revision = new RevisionPositions(this.resourceOf, batch.some((p) => p.deletes));
          batch.forEach((p, i) => {
            const nested = (res.responses[i] as IResponseOp | undefined)?.response_txn;
            if (!nested) {
              p.reject(new Error(`etcd answered a batch of ${batch.length} transactions without the result of #${i}`));
              return;
            }
            // Nested responses carry no header of their own: the outer one is theirs.
            const response: ITxnResponse = { header: res.header, succeeded: nested.succeeded, responses: nested.responses ?? [] };
            p.resolve({ response, positions: revision.place(p.req, response, bases[i]!) });
          });
        },
        (err: unknown) => {
          if (refusedBeforeApply(err)) {
            // Nothing was applied: each transaction gets its own verdict alone.
            for (const p of batch) {
              this.stats.calls++;
              this.sendAlone(p.req).then(p.resolve, p.reject);
            }
            return;
          }
          for (const p of batch) p.reject(err);
        },
      )
      .finally(done);
  }

  private async sendAlone(req: ITxnRequest): Promise<GroupCommitResult> {
    const response = await this.send(stamp(req, 0));
    return { response, positions: new RevisionPositions(this.resourceOf, deletesIn(req)).place(req, response, 0) };
  }
}

/**
 * The positions of one etcd request's writes, as its watchers will see them: a put at its stamp,
 * a delete one past the previous write of its resource in the request (resource-version.ts).
 * Transactions are placed in the order etcd applied them.
 */
class RevisionPositions {
  private readonly last = new Map<string, number>();
  /**
   * `withDeletes`: some transaction of the request deletes. Without deletes every write is at its
   * stamp, and the resources need not be told apart (the common case: creates and updates).
   */
  constructor(
    private readonly resourceOf: (key: Buffer) => string,
    private readonly withDeletes: boolean,
  ) {}

  place(req: ITxnRequest, res: ITxnResponse, base: number): number[] {
    const ops = (res.succeeded ? req.success : req.failure) ?? [];
    const positions: number[] = [];
    let position = base;
    ops.forEach((op, i) => {
      const write = op.request_put ?? op.request_delete_range;
      if (!write) return;
      const stamp = position++;
      if (!this.withDeletes) {
        positions.push(stamp);
        return;
      }
      const resource = this.resourceOf(write.key ?? Buffer.alloc(0));
      if (op.request_put) {
        this.last.set(resource, stamp);
        positions.push(stamp);
        return;
      }
      // A delete of a missing key changes nothing and no watcher sees it.
      if (Number((res.responses[i] as IResponseOp | undefined)?.response_delete_range?.deleted ?? 0) === 0) {
        positions.push(stamp);
        return;
      }
      const derived = (this.last.get(resource) ?? -1) + 1;
      this.last.set(resource, derived);
      positions.push(derived);
    });
    return positions;
  }
}

/** `req` with each put's value stamped with its position: `base` + its index among its branch's writes. */
function stamp(req: ITxnRequest, base: number): ITxnRequest {
  const branch = (ops: IRequestOp[] | undefined) => {
    if (!ops) return ops;
    let position = base;
    // Copied only once a put needs a stamp (the lone first write of a request needs none).
    let out: IRequestOp[] | undefined;
    ops.forEach((op, i) => {
      if (op.request_put) {
        const p = position++;
        if (p === 0) return;
        out ??= ops.slice();
        out[i] = { request_put: { ...op.request_put, value: stampValue(op.request_put.value ?? Buffer.alloc(0), p) } };
      } else if (op.request_delete_range) {
        position++;
      }
    });
    return out ?? ops;
  };
  const success = branch(req.success);
  const failure = branch(req.failure);
  if (success === req.success && failure === req.failure) return req;
  return { ...req, ...(success ? { success } : {}), ...(failure ? { failure } : {}) };
}

function deletesIn(req: ITxnRequest): boolean {
  return (req.success ?? []).some((op) => op.request_delete_range) || (req.failure ?? []).some((op) => op.request_delete_range);
}

function writesIn(ops: IRequestOp[] | undefined): number {
  let n = 0;
  for (const op of ops ?? []) if (op.request_put || op.request_delete_range) n++;
  return n;
}


function describe(req: ITxnRequest): Pick<Pending, 'writeKeys' | 'readKeys' | 'ops' | 'bytes' | 'alone' | 'writes' | 'deletes'> {
  const writeKeys: string[] = [];
  const readKeys: string[] = [];
  let bytes = PER_FIELD_OVERHEAD;
  let alone = false;
  for (const c of req.compare ?? []) {
    if (c.key) readKeys.push(c.key.toString('latin1'));
    bytes += (c.key?.length ?? 0) + PER_FIELD_OVERHEAD;
    if (c.range_end && c.range_end.length > 0) alone = true;
  }
  const visit = (op: IRequestOp) => {
    const single = op.request_range ?? op.request_put ?? op.request_delete_range;
    if (op.request_txn) {
      alone = true; // already nested: keep the nesting depth and op budget simple
    } else if (single) {
      if (single.key) (op.request_range ? readKeys : writeKeys).push(single.key.toString('latin1'));
      bytes += (single.key?.length ?? 0) + (op.request_put?.value?.length ?? 0) + PER_FIELD_OVERHEAD;
      const rangeEnd = op.request_range?.range_end ?? op.request_delete_range?.range_end;
      if (rangeEnd && rangeEnd.length > 0) alone = true;
    }
  };
  (req.success ?? []).forEach(visit);
  (req.failure ?? []).forEach(visit);
  const ops = Math.max(req.compare?.length ?? 0, req.success?.length ?? 0, req.failure?.length ?? 0);
  const writes = Math.max(writesIn(req.success), writesIn(req.failure));
  return { writeKeys, readKeys, ops, bytes, alone, writes, deletes: deletesIn(req) };
}
