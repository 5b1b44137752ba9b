// One store watch per resource, fanned out to every HTTP watcher (DESIGN §2, issue: watch cache).
// The cache holds the current objects (served for `resourceVersion=0` lists) and a bounded window
// of recent events, so a watch from any revision inside the window replays from memory. A watch
// from before the window falls back to a direct store watch (the store still has the history, or
// says Compacted → 410). A watcher that cannot keep up is dropped, never allowed to stall others.
import { CompactedError, ExpiredError, UnavailableError, type CellError, errorMessage } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { versionAfter, watchStartRevision } from '../storage/resource-version.js';
import type { Store, StoreWatch, WatchEvent as StoreEvent } from '../storage/store.js';
import type { KubeObject } from './object.js';
import { sleepBackoff } from '../../shared/backoff.js';
import { guardCached } from '../../shared/cache-mutation-guard.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One change of one object, as the cache keeps it: both sides, so selectors can be applied per watcher. */
export interface CachedEvent {
  /** The change's resourceVersion (storage/resource-version.ts). */
  version: number;
  key: string;
  /** Object after the change; undefined for a delete. */
  object?: KubeObject;
  /** Object before the change; undefined for a create. */
  prevObject?: KubeObject;
  /** What watchers that lose sight of the object receive as DELETED (made on first use). */
  deletedView?: KubeObject;
}

/** What a watcher sends: the decision of which events it sees is made by its filter. */
export interface WatcherSink {
  /** Deliver one event; returns false when the consumer is overloaded and must be dropped. */
  send(type: Exclude<WatchEventType, 'ERROR' | 'BOOKMARK'>, object: KubeObject): boolean;
  bookmark(version: number): void;
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
  matches(obj: KubeObject): boolean;
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

export interface WatchCacheOptions {
  /** How many recent events to keep for replay. */
  capacity: number;
  decode(key: string, value: string, version: number): KubeObject;
  /** Decode for the cache's own live events (may reuse an object this server just wrote); default decode. */
  decodeLive?(key: string, value: string, version: number): KubeObject;
  onWatcherDropped?(reason: 'slow' | 'expired'): void;
}

/** Deliver one cached event to a watcher, turning selector transitions into ADDED/DELETED. */
function deliver(w: Watcher, ev: CachedEvent): boolean {
  if (!ev.key.startsWith(w.filter.keyPrefix)) return true;
  const cur = ev.object && w.filter.matches(ev.object);
  const prev = ev.prevObject && w.filter.matches(ev.prevObject);
  if (cur && prev) return w.sink.send('MODIFIED', ev.object!);
  if (cur) return w.sink.send('ADDED', ev.object!);
  if (prev) {
    // Left the selection (or was deleted): the last state it had, at this event's version,
    // so the client's resourceVersion still advances. Built once, shared by every watcher, so
    // its serialisation is shared too.
    ev.deletedView ??= withRevision(ev.object ?? ev.prevObject!, ev.version);
    return w.sink.send('DELETED', ev.deletedView);
  }
  return true;
}

/** `obj` with resourceVersion `version` (a shallow copy: the rest is shared). */
export function withRevision(obj: KubeObject, version: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(version) } };
}

export class WatchCache {
  private readonly objects = new Map<string, KubeObject>();
  private events: CachedEvent[] = [];
  /** Events with a resourceVersion > windowStart are all in `events`. */
  private windowStart = 0;
  /** Highest etcd revision the cache reflects (whole: a revision's events arrive together). */
  private revision = 0;
  private readonly watchers = new Set<Watcher>();
  /** Watchers served from store history (older than the window). */
  private readonly historyWatchers = new Set<Watcher>();
  private storeWatch: StoreWatch | undefined;
  /** Callers waiting for the cache to reach a revision (waitForRevision). */
  private revisionWaiters: { revision: number; resolve: (reached: boolean) => void }[] = [];
  private readyPromise: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    /** e.g. `/pods/` */
    readonly prefix: string,
    private readonly log: Logger,
    private readonly opts: WatchCacheOptions,
  ) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  get currentRevision(): number {
    return this.revision;
  }

  /** The cached object at `key`, possibly slightly stale; undefined when absent or not loaded. */
  peek(key: string): KubeObject | undefined {
    return this.objects.get(key);
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

  /** Resolves once the initial list is loaded; re-initialises after the store watch breaks. */
  ready(): Promise<void> {
    this.readyPromise ??= this.initialise();
    return this.readyPromise;
  }

  private async initialise(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.load();
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
    for (const item of list.items) this.objects.set(item.key, guardCached(this.opts.decode(item.key, item.value, item.version)));
    this.events = [];
    this.windowStart = versionAfter(list.revision);
    this.revision = list.revision;
    this.storeWatch = this.store.watch(this.prefix, list.revision, {
      onEvents: (evs) => this.apply(evs),
      onError: (err) => this.onStoreError(err),
    });
  }

  private onStoreError(err: CellError): void {
    if (this.stopped) return;
    // Our own history position is gone: every watcher's position is suspect. End them with 410 so
    // clients re-list, and rebuild from a fresh list.
    this.log.warn('watch cache lost its store watch; re-listing', { prefix: this.prefix, error: err.message });
    for (const w of this.watchers) this.end(w, new ExpiredError('the watch cache was re-initialised; please re-list'));
    this.readyPromise = this.initialise();
  }

  private apply(batch: StoreEvent[]): void {
    const cached: CachedEvent[] = [];
    // A transaction's events (a Placement's pods and allocations) share one revision and arrive in
    // one batch: compare with the revision before this batch, not the one its first event just set.
    const floor = this.revision;
    for (const ev of batch) {
      if (ev.modRevision <= floor) continue; // already reflected (defensive; the store delivers once)
      const prevObject = this.objects.get(ev.key);
      let object: KubeObject | undefined;
      if (ev.type === 'put' && ev.value !== undefined) {
        object = guardCached((this.opts.decodeLive ?? this.opts.decode)(ev.key, ev.value, ev.version));
        this.objects.set(ev.key, object);
      } else {
        this.objects.delete(ev.key);
      }
      const ce: CachedEvent = { version: ev.version, key: ev.key };
      if (object) ce.object = object;
      if (prevObject) ce.prevObject = prevObject;
      cached.push(ce);
      this.revision = ev.modRevision;
    }
    if (cached.length === 0) return;
    if (this.revisionWaiters.length > 0) {
      const ready = this.revisionWaiters.filter((w) => w.revision <= this.revision);
      this.revisionWaiters = this.revisionWaiters.filter((w) => w.revision > this.revision);
      for (const w of ready) w.resolve(true);
    }
    this.events.push(...cached);
    if (this.events.length > this.opts.capacity) {
      const drop = this.events.length - this.opts.capacity;
      this.windowStart = this.events[drop - 1]!.version;
      this.events = this.events.slice(drop);
    }
    for (const w of this.watchers) {
      for (const ev of cached) {
        if (ev.version <= w.afterVersion) continue;
        if (!deliver(w, ev)) {
          this.dropSlow(w);
          break;
        }
      }
    }
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
    const items: KubeObject[] = [];
    for (const [key, obj] of this.objects) if (key.startsWith(keyPrefix)) items.push(obj);
    items.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    return { items, revision: this.revision };
  }

  /**
   * Watch from `afterVersion` (events with a higher resourceVersion), or — when undefined — send
   * the current state as ADDED first. Returns a function that stops the watch.
   */
  async watch(afterVersion: number | undefined, filter: WatchFilter, sink: WatcherSink): Promise<() => void> {
    await this.ready();
    if (afterVersion !== undefined && afterVersion < this.windowStart) {
      return this.watchFromStore(afterVersion, filter, sink);
    }
    const w: Watcher = { afterVersion: afterVersion ?? versionAfter(this.revision), filter, sink, closed: false };
    if (afterVersion === undefined) {
      for (const [key, obj] of this.objects) {
        if (!key.startsWith(filter.keyPrefix) || !filter.matches(obj)) continue;
        if (!sink.send('ADDED', obj)) {
          this.opts.onWatcherDropped?.('slow');
          sink.close();
          return () => undefined;
        }
      }
    } else {
      for (const ev of this.events) {
        if (ev.version <= afterVersion) continue;
        if (!deliver(w, ev)) {
          this.opts.onWatcherDropped?.('slow');
          sink.close();
          return () => undefined;
        }
      }
    }
    sink.caughtUp?.();
    this.watchers.add(w);
    return () => this.end(w, undefined);
  }

  /** Bookmarks for every watcher: the point the cache has reached. */
  sendBookmarks(): void {
    const reached = versionAfter(this.revision);
    for (const w of this.watchers) w.sink.bookmark(Math.max(reached, w.afterVersion));
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
          const ce: CachedEvent = { version: ev.version, key: ev.key };
          if (ev.type === 'put' && ev.value !== undefined) ce.object = this.opts.decode(ev.key, ev.value, ev.version);
          if (ev.prevValue !== undefined) ce.prevObject = this.opts.decode(ev.key, ev.prevValue, ev.prevVersion ?? ev.version);
          if (!deliver(w, ce)) {
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
    for (const w of this.watchers) this.end(w, undefined);
    for (const w of [...this.historyWatchers]) {
      w.stopHistory?.();
      w.sink.close();
    }
  }
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}
