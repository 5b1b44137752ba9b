// Point reads that arrive together share one etcd request. A GET of one object costs the API
// server mostly the etcd client's per-call work (gRPC is about 30% of its CPU), so the single-key
// reads gathered during one turn of the event loop go out as one read-only transaction of range
// ops: one gRPC call, one linearizable read (read index) in etcd, every answer from one revision.
// Reads of the same key in one batch share a range op. The answers are what separate linearizable
// reads issued at that moment would have returned, so callers cannot tell the difference.
import type { IKeyValue, ITxnRequest } from 'etcd3';
import { MAX_TXN_OPS } from './store.js';

/** What the batcher reads from a transaction's answer (etcd3's ITxnResponse has it). */
export interface RangeAnswers {
  responses: { response_range?: { kvs: IKeyValue[] } | null }[];
}

interface Waiting {
  key: Buffer;
  callers: { resolve(kv: IKeyValue | undefined): void; reject(err: unknown): void }[];
}

export class PointReadBatcher {
  /** Reads waiting for the next batch, by key (latin1: byte-exact). */
  private waiting = new Map<string, Waiting>();
  private scheduled = false;
  /** Reads asked for and transactions sent, for tests and benchmarks. */
  readonly stats = { reads: 0, calls: 0 };

  constructor(
    /** Sends a read-only transaction (with the store's failover for reads). */
    private readonly send: (req: ITxnRequest) => Promise<RangeAnswers>,
    private readonly maxKeys = MAX_TXN_OPS,
  ) {}

  /** The key's current value, or undefined when it does not exist. */
  get(key: Buffer): Promise<IKeyValue | undefined> {
    this.stats.reads++;
    return new Promise((resolve, reject) => {
      const id = key.toString('latin1');
      let w = this.waiting.get(id);
      if (!w) {
        w = { key, callers: [] };
        this.waiting.set(id, w);
      }
      w.callers.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // Requests parsed from the same socket reads arrive in one turn: let them gather.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = [...this.waiting.values()];
    this.waiting = new Map();
    for (let start = 0; start < all.length; start += this.maxKeys) void this.sendBatch(all.slice(start, start + this.maxKeys));
  }

  private async sendBatch(batch: Waiting[]): Promise<void> {
    this.stats.calls++;
    try {
      const res = await this.send({ success: batch.map((w) => ({ request_range: { key: w.key } })) });
      batch.forEach((w, i) => {
        const kv = res.responses[i]?.response_range?.kvs[0];
        for (const c of w.callers) c.resolve(kv);
      });
    } catch (err) {
      for (const w of batch) for (const c of w.callers) c.reject(err);
    }
  }
}
