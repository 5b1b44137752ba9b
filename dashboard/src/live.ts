// A live, in-memory copy of one resource collection, kept the way client-go's reflector keeps one:
// list (in pages, on one consistent revision), then watch from the list's resourceVersion, resume
// a broken watch from the last resourceVersion seen, and re-list when the server says that
// revision is gone (410). Never polls. Subscribers hear of changes at most once per `throttleMs`,
// so a burst of hundreds of events costs one re-render. A list runs only while some view holds it
// (hold()): a browser opens at most six connections to one origin over HTTP/1.1 and each watch
// keeps one, so the page cannot watch every collection at once. A released list keeps its items
// and resourceVersion and, held again, resumes its watch from there (re-listing only on 410).
import { ApiError, call, getJson, readLines } from './api.js';

export interface ObjectLike {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type LiveState = 'loading' | 'live' | 'reconnecting' | 'failed';

interface ListBody<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T | { kind?: string; code?: number; reason?: string; message?: string; metadata?: { resourceVersion?: string } };
}

const PAGE = 5000;
const MAX_BACKOFF_MS = 10_000;

export function keyOf(o: ObjectLike): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ''}` : (o.metadata.name ?? '');
}

export class LiveList<T extends ObjectLike> {
  readonly items = new Map<string, T>();
  /** Bumps on every applied change; views memoize on it. */
  version = 0;
  /** Bumps only when an object appears or goes, so sorted orders survive plain updates. */
  keysVersion = 0;
  state: LiveState = 'loading';
  error: string | undefined;
  /** Watch events applied since start, for the status bar and the benchmark. */
  eventsSeen = 0;
  private rv: string | undefined;
  private readonly listeners = new Set<() => void>();
  private abort: AbortController | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private holders = 0;
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** Collection path, e.g. /api/v1/pods. */
    readonly path: string,
    private readonly opts: { cap?: number; throttleMs?: number } = {},
  ) {}

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Whether the list is listing or watching now (a view holds it). */
  get active(): boolean {
    return this.running;
  }

  /**
   * Runs the list while held; the returned function lets go. The last release stops the watch a
   * moment later, so a view replacing another that needs the same list does not reconnect it.
   */
  hold(): () => void {
    this.holders++;
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    this.start();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.holders--;
      if (this.holders > 0) return;
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = undefined;
        if (this.holders === 0) this.stop();
      }, 0);
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    void this.loop(this.abort.signal);
    this.notifyNow();
  }

  stop(): void {
    if (this.releaseTimer !== undefined) clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    const was = this.running;
    this.running = false;
    this.abort?.abort();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (was) this.notifyNow();
  }

  private notifySoon(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.notifyNow();
    }, this.opts.throttleMs ?? 100);
  }

  private notifyNow(): void {
    for (const fn of this.listeners) fn();
  }

  private setState(state: LiveState, error?: string): void {
    this.state = state;
    this.error = error;
    this.notifyNow();
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let backoff = 250;
    while (!signal.aborted) {
      try {
        if (this.rv === undefined) await this.relist(signal);
        await this.watch(signal);
        // The server ended the watch (its timeout, a restart): resume from where we are.
        backoff = 250;
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.code === 410) {
          this.rv = undefined;
          continue;
        }
        if (err instanceof ApiError && (err.code === 401 || err.code === 403)) {
          // Signed out, or not allowed to see this: retrying will not change the answer.
          this.setState('failed', err.message);
          return;
        }
        this.setState('reconnecting', err instanceof Error ? err.message : String(err));
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (cont) q.set('continue', cont);
      const page = await getJson<ListBody<T>>(`${this.path}?${q.toString()}`, signal);
      for (const item of page.items ?? []) fresh.set(keyOf(item), item);
      rv = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    this.items.clear();
    for (const [k, v] of this.trimmed(fresh)) this.items.set(k, v);
    this.rv = rv;
    this.version++;
    this.keysVersion++;
    this.setState('live');
  }

  private trimmed(m: Map<string, T>): Map<string, T> {
    const cap = this.opts.cap;
    if (cap === undefined || m.size <= cap) return m;
    return new Map([...m].slice(m.size - cap));
  }

  private async watch(signal: AbortSignal): Promise<void> {
    const q = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true' });
    if (this.rv) q.set('resourceVersion', this.rv);
    const res = await call('GET', `${this.path}?${q.toString()}`, { signal });
    if (this.state !== 'live') this.setState('live');
    await readLines(res, (lines) => this.apply(lines), signal);
  }

  private apply(lines: string[]): void {
    let changed = false;
    for (const line of lines) {
      if (line.trim() === '') continue;
      const ev = JSON.parse(line) as WatchEvent<T>;
      if (ev.type === 'ERROR') {
        const status = ev.object as { code?: number; reason?: string; message?: string };
        throw new ApiError(status.code ?? 500, status.reason ?? 'Error', status.message ?? 'watch error');
      }
      const rv = ev.object.metadata?.resourceVersion;
      if (rv) this.rv = rv;
      if (ev.type === 'BOOKMARK') continue;
      const obj = ev.object as T;
      const key = keyOf(obj);
      if (ev.type === 'DELETED') {
        if (this.items.delete(key)) this.keysVersion++;
      } else {
        if (!this.items.has(key)) this.keysVersion++;
        this.items.set(key, obj);
        const cap = this.opts.cap;
        if (cap !== undefined && this.items.size > cap) {
          const oldest = this.items.keys().next();
          if (!oldest.done) this.items.delete(oldest.value);
        }
      }
      this.eventsSeen++;
      changed = true;
    }
    if (changed) {
      this.version++;
      this.notifySoon();
    }
  }
}
