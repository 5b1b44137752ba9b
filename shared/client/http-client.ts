// The one HTTP client of the project (CLI, schedulers, agent, tests): JSON requests with a bearer
// token, Kubernetes `Status` errors turned back into the typed error hierarchy, streaming
// watches, failover across several API server URLs, and polite retries on 429/503.
import {
  AlreadyExistsError,
  BadRequestError,
  CellError,
  ConflictError,
  ExpiredError,
  ForbiddenError,
  InternalError,
  InvalidError,
  MethodNotAllowedError,
  NotAcceptableError,
  NotFoundError,
  RequestTooLargeError,
  ResponseLostError,
  TimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
  UnavailableError,
  UnreachableError,
  UnsupportedMediaTypeError,
  errorMessage,
  type ErrorSubject,
  type FieldCause,
} from '../errors.js';
import { Readable } from 'node:stream';
import type WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { MAX_CREATE_LIST_ITEMS } from '../api/meta.js';
import { readAll, SilenceLimit, Transport, type RawResponse, type StreamResponse, type TlsOptions } from './transport.js';
import { backoffMs } from '../backoff.js';

export interface ClientConfig {
  /** One or more API server base URLs; requests fail over between them. */
  servers: string[];
  token?: string;
  /** Per-request timeout (not applied to watches). */
  timeoutMs?: number;
  userAgent?: string;
  /** How many times an idempotent request is retried on 429/503/connection failure. */
  retries?: number;
  /** The cluster CA or insecure-skip-tls-verify, and the user's client certificate, from a kubeconfig. */
  tls?: TlsOptions;
}

export interface ResourceRef {
  group?: string;
  version?: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchOptions<T> {
  /** e.g. the Table media type, so each event carries a Table row (`cellctl get -w`). */
  accept?: string;
  /** How one line of the stream becomes an event (default JSON.parse): a reader may skip what it never uses. */
  parse?: (line: string) => WatchEvent<T>;
  /**
   * Give the stream up (UnavailableError, and the next request goes to the next server) when it
   * brings nothing for this long. Only for a watch that asked for bookmarks, which a live server
   * sends every BOOKMARK_INTERVAL_MS (shared/api/meta.ts) however quiet the resource.
   */
  idleTimeoutMs?: number;
}

interface StatusLike {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: FieldCause[]; retryAfterSeconds?: number };
}

export function isStatus(v: unknown): v is StatusLike {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

/** The typed error a `Status` stands for. */
export function errorFromStatus(status: StatusLike, httpCode?: number): CellError {
  const message = status.message ?? `request failed with code ${status.code ?? httpCode ?? 0}`;
  const d = status.details ?? {};
  const subject: ErrorSubject = {};
  if (d.name !== undefined) subject.name = d.name;
  if (d.group !== undefined) subject.group = d.group;
  if (d.kind !== undefined) subject.kind = d.kind;
  const causes = d.causes ?? [];
  switch (status.reason) {
    case 'AlreadyExists':
      return new AlreadyExistsError(message, subject);
    case 'Conflict':
      // A refused Binding says why in its causes (shared/api/scheduling.ts, PlacementReason).
      return new ConflictError(message, subject, causes);
    case 'Expired':
    case 'Gone':
      return new ExpiredError(message, subject);
    case 'Invalid':
      return new InvalidError(message, subject, causes);
    case 'NotFound':
      return new NotFoundError(message, subject);
    case 'Forbidden':
      return new ForbiddenError(message, subject);
    case 'Unauthorized':
      return new UnauthorizedError(message, subject);
    case 'TooManyRequests':
      return new TooManyRequestsError(message, d.retryAfterSeconds ?? 1);
    case 'MethodNotAllowed':
      return new MethodNotAllowedError(message, subject);
    case 'NotAcceptable':
      return new NotAcceptableError(message, subject);
    case 'RequestEntityTooLarge':
      return new RequestTooLargeError(message, subject);
    case 'UnsupportedMediaType':
      return new UnsupportedMediaTypeError(message, subject);
    case 'ServiceUnavailable':
      return new UnavailableError(message, subject);
    case 'Timeout':
      return new TimeoutError(message, subject);
    case 'BadRequest':
      return new BadRequestError(message, subject);
    default:
      break;
  }
  switch (status.code ?? httpCode) {
    case 400:
      return new BadRequestError(message, subject);
    case 404:
      return new NotFoundError(message, subject);
    case 409:
      return new ConflictError(message, subject);
    case 410:
      return new ExpiredError(message, subject);
    case 422:
      return new InvalidError(message, subject, causes);
    case 429:
      return new TooManyRequestsError(message);
    case 503:
      return new UnavailableError(message, subject);
    default:
      return new InternalError(message, subject);
  }
}

/** `/api/v1/namespaces/ns/pods/name/status` and friends. */
export function resourceUrlPath(ref: ResourceRef): string {
  const group = ref.group ?? '';
  const version = ref.version ?? 'v1';
  let p = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  if (ref.namespace !== undefined) p += `/namespaces/${encodeURIComponent(ref.namespace)}`;
  p += `/${ref.resource}`;
  if (ref.name !== undefined) p += `/${encodeURIComponent(ref.name)}`;
  if (ref.subresource !== undefined) p += `/${ref.subresource}`;
  return p;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** What became of one object of a createMany. */
export type CreateOutcome<T> = { ok: true; object: T } | { ok: false; error: CellError };

/** Bytes of items in one multi-object create request: a third of the server's default 3 MiB body limit. */
const CREATE_LIST_MAX_BYTES = 1024 * 1024;

export class ApiClient {
  private current = 0;

  private readonly transport: Transport;

  constructor(readonly config: ClientConfig) {
    if (config.servers.length === 0) throw new BadRequestError('no API server URL configured');
    this.transport = new Transport(config.tls);
  }

  /**
   * A client to the same servers as the same user whose requests give up after `timeoutMs` and
   * are not retried beyond one try per server: for calls that must fail over within a deadline
   * (lease renewals), where the general 30 s on a silent server would outlast the lease.
   */
  withTimeout(timeoutMs: number): ApiClient {
    return new ApiClient({ ...this.config, timeoutMs, retries: 0 });
  }

  /** Drop idle keep-alive connections (a CLI or test that is done). */
  close(): void {
    this.transport.close();
  }

  get server(): string {
    return this.config.servers[this.current % this.config.servers.length]!;
  }

  /**
   * The next request goes to the server after `failed` — unless another request that failed there
   * moved on already: several requests (informers sharing this client) failing on one server at
   * once must not each step, or an even number of them would step back onto it.
   */
  private leave(failed: string): void {
    if (this.server === failed) this.current++;
  }

  private headers(opts: RequestOptions): Record<string, string> {
    const h: Record<string, string> = { Accept: opts.accept ?? 'application/json' };
    if (this.config.token) h.Authorization = `Bearer ${this.config.token}`;
    if (this.config.userAgent) h['User-Agent'] = this.config.userAgent;
    if (opts.body !== undefined) h['Content-Type'] = opts.contentType ?? 'application/json';
    return h;
  }

  private url(path: string, query: RequestOptions['query'], base = this.server): URL {
    const u = new URL(path, base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /** The typed error for a non-2xx response. */
  private failure(status: number, text: string): CellError {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return isStatus(parsed) ? errorFromStatus(parsed, status) : errorFromStatus({ code: status, message: text.slice(0, 200) || `HTTP ${status}` }, status);
  }

  /**
   * Opens a WebSocket to a connect subresource (pods/exec) of the current server, with the user's
   * credentials; `query` may repeat a name (`command`). A refusal is the typed error of its Status.
   */
  async connect(path: string, query: [string, string][], protocols: string[]): Promise<WebSocket> {
    const u = new URL(path, this.server);
    for (const [k, v] of query) u.searchParams.append(k, v);
    const r = await this.transport.upgrade(u, this.headers({}), protocols, this.config.timeoutMs ?? 30_000);
    if (!r.open) throw this.failure(r.response.status, r.response.text);
    return r.socket;
  }

  /**
   * Send one request, failing over to the next server on connection errors and retrying
   * idempotent requests (and any request refused with 429) with back-off.
   */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const retries = this.config.retries ?? 3;
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    let lastErr: CellError | undefined;
    for (let attempt = 0; attempt <= retries + this.config.servers.length - 1; attempt++) {
      let res: RawResponse;
      const server = this.server;
      try {
        res = await this.transport.send(this.url(path, opts.query, server), method, this.headers(opts), body, this.config.timeoutMs ?? 30_000, opts.signal);
      } catch (err) {
        if (opts.signal?.aborted) throw new UnavailableError('request aborted');
        lastErr = err instanceof CellError ? err : new UnavailableError(errorMessage(err));
        this.leave(server);
        // A create or other non-idempotent request goes to the next server only when it certainly
        // never reached this one: sent again after a timeout it could be done twice (a second pod
        // with another generated name).
        if (!IDEMPOTENT.has(method) && (this.config.servers.length === 1 || !(lastErr instanceof UnreachableError))) throw lastErr;
        if (attempt >= retries + this.config.servers.length - 1) break;
        await backoff(attempt);
        continue;
      }
      if (res.status >= 200 && res.status < 300) {
        if (res.text === '') return undefined as T;
        try {
          return JSON.parse(res.text) as T;
        } catch {
          throw new InternalError(`the server answered ${method} ${path} with a body that is not JSON`);
        }
      }
      const err = this.failure(res.status, res.text);
      // The server is up but cannot serve (its store unreachable, say): the next try, this
      // request's or the next one's, goes to another server. Nothing is sent again that was not
      // going to be: a create that got a 503 still fails here.
      if (err instanceof UnavailableError) this.leave(server);
      const retryable = err instanceof TooManyRequestsError || (err instanceof UnavailableError && IDEMPOTENT.has(method));
      if (!retryable || attempt >= retries) throw err;
      lastErr = err;
      const wait = err instanceof TooManyRequestsError ? err.retryAfterSeconds * 1000 : 0;
      await backoff(attempt, wait);
    }
    throw lastErr ?? new UnavailableError('request failed');
  }

  get<T>(ref: ResourceRef, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', resourceUrlPath(ref), { query });
  }

  list<T>(ref: ResourceRef, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', resourceUrlPath(ref), { query });
  }

  create<T>(ref: ResourceRef, body: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('POST', resourceUrlPath(ref), { body, query });
  }

  /**
   * Create many objects in one collection: the server's multi-object create (a POST whose body is
   * a `v1 List`, answered with each item's object or Status in order). Never throws: the outcome
   * of each item, in order. Items are sent in requests of at most MAX_CREATE_LIST_ITEMS and about
   * CREATE_LIST_MAX_BYTES (an item bigger than that alone), all at once; a request refused as a
   * whole (403, 413, 429 after its retries, a broken connection) is each of its items' failure.
   */
  async createMany<T>(ref: ResourceRef, items: readonly unknown[], query?: RequestOptions['query']): Promise<CreateOutcome<T>[]> {
    const chunks: string[][] = [];
    let chunk: string[] = [];
    let bytes = 0;
    for (const item of items) {
      const text = JSON.stringify(item);
      if (chunk.length > 0 && (chunk.length >= MAX_CREATE_LIST_ITEMS || bytes + text.length > CREATE_LIST_MAX_BYTES)) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(text);
      bytes += text.length + 1;
    }
    if (chunk.length > 0) chunks.push(chunk);
    const answers = await Promise.all(chunks.map(async (texts): Promise<CreateOutcome<T>[]> => {
      try {
        const list = await this.request<{ items?: unknown }>('POST', resourceUrlPath(ref), { body: `{"apiVersion":"v1","kind":"List","items":[${texts.join(',')}]}`, query });
        const answered = Array.isArray(list?.items) ? (list.items as unknown[]) : [];
        if (answered.length !== texts.length) throw new InternalError(`the server answered a List of ${texts.length} objects to create with ${answered.length} outcomes`);
        return answered.map((a) => (isStatus(a) ? { ok: false, error: errorFromStatus(a) } : { ok: true, object: a as T }));
      } catch (err) {
        const error = err instanceof CellError ? err : new UnavailableError(errorMessage(err));
        return texts.map(() => ({ ok: false, error }));
      }
    }));
    return answers.flat();
  }

  update<T>(ref: ResourceRef, body: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('PUT', resourceUrlPath(ref), { body, query });
  }

  patch<T>(ref: ResourceRef, patch: unknown, type: 'merge' | 'json' | 'strategic' = 'merge'): Promise<T> {
    const contentType = {
      merge: 'application/merge-patch+json',
      json: 'application/json-patch+json',
      strategic: 'application/strategic-merge-patch+json',
    }[type];
    return this.request<T>('PATCH', resourceUrlPath(ref), { body: patch, contentType });
  }

  delete<T>(ref: ResourceRef, options?: { gracePeriodSeconds?: number; propagationPolicy?: 'Background' | 'Foreground' | 'Orphan'; preconditions?: { uid?: string; resourceVersion?: string } }): Promise<T> {
    return this.request<T>('DELETE', resourceUrlPath(ref), options ? { body: { kind: 'DeleteOptions', apiVersion: 'v1', ...options } } : {});
  }

  /**
   * A GET whose body is not JSON and may never end (pod logs, `follow=true`): the body as it
   * arrives. Opening it fails over and errors exactly as `request` does; no retries once open.
   */
  async stream(path: string, opts: Pick<RequestOptions, 'query' | 'accept' | 'signal'> = {}): Promise<ReadableStream<Uint8Array>> {
    const server = this.server;
    const res = await this.openStream(server, this.url(path, opts.query, server), this.headers({ accept: opts.accept ?? '*/*' }), opts.signal);
    return Readable.toWeb(res) as ReadableStream<Uint8Array>;
  }

  /** Open a streaming GET; non-2xx answers become typed errors, unreachable servers fail over. */
  private async openStream(server: string, url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
    let res: StreamResponse;
    try {
      res = await this.transport.stream(url, headers, signal, this.config.timeoutMs ?? 30_000);
    } catch (err) {
      if (!signal?.aborted) this.leave(server);
      throw err;
    }
    if (res.status < 200 || res.status >= 300) {
      const err = this.failure(res.status, await readAll(res.body));
      if (err instanceof UnavailableError) this.leave(server); // as in request: the next try goes elsewhere
      throw err;
    }
    return res.body;
  }

  /**
   * Stream a watch. Resolves when the server ends the stream (or `signal` aborts); rejects when it
   * cannot be opened. ERROR events are delivered like any other; the caller decides.
   */
  async watch<T>(
    ref: ResourceRef,
    query: RequestOptions['query'],
    onEvent: (ev: WatchEvent<T>) => void,
    signal?: AbortSignal,
    options: WatchOptions<T> = {},
  ): Promise<void> {
    const { accept, parse = JSON.parse as (line: string) => WatchEvent<T>, idleTimeoutMs } = options;
    let body: IncomingMessage;
    const server = this.server;
    try {
      body = await this.openStream(server, this.url(resourceUrlPath(ref), { ...query, watch: 'true' }, server), this.headers(accept ? { accept } : {}), signal);
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    const silence = idleTimeoutMs !== undefined ? new SilenceLimit(body, server, idleTimeoutMs) : undefined;
    try {
      for await (const chunk of body) {
        silence?.touch();
        buffer += decoder.decode(chunk as Buffer, { stream: true });
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== '') onEvent(parse(line));
          nl = buffer.indexOf('\n');
        }
      }
    } catch (err) {
      if (signal?.aborted) return;
      // An error raised by onEvent (e.g. a 410 ERROR event) is the caller's; pass it through.
      if (err instanceof CellError && !(err instanceof ResponseLostError)) throw err;
      // A silent server is likely unreachable: the next watch goes to another.
      if (err instanceof ResponseLostError) this.leave(server);
      throw new UnavailableError(`watch stream broke: ${errorMessage(err)}`);
    } finally {
      silence?.stop();
    }
  }
}

/** Before a retry: 100 ms doubling to 2 s, -50% jitter, and never less than the server asked (Retry-After). */
async function backoff(attempt: number, minMs = 0): Promise<void> {
  const ms = Math.max(minMs, backoffMs(attempt, { initialMs: 75, maxMs: 1500, jitter: 1 / 3 }));
  await new Promise((r) => setTimeout(r, ms));
}
