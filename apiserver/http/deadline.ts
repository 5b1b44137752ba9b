// Every request that is not long-running (a watch, a followed log) has a deadline, as in
// kube-apiserver (--request-timeout, 60 s; a client may ask for less with `?timeout=30s`). Past
// it the client gets 504 Timeout with Retry-After, and the connection is closed — so a client that
// sends its headers and then stalls its body, or never reads the answer, holds an in-flight slot
// for at most the deadline, never indefinitely.
//
// One sweep every SWEEP_MS checks the requests in flight, instead of a timer per request: the hot
// path only records when each must be done.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TimeoutError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { exchangeOf } from './exchange.js';
import { durationParam } from './query.js';
import { sendError } from './status.js';

/** kube-apiserver's default --request-timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/** How often deadlines are checked (how late past its deadline a request may be cut). */
const SWEEP_MS = 100;

interface Deadline {
  req: IncomingMessage;
  at: number;
  ms: number;
}

export class RequestDeadlines {
  private readonly pending = new Map<ServerResponse, Deadline>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly defaultMs: number,
    private readonly log: Logger,
    private readonly onExpired: () => void,
  ) {}

  /**
   * Arms the deadline of one request: the server's, or the client's `?timeout=` when shorter. A
   * bad `timeout` value is answered 400 at once (returns false: the request is over).
   */
  arm(req: IncomingMessage, res: ServerResponse): boolean {
    let ms = this.defaultMs;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q >= 0 && url.includes('timeout=', q)) {
      try {
        const asked = durationParam(new URLSearchParams(url.slice(q + 1)), 'timeout');
        if (asked !== undefined && asked > 0 && (ms <= 0 || asked < ms)) ms = asked;
      } catch (err) {
        sendError(res, err, this.log);
        return false;
      }
    }
    if (ms <= 0) return true;
    this.pending.set(res, { req, at: Date.now() + ms, ms });
    // Forgotten as soon as it is answered: finished responses must not wait for a sweep to be freed.
    res.once('close', () => this.pending.delete(res));
    if (!this.timer) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
    return true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [res, d] of this.pending) {
      if (res.writableEnded || res.destroyed || exchangeOf(res).longRunning) {
        this.pending.delete(res);
      } else if (d.at <= now) {
        this.pending.delete(res);
        this.expire(d.req, res, d.ms);
      }
    }
    if (this.pending.size === 0) this.stop();
  }

  private expire(req: IncomingMessage, res: ServerResponse, ms: number): void {
    this.onExpired();
    this.log.debug('request deadline passed', { requestId: exchangeOf(res).id, method: req.method, url: req.url, ms });
    // Close the connection once the answer is out: a stalled upload would otherwise keep it.
    const close = () => req.socket.destroy();
    if (res.headersSent) {
      close();
      return;
    }
    res.setHeader('Connection', 'close');
    res.once('finish', close);
    sendError(res, new TimeoutError(`the request did not complete within ${Math.round(ms / 100) / 10}s`), this.log);
  }
}
