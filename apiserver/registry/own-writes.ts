// This server's own writes to one resource, from the moment one is sent until the resource's watch
// cache has applied it — the one overlay every write path shares (a resource store's creates,
// updates and deletes, the placement commit, evictions: all through guarded-txn.ts). It serves two
// purposes, per key:
//
//   sent       the bytes and the object of a write in flight: when the write's watch event brings
//              the same bytes back, the cache takes the object instead of parsing them again (a
//              bound pod's node ledger is read on every binding);
//   committed  the last write that committed (the object at its resourceVersion, or a delete):
//              read-your-writes for decisions taken on cached state, until the cache has it.
//
// An entry lives from the write until its event is applied, no longer: a commit whose event the
// cache applied before the commit's answer came is not kept, a delete's event ends it like a put's,
// and a re-list ends every commit it covers — so written objects are not held past the moment the
// cache has them. Bounded all the same (a write whose answer is lost leaves its bytes): when full,
// what the cache has applied goes first, then the oldest entries.
//
// It is also where creates meet backpressure: when the watch cache falls behind this server's own
// writes by `lagLimit` commits (the event loop too busy to read etcd's watch as fast as it
// writes), new creates wait for it (room). Unchecked, creates outrun what the server can follow:
// everyone watching through it (schedulers, controllers) sees the pods ever later, and past the
// capacity read-your-writes would be lost to eviction.
import { revisionOf } from '../storage/resource-version.js';
import type { KubeObject } from './object.js';
import { withRevision, type OwnWriteSource } from './watch-cache.js';

/** A committed write the watch cache has not applied yet: the object, or undefined for a delete. */
export interface OwnWrite {
  obj: KubeObject | undefined;
  /** The etcd revision it was written at. */
  modRevision: number;
}

interface Entry {
  sent?: { value: string; obj: KubeObject };
  committed?: OwnWrite;
}

/** Remembered keys per resource. */
export const OWN_WRITES_CAPACITY = 10_000;

/**
 * Committed writes the watch cache has not applied, per resource, past which new creates wait:
 * about a second of lag at the rates a 2-core server writes, a tenth of the capacity.
 */
export const OWN_WRITES_LAG_LIMIT = 1_000;

export class OwnWrites implements OwnWriteSource {
  /** Least recently written first (an entry moves to the end on every write). */
  private readonly entries = new Map<string, Entry>();
  /** Entries with a `committed` write: this server's commits the watch cache has not applied. */
  private unappliedCommits = 0;
  /** Writes waiting for the lag to fall below `lagLimit` (room). */
  private roomWaiters: (() => void)[] = [];

  constructor(
    /** The revision the watch cache has applied every event up to. */
    private readonly applied: () => number,
    private readonly capacity = OWN_WRITES_CAPACITY,
    private readonly lagLimit = OWN_WRITES_LAG_LIMIT,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** This server's committed writes the watch cache has not applied yet. */
  get lag(): number {
    return this.unappliedCommits;
  }

  /**
   * Undefined when a write may be sent now (or `lagLimit` is 0: no limit). Otherwise the watch
   * cache lags `lagLimit` commits behind: a promise of true once it has caught up below that, or
   * false after `maxWaitMs`. All waiters go at once, so the lag may pass the limit by as many.
   */
  room(maxWaitMs: number): Promise<boolean> | undefined {
    if (this.lagLimit <= 0 || this.unappliedCommits < this.lagLimit) return undefined;
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.roomWaiters = this.roomWaiters.filter((w) => w !== wake);
        resolve(false);
      }, maxWaitMs);
      this.roomWaiters.push(wake);
    });
  }

  /** A write of `obj` as `value` is about to be sent. The caller hands `obj` over: never mutated again. */
  sending(key: string, value: string, obj: KubeObject): void {
    this.touch(key).sent = { value, obj };
  }

  /** The write of `value` did not commit: its object must never stand for the key. */
  notCommitted(key: string, value: string): void {
    const e = this.entries.get(key);
    if (e?.sent?.value !== value) return;
    delete e.sent;
    this.dropIfEmpty(key, e);
  }

  /** A write committed at `version`; `obj` undefined for a delete. Returns the object at its resourceVersion. */
  committed(key: string, obj: KubeObject | undefined, version: number): KubeObject | undefined {
    const at = obj && withRevision(obj, version);
    const modRevision = revisionOf(version);
    const e = this.entries.get(key);
    // Answers of two writes to one key may come in either order: the later write stands.
    if (e?.committed !== undefined && e.committed.modRevision > modRevision) return at;
    if (modRevision <= this.applied()) {
      // The cache applied the write's event before its answer came: nothing to overlay, and what
      // was sent for the key has come back (or, for a newer write in flight, only a reuse is lost).
      if (e !== undefined) this.remove(key, e);
      return at;
    }
    const entry = this.touch(key);
    if (entry.committed === undefined) this.unappliedCommits++;
    entry.committed = { obj: at, modRevision };
    return at;
  }

  /**
   * The watch cache is applying a put of `value` (undefined: a delete) to `key` at `version`
   * (synchronously: it holds the object once this returns). The object this server wrote, when the
   * bytes are the ones it sent; equal bytes are an equal object, whoever wrote them.
   */
  watched(key: string, value: string | undefined, version: number): KubeObject | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    let mine: KubeObject | undefined;
    if (value !== undefined && e.sent?.value === value) {
      // When the commit's answer came first, its object is this write at this very version (a key
      // is written once per revision): one copy serves read-your-writes and then the cache.
      const c = e.committed;
      mine = c?.obj !== undefined && c.modRevision === revisionOf(version) ? c.obj : withRevision(e.sent.obj, version);
      delete e.sent;
    }
    if (e.committed && e.committed.modRevision <= revisionOf(version)) this.clearCommitted(e);
    this.dropIfEmpty(key, e);
    return mine;
  }

  /** The watch cache re-listed: the commits it now reflects end, their events will never come. */
  reloaded(): void {
    const applied = this.applied();
    for (const [key, e] of this.entries) {
      if (e.committed !== undefined && e.committed.modRevision <= applied) {
        this.clearCommitted(e);
        this.dropIfEmpty(key, e);
      }
    }
  }

  /** The last write to `key` this server committed, while the watch cache has not applied it. */
  unapplied(key: string): OwnWrite | undefined {
    const e = this.entries.get(key);
    const c = e?.committed;
    if (c === undefined) return undefined;
    if (c.modRevision > this.applied()) return c;
    this.clearCommitted(e!);
    this.dropIfEmpty(key, e!);
    return undefined;
  }

  private touch(key: string): Entry {
    let e = this.entries.get(key);
    if (e !== undefined) this.entries.delete(key);
    else {
      if (this.entries.size >= this.capacity) this.evict();
      e = {};
    }
    this.entries.set(key, e);
    return e;
  }

  private dropIfEmpty(key: string, e: Entry): void {
    if (e.sent === undefined && e.committed === undefined) this.entries.delete(key);
  }

  private remove(key: string, e: Entry): void {
    if (e.committed !== undefined) this.clearCommitted(e);
    this.entries.delete(key);
  }

  private clearCommitted(e: Entry): void {
    delete e.committed;
    this.unappliedCommits--;
    if (this.roomWaiters.length > 0 && this.unappliedCommits < this.lagLimit) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /**
   * Full: drop every entry whose commit the cache has applied (and writes in flight with them: only
   * a reuse is lost); if the cache lags that far, the oldest until a tenth is free, so the sweep
   * runs once per tenth of the capacity at most.
   */
  private evict(): void {
    const applied = this.applied();
    for (const [key, e] of this.entries) {
      if (e.committed === undefined || e.committed.modRevision <= applied) this.remove(key, e);
    }
    const keep = this.capacity - Math.max(1, Math.floor(this.capacity / 10));
    for (const [key, e] of this.entries) {
      if (this.entries.size <= keep) break;
      this.remove(key, e);
    }
  }
}
