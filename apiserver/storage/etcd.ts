// The etcd backend (DESIGN §6) over the `etcd3` package's raw gRPC clients.
//
// Reads and transactions go straight to `client.kv` (the generated KV client) so every call is one
// RPC whose request we shape ourselves: compares on mod_revision, ranges at a revision with a limit,
// prev_kv where we need a create revision. etcd3's own retry and circuit-breaker policies are
// replaced by a pass-through: a blind retry of a transaction whose first attempt may have committed
// turns success into a false conflict, so this file decides per call what is safe to retry.
//
// Watches do NOT use etcd3's WatchBuilder. Its WatchManager resumes a broken watch from the last
// *header* revision it saw (header.revision of a created or catch-up response is the store's
// current revision, not the last event sent), so a watch that breaks while catching up silently
// skips events; and it reports compaction as a generic 'error'. Instead each StoreWatch owns a raw
// gRPC Watch stream (`client.watchClient.watch()`), remembers the mod_revision of the last event it
// handed to the caller, and on any break re-creates the watch at that revision + 1, dropping
// anything at or below it. See EtcdWatch.

import {
  ClientClosedError,
  Etcd3,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCResourceExhastedError,
  GRPCUnavailableError,
  type ICompare,
  type IDuplexStream,
  type IEvent,
  type IKeyValue,
  type IOptions,
  type IRequestOp,
  type IResponseOp,
  type IWatchRequest,
  type IWatchResponse,
} from 'etcd3';
import {
  AlreadyExistsError,
  BadRequestError,
  CompactedError,
  ConflictError,
  InternalError,
  NotFoundError,
  TxnTooLargeError,
  UnavailableError,
  errorMessage,
  isCellError,
  type CellError,
} from '../../shared/errors.js';
import { checkTxn, utf8Bytes } from './limits.js';
import type {
  ListOptions,
  ListResult,
  Store,
  StoredValue,
  StoreWatch,
  TxnOp,
  TxnRequest,
  TxnResult,
  WatchEvent,
  WatchHandlers,
} from './store.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** Prepended to every key on the wire (default `/registry`); lets tests share one etcd. */
  prefix?: string;
  /** Deadline of each unary call (get, txn, range, compact). Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Longest pause between attempts to reach etcd again: caps both the gRPC channel's reconnect
   * backoff and a broken watch's re-creation backoff. Default 2 s.
   */
  maxBackoffMs?: number;
  /**
   * Told each time a watch lost its stream and will re-create it (for logs and metrics; the caller
   * of the watch sees nothing of it). `resumeRevision` is the first revision the new watch asks for.
   */
  onWatchRetry?: (info: WatchRetryInfo) => void;
}

export interface WatchRetryInfo {
  prefix: string;
  resumeRevision: number;
  attempt: number;
  delayMs: number;
  reason: string;
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;
type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** Never aborted; shared so the per-call policy wrapper allocates nothing. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs each call exactly once. etcd3 defaults to three blind retries plus a per-host circuit breaker
 * that refuses calls for 5 s after three failures (which also delays recovery after an etcd restart).
 */
class RunOnce implements FaultPolicy {
  declare readonly _altReturn: never;
  readonly onSuccess: FaultPolicy['onSuccess'] = () => ({ dispose: () => undefined });
  readonly onFailure: FaultPolicy['onFailure'] = () => ({ dispose: () => undefined });
  async execute<T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    return fn({ signal: signal ?? NEVER_ABORTED });
  }
}

/** First key after every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i] as number;
    if (b < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = b + 1;
      return end;
    }
  }
  // Empty or all-0xff prefix: "\0" means "to the end of the keyspace".
  return Buffer.from([0]);
}

/** Ends a stream we no longer want without the etcd3 client treating it as a host failure. */
function endStream(stream: WatchStream): void {
  // end() first: etcd3's own error listener marks the host failed (closing every gRPC client on it)
  // only while the stream is still writable, and cancel() is reported as a CANCELLED error.
  stream.end();
  stream.cancel();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exponential backoff with ±20% jitter, so many watchers do not reconnect in lockstep. */
function backoffMs(attempt: number, maxMs: number): number {
  const base = Math.min(maxMs, 50 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.8 + 0.4 * Math.random()));
}

/** gRPC failures that happen before a request is sent, so a write can be retried without doubt. */
function notSent(err: unknown): boolean {
  const msg = errorMessage(err);
  return msg.includes('No connection established') || msg.includes('Channel closed before call started');
}

/** etcd / gRPC failure → the project's error hierarchy. Exported for tests against a real etcd. */
export function mapEtcdError(err: unknown): CellError {
  if (isCellError(err)) return err;
  const msg = errorMessage(err);
  if (err instanceof ClientClosedError) return new UnavailableError('etcd client is closed');
  if (/etcdserver: (no leader|leader changed|request timed out|too many requests|not capable)/.test(msg)) {
    return new UnavailableError(`etcd unavailable: ${msg}`);
  }
  if (msg.includes('too many operations in txn request')) {
    return new TxnTooLargeError(`etcd refused the transaction: too many operations (${msg})`);
  }
  if (msg.includes('request is too large') || err instanceof GRPCResourceExhastedError) {
    return new TxnTooLargeError(`etcd refused the request as too large (${msg})`);
  }
  if (msg.includes('duplicate key given in txn request')) {
    return new BadRequestError(`transaction writes a key more than once (${msg})`);
  }
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    // cockatiel's BrokenCircuitError, should a caller-supplied policy ever be in play
    (err instanceof Error && err.name === 'BrokenCircuitError')
  ) {
    return new UnavailableError(`etcd unavailable: ${msg}`);
  }
  return new InternalError(`etcd: ${msg}`);
}

const COMPACTED = 'required revision has been compacted';
const FUTURE = 'required revision is a future revision';

/** What a watch needs from its store. */
interface WatchContext {
  client: Etcd3;
  maxBackoffMs: number;
  onRetry: ((info: WatchRetryInfo) => void) | undefined;
  toWire(key: string): Buffer;
  fromWire(key: Buffer): string;
  detach(w: EtcdWatch): void;
}

type Delivery = { events: WatchEvent[] } | { error: CellError };

/**
 * One resilient watch. Invariant: `lastDelivered` is the mod_revision of the newest event queued for
 * the caller, and every event at or below it has been queued exactly once. A (re)created etcd watch
 * always starts at lastDelivered + 1, and only whole revisions are queued (fragments are held until
 * the last one arrives; etcd never splits one revision over non-fragment responses), so a break at
 * any moment neither skips nor repeats an event. Compaction past lastDelivered + 1 ends the watch
 * with CompactedError; any other failure, including etcd being down, is retried with backoff.
 */
class EtcdWatch implements StoreWatch {
  private lastDelivered: number;
  private stream: WatchStream | undefined;
  /** Bumped whenever the current stream is abandoned, so late callbacks of old streams are ignored. */
  private generation = 0;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private fragments: IEvent[] = [];
  private readonly queue: Delivery[] = [];
  private draining = false;
  private stopped = false;
  private cancelled = false;
  private readonly key: Buffer;
  private readonly rangeEnd: Buffer;

  constructor(
    private readonly ctx: WatchContext,
    private readonly prefix: string,
    afterRevision: number,
    private readonly handlers: WatchHandlers,
  ) {
    this.lastDelivered = Math.max(0, afterRevision);
    this.key = ctx.toWire(prefix);
    this.rangeEnd = prefixEnd(this.key);
  }

  start(): void {
    this.connect();
  }

  cancel(): void {
    this.cancelled = true;
    this.queue.length = 0;
    this.stop();
  }

  /** Ends the watch, delivering `err` after whatever is already queued. */
  fail(err: CellError): void {
    if (this.stopped) return;
    this.stop();
    this.enqueue({ error: err });
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.dropStream();
    this.ctx.detach(this);
  }

  private connect(): void {
    const gen = ++this.generation;
    this.ctx.client.watchClient.watch().then(
      (stream) => {
        if (this.stopped || gen !== this.generation) {
          endStream(stream);
          return;
        }
        this.stream = stream;
        // The listeners stay attached for the stream's whole life, so an error it emits after we
        // abandoned it always has a listener (an unlistened 'error' would crash the process).
        stream.on('data', (res) => {
          if (gen === this.generation) this.onResponse(res);
        });
        stream.on('error', (err) => {
          if (gen === this.generation) this.broken(err);
        });
        stream.on('end', () => {
          if (gen === this.generation) this.broken(new Error('watch stream ended'));
        });
        stream.write({
          create_request: {
            key: this.key,
            range_end: this.rangeEnd,
            start_revision: this.lastDelivered + 1,
            prev_kv: true,
            fragment: true,
          },
        });
      },
      (err: unknown) => {
        if (gen === this.generation) this.broken(err);
      },
    );
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = undefined;
    this.fragments = [];
    if (s) endStream(s);
  }

  /** The stream failed: abandon it and create the watch again from lastDelivered + 1, after a pause. */
  private broken(err: unknown): void {
    if (this.stopped) return;
    this.generation++;
    this.dropStream();
    const delay = backoffMs(this.attempts++, this.ctx.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
    const onRetry = this.ctx.onRetry;
    if (onRetry) {
      const info: WatchRetryInfo = {
        prefix: this.prefix,
        resumeRevision: this.lastDelivered + 1,
        attempt: this.attempts,
        delayMs: delay,
        reason: errorMessage(err),
      };
      // Outside our own call stack, so a throwing hook cannot leave this watch half-restarted.
      queueMicrotask(() => onRetry(info));
    }
  }

  private onResponse(res: IWatchResponse): void {
    if (res.canceled) {
      const compactRevision = Number(res.compact_revision);
      if (compactRevision > 0) {
        this.fail(new CompactedError(this.lastDelivered, compactRevision));
      } else {
        // Refusals without a compaction (permission denied, invalid range) would repeat on every
        // retry; ending the watch lets the caller re-list and watch again, which is always safe.
        this.fail(new InternalError(`etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`));
      }
      return;
    }
    if (res.created) this.attempts = 0;
    if (res.events.length === 0) return;
    if (res.fragment) {
      for (const ev of res.events) this.fragments.push(ev);
      return;
    }
    const events = this.fragments.length > 0 ? this.fragments.concat(res.events) : res.events;
    this.fragments = [];
    const floor = this.lastDelivered;
    const batch: WatchEvent[] = [];
    let last = floor;
    for (const ev of events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= floor) continue; // replayed after a resume: already delivered
      if (rev < last) {
        // Cannot happen with a correct server; resuming from what was delivered is always safe.
        this.broken(new Error(`watch events out of order: ${rev} after ${last}`));
        return;
      }
      last = rev;
      batch.push(this.toEvent(ev));
    }
    if (batch.length === 0) return;
    this.lastDelivered = last;
    this.enqueue({ events: batch });
  }

  private toEvent(ev: IEvent): WatchEvent {
    const key = this.ctx.fromWire(ev.kv.key);
    const modRevision = Number(ev.kv.mod_revision);
    const prev: IKeyValue | null | undefined = ev.prev_kv;
    const prevFields = prev
      ? { prevValue: prev.value.toString('utf8'), prevModRevision: Number(prev.mod_revision) }
      : {};
    if (ev.type === 'Delete') return { type: 'delete', key, modRevision, ...prevFields };
    return {
      type: 'put',
      key,
      modRevision,
      value: ev.kv.value.toString('utf8'),
      createRevision: Number(ev.kv.create_revision),
      ...prevFields,
    };
  }

  /**
   * Handlers run from a microtask, never from inside the gRPC stream's event emission, and in queue
   * order. A handler that throws is a bug in the caller: it propagates as an uncaught exception,
   * as from an EventEmitter listener; what remains queued is delivered on the next enqueue.
   */
  private enqueue(d: Delivery): void {
    this.queue.push(d);
    if (this.draining) return;
    this.draining = true;
    queueMicrotask(() => {
      this.draining = false;
      for (let d = this.queue.shift(); d && !this.cancelled; d = this.queue.shift()) {
        if ('events' in d) this.handlers.onEvents(d.events);
        else this.handlers.onError(d.error);
      }
    });
  }
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly prefixBytes: number;
  private readonly maxBackoffMs: number;
  private readonly readAttempts: number;
  private readonly watches = new Set<EtcdWatch>();
  private readonly watchCtx: WatchContext;
  private closed = false;

  constructor(opts: EtcdStoreOptions) {
    if (opts.endpoints.length === 0) throw new BadRequestError('EtcdStore needs at least one endpoint');
    this.prefix = opts.prefix ?? '/registry';
    this.prefixBytes = utf8Bytes(this.prefix);
    this.maxBackoffMs = opts.maxBackoffMs ?? 2_000;
    // One try per endpoint and one more, so a read fails over past a dead member.
    this.readAttempts = opts.endpoints.length + 1;
    const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.client = new Etcd3({
      hosts: opts.endpoints,
      // Streams (watches) live indefinitely; every unary call gets a deadline.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: { global: new RunOnce(), host: () => new RunOnce() },
      grpcOptions: {
        // Lists of many objects and catch-up watch responses exceed gRPC's 4 MiB default.
        'grpc.max_receive_message_length': 2 ** 31 - 1,
        // Detect a silently dead connection (no RST) while a watch is open; etcd refuses pings
        // more often than every 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': this.maxBackoffMs,
      },
    });
    this.watchCtx = {
      client: this.client,
      maxBackoffMs: this.maxBackoffMs,
      onRetry: opts.onWatchRetry,
      toWire: (key) => this.toWire(key),
      fromWire: (key) => this.fromWire(key),
      detach: (w) => this.watches.delete(w),
    };
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const res = await this.read(() => this.client.kv.range({ key: this.toWire(key) }));
    const kv = res.kvs[0];
    return kv ? this.stored(kv) : undefined;
  }

  async create(key: string, value: string): Promise<StoredValue> {
    const res = await this.txn({ compares: [{ key, modRevision: 0 }], success: [{ type: 'put', key, value }] });
    if (!res.succeeded) throw new AlreadyExistsError(`key ${key} already exists`);
    return { key, value, modRevision: res.revision, createRevision: res.revision };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<StoredValue> {
    if (expectedModRevision <= 0) {
      // A mod_revision of 0 compares equal for a missing key, which would turn this into a create.
      const cur = await this.get(key);
      if (!cur) throw new NotFoundError(`key ${key} not found`);
      throw new ConflictError(`key ${key} is at revision ${cur.modRevision}, not ${expectedModRevision}`);
    }
    const put: TxnOp = { type: 'put', key, value };
    checkTxn({ compares: [{ key, modRevision: expectedModRevision }], success: [put] }, this.prefixBytes);
    const res = await this.write(() =>
      this.client.kv.txn({
        compare: [this.modCompare(key, 'Equal', expectedModRevision)],
        success: [{ request_put: { key: this.toWire(key), value: Buffer.from(value, 'utf8'), prev_kv: true } }],
        failure: [{ request_range: { key: this.toWire(key) } }],
      }),
    );
    const revision = Number(res.header.revision);
    if (res.succeeded) {
      const prev = res.responses[0]?.response_put?.prev_kv;
      return { key, value, modRevision: revision, createRevision: prev ? Number(prev.create_revision) : revision };
    }
    const cur = res.responses[0]?.response_range?.kvs[0];
    if (!cur) throw new NotFoundError(`key ${key} not found`);
    throw new ConflictError(`key ${key} is at revision ${cur.mod_revision}, not ${expectedModRevision}`);
  }

  async delete(key: string, expectedModRevision?: number): Promise<number> {
    // "Exists" is always part of the guard: a mod_revision of 0 would otherwise match a missing key.
    const compare = [this.modCompare(key, 'Greater', 0)];
    if (expectedModRevision !== undefined) compare.push(this.modCompare(key, 'Equal', expectedModRevision));
    const res = await this.write(() =>
      this.client.kv.txn({
        compare,
        success: [{ request_delete_range: { key: this.toWire(key) } }],
        failure: [{ request_range: { key: this.toWire(key) } }],
      }),
    );
    if (res.succeeded) return Number(res.header.revision);
    const cur = res.responses[0]?.response_range?.kvs[0];
    if (!cur) throw new NotFoundError(`key ${key} not found`);
    throw new ConflictError(`key ${key} is at revision ${cur.mod_revision}, not ${expectedModRevision}`);
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    checkTxn(req, this.prefixBytes);
    const failure = req.failure ?? [];
    const res = await this.write(() =>
      this.client.kv.txn({
        compare: req.compares.map((c) => this.modCompare(c.key, 'Equal', c.modRevision)),
        success: req.success.map((op) => this.requestOp(op)),
        failure: failure.map((op) => this.requestOp(op)),
      }),
    );
    const ops = res.succeeded ? req.success : failure;
    const reads: (StoredValue | undefined)[] = [];
    ops.forEach((op, i) => {
      if (op.type !== 'get') return;
      const kv = (res.responses[i] as IResponseOp | undefined)?.response_range?.kvs[0];
      reads.push(kv ? this.stored(kv) : undefined);
    });
    return { succeeded: res.succeeded, revision: Number(res.header.revision), reads };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    // Revision 0 (like undefined) means "current", as in etcd's RangeRequest.
    const atRevision = opts.revision !== undefined && opts.revision > 0 ? opts.revision : undefined;
    const from = this.toWire(prefix);
    const start = opts.startKey !== undefined && opts.startKey > prefix ? this.toWire(opts.startKey) : from;
    let res;
    try {
      res = await this.read(() =>
        this.client.kv.range({
          key: start,
          range_end: prefixEnd(from),
          revision: atRevision ?? 0,
          limit: opts.limit && opts.limit > 0 ? opts.limit : 0,
        }),
      );
    } catch (err) {
      const msg = errorMessage(err);
      if (atRevision !== undefined && msg.includes(COMPACTED)) {
        throw new CompactedError(atRevision, await this.compactRevisionAbove(atRevision));
      }
      if (msg.includes(FUTURE)) throw new BadRequestError(`revision ${atRevision} is in the future`);
      throw err;
    }
    const items = res.kvs.map((kv) => this.stored(kv));
    return {
      items,
      revision: atRevision ?? Number(res.header.revision),
      more: res.more,
      remaining: Math.max(0, Number(res.count) - items.length),
    };
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): StoreWatch {
    const w = new EtcdWatch(this.watchCtx, prefix, afterRevision, handlers);
    if (this.closed) {
      w.fail(new UnavailableError('store is closed'));
    } else {
      this.watches.add(w);
      w.start();
    }
    return w;
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.write(() => this.client.kv.compact({ revision, physical: false }));
    } catch (err) {
      const msg = errorMessage(err);
      // Idempotent, like the memory store: several API servers may race to compact.
      if (msg.includes(COMPACTED)) return;
      if (msg.includes(FUTURE)) throw new BadRequestError(`cannot compact at revision ${revision}: it is in the future`);
      throw err;
    }
  }

  async currentRevision(): Promise<number> {
    // The cheapest request that carries a fresh (linearizable) header: count one key.
    const res = await this.read(() => this.client.kv.range({ key: this.toWire(''), count_only: true }));
    return Number(res.header.revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.fail(new UnavailableError('store is closed'));
    this.client.close();
  }

  private toWire(key: string): Buffer {
    return Buffer.from(this.prefix + key, 'utf8');
  }

  private fromWire(key: Buffer): string {
    return key.toString('utf8').slice(this.prefix.length);
  }

  private stored(kv: IKeyValue): StoredValue {
    return {
      key: this.fromWire(kv.key),
      value: kv.value.toString('utf8'),
      modRevision: Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
    };
  }

  private modCompare(key: string, result: 'Equal' | 'Greater', modRevision: number): ICompare {
    return { key: this.toWire(key), target: 'Mod', result, mod_revision: modRevision };
  }

  private requestOp(op: TxnOp): IRequestOp {
    switch (op.type) {
      case 'put':
        return { request_put: { key: this.toWire(op.key), value: Buffer.from(op.value, 'utf8') } };
      case 'delete':
        return { request_delete_range: { key: this.toWire(op.key) } };
      case 'get':
        return { request_range: { key: this.toWire(op.key) } };
    }
  }

  /** A read is idempotent: retried on UnavailableError, which also fails over to another endpoint. */
  private async read<T>(fn: () => Promise<T>): Promise<T> {
    return this.call(fn, () => true);
  }

  /** A write is retried only when it certainly never left this process. */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    return this.call(fn, notSent);
  }

  private async call<T>(fn: () => Promise<T>, retryable: (err: unknown) => boolean): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new UnavailableError('store is closed');
      try {
        return await fn();
      } catch (err) {
        const mapped = mapEtcdError(err);
        if (!(mapped instanceof UnavailableError) || attempt >= this.readAttempts || !retryable(err)) throw mapped;
        await sleep(backoffMs(attempt, this.maxBackoffMs));
      }
    }
  }

  /**
   * etcd's "compacted" range error does not say where history now starts; only a watch reports it.
   * Opens a throwaway watch at `requested` and reads compact_revision from its cancellation.
   */
  private async compactRevisionAbove(requested: number): Promise<number> {
    // Fallback when etcd does not answer in time: the smallest compaction revision that explains the error.
    const fallback = requested + 1;
    let stream: WatchStream | undefined;
    try {
      stream = await this.client.watchClient.watch();
    } catch {
      return fallback; // the caller's CompactedError matters more than the exact number
    }
    const s = stream;
    return new Promise<number>((resolve) => {
      let settled = false;
      const settle = (rev: number) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        endStream(s);
        resolve(rev);
      };
      const timer = setTimeout(() => settle(fallback), 2_000);
      s.on('data', (res) => {
        const c = Number(res.compact_revision);
        if (c > 0) settle(c);
        else if (res.canceled) settle(fallback);
      });
      // A failed probe only costs the exact number; the listener also keeps the error handled.
      s.on('error', () => settle(fallback));
      s.on('end', () => settle(fallback));
      const key = this.toWire('');
      s.write({ create_request: { key, range_end: prefixEnd(key), start_revision: requested } });
    });
  }
}
