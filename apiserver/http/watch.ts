// Streaming watch responses: newline-delimited `{"type","object"}` events over a chunked HTTP
// response, with bookmarks, timeouts, Table conversion (kubectl get -w), and a bound on how much
// may queue for a slow client before it is cut off.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CellError } from '../../shared/errors.js';
import type { KubeObject } from '../registry/object.js';
import { storedJson } from '../registry/served-json.js';
import type { WatchedObject, WatcherSink, WatchEventType } from '../registry/watch-cache.js';
import { statusOf } from './status.js';

export interface WatchStreamOptions {
  /** Bytes allowed to queue in the socket before the client counts as too slow. */
  maxQueuedBytes: number;
  bookmarks: boolean;
  /**
   * The watch sends its initial state (sendInitialEvents=true): with `bookmarks`, a BOOKMARK
   * annotated `k8s.io/initial-events-end` follows it, carrying the version that state reflects.
   */
  initialEventsEnd?: boolean;
  /** Kind and apiVersion for BOOKMARK objects. */
  kind: string;
  apiVersion: string;
  /** Converts each object (Table form for kubectl get -w). */
  render?: (obj: KubeObject) => unknown;
  onClose(): void;
}

/** What marks the bookmark that ends a watch-list's initial state. */
const INITIAL_EVENTS_END = { 'k8s.io/initial-events-end': 'true' };

/** setTimeout's ceiling; a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Each event object is serialised once however many watchers receive it: the watch cache hands
 * every watcher the same WatchedObject, so its JSON line is kept beside it (weakly, per event type).
 */
const lines = new WeakMap<WatchedObject, Partial<Record<WatchEventType, string>>>();

/**
 * Each watcher's events are gathered for a short window and sent in one socket write: a write
 * costs ~10 µs of CPU whatever its size, so with 1,000 watchers one write per event per watcher
 * cannot keep up with a busy resource, while one per window can. The window bounds the added
 * latency.
 */
export const WATCH_FLUSH_WINDOW_MS = 25;
/**
 * Under heavy fan-out the window stretches (up to this) so that a flush pass stays a small part of
 * it: fewer, larger writes. It shrinks back as soon as passes are cheap again.
 */
const MAX_FLUSH_WINDOW_MS = 100;
let flushWindowMs = WATCH_FLUSH_WINDOW_MS;
const dirty = new Set<WatchStream>();
let flushTimer: NodeJS.Timeout | undefined;

/**
 * Watchers with the same filter gather the same lines (the same string objects) in a window: the
 * bytes sent to them are encoded once per window and the one Buffer is written to every socket.
 * Keyed by the window's first line; the line arrays are compared element by element.
 */
class WindowEncodings {
  private readonly byFirstLine = new Map<string, { lines: string[]; data: Buffer }[]>();

  encode(lines: string[]): Buffer {
    const first = lines[0]!;
    let candidates = this.byFirstLine.get(first);
    if (candidates) {
      for (const c of candidates) if (sameLines(c.lines, lines)) return c.data;
    } else {
      candidates = [];
      this.byFirstLine.set(first, candidates);
    }
    const data = Buffer.from(lines.length === 1 ? first : lines.join(''), 'utf8');
    candidates.push({ lines, data });
    return data;
  }
}

function sameLines(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function scheduleFlush(stream: WatchStream): void {
  dirty.add(stream);
  flushTimer ??= setTimeout(() => {
    flushTimer = undefined;
    const streams = [...dirty];
    dirty.clear();
    const encodings = new WindowEncodings();
    const began = performance.now();
    for (const s of streams) {
      try {
        s.flush(encodings);
      } catch (err) {
        // One broken stream must not hold back the others' events; it closes on its own error.
        console.error(`watch flush failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // A pass costing more than a fifth of the window doubles it; one under a twentieth halves it.
    const passMs = performance.now() - began;
    if (passMs > flushWindowMs / 5) flushWindowMs = Math.min(MAX_FLUSH_WINDOW_MS, flushWindowMs * 2);
    else if (passMs < flushWindowMs / 20) flushWindowMs = Math.max(WATCH_FLUSH_WINDOW_MS, flushWindowMs / 2);
  }, flushWindowMs);
}

/**
 * The line of an event of a cached object, made once for every watcher it goes to — from the
 * stored string, so the object is decoded only when that string cannot be used as it is.
 */
function eventLine(type: WatchEventType, watched: WatchedObject): string {
  let byType = lines.get(watched);
  if (!byType) {
    byType = {};
    lines.set(watched, byType);
  }
  return (byType[type] ??= `{"type":"${type}","object":${storedJson(watched.stored) ?? JSON.stringify(watched.object())}}\n`);
}

export class WatchStream implements WatcherSink {
  private closed = false;
  /** An event could not be queued within maxQueuedBytes: the consumer is too slow and is cut off. */
  private overloaded = false;
  /** The catch-up is still being written: it may queue past the limit. */
  private catchingUp = true;
  /** Bytes the catch-up left queued: they drain before the limit applies to live events alone. */
  private allowance = 0;
  private stopWatch: (() => void) | undefined;
  /** Lines gathered in the current window. */
  private pending: string[] = [];
  /** Bytes queued in the socket after the last flush (see write). */
  private backlog = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly opts: WatchStreamOptions,
  ) {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', 'no-cache, private');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    // Small frames: do not let Nagle delay event delivery.
    res.socket?.setNoDelay(true);
    req.on('close', () => this.close());
  }

  /** Attach the function that unregisters the watcher, and an optional timeout. */
  attach(stop: () => void, timeoutSeconds: number | undefined): void {
    this.stopWatch = stop;
    if (this.closed) {
      stop();
      return;
    }
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) {
      this.timer = setTimeout(() => this.close(), Math.min(timeoutSeconds * 1000, MAX_TIMER_MS));
    }
  }

  /** Queue an event: its line, or (`line` undefined) `object` serialised for this watcher alone. */
  private write(type: WatchEventType, object: unknown, line?: string): boolean {
    if (this.closed) return false;
    // The backlog *before* this event decides: one event larger than the limit must not make a
    // client that keeps up look slow (it is queued whole until the socket takes it). What the
    // current window holds is not backlog: it is bounded by the window, not by the client.
    // The socket's backlog only grows when a window is flushed, so the figure read then stands
    // until it says "too much" — then it is read again, since the socket may have drained since.
    const limit = this.opts.maxQueuedBytes + this.allowance;
    if (this.backlog > limit) this.backlog = this.res.writableLength;
    this.pending.push(line ?? `${JSON.stringify({ type, object })}\n`);
    scheduleFlush(this);
    return this.catchingUp || this.backlog <= limit;
  }

  /** Send what the window gathered, in one write (bytes shared with same-filter watchers when given). */
  flush(encodings?: WindowEncodings): void {
    if (this.pending.length === 0 || this.res.writableEnded || this.res.destroyed) return;
    const lines = this.pending;
    this.pending = [];
    this.res.write(encodings ? encodings.encode(lines) : lines.length === 1 ? lines[0]! : lines.join(''));
    this.backlog = this.res.writableLength;
  }

  initialState(version: number): void {
    if (this.opts.initialEventsEnd) this.bookmark(version, INITIAL_EVENTS_END);
  }

  caughtUp(): void {
    this.catchingUp = false;
    this.flush();
    this.allowance = this.res.writableLength;
    if (this.allowance > 0) this.res.once('drain', () => (this.allowance = 0));
  }

  send(type: 'ADDED' | 'MODIFIED' | 'DELETED', watched: WatchedObject): boolean {
    // Rendered (Table) objects are this watcher's own; plain lines are shared with others.
    const ok = this.opts.render
      ? this.write(type, this.opts.render(watched.object()))
      : this.write(type, undefined, eventLine(type, watched));
    if (!ok && !this.closed) this.overloaded = true;
    return ok;
  }

  bookmark(version: number, annotations?: Record<string, string>): void {
    if (!this.opts.bookmarks) return;
    this.write('BOOKMARK', {
      kind: this.opts.kind,
      apiVersion: this.opts.apiVersion,
      metadata: { resourceVersion: String(version), ...(annotations ? { annotations } : {}) },
    });
  }

  close(err?: CellError): void {
    if (this.closed) return;
    if (err && !this.overloaded) this.write('ERROR', statusOf(err));
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopWatch?.();
    dirty.delete(this);
    if (this.overloaded) {
      // Ending gracefully would keep the backlog (and the socket) until the client read it all,
      // which a stuck client never does: drop both at once.
      this.pending = [];
      const socket = this.res.socket;
      if (socket) socket.resetAndDestroy();
      else this.res.destroy();
    } else {
      this.flush();
      this.res.end();
    }
    this.opts.onClose();
  }
}
