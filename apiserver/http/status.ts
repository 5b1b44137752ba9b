// The one place where errors become Kubernetes `Status` responses.
import type { ServerResponse } from 'node:http';
import { CellError, InternalError, RequestTooLargeError, errorMessage, retryAfterSeconds } from '../../shared/errors.js';
import type { Logger } from '../../shared/logging.js';

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason: string; message: string; field: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** A `Status` for any thrown value; unknown errors become a generic 500 (the detail goes to the log). */
export function statusOf(err: unknown): StatusBody {
  const e = err instanceof CellError ? err : new InternalError('an internal error occurred');
  const details: NonNullable<StatusBody['details']> = {};
  if (e.subject.name !== undefined) details.name = e.subject.name;
  if (e.subject.group !== undefined) details.group = e.subject.group;
  if (e.subject.kind !== undefined) details.kind = e.subject.kind;
  if (e.causes.length > 0) details.causes = e.causes.map((c) => ({ ...c }));
  const retryAfter = retryAfterSeconds(e);
  if (retryAfter !== undefined) details.retryAfterSeconds = retryAfter;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: e.message,
    reason: e.reason,
    // A NotFound always has details, empty for a path nothing serves, as kube-apiserver's: clients
    // tell the two apart by the name (kubectl debug reads it without checking there are details).
    ...(Object.keys(details).length > 0 || e.reason === 'NotFound' ? { details } : {}),
    code: e.code,
  };
}

export function successStatus(details?: { name?: string; kind?: string; group?: string }): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    message: '',
    reason: '',
    ...(details ? { details } : {}),
    code: 200,
  };
}

export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const status = statusOf(err);
  if (!(err instanceof CellError)) {
    log.error('unexpected error serving request', {
      error: errorMessage(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
  }
  if (res.headersSent) {
    // A streaming response (watch) already started: end it; the client sees a closed stream.
    res.end();
    return;
  }
  if (status.details?.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(status.details.retryAfterSeconds));
  // The rest of an over-long body is never read: this connection cannot carry another request.
  if (err instanceof RequestTooLargeError) res.setHeader('Connection', 'close');
  const text = JSON.stringify(status);
  res.writeHead(status.code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
