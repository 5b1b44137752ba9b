// The page's one door to the API server: same origin, the session's bearer token on every call,
// Kubernetes Status bodies turned into ApiError, and a 401 anywhere ends the session.
import { clearToken, loadToken } from './session.js';

/** A failed call, carrying the Status the server answered with. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when the server answers 401: the token is gone and the page must show sign-in. */
export function onUnauthorized(fn: Listener): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

function unauthorized(): void {
  clearToken();
  for (const fn of unauthorizedListeners) fn();
}

export function authHeaders(token = loadToken()): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

interface StatusBody {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  let status: StatusBody = {};
  try {
    status = JSON.parse(text) as StatusBody;
  } catch (err) {
    // Not a Status (a proxy's error page): the text itself is the message.
    return new ApiError(res.status, res.statusText, `${res.status} ${text.slice(0, 200) || res.statusText} (${String(err)})`);
  }
  return new ApiError(res.status, status.reason ?? res.statusText, status.message ?? `${res.status} ${res.statusText}`);
}

/** One call; throws ApiError on any non-2xx answer. */
export async function call(method: string, path: string, opts: { body?: unknown; token?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json', ...authHeaders(opts.token ?? loadToken()) };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.ok) return res;
  if (res.status === 401) unauthorized();
  throw await errorOf(res);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await call('GET', path, signal ? { signal } : {});
  return (await res.json()) as T;
}

export interface WhoAmI {
  username: string;
  groups: string[];
}

/** Who the token belongs to (SelfSubjectReview, what `kubectl auth whoami` asks). */
export async function whoAmI(token: string): Promise<WhoAmI> {
  const res = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    token,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const review = (await res.json()) as { status?: { userInfo?: { username?: string; groups?: string[] } } };
  return { username: review.status?.userInfo?.username ?? '(unknown)', groups: review.status?.userInfo?.groups ?? [] };
}

/**
 * Streams a response body line by line (watch events, followed logs) until it ends or `signal`
 * aborts. Lines are handed over in batches, one batch per chunk the network delivered.
 */
export async function readLines(res: Response, onLines: (lines: string[]) => void, signal: AbortSignal): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let carry = '';
  const abort = () => void reader.cancel().catch((err: unknown) => console.debug('stream cancel', err));
  signal.addEventListener('abort', abort, { once: true });
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      carry += decoder.decode(value, { stream: true });
      const parts = carry.split('\n');
      carry = parts.pop() ?? '';
      if (parts.length > 0) onLines(parts);
    }
    carry += decoder.decode();
    if (carry !== '') onLines([carry]);
  } finally {
    signal.removeEventListener('abort', abort);
    // A consumer that threw (a watch ERROR event) leaves the stream: close the connection.
    if (!ended && !signal.aborted) abort();
  }
}
