// The one list+watch informer (schedulers, agent, CLI): gets the state, then watches from its
// resourceVersion, resumes from the last seen resourceVersion after a broken stream, gets the state
// again on 410 Expired (reconciling the cache so handlers see the missed changes), reconnects with
// back-off, and keeps an indexed local cache. Handlers run synchronously in event order.
//
// The state comes as a watch-list (sendInitialEvents): one watch whose ADDED events up to the
// bookmark annotated k8s.io/initial-events-end are the state, and whose later events are the
// changes — instead of a list in pages and then a watch. The server sends each object's stored
// JSON as it is, where a list page decodes and encodes every object again; and each line goes
// through parseWatchLine (the schedulers' lazy ledger parse) like any event. A server that
// refuses it (422: one without watch-list) is listed in pages, as before (`watchList: false` too).
import { WATCH_IDLE_TIMEOUT_MS } from '../api/meta.js';
import { CellError, ExpiredError, InvalidError, UnavailableError, errorMessage } from '../errors.js';
import type { Logger } from '../logging.js';
import { errorFromStatus, isStatus, type ApiClient, type ResourceRef, type WatchEvent } from './http-client.js';
import { backoffMs } from '../backoff.js';
import { guardCached } from '../cache-mutation-guard.js';

export interface ObjectLike {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; annotations?: Record<string, string> };
}

export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  client: ApiClient;
  /** What to watch (namespace optional: all namespaces when absent). */
  ref: ResourceRef;
  labelSelector?: string;
  fieldSelector?: string;
  log?: Logger;
  /** Get the state as a watch-list (default true); false: a list in pages, then a watch. */
  watchList?: boolean;
  /** Page size of a list (watchList false, or a server without watch-list). */
  pageSize?: number;
  /** How a watch line becomes an event (default JSON.parse); list pages are parsed whole. */
  parseWatchLine?: (line: string) => WatchEvent<T>;
  /** A watch silent this long, bookmarks included, is given up and made again (default WATCH_IDLE_TIMEOUT_MS). */
  watchIdleTimeoutMs?: number;
}

/** What marks the bookmark that ends a watch-list's initial state. */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

export function objectKey(obj: ObjectLike): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

interface ListResponse<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export class Informer<T extends ObjectLike> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly indexers = new Map<string, (obj: T) => string[]>();
  private readonly indexes = new Map<string, Map<string, Map<string, T>>>();
  private abort: AbortController | undefined;
  private running = false;
  /**
   * Where the next watch resumes: the resourceVersion of the last list, bookmark or event handled.
   * Every write has a resourceVersion of its own, so a watch from it sends exactly what followed.
   */
  private resourceVersion = '';
  /** Get the state as a watch-list; cleared for good when the server refuses one. */
  private watchList: boolean;
  /** The cache must be brought to the server's state (at the start, after a 410). */
  private needState = true;
  /** A watch-list's state so far, until its end bookmark; undefined when the watch is of changes. */
  private initial: Map<string, T> | undefined;
  private syncedResolve: (() => void) | undefined;
  private readonly synced: Promise<void>;
  private loopDone: Promise<void> | undefined;
  /** Counts the times the state was fetched (a list or a watch-list), for tests and metrics. */
  relists = 0;

  constructor(private readonly opts: InformerOptions<T>) {
    this.synced = new Promise((resolve) => (this.syncedResolve = resolve));
    this.watchList = opts.watchList ?? true;
  }

  /** Handlers see every change after they are added (add handlers before start to see the initial list). */
  addHandlers(h: InformerHandlers<T>): void {
    this.handlers.push(h);
  }

  hasIndex(name: string): boolean {
    return this.indexes.has(name);
  }

  /** An index: `fn` maps an object to the keys it is found under (e.g. pods by node name). */
  addIndex(name: string, fn: (obj: T) => string[]): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Map<string, T>>();
    this.indexes.set(name, idx);
    for (const [key, obj] of this.cache) this.indexInsert(name, idx, key, obj);
  }

  private indexInsert(name: string, idx: Map<string, Map<string, T>>, key: string, obj: T): void {
    for (const v of this.indexers.get(name)!(obj)) {
      if (!idx.has(v)) idx.set(v, new Map());
      idx.get(v)!.set(key, obj);
    }
  }

  private indexRemove(key: string, obj: T): void {
    for (const [name, idx] of this.indexes) {
      for (const v of this.indexers.get(name)!(obj)) {
        const bucket = idx.get(v);
        bucket?.delete(key);
        if (bucket && bucket.size === 0) idx.delete(v);
      }
    }
  }

  private put(key: string, obj: T): void {
    guardCached(obj);
    const old = this.cache.get(key);
    if (old) this.indexRemove(key, old);
    this.cache.set(key, obj);
    for (const [name, idx] of this.indexes) this.indexInsert(name, idx, key, obj);
  }

  private remove(key: string): T | undefined {
    const old = this.cache.get(key);
    if (!old) return undefined;
    this.indexRemove(key, old);
    this.cache.delete(key);
    return old;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  byIndex(name: string, value: string): T[] {
    return [...(this.indexes.get(name)?.get(value)?.values() ?? [])];
  }

  get size(): number {
    return this.cache.size;
  }

  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  hasSynced(): Promise<void> {
    return this.synced;
  }

  /** Starts the loop; resolves once the first list is in the cache. */
  async start(): Promise<void> {
    if (this.running) return this.synced;
    this.running = true;
    this.loopDone = this.loop();
    return this.synced;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    this.wake?.();
    await this.loopDone;
  }

  private wake: (() => void) | undefined;

  /** A back-off sleep that stop() cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private emit(fn: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) {
      try {
        fn(h);
      } catch (err) {
        // A handler bug must not stop the informer; it is logged loudly.
        this.opts.log?.error('informer handler failed', { resource: this.opts.ref.resource, error: errorMessage(err) });
      }
    }
  }

  private query(): Record<string, string> {
    const q: Record<string, string> = {};
    if (this.opts.labelSelector) q.labelSelector = this.opts.labelSelector;
    if (this.opts.fieldSelector) q.fieldSelector = this.opts.fieldSelector;
    return q;
  }

  /** List everything in pages and reconcile the cache with it, emitting the differences. */
  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page: ListResponse<T> = await this.opts.client.list<ListResponse<T>>(this.opts.ref, {
        ...this.query(),
        limit: this.opts.pageSize ?? 500,
        ...(cont ? { continue: cont } : {}),
      });
      for (const item of page.items) fresh.set(objectKey(item), item);
      cont = page.metadata.continue || undefined;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    this.reconcile(fresh, rv);
  }

  /** The cache becomes `fresh`, the state at `rv`; handlers see the differences. */
  private reconcile(fresh: Map<string, T>, rv: string): void {
    for (const [key, old] of [...this.cache]) {
      if (!fresh.has(key)) {
        this.remove(key);
        this.emit((h) => h.delete?.(old));
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.put(key, obj);
      if (!old) this.emit((h) => h.add?.(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit((h) => h.update?.(old, obj));
    }
    this.resourceVersion = rv;
    this.relists++;
  }

  /** An event of a watch-list's initial state: gathered until the end bookmark, then reconciled at once. */
  private gather(initial: Map<string, T>, ev: WatchEvent<T>): void {
    if (ev.type === 'ADDED') {
      initial.set(objectKey(ev.object), ev.object);
      return;
    }
    if (ev.type === 'BOOKMARK' && ev.object.metadata.annotations?.[INITIAL_EVENTS_END] === 'true') {
      this.initial = undefined;
      this.needState = false;
      this.reconcile(initial, ev.object.metadata.resourceVersion ?? '');
      this.syncedResolve?.();
      return;
    }
    if (ev.type === 'BOOKMARK') return;
    // An ERROR (410 when the state's revision was compacted while the server read it) ends the
    // watch as any other does; nothing else may come before the end bookmark.
    if (ev.type === 'ERROR') this.apply(ev);
    throw new UnavailableError(`watch-list sent ${ev.type} before the end of its initial state`);
  }

  private apply(ev: WatchEvent<T>): void {
    if (ev.type === 'BOOKMARK') {
      this.resourceVersion = ev.object.metadata.resourceVersion ?? this.resourceVersion;
      return;
    }
    if (ev.type === 'ERROR') {
      const status = ev.object as unknown;
      throw isStatus(status) ? errorFromStatus(status) : new ExpiredError('watch error');
    }
    const obj = ev.object;
    const key = objectKey(obj);
    if (ev.type === 'DELETED') {
      const old = this.remove(key);
      this.emit((h) => h.delete?.(old ?? obj));
    } else {
      const old = this.cache.get(key);
      this.put(key, obj);
      if (old) this.emit((h) => h.update?.(old, obj));
      else this.emit((h) => h.add?.(obj));
    }
    this.resourceVersion = obj.metadata.resourceVersion ?? this.resourceVersion;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (this.needState && !this.watchList) {
          await this.relist();
          this.needState = false;
          this.syncedResolve?.();
        }
        this.abort = new AbortController();
        // Servers end watches after timeoutSeconds; a random spread avoids synchronised reconnects.
        const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
        const began = Date.now();
        // A watch-list: the state first (read consistently), then the changes on the same stream.
        this.initial = this.needState ? new Map<string, T>() : undefined;
        const from = this.initial ? { sendInitialEvents: 'true', resourceVersionMatch: 'NotOlderThan' } : { resourceVersion: this.resourceVersion };
        try {
          await this.opts.client.watch<T>(
            this.opts.ref,
            { ...this.query(), ...from, allowWatchBookmarks: 'true', timeoutSeconds },
            (ev) => (this.initial ? this.gather(this.initial, ev) : this.apply(ev)),
            this.abort.signal,
            { ...(this.opts.parseWatchLine ? { parse: this.opts.parseWatchLine } : {}), idleTimeoutMs: this.opts.watchIdleTimeoutMs ?? WATCH_IDLE_TIMEOUT_MS },
          );
        } catch (err) {
          if (this.initial && err instanceof InvalidError) {
            // A server without watch-list: list in pages from now on.
            this.opts.log?.info('the server refused a watch-list; listing instead', { resource: this.opts.ref.resource, error: err.message });
            this.watchList = false;
            continue;
          }
          throw err;
        }
        // A watch that ends at once (a proxy or server that accepts and closes) must not turn
        // this loop into a spin: only one that ran a while resets the back-off. One that ended
        // before its initial state did asks for the state again (needState is still set).
        if (Date.now() - began >= 1_000) failures = 0;
        else await this.pause(retryDelayMs(++failures));
      } catch (err) {
        if (!this.running) break;
        if (err instanceof ExpiredError) {
          // History is gone: get the state again and reconcile, as client-go's reflector does.
          this.opts.log?.info('watch expired; getting the state again', { resource: this.opts.ref.resource });
          // The first 410 asks at once; a run of them (the state's revision compacted while it
          // was read) backs off like any failure.
          if (this.needState) await this.pause(retryDelayMs(++failures));
          this.needState = true;
          continue;
        }
        failures++;
        const delay = retryDelayMs(failures);
        this.opts.log?.warn('list/watch failed; retrying', {
          resource: this.opts.ref.resource,
          error: err instanceof CellError ? err.message : errorMessage(err),
          retryInMs: Math.round(delay),
        });
        await this.pause(delay);
      }
    }
  }
}

/** Back-off after `failures` failures in a row: 200 ms doubling to 10 s, ±20%. */
function retryDelayMs(failures: number): number {
  return backoffMs(failures - 1, { initialMs: 200, maxMs: 10_000 });
}
