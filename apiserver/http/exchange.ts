// One request from arrival to response: its id, who sent it, what it addressed (for the request
// metrics and the access log) and its in-flight slot. Kept beside Node's response object rather
// than on a framework's wrapper, so the resource hot path runs on plain `http` objects.
import type { ServerResponse } from 'node:http';
import type { UserInfo } from '../auth/tokens.js';

export interface Exchange {
  /** The request id, also sent as the `Audit-Id` header. */
  readonly id: string;
  /** Set once authentication succeeded. */
  user?: UserInfo;
  /** Kubernetes verb, resource and subresource once the path was understood (metric labels). */
  verb?: string;
  resource?: string;
  subresource?: string;
  /** A watch or a log follow: not observed as a request duration. */
  longRunning?: boolean;
  /** Gives the in-flight slot back (see inflight.ts). */
  releaseInflight?: () => void;
}

const exchanges = new WeakMap<ServerResponse, Exchange>();

/** Start the record of a request; the server does this first for every request. */
export function beginExchange(res: ServerResponse, id: string): Exchange {
  const exchange: Exchange = { id };
  exchanges.set(res, exchange);
  return exchange;
}

/** The record of the request `res` answers (an empty one if the server did not start one). */
export function exchangeOf(res: ServerResponse): Exchange {
  let exchange = exchanges.get(res);
  if (!exchange) {
    exchange = { id: '' };
    exchanges.set(res, exchange);
  }
  return exchange;
}
