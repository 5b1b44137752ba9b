// What the agent's endpoint (log-server.ts, exec.ts, attach.ts, port-forward.ts) shares in reading a request and refusing it
// (and in keeping its WebSocket clients checked):
// one error type carrying the HTTP code, the Kubernetes `Status` body it is answered with (the API
// server passes such a Status on unchanged), the query parameters, and the
// `/{kind}/{namespace}/{pod}/{container}` paths.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CellError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logging.js';

export type EndpointCode = 400 | 401 | 404 | 500 | 503;

/** A request the endpoint refuses, with the code it is answered with. */
export class EndpointRequestError extends Error {
  constructor(
    readonly code: EndpointCode,
    message: string,
  ) {
    super(message);
  }

  /** A typed error from a check (the signature's): 401 stays 401, anything else is 503. */
  static from(err: CellError): EndpointRequestError {
    return new EndpointRequestError(err.code === 401 ? 401 : 503, err.message);
  }
}

const REASONS: Record<EndpointCode, string> = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound', 500: 'InternalError', 503: 'ServiceUnavailable' };
const PHRASES: Record<EndpointCode, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** The Status a refusal is answered with, and the status line's phrase. */
export function statusOf(code: EndpointCode, message: string): { body: string; phrase: string } {
  return { body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code], code }), phrase: PHRASES[code] };
}

/** Answers an upgrade request with a Status (the API server passes it on) and closes the connection. */
export function refuseUpgrade(socket: Duplex, code: EndpointCode, message: string): void {
  const { body, phrase } = statusOf(code, message);
  socket.end(`HTTP/1.1 ${code} ${phrase}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * Answers an upgrade whose admission failed: an EndpointRequestError with its code, a typed error
 * from a check (the signature's) as EndpointRequestError.from says, anything else as a 500 that
 * is logged (`what`: "exec", "attach", "port-forward").
 */
export function refuseFailedUpgrade(socket: Duplex, err: unknown, what: string, log: Logger, url: string | undefined): void {
  if (err instanceof EndpointRequestError) refuseUpgrade(socket, err.code, err.message);
  else if (err instanceof CellError) refuseUpgrade(socket, EndpointRequestError.from(err).code, err.message);
  else {
    log.warn(`${what} request failed`, { url, error: errorMessage(err) });
    refuseUpgrade(socket, 500, `${what} failed: ${errorMessage(err)}`);
  }
}

/**
 * Pings a WebSocket client every `ms`: one that has not answered the last ping by the next (its
 * machine lost, a link cut) is dropped, after `onDrop`, so nothing runs on for nobody.
 */
export function keepAlive(ws: WebSocket, ms: number, onDrop: () => void = () => undefined): void {
  let answered = true;
  ws.on('pong', () => (answered = true));
  const timer = setInterval(() => {
    if (!answered) {
      onDrop();
      ws.terminate();
      return;
    }
    answered = false;
    ws.ping();
  }, ms);
  ws.once('close', () => clearInterval(timer));
}

export function boolQuery(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw new EndpointRequestError(400, `invalid value for ${name}: "${v.slice(0, 20)}" is not a boolean`);
}

export function intQuery(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min) throw new EndpointRequestError(400, `invalid value for ${name}: "${v.slice(0, 20)}" must be an integer ≥ ${min}`);
  return Number(v);
}

/** `/{kind}/{namespace}/{pod}/{container}` → its three names; 400 for a bad escape, 404 for another shape. */
export function containerPath(pathname: string, kind: string): { namespace: string; pod: string; container: string } {
  let segs: string[];
  try {
    segs = pathname.split('/').slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw new EndpointRequestError(400, `malformed path ${pathname.slice(0, 200)}`);
  }
  if (segs.length !== 4 || segs[0] !== kind || segs.some((s) => s === '')) throw new EndpointRequestError(404, `no such path ${pathname.slice(0, 200)}`);
  const [, namespace, pod, container] = segs as [string, string, string, string];
  return { namespace, pod, container };
}
