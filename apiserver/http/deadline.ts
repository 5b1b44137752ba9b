// Every request that is not long-running (a watch, a followed log) has a deadline, as in
// kube-apiserver (--request-timeout, 60 s; a client may ask for less with `?timeout=30s`). Past
// it the client gets 504 Timeout with Retry-After, and the connection is closed — so a client that
// sends its headers and then stalls its body, or never reads the answer, holds an in-flight slot
// for at most the deadline, never indefinitely.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TimeoutError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';
import { exchangeOf } from './exchange.js';
import { durationParam } from './query.js';
import { sendError } from './status.js';

/** kube-apiserver's default --request-timeout. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

/**
 * Arms the deadline of one request: the server's, or the client's `?timeout=` when shorter. A bad
 * `timeout` value is answered 400 at once (returns false: the request is over).
 */
export function armDeadline(req: IncomingMessage, res: ServerResponse, defaultMs: number, log: Logger, onExpired: () => void): boolean {
  let ms = defaultMs;
  const q = (req.url ?? '').indexOf('?');
  if (q >= 0) {
    try {
      const asked = durationParam(new URLSearchParams(req.url!.slice(q + 1)), 'timeout');
      if (asked !== undefined && asked > 0 && (ms <= 0 || asked < ms)) ms = asked;
    } catch (err) {
      sendError(res, err, log);
      return false;
    }
  }
  if (ms <= 0) return true;
  const timer = setTimeout(() => {
    const exchange = exchangeOf(res);
    if (exchange.longRunning || res.writableEnded) return;
    onExpired();
    log.debug('request deadline passed', { requestId: exchange.id, method: req.method, url: req.url, ms });
    // Close the connection once the answer is out: a stalled upload would otherwise keep it.
    const close = () => req.socket.destroy();
    if (res.headersSent) {
      close();
      return;
    }
    res.setHeader('Connection', 'close');
    res.once('finish', close);
    sendError(res, new TimeoutError(`the request did not complete within ${Math.round(ms / 100) / 10}s`), log);
  }, ms);
  timer.unref();
  res.once('close', () => clearTimeout(timer));
  return true;
}
