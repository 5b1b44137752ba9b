// One store watch per resource, fanned out to every HTTP watcher (DESIGN §2, issue: watch cache).
// The cache holds the current objects (served for `resourceVersion=0` lists) and a bounded window
// of recent events, so a watch from any revision inside the window replays from memory. Both hold
// the stored strings, not decoded objects (a decoded object costs several times its JSON's heap):
// objects are decoded when something needs them — an event when its first watcher does, shared by
// all of them — and the hot ones kept in a small bounded cache beside. A watch
// from before the window falls back to a direct store watch (the store still has the history, or
// says Compacted → 410). A watcher that cannot keep up is dropped, never allowed to stall others.
import { CellError, CompactedError, ExpiredError, UnavailableError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { versionAfter, watchStartRevision } from '../storage/resource-version.js';
import type { Store, StoreWatch, WatchEvent as StoreEvent } from '../storage/store.js';
import type { KubeObject } from './object.js';
import { sleepBackoff } from '../../shared/backoff.js';
import { guardCached } from '../../shared/cache-mutation-guard.js';
import type { StoredForm } from './served-json.js';
import { WatcherIndex, type ExactField } from './watcher-index.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * Decoded objects kept per resource (least recently used go first). The cache holds every object
 * as the stored string, which costs a fraction of the decoded object's heap; the decoded ones kept
 * are the hot set — a pod just created is read again when it is bound, then when its status
 * changes, within seconds. A few thousand covers that set at thousands of writes per second, and
 * costs a fixed few tens of MiB at most, whatever the number of objects.
 */
export const DECODED_CACHE_SIZE = 4096;
/** Objects per store read when a watch starts from a consistent list (watchConsistent). */
const CONSISTENT_PAGE = 1000;

/**
 * Stored bytes (string lengths) of the values the event window may hold per resource, beside its
 * event count. Events of large objects — a node's allocation ledger is rewritten whole by every
 * binding to it, 10+ KiB on a full node — would otherwise make the window the largest part of the
 * heap; 20,000 events of ordinary pods stay well inside. A watch from before the window reads the
 * store's history instead, as one from before the event count does.
 */
export const WINDOW_BYTES = 64 * 2 ** 20;

/** One change of one object, as the window keeps it: the stored strings (shared with the current state), never decoded objects. */
interface WindowEvent {
  /** The change's resourceVersion (storage/resource-version.ts). */
  version: number;
  key: string;
  /** Stored value after the change; undefined for a delete. */
  value?: string;
  /** Stored value before the change, and its resourceVersion; undefined for a create. */
  prevValue?: string;
  prevVersion?: number;
}

/** What a dropped slot of the event window holds until the slots before the window are cut off. */
const DROPPED: WindowEvent = { version: 0, key: '' };

/** An object as the cache holds it: exactly the string the store gave, and its resourceVersion. */
interface Stored {
  value: string;
  version: number;
}

/**
 * An object as a watcher is sent it: as stored, from which its JSON is made without serialising it
 * (served-json.ts), and decoded only when the watcher needs the object itself (a Table, an
 * in-process reader). One per event, shared by every watcher it goes to, and so is the decode: a
 * watcher without a selector that only forwards JSON — a scheduler's watch of the node ledgers —
 * costs no parse at all.
 */
export interface WatchedObject {
  readonly stored: StoredForm;
  object(): KubeObject;
}

function watchedObject(stored: StoredForm, decode: () => KubeObject): WatchedObject {
  let obj: KubeObject | undefined;
  return { stored, object: () => (obj ??= decode()) };
}

/** What a watcher sends: the decision of which events it sees is made by its filter. */
export interface WatcherSink {
  /** Deliver one event; returns false when the consumer is overloaded and must be dropped. */
  send(type: Exclude<WatchEventType, 'ERROR' | 'BOOKMARK'>, watched: WatchedObject): boolean;
  bookmark(version: number): void;
  /** The initial state (ADDED events) has been sent: it is the state at `version`. Later events follow it. */
  initialState?(version: number): void;
  /**
   * The catch-up (current state, or the replay from the requested revision) has been sent. Until
   * then a consumer is not judged slow: the catch-up is written in one go, faster than any client reads.
   */
  caughtUp?(): void;
  /** The watch ends: an error (410 etc.) to report, or undefined for a clean close. */
  close(err?: CellError): void;
}

export interface WatchFilter {
  /** Key prefix, e.g. `/pods/default/` for one namespace. */
  keyPrefix: string;
  /**
   * Which objects under the prefix the watcher sees; absent: all of them. Then a change never moves
   * an object in or out of sight, and the object before a change is not decoded to find out.
   */
  matches?(obj: KubeObject): boolean;
  /**
   * A field `matches` requires to equal a value: the cache then offers the watcher only events of
   * objects whose field had or has that value (watcher-index.ts). `matches` still decides.
   */
  exact?: ExactField;
}

interface Watcher {
  /** Only events with a higher resourceVersion are for this watcher. */
  afterVersion: number;
  filter: WatchFilter;
  sink: WatcherSink;
  closed: boolean;
  /** For a watcher served from store history: cancels its store watch. */
  stopHistory?: () => void;
}

/** This server's own writes, as the cache applies their events (own-writes.ts). */
export interface OwnWriteSource {
  /**
   * The cache is applying `key` at `version` (`value` undefined: a delete); the object this server
   * wrote as `value`, to hold instead of parsing the same bytes again, when it has it.
   */
  watched(key: string, value: string | undefined, version: number): KubeObject | undefined;
  /** The cache re-listed: everything up to its revision is applied, whatever events it never saw. */
  reloaded(): void;
}

export interface WatchCacheOptions {
  /** How many recent events to keep for replay. */
  capacity: number;
  /** The most value bytes those events may hold (WINDOW_BYTES by default). */
  capacityBytes?: number;
  /** Decoded objects to keep (DECODED_CACHE_SIZE by default). */
  decodedCapacity?: number;
  decode(key: string, value: string, version: number): KubeObject;
  ownWrites?: OwnWriteSource;
  onWatcherDropped?(reason: 'slow' | 'expired'): void;
}

/**
 * One event on its way to watchers: its objects are decoded when the first watcher needs them
 * and shared by every watcher it goes to (their serialisation is shared by the identity of the
 * WatchedObject, see http/watch.ts). Made per fan-out and then dropped, so the window never holds
 * decoded objects.
 */
class Delivery {
  private object: KubeObject | undefined;
  private prevObject: KubeObject | undefined;
  private deletedObject: KubeObject | undefined;
  private afterView: WatchedObject | undefined;
  private deletedView: WatchedObject | undefined;

  constructor(
    readonly ev: WindowEvent,
    private readonly decode: (key: string, value: string, version: number) => KubeObject,
    /** The object before the change, when the caller has it decoded already. */
    prev?: KubeObject,
  ) {
    this.prevObject = prev;
  }

  after(): KubeObject | undefined {
    const ev = this.ev;
    if (ev.value === undefined) return undefined;
    return (this.object ??= this.decode(ev.key, ev.value, ev.version));
  }

  before(): KubeObject | undefined {
    const ev = this.ev;
    if (ev.prevValue === undefined) return undefined;
    return (this.prevObject ??= this.decode(ev.key, ev.prevValue, ev.prevVersion ?? ev.version));
  }

  /** The object after the change, as watchers are sent it. */
  afterWatched(): WatchedObject {
    return (this.afterView ??= watchedObject({ value: this.ev.value!, version: this.ev.version }, () => this.after()!));
  }

  /**
   * What watchers that lose sight of the object receive as DELETED: its last state, at this
   * event's version, so the client's resourceVersion still advances. One per event, shared.
   */
  deletedWatched(): WatchedObject {
    const ev = this.ev;
    return (this.deletedView ??= watchedObject({ value: ev.value ?? ev.prevValue!, version: ev.version }, () => this.deleted()));
  }

  private deleted(): KubeObject {
    return (this.deletedObject ??= guardCached(withRevision(this.after() ?? this.before()!, this.ev.version)));
  }
}

/** Deliver one event to a watcher, turning selector transitions into ADDED/DELETED. */
function deliver(w: Watcher, d: Delivery): boolean {
  const ev = d.ev;
  if (!ev.key.startsWith(w.filter.keyPrefix)) return true;
  const matches = w.filter.matches;
  if (matches === undefined) {
    // Everything is in sight: only the kind of change decides, not the object before it (nor
    // after it: the sink decodes it only if it needs more than the JSON).
    if (ev.value !== undefined) return w.sink.send(ev.prevValue !== undefined ? 'MODIFIED' : 'ADDED', d.afterWatched());
    return ev.prevValue === undefined || w.sink.send('DELETED', d.deletedWatched());
  }
  const cur = ev.value !== undefined && matches(d.after()!);
  const prev = ev.prevValue !== undefined && matches(d.before()!);
  if (cur && prev) return w.sink.send('MODIFIED', d.afterWatched());
  if (cur) return w.sink.send('ADDED', d.afterWatched());
  if (prev) return w.sink.send('DELETED', d.deletedWatched());
  return true;
}

/** `obj` with resourceVersion `version` (a shallow copy: the rest is shared). */
export function withRevision(obj: KubeObject, version: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(version) } };
}

export class WatchCache {
  /** The current state: every object's stored string and resourceVersion. */
  private readonly objects = new Map<string, Stored>();
  /**
   * Decoded current objects, least recently used first (a hit moves to the end); an entry counts
   * only while its version is the key's current one.
   */
  private readonly decoded = new Map<string, { version: number; obj: KubeObject }>();
  private readonly decodedCapacity: number;
  /** The event window is events[eventsHead…]; the slots before it are dropped (DROPPED) and cut off now and then. */
  private events: WindowEvent[] = [];
  private eventsHead = 0;
  /** The length of every value in `events`. */
  private windowBytes = 0;
  /** Events with a resourceVersion > windowStart are all in `events`. */
  private windowStart = 0;
  /** Highest etcd revision the cache reflects (whole: a revision's events arrive together). */
  private revision = 0;
  private readonly watchers = new WatcherIndex<Watcher>();
  /** Watchers served from store history (older than the window). */
  private readonly historyWatchers = new Set<Watcher>();
  private storeWatch: StoreWatch | undefined;
  /** Callers waiting for the cache to reach a revision (waitForRevision). */
  private revisionWaiters: { revision: number; resolve: (reached: boolean) => void }[] = [];
  private readyPromise: Promise<void> | undefined;
  private loaded = false;
  private stopped = false;
  /** Decodes that keep what they make when it is a current object (fan-out, peek, replays). */
  private readonly decodeKeep = (key: string, value: string, version: number) => this.objectAt(key, value, version, true);
  /** Decodes that do not (lists and catch-ups: a scan of every object must not flush the hot set). */
  private readonly decodeScan = (key: string, value: string, version: number) => this.objectAt(key, value, version, false);

  constructor(
    private readonly store: Store,
    /** e.g. `/pods/` */
    readonly prefix: string,
    private readonly log: Logger,
    private readonly opts: WatchCacheOptions,
  ) {
    this.decodedCapacity = opts.decodedCapacity ?? DECODED_CACHE_SIZE;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get currentRevision(): number {
    return this.revision;
  }

  /** How many decoded objects the cache holds (bounded by decodedCapacity). */
  get decodedCount(): number {
    return this.decoded.size;
  }

  /** The cached object at `key`, possibly slightly stale; undefined when absent or not loaded. */
  peek(key: string): KubeObject | undefined {
    const s = this.objects.get(key);
    return s && this.objectAt(key, s.value, s.version, true);
  }

  /**
   * The object stored as `value` at `version`: the decoded one when the cache has it, else decoded
   * now (and guarded: it may be shared) and, with `keep`, kept when it is the key's current state.
   */
  private objectAt(key: string, value: string, version: number, keep: boolean): KubeObject {
    const hit = this.decoded.get(key);
    if (hit !== undefined && hit.version === version) {
      this.decoded.delete(key);
      this.decoded.set(key, hit);
      return hit.obj;
    }
    const obj = guardCached(this.opts.decode(key, value, version));
    if (keep && this.objects.get(key)?.version === version) this.keepDecoded(key, version, obj);
    return obj;
  }

  private keepDecoded(key: string, version: number, obj: KubeObject): void {
    this.decoded.delete(key);
    this.decoded.set(key, { version, obj });
    if (this.decoded.size > this.decodedCapacity) {
      for (const oldest of this.decoded.keys()) {
        this.decoded.delete(oldest);
        break;
      }
    }
  }

  /** Whether the cache reaches etcd revision `revision` within `timeoutMs`. */
  async waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    await this.ready();
    if (this.revision >= revision) return true;
    return new Promise<boolean>((resolve) => {
      const waiter = { revision, resolve };
      this.revisionWaiters.push(waiter);
      setTimeout(() => {
        this.revisionWaiters = this.revisionWaiters.filter((w) => w !== waiter);
        resolve(this.revision >= revision);
      }, timeoutMs).unref();
    });
  }

  /** Whether the cache holds a list and follows the store (false while it loads or re-lists). */
  get synced(): boolean {
    return this.loaded;
  }

  /** Resolves once the initial list is loaded; re-initialises after the store watch breaks. */
  ready(): Promise<void> {
    this.readyPromise ??= this.initialise();
    return this.readyPromise;
  }

  private async initialise(): Promise<void> {
    this.loaded = false;
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.load();
        this.loaded = true;
        return;
      } catch (err) {
        this.log.warn('watch cache load failed; retrying', { prefix: this.prefix, error: errorMessage(err) });
        await sleepBackoff(attempt, { initialMs: 100, maxMs: 2000 });
      }
    }
  }

  private async load(): Promise<void> {
    const list = await this.store.list(this.prefix);
    this.objects.clear();
    this.decoded.clear();
    for (const item of list.items) this.objects.set(item.key, { value: item.value, version: item.version });
    this.events = [];
    this.eventsHead = 0;
    this.windowBytes = 0;
    this.windowStart = versionAfter(list.revision);
    this.revision = list.revision;
    this.opts.ownWrites?.reloaded();
    // The cache holds every current value itself: the store need not send the previous ones.
    this.storeWatch = this.store.watch(
      this.prefix,
      list.revision,
      { onEvents: (evs) => this.apply(evs), onError: (err) => this.onStoreError(err) },
      { prevValues: false },
    );
  }

  private onStoreError(err: CellError): void {
    if (this.stopped) return;
    // Our own history position is gone: every watcher's position is suspect. End them with 410 so
    // clients re-list, and rebuild from a fresh list.
    this.log.warn('watch cache lost its store watch; re-listing', { prefix: this.prefix, error: err.message });
    for (const w of this.watchers.all) this.end(w, new ExpiredError('the watch cache was re-initialised; please re-list'));
    this.readyPromise = this.initialise();
  }

  private apply(batch: StoreEvent[]): void {
    const deliveries: Delivery[] = [];
    // A transaction's events (a Placement's pods and allocations) share one revision and arrive in
    // one batch: compare with the revision before this batch, not the one its first event just set.
    const floor = this.revision;
    for (const ev of batch) {
      if (ev.modRevision <= floor) continue; // already reflected (defensive; the store delivers once)
      const prev = this.objects.get(ev.key);
      const we: WindowEvent = { version: ev.version, key: ev.key };
      // The object before the change, when it is decoded already (no decode just to compare).
      let prevObject: KubeObject | undefined;
      if (prev !== undefined) {
        we.prevValue = prev.value;
        we.prevVersion = prev.version;
        const hit = this.decoded.get(ev.key);
        if (hit !== undefined && hit.version === prev.version) prevObject = hit.obj;
      }
      const value = ev.type === 'put' ? ev.value : undefined;
      // Told of deletes too, so that this server's committed delete stops standing for the key.
      const mine = this.opts.ownWrites?.watched(ev.key, value, ev.version);
      if (value !== undefined) {
        we.value = value;
        if (prev !== undefined) {
          prev.value = value;
          prev.version = ev.version;
        } else {
          this.objects.set(ev.key, { value, version: ev.version });
        }
        // This server's own write: its object, not a parse of the same bytes.
        if (mine !== undefined) this.keepDecoded(ev.key, ev.version, guardCached(mine));
      } else {
        this.objects.delete(ev.key);
        this.decoded.delete(ev.key);
      }
      deliveries.push(new Delivery(we, this.decodeKeep, prevObject));
      this.revision = ev.modRevision;
    }
    if (deliveries.length === 0) return;
    if (this.revisionWaiters.length > 0) {
      const ready = this.revisionWaiters.filter((w) => w.revision <= this.revision);
      this.revisionWaiters = this.revisionWaiters.filter((w) => w.revision > this.revision);
      for (const w of ready) w.resolve(true);
    }
    for (const d of deliveries) {
      this.events.push(d.ev);
      this.windowBytes += d.ev.value?.length ?? 0;
    }
    const maxBytes = this.opts.capacityBytes ?? WINDOW_BYTES;
    const events = this.events;
    const end = events.length;
    let head = this.eventsHead;
    if (end - head > this.opts.capacity || this.windowBytes > maxBytes) {
      const over = Math.max(0, end - head - this.opts.capacity);
      for (let i = 0; i < over; i++) head = this.dropOldest(head);
      while (this.windowBytes > maxBytes && head < end) head = this.dropOldest(head);
      // A full window drops a few events per batch: cutting them off at once would copy the whole
      // window every batch. Cut off once they are half the array, so each event is copied O(1) times.
      if (head >= end / 2) {
        this.events = events.slice(head);
        head = 0;
      }
      this.eventsHead = head;
    }
    for (const w of this.watchers.unfiled) this.deliverAll(w, deliveries);
    if (!this.watchers.anyFiled) return;
    // Filed watchers get the events their field values point to, each in order.
    const routed = new Map<Watcher, Delivery[]>();
    for (const d of deliveries) {
      this.watchers.concerned(d.before(), d.after(), (w) => {
        const mine = routed.get(w);
        if (mine === undefined) routed.set(w, [d]);
        else if (mine[mine.length - 1] !== d) mine.push(d);
      });
    }
    for (const [w, mine] of routed) this.deliverAll(w, mine);
  }

  /** `deliveries` (in order) to `w`, from its starting point on; a watcher that cannot keep up is dropped. */
  private deliverAll(w: Watcher, deliveries: readonly Delivery[]): void {
    for (const d of deliveries) {
      if (w.closed) return;
      if (d.ev.version <= w.afterVersion) continue;
      if (!deliver(w, d)) {
        this.dropSlow(w);
        return;
      }
    }
  }

  /** Drops the event at `head` out of the window (its strings released at once); returns the new head. */
  private dropOldest(head: number): number {
    const ev = this.events[head]!;
    this.windowBytes -= ev.value?.length ?? 0;
    this.windowStart = ev.version;
    this.events[head] = DROPPED;
    return head + 1;
  }

  private dropSlow(w: Watcher): void {
    this.log.warn('dropping a watcher that cannot keep up', { prefix: this.prefix, keyPrefix: w.filter.keyPrefix });
    this.opts.onWatcherDropped?.('slow');
    this.end(w, undefined);
  }

  private end(w: Watcher, err: CellError | undefined): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    w.sink.close(err);
  }

  /** The current objects under a key prefix, and the revision they reflect. */
  async list(keyPrefix: string): Promise<{ items: KubeObject[]; revision: number }> {
    await this.ready();
    const keys: string[] = [];
    for (const key of this.objects.keys()) if (key.startsWith(keyPrefix)) keys.push(key);
    // Key order is namespace/name order: the key is the resource's prefix, then namespace/name.
    keys.sort();
    const items = keys.map((key) => {
      const s = this.objects.get(key)!;
      return this.objectAt(key, s.value, s.version, false);
    });
    return { items, revision: this.revision };
  }

  /**
   * The current objects whose stored string passes `mayMatch`, in no particular order, and the
   * revision they reflect. Only those are decoded: a lookup that no index serves pays a string
   * test per object instead of a parse (the caller checks the decoded objects properly).
   */
  async select(mayMatch: (stored: string) => boolean): Promise<{ items: KubeObject[]; revision: number }> {
    await this.ready();
    const items: KubeObject[] = [];
    for (const [key, s] of this.objects) if (mayMatch(s.value)) items.push(this.objectAt(key, s.value, s.version, false));
    return { items, revision: this.revision };
  }

  /**
   * Watch from `afterVersion` (events with a higher resourceVersion), or — when undefined — send
   * the current state as ADDED first. Returns a function that stops the watch.
   */
  async watch(afterVersion: number | undefined, filter: WatchFilter, sink: WatcherSink): Promise<() => void> {
    await this.ready();
    if (afterVersion === undefined) {
      for (const [key, s] of this.objects) {
        if (!key.startsWith(filter.keyPrefix)) continue;
        // A copy: the cache updates `s` in place as later events arrive.
        if (!this.sendInitial(key, { value: s.value, version: s.version }, filter, sink)) return () => undefined;
      }
      const version = versionAfter(this.revision);
      sink.initialState?.(version);
      return this.follow(version, filter, sink);
    }
    return this.follow(afterVersion, filter, sink);
  }

  /**
   * Watch that starts with the state a consistent read of the store returns now (a list at the
   * store's current revision, as ADDED events), then the changes after it — so an object written
   * just before, through this server or any other, is in the initial state even when this cache
   * has not seen its event yet. Costs a store read where `watch(undefined)` serves the cache's
   * state, which may trail the store by the events still on their way.
   */
  async watchConsistent(filter: WatchFilter, sink: WatcherSink): Promise<() => void> {
    await this.ready();
    let revision: number | undefined;
    let startKey = filter.keyPrefix;
    for (;;) {
      let page;
      try {
        page = await this.store.list(filter.keyPrefix, { ...(revision !== undefined ? { revision } : {}), limit: CONSISTENT_PAGE, startKey });
      } catch (err) {
        // The stream has begun: the failure ends it as an ERROR event (410 when the pages' revision
        // was compacted meanwhile), and the client starts again, as after any broken watch.
        sink.close(err instanceof CompactedError ? new ExpiredError('the initial state\'s revision was compacted while it was read; please watch again') : err instanceof CellError ? err : new UnavailableError(errorMessage(err)));
        return () => undefined;
      }
      revision = page.revision;
      for (const item of page.items) if (!this.sendInitial(item.key, { value: item.value, version: item.version }, filter, sink)) return () => undefined;
      if (!page.more || page.items.length === 0) break;
      startKey = `${page.items[page.items.length - 1]!.key}\u0000`;
    }
    const version = versionAfter(revision);
    sink.initialState?.(version);
    // The cache may be ahead of the list (its later events are replayed from the window) or
    // behind it (its events up to the list's revision are skipped as they arrive).
    return this.follow(version, filter, sink);
  }

  /** One object of a watch's initial state as ADDED, when the filter passes it; false: the watcher was dropped. */
  private sendInitial(key: string, stored: StoredForm, filter: WatchFilter, sink: WatcherSink): boolean {
    const watched = watchedObject(stored, () => this.objectAt(key, stored.value, stored.version, false));
    if (filter.matches !== undefined && !filter.matches(watched.object())) return true;
    if (sink.send('ADDED', watched)) return true;
    this.opts.onWatcherDropped?.('slow');
    sink.close();
    return false;
  }

  /** The changes after `afterVersion`: replayed from the window (or the store's history), then live. */
  private follow(afterVersion: number, filter: WatchFilter, sink: WatcherSink): () => void {
    if (afterVersion < this.windowStart) return this.watchFromStore(afterVersion, filter, sink);
    const w: Watcher = { afterVersion, filter, sink, closed: false };
    // A replay decodes again (rare: a client resuming); only the current states may be kept.
    for (let i = this.eventsHead; i < this.events.length; i++) {
      const ev = this.events[i]!;
      if (ev.version <= afterVersion) continue;
      if (!deliver(w, new Delivery(ev, this.decodeKeep))) {
        this.opts.onWatcherDropped?.('slow');
        sink.close();
        return () => undefined;
      }
    }
    sink.caughtUp?.();
    this.watchers.add(w);
    return () => this.end(w, undefined);
  }

  /** Bookmarks for every watcher: the point the cache has reached. */
  sendBookmarks(): void {
    const reached = versionAfter(this.revision);
    for (const w of this.watchers.all) w.sink.bookmark(Math.max(reached, w.afterVersion));
  }

  /** A watch older than the cache window: read the store's own history, decoding as we go. */
  private watchFromStore(afterVersion: number, filter: WatchFilter, sink: WatcherSink): () => void {
    const w: Watcher = { afterVersion, filter, sink, closed: false };
    let sw: StoreWatch | undefined;
    // History arrives in batches as the store reads it: the usual limits apply from the start.
    sink.caughtUp?.();
    const stop = () => {
      if (w.closed) return;
      w.closed = true;
      this.historyWatchers.delete(w);
      sw?.cancel();
    };
    // Tracked so stop() ends these too (an HTTP server cannot close while one streams).
    w.stopHistory = stop;
    this.historyWatchers.add(w);
    // The resource's whole prefix, not the watcher's narrower one: delete versions are derived
    // from the stream (storage/resource-version.ts) and must come out as the cache's do. The
    // store starts at a whole revision; what is at or below afterVersion is skipped.
    sw = this.store.watch(this.prefix, watchStartRevision(afterVersion), {
      onEvents: (evs) => {
        for (const ev of evs) {
          if (w.closed) return;
          if (ev.version <= afterVersion || !ev.key.startsWith(filter.keyPrefix)) continue;
          const we: WindowEvent = { version: ev.version, key: ev.key };
          if (ev.type === 'put' && ev.value !== undefined) we.value = ev.value;
          if (ev.prevValue !== undefined) {
            we.prevValue = ev.prevValue;
            we.prevVersion = ev.prevVersion ?? ev.version;
          }
          if (!deliver(w, new Delivery(we, this.decodeScan))) {
            this.opts.onWatcherDropped?.('slow');
            stop();
            sink.close();
            return;
          }
        }
      },
      onError: (err) => {
        if (err instanceof CompactedError) this.opts.onWatcherDropped?.('expired');
        stop();
        sink.close(err instanceof CompactedError ? err : new UnavailableError(err.message));
      },
    });
    return stop;
  }

  stop(): void {
    this.stopped = true;
    this.storeWatch?.cancel();
    for (const w of this.watchers.all) this.end(w, undefined);
    for (const w of [...this.historyWatchers]) {
      w.stopHistory?.();
      w.sink.close();
    }
  }
}

