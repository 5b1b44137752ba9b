// The etcd backend (DESIGN §6) over the `etcd3` package's raw gRPC clients.
//
// Reads and transactions go straight to `client.kv` (the generated KV client) so every call is one
// RPC whose request we shape ourselves: compares on mod_revision, ranges at a revision with a limit,
// prev_kv where we need a create revision. Txn calls — every write and every batch of point reads,
// the hot path — skip etcd3 altogether: written and read in the wire format (etcd-txn-codec.ts) on
// the member's own channel. etcd3's own retry and circuit-breaker policies are
// replaced by a pass-through: a blind retry of a transaction whose first attempt may have committed
// turns success into a false conflict, so this file decides per call what is safe to retry.
//
// Watches do NOT use etcd3's WatchBuilder. Its WatchManager resumes a broken watch from the last
// *header* revision it saw (header.revision of a created or catch-up response is the store's
// current revision, not the last event sent), so a watch that breaks while catching up silently
// skips events; and it reports compaction as a generic 'error'. Instead each StoreWatch owns a raw
// gRPC Watch stream, remembers the mod_revision of the last event it handed to the caller, and on
// any break re-creates the watch at that revision + 1, dropping anything at or below it. See
// EtcdWatch. The stream is not etcd3's either: every replica pays for every write of the store
// here, so responses are read straight from the wire into what the watch uses
// (etcd-watch-codec.ts), on a channel of our own per member beside etcd3's.
//
// Several endpoints (DESIGN §7): each member gets its own etcd3 client (one gRPC connection), and
// this file picks the member per call (Endpoints): round robin over the members that answered
// last, failing over past one that is down, cut off from quorum, or silent (SIGSTOP, a dead link).
// A failed member is left alone until a probe (a quorum read) succeeds again. Every call carries
// gRPC metadata `hasleader: true`, etcd's "require leader": a member without a leader refuses the
// call at once (so it can go elsewhere, having certainly not executed) instead of waiting out a
// proposal, and cancels our watch streams when it loses its leader, so a watch on a member cut off
// from quorum moves to one that is not.

import {
  Client as GrpcClient,
  InterceptingCall,
  Metadata,
  credentials as grpcCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientUnaryCall,
  type Interceptor,
} from '@grpc/grpc-js';
import { Etcd3, castGrpcError, type ICompare, type IKeyValue, type IOptions, type IRequestOp, type IResponseOp, type ITxnRequest, type ITxnResponse } from 'etcd3';
import {
  AlreadyExistsError,
  BadRequestError,
  CompactedError,
  ConflictError,
  InternalError,
  NotFoundError,
  OutcomeUnknownError,
  UnavailableError,
  errorMessage,
  type CellError,
} from '../../shared/errors.js';
import { PointReadBatcher } from './etcd-read-batch.js';
import { COMPACTED, FUTURE, busy, lostLeader, mapEtcdError, notExecuted } from './etcd-errors.js';
import { positionDeletes, readStamp, resourceOfKey, versionOf } from './resource-version.js';
import { TxnGroupCommitter } from './etcd-group-commit.js';
import { decodeTxnResponse, encodeTxnRequest } from './etcd-txn-codec.js';
import {
  WATCH_PROGRESS_REQUEST,
  decodeWatchResponse,
  encodeWatchCreate,
  type WatchEventMessage,
  type WatchKeyValue,
  type WatchResponseMessage,
} from './etcd-watch-codec.js';
import { checkTxn, utf8Bytes } from './limits.js';
import type {
  BatchingStats,
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
  WatchOptions,
} from './store.js';
import { backoffMs } from '../../shared/backoff.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`. */
  endpoints: string[];
  /** Prepended to every key on the wire (default `/registry`); lets tests share one etcd. */
  prefix?: string;
  /** Transaction batches in flight at once (group commit); 0 sends every transaction alone. Default 4. */
  groupCommitInFlight?: number;
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
  /**
   * A watch that has heard nothing from its member for this long asks it for progress; etcd
   * answers at once, so silence means the member (or the link to it) is stuck. Default 1 s.
   */
  watchProgressIntervalMs?: number;
  /** Silence after which a watch abandons its member and resumes on another. Default 3 s. */
  watchSilenceTimeoutMs?: number;
}

export interface WatchRetryInfo {
  prefix: string;
  /** The member the broken stream was on. */
  endpoint: string;
  resumeRevision: number;
  attempt: number;
  delayMs: number;
  reason: string;
}

/** Requests go out already encoded (etcd-watch-codec.ts). */
type WatchStream = ClientDuplexStream<Buffer, WatchResponseMessage>;
const WATCH_METHOD = '/etcdserverpb.Watch/Watch';
const TXN_METHOD = '/etcdserverpb.KV/Txn';
/** Bytes etcd may send on one connection (and one stream) ahead of what this process has read. */
const FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;
const asIs = (b: Buffer) => b;
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

/** Ends a stream we no longer want (its listeners stay: cancel() is reported as a CANCELLED error). */
function endStream(stream: WatchStream): void {
  stream.end();
  stream.cancel();
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Back-off of reconnects and probes: 50 ms doubling to the store's maximum, ±20% (many watchers do not reconnect in lockstep). */
const etcdBackoff = (attempt: number, maxMs: number) => backoffMs(attempt, { initialMs: 50, maxMs });

/** etcd's "require leader" metadata on every call (see the file comment). */
const requireLeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

/**
 * Longest pause before a call tries every member again. Shorter than the store's maxBackoffMs
 * (which paces reconnects to a member that is down): every member has just refused at once — no
 * leader during an election, mostly — and an election takes about a second, so a retry every
 * quarter second answers within that of its end, where 2 s of backoff added up to 1.5 s.
 */
const CALL_RETRY_MAX_MS = 250;

/** How long a Txn may wait unanswered before its member is probed for having lost its leader. */
const STALLED_CALL_MS = 1_000;

/** One etcd member, with its own client, and whether it answered last time. */
class Endpoint {
  healthy = true;
  failedAt = 0;
  probeTimer: NodeJS.Timeout | undefined;
  private ownRpc: GrpcClient | undefined;
  /** The newest raft term this member has answered with (0: none yet). */
  private term = 0;
  /** Each Txn call in flight here, by the function that gives it up: when it was sent and the term then, oldest first. */
  private readonly pending = new Map<(err: UnavailableError) => void, { sentAt: number; term: number }>();
  /** Told when a Txn here has waited STALLED_CALL_MS unanswered (Endpoints then probes the member). */
  onStall: ((ep: Endpoint) => void) | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  constructor(
    readonly url: string,
    readonly client: Etcd3,
    private readonly grpcOptions: ChannelOptions,
    private readonly requestTimeoutMs: number,
  ) {}

  /** The channel for the calls made here rather than through etcd3 (made on first use). */
  private get rpc(): GrpcClient {
    return (this.ownRpc ??= new GrpcClient(
      this.url.replace(/^https?:\/\//, ''),
      this.url.startsWith('https:') ? grpcCredentials.createSsl() : grpcCredentials.createInsecure(),
      this.grpcOptions,
    ));
  }

  /** A new Watch stream to this member (on the channel every watch of it shares). */
  openWatch(): WatchStream {
    return this.rpc.makeBidiStreamRequest(WATCH_METHOD, asIs, decodeWatchResponse, new Metadata(), {});
  }

  /**
   * One Txn call, encoded and decoded here (etcd-txn-codec.ts). Fails with etcd3's typed errors,
   * as etcd3's own calls do, so mapEtcdError reads both alike.
   */
  txn(req: ITxnRequest): Promise<ITxnResponse> {
    const message = encodeTxnRequest(req);
    return new Promise<ITxnResponse>((resolve, reject) => {
      let settled = false;
      const abandon = (err: UnavailableError) => {
        if (settled) return;
        settled = true;
        this.pending.delete(abandon);
        call.cancel();
        reject(err);
      };
      // grpc-js records a stack trace at every unary call, for errors we map by code and message
      // alone: capturing it was ~2% of the API server's CPU. Off for this synchronous call only.
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      let call: ClientUnaryCall;
      try {
        call = this.rpc.makeUnaryRequest(TXN_METHOD, asIs, decodeTxnResponse, message, new Metadata(), { deadline: Date.now() + this.requestTimeoutMs }, (err, res) => {
          if (settled) return;
          settled = true;
          this.pending.delete(abandon);
          if (err) {
            reject(castGrpcError(err));
          } else if (res) {
            this.sawTerm(res.header.raft_term);
            resolve(res);
          } else {
            reject(new InternalError('etcd txn: no response'));
          }
        });
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      this.pending.set(abandon, { sentAt: Date.now(), term: this.term });
      this.watchForStalls();
    });
  }

  /** While calls are in flight here, checks every STALLED_CALL_MS whether the oldest has waited that long. */
  private watchForStalls(): void {
    if (this.stallTimer || !this.onStall) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      const oldest = this.pending.values().next();
      if (oldest.done) return;
      if (Date.now() - oldest.value.sentAt >= STALLED_CALL_MS) this.onStall?.(this);
      this.watchForStalls();
    }, STALLED_CALL_MS);
    // Stall checks alone must not keep a process alive.
    this.stallTimer.unref();
  }

  /**
   * The member said it has no leader: the Txns it still holds are given up now. A leader cut off
   * from its peers keeps the calls it had when the link went down (it can neither commit nor
   * answer them) until etcd's own request timeout — 5 s plus two election timeouts — while new
   * calls get "no leader" at once; without this, requests in flight at a partition would hang
   * that long. A read given up this way is retried on another member; a write fails as outcome
   * unknown (it may still commit, should the member's leadership come back).
   */
  abandonPending(): void {
    if (this.pending.size === 0) return;
    const err = new UnavailableError(`etcd member ${this.url} lost its leader with the call in flight`);
    for (const abandon of [...this.pending.keys()]) abandon(err);
  }

  /**
   * The member answered (a stall probe) at `rawTerm`. Calls sent to it in an older term and still
   * unanswered after STALLED_CALL_MS were most likely forwarded to a leader that has since died: a
   * follower does not propose them again, so they would wait for etcd's request timeout. They are
   * given up, like those of a member without a leader. (Younger ones are left: one sent after the
   * election but before this member's first answer in the new term carries the old term.)
   */
  answeredInTerm(rawTerm: string): void {
    const term = Number(rawTerm);
    this.sawTerm(rawTerm);
    const sentBefore = Date.now() - STALLED_CALL_MS;
    let err: UnavailableError | undefined;
    for (const [abandon, sent] of [...this.pending]) {
      if (sent.term === 0 || sent.term >= term || sent.sentAt > sentBefore) continue;
      err ??= new UnavailableError(`etcd member ${this.url} moved to raft term ${term} with the call in flight (sent in term ${sent.term})`);
      abandon(err);
    }
  }

  private sawTerm(rawTerm: string): void {
    const term = Number(rawTerm);
    if (term > this.term) this.term = term;
  }

  close(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.client.close();
    this.ownRpc?.close();
  }
}

/**
 * The members, and which to use next: round robin over the healthy ones. A member that fails a
 * call (or whose watch falls silent) is unhealthy until a probe — a quorum read with a short
 * deadline, so it also fails on a member that is up but cut off from quorum — succeeds. With
 * every member unhealthy, calls still go out (to the one that failed longest ago): a probe may lag
 * behind a member that is back, and with one endpoint there is nowhere else to go.
 */
class Endpoints {
  private next = 0;
  private closed = false;

  /** Members being probed because a call there stalled. */
  private readonly stallProbes = new Set<Endpoint>();

  constructor(
    readonly list: Endpoint[],
    private readonly probe: (ep: Endpoint, timeoutMs?: number) => Promise<{ header: { raft_term: string } }>,
    private readonly maxBackoffMs: number,
  ) {
    for (const ep of list) ep.onStall = (stalled) => this.stalled(stalled);
  }

  get size(): number {
    return this.list.length;
  }

  pick(avoid: ReadonlySet<Endpoint>): Endpoint {
    const n = this.list.length;
    for (let i = 0; i < n; i++) {
      const idx = (this.next + i) % n;
      const ep = this.list[idx]!;
      if (ep.healthy && !avoid.has(ep)) {
        this.next = (idx + 1) % n;
        return ep;
      }
    }
    let best: Endpoint | undefined;
    for (const ep of this.list) {
      if (avoid.has(ep) && avoid.size < n) continue;
      if (!best || ep.failedAt < best.failedAt) best = ep;
    }
    return best ?? this.list[0]!;
  }

  succeeded(ep: Endpoint): void {
    if (ep.healthy) return;
    ep.healthy = true;
    if (ep.probeTimer) clearTimeout(ep.probeTimer);
    ep.probeTimer = undefined;
  }

  failed(ep: Endpoint, err: unknown): void {
    ep.failedAt = Date.now();
    if (lostLeader(err)) ep.abandonPending();
    if (!ep.healthy || this.closed) return;
    ep.healthy = false;
    this.scheduleProbe(ep, 0);
  }

  /**
   * A call has waited long at `ep`: is the member cut off from its quorum? A leader cut off by a
   * partition answers nothing it holds, and without a watch on it a store would learn only at the
   * calls' deadlines; the probe, sent with require-leader, is refused at once ("no leader") once the
   * member has stepped down, and then its calls are given up (failed → abandonPending). A probe
   * that answers in a newer term than a call was sent in gives that call up too (a follower's call
   * forwarded to a leader that died). Otherwise — an answer in the same term, or none in time — the
   * member is slow or silent rather than leaderless: its calls keep their deadlines.
   */
  private stalled(ep: Endpoint): void {
    if (this.closed || this.stallProbes.has(ep)) return;
    this.stallProbes.add(ep);
    // Short: a leader not yet stepped down holds the probe too; the next stall check asks again.
    this.probe(ep, STALLED_CALL_MS / 2)
      .then(
        (res) => ep.answeredInTerm(res.header.raft_term),
        (err: unknown) => {
          if (lostLeader(err) && !this.closed) this.failed(ep, err);
        },
      )
      .finally(() => this.stallProbes.delete(ep));
  }

  /** Resolves once any member answers the probe within `timeoutMs`; else fails with what each said. */
  async anyAnswers(timeoutMs: number): Promise<void> {
    const asked = this.list.map((ep) =>
      this.probe(ep, timeoutMs).then(
        () => this.succeeded(ep),
        (err: unknown) => Promise.reject(new Error(`${ep.url}: ${errorMessage(err)}`)),
      ),
    );
    try {
      await Promise.any(asked);
    } catch (err) {
      const each = err instanceof AggregateError ? err.errors.map(errorMessage).join('; ') : errorMessage(err);
      throw new UnavailableError(`no etcd member answered a quorum read within ${timeoutMs} ms (${each})`);
    }
  }

  private scheduleProbe(ep: Endpoint, attempt: number): void {
    ep.probeTimer = setTimeout(() => {
      ep.probeTimer = undefined;
      if (ep.healthy || this.closed) return;
      this.probe(ep).then(
        () => this.succeeded(ep),
        // Still down, cut off or silent: the next probe is the retry. Nothing else to do.
        () => {
          if (!ep.healthy && !this.closed) this.scheduleProbe(ep, attempt + 1);
        },
      );
    }, etcdBackoff(attempt + 2, this.maxBackoffMs));
    // Probes alone must not keep a process alive.
    ep.probeTimer.unref();
  }

  close(): void {
    this.closed = true;
    for (const ep of this.list) {
      if (ep.probeTimer) clearTimeout(ep.probeTimer);
      ep.close();
    }
  }
}

/** What a watch needs from its store. */
interface WatchContext {
  endpoints: Endpoints;
  maxBackoffMs: number;
  progressIntervalMs: number;
  silenceTimeoutMs: number;
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
export interface EtcdStoreWatch extends StoreWatch {
  /** The client URL of the member the watch is (or was last) attached to. */
  readonly endpoint: string | undefined;
}

class EtcdWatch implements EtcdStoreWatch {
  private lastDelivered: number;
  private stream: WatchStream | undefined;
  private member: Endpoint | undefined;
  /** The member whose stream broke last: the next attempt goes elsewhere when it can. */
  private avoid = new Set<Endpoint>();
  /** When the current stream last said anything (events, progress, creation). */
  private lastHeard = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  /** Bumped whenever the current stream is abandoned, so late callbacks of old streams are ignored. */
  private generation = 0;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private fragments: WatchEventMessage[] = [];
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
    private readonly prevValues: boolean,
  ) {
    this.lastDelivered = Math.max(0, afterRevision);
    this.key = ctx.toWire(prefix);
    this.rangeEnd = prefixEnd(this.key);
  }

  get endpoint(): string | undefined {
    return this.member?.url;
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
    const member = this.ctx.endpoints.pick(this.avoid);
    this.member = member;
    let stream: WatchStream;
    try {
      stream = member.openWatch();
    } catch (err) {
      // Only a closed channel throws here; retried like any other break.
      this.broken(err);
      return;
    }
    this.stream = stream;
    this.lastHeard = Date.now();
    // The listeners stay attached for the stream's whole life, so an error it emits after we
    // abandoned it always has a listener (an unlistened 'error' would crash the process).
    stream.on('data', (res: WatchResponseMessage) => {
      if (gen !== this.generation) return;
      this.lastHeard = Date.now();
      this.onResponse(res);
    });
    stream.on('error', (err: Error) => {
      if (gen === this.generation) this.broken(err);
    });
    stream.on('end', () => {
      if (gen === this.generation) this.broken(new Error('watch stream ended'));
    });
    stream.write(
      encodeWatchCreate({
        key: this.key,
        rangeEnd: this.rangeEnd,
        startRevision: this.lastDelivered + 1,
        prevKv: this.prevValues,
        fragment: true,
      }),
    );
    this.progressTimer = setInterval(() => this.checkAlive(gen, stream), this.ctx.progressIntervalMs);
    // The stream keeps the process alive while it matters; the timer alone must not.
    this.progressTimer.unref();
  }

  /**
   * A member that is stopped (SIGSTOP) or behind a dead link neither answers nor errors. Ask a
   * quiet stream for progress (etcd answers at once, events or not); one that stays silent past
   * the timeout is abandoned and the watch resumes on another member.
   */
  private checkAlive(gen: number, stream: WatchStream): void {
    if (gen !== this.generation) return;
    const quietMs = Date.now() - this.lastHeard;
    if (quietMs >= this.ctx.silenceTimeoutMs) {
      this.broken(new Error(`etcd member ${this.member?.url ?? '?'} sent nothing for ${quietMs} ms`));
    } else if (quietMs >= this.ctx.progressIntervalMs) {
      stream.write(WATCH_PROGRESS_REQUEST);
    }
  }

  private dropStream(): void {
    if (this.progressTimer) clearInterval(this.progressTimer);
    this.progressTimer = undefined;
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
    const member = this.member;
    if (member) {
      this.ctx.endpoints.failed(member, err);
      this.avoid = new Set([member]);
    }
    const delay = etcdBackoff(this.attempts++, this.ctx.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.connect();
    }, delay);
    const onRetry = this.ctx.onRetry;
    if (onRetry) {
      const info: WatchRetryInfo = {
        prefix: this.prefix,
        endpoint: member?.url ?? '',
        resumeRevision: this.lastDelivered + 1,
        attempt: this.attempts,
        delayMs: delay,
        reason: errorMessage(err),
      };
      // Outside our own call stack, so a throwing hook cannot leave this watch half-restarted.
      queueMicrotask(() => onRetry(info));
    }
  }

  private onResponse(res: WatchResponseMessage): void {
    if (res.canceled) {
      const compactRevision = res.compactRevision;
      if (compactRevision > 0) {
        this.fail(new CompactedError(this.lastDelivered, compactRevision));
      } else if (res.cancelReason.includes('no leader')) {
        // The member lost its leader (require-leader): another member may still have one.
        this.broken(new Error(`etcd cancelled the watch: ${res.cancelReason}`));
      } else {
        // Refusals without a compaction (permission denied, invalid range) would repeat on every
        // retry; ending the watch lets the caller re-list and watch again, which is always safe.
        this.fail(new InternalError(`etcd cancelled the watch: ${res.cancelReason || 'no reason given'}`));
      }
      return;
    }
    if (res.created) {
      this.attempts = 0;
      this.avoid.clear();
      if (this.member) this.ctx.endpoints.succeeded(this.member);
    }
    if (res.events.length === 0) return;
    if (res.fragment) {
      for (const ev of res.events) this.fragments.push(ev);
      return;
    }
    const events = this.fragments.length > 0 ? this.fragments.concat(res.events) : res.events;
    this.fragments = [];
    const floor = this.lastDelivered;
    const batch: WatchEvent[] = [];
    const positions: number[] = [];
    let last = floor;
    for (const ev of events) {
      const rev = ev.kv.modRevision;
      if (rev <= floor) continue; // replayed after a resume: already delivered
      if (rev < last) {
        // Cannot happen with a correct server; resuming from what was delivered is always safe.
        this.broken(new Error(`watch events out of order: ${rev} after ${last}`));
        return;
      }
      last = rev;
      batch.push(this.toEvent(ev, positions));
    }
    if (batch.length === 0) return;
    // Only whole revisions get here, so a delete's position can be derived from its neighbours.
    positionDeletes(batch, positions);
    for (let i = 0; i < batch.length; i++) batch[i]!.version = versionOf(batch[i]!.modRevision, positions[i]!);
    this.lastDelivered = last;
    this.enqueue({ events: batch });
  }

  /**
   * The event with its version still to be set (a delete's position is derived per batch); its
   * write position is appended to `positions`.
   */
  private toEvent(ev: WatchEventMessage, positions: number[]): WatchEvent {
    const kv = ev.kv;
    const key = this.ctx.fromWire(kv.key);
    const modRevision = kv.modRevision;
    let event: WatchEvent;
    if (ev.type === 'delete') {
      event = { type: 'delete', key, modRevision, version: 0 };
      positions.push(0);
    } else {
      const stamped = readStamp(kv.value);
      event = { type: 'put', key, modRevision, version: 0, value: stamped.value, createRevision: kv.createRevision };
      positions.push(stamped.position);
    }
    const prev: WatchKeyValue | undefined = ev.prevKv;
    if (prev !== undefined) {
      const stamped = readStamp(prev.value);
      event.prevValue = stamped.value;
      event.prevModRevision = prev.modRevision;
      event.prevVersion = versionOf(prev.modRevision, stamped.position);
    }
    return event;
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

/**
 * One etcd lease serves every expiring write of a ttl within a short window (5% of the ttl, at most
 * a minute), and is granted for the ttl plus that window, so each key lives at least its ttl: a
 * lease per write would cost a grant per Event. As kube-apiserver's lease manager does.
 */
export class LeaseReuse {
  private readonly current = new Map<number, { id: Promise<string>; until: number }>();

  constructor(private readonly grant: (ttlSeconds: number) => Promise<string>) {}

  leaseFor(ttlSeconds: number): Promise<string> {
    const now = Date.now();
    const held = this.current.get(ttlSeconds);
    if (held && now < held.until) return held.id;
    const windowSeconds = Math.max(1, Math.min(60, Math.floor(ttlSeconds * 0.05)));
    const id = this.grant(ttlSeconds + windowSeconds);
    this.current.set(ttlSeconds, { id, until: now + windowSeconds * 1000 });
    // A failed grant is not reused: the next write asks again.
    id.catch(() => {
      if (this.current.get(ttlSeconds)?.id === id) this.current.delete(ttlSeconds);
    });
    return id;
  }
}

export class EtcdStore implements Store {
  private readonly endpoints: Endpoints;
  private readonly prefix: string;
  private readonly prefixBytes: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly watches = new Set<EtcdWatch>();
  private readonly watchCtx: WatchContext;
  /** Batches concurrent transactions into one etcd call (etcd-group-commit.ts); its stats are public. */
  readonly groupCommit: TxnGroupCommitter;
  readonly pointReads: PointReadBatcher;
  /** Leases of keys that expire (TxnOp ttlSeconds). */
  private readonly leases = new LeaseReuse((ttl) => this.read((ep) => ep.client.leaseClient.leaseGrant({ TTL: ttl, ID: 0 })).then((r) => r.ID));
  private closed = false;

  constructor(opts: EtcdStoreOptions) {
    if (opts.endpoints.length === 0) throw new BadRequestError('EtcdStore needs at least one endpoint');
    this.prefix = opts.prefix ?? '/registry';
    this.prefixBytes = utf8Bytes(this.prefix);
    this.maxBackoffMs = opts.maxBackoffMs ?? 2_000;
    const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.requestTimeoutMs = requestTimeoutMs;
    const clientOptions: Omit<IOptions, 'hosts'> = {
      // Streams (watches) live indefinitely; every unary call gets a deadline.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + requestTimeoutMs }),
      faultHandling: { global: new RunOnce(), host: () => new RunOnce() },
      grpcOptions: {
        // Lists of many objects and catch-up watch responses exceed gRPC's 4 MiB default.
        'grpc.max_receive_message_length': 2 ** 31 - 1,
        // HTTP/2 flow control: with the default 64 KiB window a watch stream carries at most 64 KiB
        // per turn of a busy event loop, far less than the node ledgers' watch needs (~10 KiB per
        // event at 100 pods a node): the backlog then waits in etcd, which holds it in memory.
        'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
        // Detect a silently dead connection (no RST) while a call is open; etcd refuses pings
        // more often than every 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': this.maxBackoffMs,
        interceptors: [requireLeader],
      },
    };
    // One client per member: etcd3 would pick a random member per call and, with our run-once
    // policy, never fail over within a call; choosing the member here lets `call` do both.
    const list = opts.endpoints.map((url) => new Endpoint(url, new Etcd3({ ...clientOptions, hosts: [url] }), clientOptions.grpcOptions ?? {}, requestTimeoutMs));
    // A linearizable read: only a member that is up, reachable and in touch with a quorum passes.
    const probeKey = this.toWire('');
    const probeTimeoutMs = Math.min(2_000, requestTimeoutMs);
    this.endpoints = new Endpoints(
      list,
      (ep, timeoutMs = probeTimeoutMs) => ep.client.kv.range({ key: probeKey, count_only: true }, { deadline: Date.now() + timeoutMs }),
      this.maxBackoffMs,
    );
    // Each batch is one write: failed over while certainly not executed, else OutcomeUnknownError
    // for every transaction in it.
    this.pointReads = new PointReadBatcher((req) => this.read((ep) => ep.txn(req)));
    this.groupCommit = new TxnGroupCommitter((req) => this.write((ep) => ep.txn(req)), {
      maxInFlight: opts.groupCommitInFlight ?? 4,
      resourceOf: (key) => resourceOfKey(this.fromWire(key)),
    });
    this.watchCtx = {
      endpoints: this.endpoints,
      maxBackoffMs: this.maxBackoffMs,
      progressIntervalMs: opts.watchProgressIntervalMs ?? 1_000,
      silenceTimeoutMs: opts.watchSilenceTimeoutMs ?? 3_000,
      onRetry: opts.onWatchRetry,
      toWire: (key) => this.toWire(key),
      fromWire: (key) => this.fromWire(key),
      detach: (w) => this.watches.delete(w),
    };
  }

  batchingStats(): BatchingStats {
    const { txns, calls } = this.groupCommit.stats;
    return { txns, txnCalls: calls, reads: this.pointReads.stats.reads, readCalls: this.pointReads.stats.calls };
  }

  async get(key: string): Promise<StoredValue | undefined> {
    const kv = await this.pointReads.get(this.toWire(key));
    return kv ? this.stored(kv) : undefined;
  }

  async create(key: string, value: string): Promise<StoredValue> {
    const res = await this.txn({ compares: [{ key, modRevision: 0 }], success: [{ type: 'put', key, value }] });
    if (!res.succeeded) throw new AlreadyExistsError(`key ${key} already exists`);
    return { key, value, modRevision: res.revision, createRevision: res.revision, version: res.versions[0]! };
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
    const { response: res, positions } = await this.groupCommit.txn({
      compare: [this.modCompare(key, 'Equal', expectedModRevision)],
      success: [{ request_put: { key: this.toWire(key), value: Buffer.from(value, 'utf8'), prev_kv: true } }],
      failure: [{ request_range: { key: this.toWire(key) } }],
    });
    const revision = Number(res.header.revision);
    if (res.succeeded) {
      const prev = res.responses[0]?.response_put?.prev_kv;
      return {
        key,
        value,
        modRevision: revision,
        createRevision: prev ? Number(prev.create_revision) : revision,
        version: versionOf(revision, positions[0]!),
      };
    }
    const cur = res.responses[0]?.response_range?.kvs[0];
    if (!cur) throw new NotFoundError(`key ${key} not found`);
    throw new ConflictError(`key ${key} is at revision ${cur.mod_revision}, not ${expectedModRevision}`);
  }

  async delete(key: string, expectedModRevision?: number): Promise<number> {
    // "Exists" is always part of the guard: a mod_revision of 0 would otherwise match a missing key.
    const compare = [this.modCompare(key, 'Greater', 0)];
    if (expectedModRevision !== undefined) compare.push(this.modCompare(key, 'Equal', expectedModRevision));
    const { response: res } = await this.groupCommit.txn({
      compare,
      success: [{ request_delete_range: { key: this.toWire(key) } }],
      failure: [{ request_range: { key: this.toWire(key) } }],
    });
    if (res.succeeded) return Number(res.header.revision);
    const cur = res.responses[0]?.response_range?.kvs[0];
    if (!cur) throw new NotFoundError(`key ${key} not found`);
    throw new ConflictError(`key ${key} is at revision ${cur.mod_revision}, not ${expectedModRevision}`);
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    checkTxn(req, this.prefixBytes);
    const failure = req.failure ?? [];
    const leases = new Map<number, string>();
    for (const op of [...req.success, ...failure]) {
      if (op.type === 'put' && op.ttlSeconds !== undefined && !leases.has(op.ttlSeconds)) leases.set(op.ttlSeconds, await this.leases.leaseFor(op.ttlSeconds));
    }
    const { response: res, positions } = await this.groupCommit.txn({
      compare: req.compares.map((c) => this.modCompare(c.key, 'Equal', c.modRevision)),
      success: req.success.map((op) => this.requestOp(op, leases)),
      failure: failure.map((op) => this.requestOp(op, leases)),
    });
    const ops = res.succeeded ? req.success : failure;
    const revision = Number(res.header.revision);
    const reads: (StoredValue | undefined)[] = [];
    const versions: (number | undefined)[] = [];
    let write = 0;
    ops.forEach((op, i) => {
      if (op.type !== 'get') {
        versions.push(versionOf(revision, positions[write++]!));
        return;
      }
      versions.push(undefined);
      const kv = (res.responses[i] as IResponseOp | undefined)?.response_range?.kvs[0];
      reads.push(kv ? this.stored(kv) : undefined);
    });
    return { succeeded: res.succeeded, revision, reads, versions };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    // Revision 0 (like undefined) means "current", as in etcd's RangeRequest.
    const atRevision = opts.revision !== undefined && opts.revision > 0 ? opts.revision : undefined;
    const from = this.toWire(prefix);
    const start = opts.startKey !== undefined && opts.startKey > prefix ? this.toWire(opts.startKey) : from;
    let res;
    try {
      res = await this.read((ep) =>
        ep.client.kv.range({
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

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers, opts: WatchOptions = {}): EtcdStoreWatch {
    const w = new EtcdWatch(this.watchCtx, prefix, afterRevision, handlers, opts.prevValues ?? true);
    if (this.closed) {
      w.fail(new UnavailableError('store is closed'));
    } else {
      this.watches.add(w);
      w.start();
    }
    return w;
  }

  /** The members the open watches are attached to (for tests and diagnostics). */
  watchEndpoints(): string[] {
    return [...this.watches].map((w) => w.endpoint ?? '');
  }

  async compact(revision: number): Promise<void> {
    try {
      // Idempotent, so retried like a read.
      await this.read((ep) => ep.client.kv.compact({ revision, physical: false }));
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
    const res = await this.read((ep) => ep.client.kv.range({ key: this.toWire(''), count_only: true }));
    return Number(res.header.revision);
  }

  /**
   * Asks every member at once for a quorum read (the stores' probe); resolves at the first answer.
   * Unlike a call, it is not retried or failed over: it says whether etcd can serve this process
   * now — every member down, leaderless or cut off from it fails it within `timeoutMs`.
   */
  async ping(timeoutMs: number): Promise<void> {
    await this.endpoints.anyAnswers(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.fail(new UnavailableError('store is closed'));
    this.endpoints.close();
  }

  private toWire(key: string): Buffer {
    return Buffer.from(this.prefix + key, 'utf8');
  }

  private fromWire(key: Buffer): string {
    // Decodes only the part after the prefix: a slice of the whole key would keep the whole alive
    // for as long as the key is held (every cached object's).
    return key.toString('utf8', this.prefixBytes);
  }

  private stored(kv: IKeyValue): StoredValue {
    const { value, position } = readStamp(kv.value);
    const modRevision = Number(kv.mod_revision);
    return {
      key: this.fromWire(kv.key),
      value,
      modRevision,
      createRevision: Number(kv.create_revision),
      version: versionOf(modRevision, position),
    };
  }

  private modCompare(key: string, result: 'Equal' | 'Greater', modRevision: number): ICompare {
    return { key: this.toWire(key), target: 'Mod', result, mod_revision: modRevision };
  }

  private requestOp(op: TxnOp, leases: ReadonlyMap<number, string>): IRequestOp {
    switch (op.type) {
      case 'put': {
        const lease = op.ttlSeconds !== undefined ? leases.get(op.ttlSeconds) : undefined;
        return { request_put: { key: this.toWire(op.key), value: Buffer.from(op.value, 'utf8'), ...(lease ? { lease } : {}) } };
      }
      case 'delete':
        return { request_delete_range: { key: this.toWire(op.key) } };
      case 'get':
        return { request_range: { key: this.toWire(op.key) } };
    }
  }

  /** A read is idempotent: retried on UnavailableError, on another member when there is one. */
  private read<T>(fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    return this.call(fn, false);
  }

  /**
   * A write is sent again only when it certainly was not executed (see NOT_EXECUTED). Otherwise —
   * the connection broke or the deadline passed after it left — it may have committed or not:
   * re-sending it could turn its success into a false conflict, so it fails with
   * OutcomeUnknownError (504) and the caller re-reads before deciding.
   */
  private write<T>(fn: (ep: Endpoint) => Promise<T>): Promise<T> {
    return this.call(fn, true);
  }

  /**
   * Runs `fn` on a member, failing over to the others (each once, then again after a backoff)
   * while the failure is one that may be retried, for up to requestTimeoutMs in all.
   */
  private async call<T>(fn: (ep: Endpoint) => Promise<T>, isWrite: boolean): Promise<T> {
    const start = Date.now();
    const tried = new Set<Endpoint>();
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new UnavailableError('store is closed');
      const ep = this.endpoints.pick(tried);
      let err: unknown;
      try {
        const res = await fn(ep);
        this.endpoints.succeeded(ep);
        return res;
      } catch (e) {
        err = e;
      }
      const mapped = mapEtcdError(err);
      // Any other error is etcd's answer to the request, not the member's failure.
      if (!(mapped instanceof UnavailableError)) throw mapped;
      if (!busy(err)) this.endpoints.failed(ep, err);
      if (isWrite && !notExecuted(err)) {
        throw new OutcomeUnknownError(`etcd write outcome unknown (it may or may not have committed): ${errorMessage(err)}`);
      }
      if (this.closed || Date.now() - start >= this.requestTimeoutMs) throw mapped;
      tried.add(ep);
      if (tried.size < this.endpoints.size) continue; // another member at once
      tried.clear();
      await sleep(etcdBackoff(attempt, Math.min(this.maxBackoffMs, CALL_RETRY_MAX_MS)));
    }
  }

  /**
   * etcd's "compacted" range error does not say where history now starts; only a watch reports it.
   * Opens a throwaway watch at `requested` and reads compact_revision from its cancellation.
   */
  private async compactRevisionAbove(requested: number): Promise<number> {
    // Fallback when etcd does not answer in time: the smallest compaction revision that explains the error.
    const fallback = requested + 1;
    let s: WatchStream;
    try {
      s = this.endpoints.pick(new Set()).openWatch();
    } catch {
      return fallback; // the caller's CompactedError matters more than the exact number
    }
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
      s.on('data', (res: WatchResponseMessage) => {
        const c = res.compactRevision;
        if (c > 0) settle(c);
        else if (res.canceled) settle(fallback);
      });
      // A failed probe only costs the exact number; the listener also keeps the error handled.
      s.on('error', () => settle(fallback));
      s.on('end', () => settle(fallback));
      const key = this.toWire('');
      s.write(encodeWatchCreate({ key, rangeEnd: prefixEnd(key), startRevision: requested, prevKv: false, fragment: false }));
    });
  }
}
