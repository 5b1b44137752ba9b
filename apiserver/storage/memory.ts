// The embedded backend (DESIGN §6): etcd's MVCC model in process memory, for `npm start` without
// etcd and for fast tests. One global revision; every key keeps its version history so reads at an
// older revision are exact until compaction; an event log feeds watches that start in the past.
//
// Everything here runs synchronously inside one JS turn, so a write is atomic by construction.
// Only watch delivery is deferred (a microtask per watcher), so handlers never run inside the
// writer's call stack and always see events in revision order.

import {
  AlreadyExistsError,
  BadRequestError,
  CompactedError,
  ConflictError,
  NotFoundError,
  UnavailableError,
} from '../../shared/errors.js';
import { checkTxn, utf8Bytes } from './limits.js';
import { versionOf } from './resource-version.js';
import { SortedKeys } from './sorted-keys.js';
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
  WatchOptions,
} from './store.js';

export interface MemoryStoreOptions {
  /** Only counted in request sizes, so limits match an etcd store with the same prefix. */
  prefix?: string;
}

interface Version {
  modRevision: number;
  createRevision: number;
  /** The write's place among its revision's writes (resource-version.ts). */
  position: number;
  /** undefined = the key was deleted at modRevision (a tombstone). */
  value: string | undefined;
}

/** Index of the first event with modRevision > `rev` in the revision-ordered `log`. */
function firstAfter(log: readonly WatchEvent[], rev: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((log[mid] as WatchEvent).modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The version of a key visible at `rev`, or undefined when absent (never written, or deleted). */
function visibleAt(versions: readonly Version[], rev: number): Version | undefined {
  // Fast path: reads at the current revision see the newest version.
  const last = versions[versions.length - 1];
  if (last === undefined) return undefined;
  if (last.modRevision <= rev) return last.value === undefined ? undefined : last;
  let lo = 0;
  let hi = versions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((versions[mid] as Version).modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  const v = versions[lo - 1];
  return v === undefined || v.value === undefined ? undefined : v;
}

function stored(key: string, v: Version): StoredValue {
  return {
    key,
    value: v.value as string,
    modRevision: v.modRevision,
    createRevision: v.createRevision,
    version: versionOf(v.modRevision, v.position),
  };
}

/** An event as a watcher that asked for no previous values gets it (as etcd sends it then). */
function withoutPrevious(ev: WatchEvent): WatchEvent {
  if (ev.prevValue === undefined) return ev;
  const { prevValue: _value, prevModRevision: _modRevision, prevVersion: _version, ...rest } = ev;
  return Object.freeze(rest);
}

class MemoryWatch implements StoreWatch {
  private pending: WatchEvent[] = [];
  private scheduled = false;
  done = false;

  constructor(
    private readonly owner: MemoryStore,
    readonly prefix: string,
    /** Events at or below this revision were asked not to be delivered. */
    readonly afterRevision: number,
    private readonly handlers: WatchHandlers,
    private readonly prevValues: boolean,
  ) {}

  push(events: readonly WatchEvent[]): void {
    for (const ev of events) {
      if (ev.modRevision > this.afterRevision && ev.key.startsWith(this.prefix)) this.pending.push(this.prevValues ? ev : withoutPrevious(ev));
    }
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    // A handler that throws is a bug in the caller; it propagates from this microtask as an
    // uncaught exception, exactly as from an EventEmitter listener, rather than being hidden.
    if (!this.done && batch.length > 0) this.handlers.onEvents(batch);
  }

  /** Ends the watch with an error, delivered after anything already queued. */
  fail(err: CompactedError | UnavailableError): void {
    if (this.done) return;
    this.owner.detach(this);
    queueMicrotask(() => {
      if (this.done) return;
      this.flush();
      this.done = true;
      this.handlers.onError(err);
    });
  }

  cancel(): void {
    this.done = true;
    this.pending = [];
    this.owner.detach(this);
  }
}

export class MemoryStore implements Store {
  private rev = 1; // etcd starts an empty store at revision 1; the first write is revision 2
  private compactRev = 0;
  private readonly data = new Map<string, Version[]>();
  /** Every key in `data`, ordered, for prefix ranges. */
  private readonly keys = new SortedKeys();
  /** Every change since the compaction revision, in revision order. */
  private log: WatchEvent[] = [];
  private readonly watches = new Set<MemoryWatch>();
  private readonly prefixBytes: number;
  private closed = false;
  /** Keys written with a ttl: when each expires (ms since the epoch). */
  private readonly expiry = new Map<string, number>();
  private expirySweep: NodeJS.Timeout | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.prefixBytes = utf8Bytes(opts.prefix ?? '/registry');
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.checkOpen();
    return this.read(key);
  }

  async create(key: string, value: string): Promise<StoredValue> {
    const res = await this.txn({
      compares: [{ key, modRevision: 0 }],
      success: [{ type: 'put', key, value }],
    });
    if (!res.succeeded) throw new AlreadyExistsError(`key ${key} already exists`);
    return { key, value, modRevision: res.revision, createRevision: res.revision, version: res.versions[0]! };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<StoredValue> {
    this.checkOpen();
    checkTxn({ compares: [{ key, modRevision: expectedModRevision }], success: [{ type: 'put', key, value }] }, this.prefixBytes);
    const cur = this.read(key);
    if (!cur) throw new NotFoundError(`key ${key} not found`);
    if (cur.modRevision !== expectedModRevision) {
      throw new ConflictError(`key ${key} is at revision ${cur.modRevision}, not ${expectedModRevision}`);
    }
    this.apply([{ type: 'put', key, value }]);
    return { key, value, modRevision: this.rev, createRevision: cur.createRevision, version: versionOf(this.rev, 0) };
  }

  async delete(key: string, expectedModRevision?: number): Promise<number> {
    this.checkOpen();
    const cur = this.read(key);
    if (!cur) throw new NotFoundError(`key ${key} not found`);
    if (expectedModRevision !== undefined && cur.modRevision !== expectedModRevision) {
      throw new ConflictError(`key ${key} is at revision ${cur.modRevision}, not ${expectedModRevision}`);
    }
    this.apply([{ type: 'delete', key }]);
    return this.rev;
  }

  async txn(req: TxnRequest): Promise<TxnResult> {
    this.checkOpen();
    checkTxn(req, this.prefixBytes);
    const succeeded = req.compares.every((c) => (this.read(c.key)?.modRevision ?? 0) === c.modRevision);
    const ops = succeeded ? req.success : req.failure ?? [];
    const reads = this.apply(ops);
    // Writes take positions in op order (as in the etcd store), whether or not they changed anything.
    const versions: (number | undefined)[] = [];
    let position = 0;
    for (const op of ops) versions.push(op.type === 'get' ? undefined : versionOf(this.rev, position++));
    return { succeeded, revision: this.rev, reads, versions };
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.checkOpen();
    // Revision 0 (like undefined) means "current", as in etcd's RangeRequest.
    const rev = opts.revision !== undefined && opts.revision > 0 ? opts.revision : this.rev;
    this.checkReadable(rev);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const start = opts.startKey !== undefined && opts.startKey > prefix ? opts.startKey : prefix;
    const items: StoredValue[] = [];
    let remaining = 0;
    this.keys.scanFrom(start, (key) => {
      if (!key.startsWith(prefix)) return false;
      const v = visibleAt(this.data.get(key) as Version[], rev);
      if (v) {
        if (items.length < limit) items.push(stored(key, v));
        else remaining++;
      }
      return true;
    });
    return { items, revision: rev, more: remaining > 0, remaining };
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers, opts: WatchOptions = {}): StoreWatch {
    const w = new MemoryWatch(this, prefix, afterRevision, handlers, opts.prevValues ?? true);
    if (this.closed) {
      w.fail(new UnavailableError('store is closed'));
      return w;
    }
    // etcd keeps the compaction revision itself readable, so a watch may start there.
    if (afterRevision + 1 < this.compactRev) {
      w.fail(new CompactedError(afterRevision, this.compactRev));
      return w;
    }
    // Replay and registration happen in the same turn, so no write can fall between them.
    w.push(this.log.slice(firstAfter(this.log, afterRevision)));
    this.watches.add(w);
    return w;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.rev) {
      throw new BadRequestError(`cannot compact at revision ${revision}: it is in the future (current ${this.rev})`);
    }
    // Idempotent like a periodic compactor needs: several API servers may race to compact.
    if (revision <= this.compactRev) return;
    this.compactRev = revision;
    this.keys.retain((key) => {
      const versions = this.data.get(key) as Version[];
      // Keep the version visible at `revision` (so reads there stay exact) and everything newer.
      let firstKept = versions.length;
      while (firstKept > 0 && (versions[firstKept - 1] as Version).modRevision > revision) firstKept--;
      if (firstKept > 0 && (versions[firstKept - 1] as Version).value !== undefined) firstKept--;
      const rest = firstKept === 0 ? versions : versions.slice(firstKept);
      if (rest.length === 0) {
        this.data.delete(key);
        return false;
      }
      this.data.set(key, rest);
      return true;
    });
    // Events at the compaction revision stay: a watch may start exactly there, as on etcd.
    this.log = this.log.slice(firstAfter(this.log, revision - 1));
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.expirySweep);
    for (const w of [...this.watches]) w.fail(new UnavailableError('store is closed'));
  }

  /** @internal called by a watch when it ends. */
  detach(w: MemoryWatch): void {
    this.watches.delete(w);
  }

  /** Keys written with a ttl are deleted by a sweep once a second, as etcd expires its leases. */
  private setExpiry(key: string, ttlSeconds: number | undefined): void {
    if (ttlSeconds === undefined) {
      this.expiry.delete(key);
      return;
    }
    this.expiry.set(key, Date.now() + ttlSeconds * 1000);
    this.expirySweep ??= setInterval(() => this.expire(), 1000).unref();
  }

  private expire(): void {
    const now = Date.now();
    const due = [...this.expiry].filter(([, at]) => at <= now).map(([key]) => key);
    if (due.length > 0) this.apply(due.map((key) => ({ type: 'delete', key })));
  }

  private checkOpen(): void {
    if (this.closed) throw new UnavailableError('store is closed');
  }

  private checkReadable(rev: number): void {
    if (rev < this.compactRev) throw new CompactedError(rev, this.compactRev);
    if (rev > this.rev) {
      throw new BadRequestError(`revision ${rev} is in the future (current ${this.rev})`);
    }
  }

  private read(key: string): StoredValue | undefined {
    const versions = this.data.get(key);
    const last = versions?.[versions.length - 1];
    return last && last.value !== undefined ? stored(key, last) : undefined;
  }

  /**
   * Runs `ops` in order as one revision (reads see earlier writes of the same txn, as in etcd) and
   * returns the results of the gets. The revision moves only when something changed.
   */
  private apply(ops: readonly TxnOp[]): (StoredValue | undefined)[] {
    const next = this.rev + 1;
    const events: WatchEvent[] = [];
    const reads: (StoredValue | undefined)[] = [];
    let position = -1;
    for (const op of ops) {
      if (op.type === 'get') {
        reads.push(this.read(op.key));
        continue;
      }
      position++;
      let versions = this.data.get(op.key);
      const prev = versions?.[versions.length - 1];
      const prevLive = prev && prev.value !== undefined ? prev : undefined;
      if (op.type === 'delete' && !prevLive) continue; // deleting nothing is not a change
      if (!versions) {
        versions = [];
        this.data.set(op.key, versions);
        this.keys.insert(op.key);
      }
      const prevFields = prevLive
        ? {
            prevValue: prevLive.value,
            prevModRevision: prevLive.modRevision,
            prevVersion: versionOf(prevLive.modRevision, prevLive.position),
          }
        : {};
      const version = versionOf(next, position);
      if (op.type === 'put') {
        this.setExpiry(op.key, op.ttlSeconds);
        const createRevision = prevLive ? prevLive.createRevision : next;
        versions.push({ modRevision: next, createRevision, position, value: op.value });
        events.push(
          Object.freeze({ type: 'put', key: op.key, modRevision: next, version, value: op.value, createRevision, ...prevFields }),
        );
      } else {
        this.expiry.delete(op.key);
        versions.push({ modRevision: next, createRevision: 0, position, value: undefined });
        events.push(Object.freeze({ type: 'delete', key: op.key, modRevision: next, version, ...prevFields }));
      }
    }
    if (events.length > 0) {
      this.rev = next;
      for (const ev of events) this.log.push(ev);
      for (const w of this.watches) w.push(events);
    }
    return reads;
  }
}
