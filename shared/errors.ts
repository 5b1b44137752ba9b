// The project's error hierarchy. Every failure that can reach a client is one of these, and
// `toStatus` (apiserver) turns it into a Kubernetes `Status` in one place. Library code throws
// these, never bare Errors, for anything the caller could have caused.

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'Invalid'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

/** One bad field of a 422 Invalid, as in Kubernetes' `details.causes[]`. */
export interface FieldCause {
  /** e.g. FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate */
  reason: string;
  message: string;
  /** JSON-path-like location, e.g. `spec.containers[0].resources.requests.cpu` */
  field: string;
}

/** What a Status names: the object the error is about. */
export interface ErrorSubject {
  name?: string;
  group?: string;
  kind?: string;
}

export abstract class CellError extends Error {
  abstract readonly code: number;
  abstract readonly reason: StatusReason;
  readonly subject: ErrorSubject;
  readonly causes: FieldCause[];

  constructor(message: string, subject: ErrorSubject = {}, causes: FieldCause[] = []) {
    super(message);
    this.name = new.target.name;
    this.subject = subject;
    this.causes = causes;
  }
}

export class BadRequestError extends CellError {
  readonly code = 400;
  readonly reason = 'BadRequest' as const;
}

export class UnauthorizedError extends CellError {
  readonly code = 401;
  readonly reason = 'Unauthorized' as const;
}

export class ForbiddenError extends CellError {
  readonly code = 403;
  readonly reason = 'Forbidden' as const;
}

export class NotFoundError extends CellError {
  readonly code = 404;
  readonly reason = 'NotFound' as const;
}

export class MethodNotAllowedError extends CellError {
  readonly code = 405;
  readonly reason = 'MethodNotAllowed' as const;
}

export class NotAcceptableError extends CellError {
  readonly code = 406;
  readonly reason = 'NotAcceptable' as const;
}

export class AlreadyExistsError extends CellError {
  readonly code = 409;
  readonly reason = 'AlreadyExists' as const;
}

/** A compare-and-swap lost: the object changed since the caller read it, or no longer fits. */
export class ConflictError extends CellError {
  readonly code = 409;
  readonly reason = 'Conflict' as const;
}

/** The requested resourceVersion is older than retained history ("too old resource version"). */
export class ExpiredError extends CellError {
  readonly code = 410;
  readonly reason = 'Expired' as const;
}

/** The store compacted the revision a watch or list asked for. */
export class CompactedError extends ExpiredError {
  readonly compactRevision: number;
  constructor(requested: number, compactRevision: number) {
    super(
      `too old resource version: ${requested} (${compactRevision})`,
    );
    this.compactRevision = compactRevision;
  }
}

export class RequestTooLargeError extends CellError {
  readonly code = 413;
  readonly reason = 'RequestEntityTooLarge' as const;
}

export class UnsupportedMediaTypeError extends CellError {
  readonly code = 415;
  readonly reason = 'UnsupportedMediaType' as const;
}

/** Schema or semantic validation failed; `causes` names each bad field. */
export class InvalidError extends CellError {
  readonly code = 422;
  readonly reason = 'Invalid' as const;
}

/** A store transaction over etcd's limits (ops per txn, bytes per request). */
export class TxnTooLargeError extends InvalidError {}

/** Input text (a quantity, a selector) that does not parse. Becomes 400, or a 422 cause when inside an object. */
export class ParseError extends BadRequestError {}

export class TooManyRequestsError extends CellError {
  readonly code = 429;
  readonly reason = 'TooManyRequests' as const;
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class InternalError extends CellError {
  readonly code = 500;
  readonly reason = 'InternalError' as const;
}

/** The store (or another dependency) cannot be reached; safe to retry. */
export class UnavailableError extends CellError {
  readonly code = 503;
  readonly reason = 'ServiceUnavailable' as const;
}

/**
 * The server could not be reached at all (connection refused, no such host): the request was
 * never delivered, so even a create may be sent again, to another server. Any other failure of
 * a sent request (a timeout, a reset, a broken response) leaves its outcome unknown.
 */
export class UnreachableError extends UnavailableError {}

/**
 * A request was sent and no answer came back (the client's timeout, a connection reset, a broken
 * response): the server may or may not have done it.
 */
export class ResponseLostError extends UnavailableError {}

export class TimeoutError extends CellError {
  readonly code = 504;
  readonly reason = 'Timeout' as const;
}

/**
 * A store write whose outcome is unknown: the link to etcd broke, or the deadline passed, after
 * the request was sent, so it may or may not have committed. Not retried blindly (a write that did
 * commit would come back as a false conflict); the client re-reads, then decides. 504, like
 * Kubernetes' "the request may still be processed" timeouts.
 */
export class OutcomeUnknownError extends TimeoutError {}

/**
 * A read or watch asked for a resourceVersion this server has not reached (it may be ahead of it,
 * or from the future). 504 with Retry-After, as kube-apiserver answers: clients wait and retry.
 */
export class TooLargeResourceVersionError extends TimeoutError {
  constructor(requested: string, current: string) {
    super(`Too large resource version: ${requested}, current: ${current}`, {}, [
      { reason: 'ResourceVersionTooLarge', message: 'Too large resource version', field: '' },
    ]);
  }
}

/**
 * True when a failed write may nevertheless have taken effect: its answer was lost on the way, or
 * the server answered 504 (its deadline passed, or etcd's outcome was unknown). A controller that
 * created pods must then wait to see them rather than create them again.
 */
export function mayHaveTakenEffect(err: unknown): boolean {
  return err instanceof ResponseLostError || (err instanceof TimeoutError && !(err instanceof TooLargeResourceVersionError));
}

/** Seconds a client should wait before retrying, for the errors that say (sent as Retry-After). */
export function retryAfterSeconds(err: CellError): number | undefined {
  if (err instanceof TooManyRequestsError) return err.retryAfterSeconds;
  if (err instanceof UnavailableError || err instanceof TimeoutError) return 1;
  return undefined;
}

export function isCellError(err: unknown): err is CellError {
  return err instanceof CellError;
}

/** Message of any thrown value, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
