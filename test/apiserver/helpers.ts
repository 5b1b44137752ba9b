// Shared pieces of the API server tests: raw HTTP requests (status code, headers and parsed body,
// so tests can assert exactly what a client sees), object builders, and condition polling.
import http from 'node:http';
import https from 'node:https';
import { expect } from 'chai';

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: unknown;
}

export interface RawOptions {
  body?: unknown;
  /** Defaults to application/json when a body is given. */
  contentType?: string;
  accept?: string;
  token?: string;
  headers?: Record<string, string>;
}

/** One request with fetch; a string body is sent verbatim, anything else as JSON. */
export async function raw(base: string, method: string, path: string, opts: RawOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.accept) headers.Accept = opts.accept;
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
  } else if (opts.contentType) {
    headers['Content-Type'] = opts.contentType;
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/**
 * One request with node:http (https for an https base, trusting `ca`), for what fetch refuses to
 * send (arbitrary methods, raw paths that fetch would normalise, mismatched content-length).
 * `watch`: a 200 is closed at once instead of read to the end.
 */
export function rawHttp(
  base: string,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string>; ca?: string; watch?: boolean } = {},
): Promise<RawResponse> {
  const u = new URL(base);
  const request = u.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, method, path, headers: opts.headers ?? {}, agent: false, ...(opts.ca ? { ca: opts.ca } : {}) },
      (res) => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        if (opts.watch && res.statusCode === 200) {
          req.destroy();
          resolve({ status: 200, headers, text: '', body: undefined });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers, text, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** A request as a test writes it: JSON bodies are encoded, a token becomes the bearer header. */
export interface Call {
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  /** A watch: a 200 is closed at once instead of read to the end. */
  watch?: boolean;
}

/** One request on its own connection with `token` (undefined: none). */
export function sendAs(base: string, token: string | undefined, call: Call, ca?: string): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const body = call.body === undefined ? undefined : typeof call.body === 'string' ? call.body : JSON.stringify(call.body);
  if (body !== undefined) headers['Content-Type'] = call.contentType ?? 'application/json';
  return rawHttp(base, call.method, call.path, { headers, ...(body !== undefined ? { body } : {}), ...(ca ? { ca } : {}), ...(call.watch ? { watch: true } : {}) });
}

export interface StatusView {
  kind?: string;
  apiVersion?: string;
  status?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; kind?: string; causes?: { reason?: string; field?: string; message?: string }[] };
}

/** Asserts a response is a Kubernetes Status error with this code (and reason, when given). */
export function expectStatus(res: RawResponse, code: number, reason?: string): StatusView {
  const what = `${res.status} ${res.text.slice(0, 300)}`;
  expect(res.status, what).to.equal(code);
  expect(res.body, what).to.be.an('object');
  const s = res.body as StatusView;
  expect(s.kind, what).to.equal('Status');
  expect(s.apiVersion, what).to.equal('v1');
  expect(s.status, what).to.equal('Failure');
  expect(s.code, what).to.equal(code);
  expect(s.reason, what).to.be.a('string').and.not.equal('');
  expect(s.message, what).to.be.a('string');
  if (reason !== undefined) expect(s.reason, what).to.equal(reason);
  return s;
}

/** The `details.causes[].field` of a 422. */
export function causeFields(s: StatusView): string[] {
  return (s.details?.causes ?? []).map((c) => c.field ?? '');
}

/** Poll until `check` returns a value other than undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

// ---------------------------------------------------------------------------------------------
// Object shapes the tests read back.

export interface Meta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface ContainerView {
  name: string;
  image: string;
  command?: string[];
  env?: { name: string; value?: string }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface PodView extends Obj {
  spec: { containers: ContainerView[]; nodeName?: string; schedulerName?: string; activeDeadlineSeconds?: number; [k: string]: unknown };
  status: { phase?: string; conditions?: { type: string; status: string }[]; [k: string]: unknown };
}

export interface ListView<T = Obj> {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

// ---------------------------------------------------------------------------------------------
// Builders.

export function podBody(
  name: string,
  opts: { labels?: Record<string, string>; nodeName?: string; schedulerName?: string; cpu?: string; containers?: ContainerView[]; annotations?: Record<string, string>; finalizers?: string[] } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(opts.labels ? { labels: opts.labels } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.finalizers ? { finalizers: opts.finalizers } : {}),
    },
    spec: {
      containers: opts.containers ?? [
        { name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: opts.cpu ?? '10m', memory: '16Mi' } } },
      ],
      ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
      ...(opts.schedulerName ? { schedulerName: opts.schedulerName } : {}),
    },
  };
}

export function nodeBody(name: string, opts: { labels?: Record<string, string>; unschedulable?: boolean; ready?: boolean; kubeletVersion?: string } = {}): Record<string, unknown> {
  const capacity = { cpu: '4', memory: '8Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, ...(opts.labels ? { labels: opts.labels } : {}) },
    spec: opts.unschedulable !== undefined ? { unschedulable: opts.unschedulable } : {},
    status: {
      capacity,
      allocatable: capacity,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
      ...(opts.kubeletVersion ? { nodeInfo: { kubeletVersion: opts.kubeletVersion } } : {}),
    },
  };
}

export function leaseBody(name: string, holder = name): Record<string, unknown> {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: { holderIdentity: holder, leaseDurationSeconds: 40 },
  };
}

export function eventBody(name: string, namespace = 'default'): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name },
    involvedObject: { kind: 'Pod', namespace, name: 'some-pod' },
    reason: 'Scheduled',
    message: 'assigned somewhere',
    type: 'Normal',
  };
}

export function podGroupBody(name: string, minMember = 2): Record<string, unknown> {
  return {
    apiVersion: 'scheduling.x-k8s.io/v1alpha1',
    kind: 'PodGroup',
    metadata: { name },
    spec: { minMember, scheduleTimeoutSeconds: 60 },
  };
}

export function namespaceBody(name: string): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** Parse newline-delimited watch events out of accumulated text; returns the rest. */
export function splitLines(buffer: string): { lines: string[]; rest: string } {
  const parts = buffer.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts.filter((l) => l.trim() !== ''), rest };
}

export interface WatchEventView {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Obj & StatusView;
}

/**
 * An open watch stream whose events accumulate in `events` as they arrive. Uses node:http on its
 * own connection (not fetch's pool), so closing it closes exactly that connection.
 */
export class WatchCollector {
  readonly events: WatchEventView[] = [];
  ended = false;
  error: unknown;
  private closing = false;

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly req: http.ClientRequest,
    private readonly done: Promise<void>,
  ) {}

  /** Opens `path` (which must carry `watch=true`); resolves once the response headers arrived. */
  static open(base: string, path: string, opts: { token?: string; accept?: string } = {}): Promise<WatchCollector> {
    const u = new URL(base);
    const headers: Record<string, string> = {};
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    if (opts.accept) headers.Accept = opts.accept;
    return new Promise((resolve, reject) => {
      const req = http.get({ host: u.hostname, port: u.port, path, headers, agent: false }, (res) => {
        let finish: () => void = () => undefined;
        const done = new Promise<void>((r) => (finish = r));
        const w = new WatchCollector(res.statusCode ?? 0, res.headers, req, done);
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const { lines, rest } = splitLines(buffer + chunk);
          buffer = rest;
          for (const line of lines) w.events.push(JSON.parse(line) as WatchEventView);
        });
        const end = (err?: unknown) => {
          if (err !== undefined && !w.closing) w.error = err;
          w.ended = true;
          finish();
        };
        res.on('end', () => end());
        res.on('error', (err) => end(err));
        res.on('close', () => end(res.complete ? undefined : w.closing ? undefined : new Error('watch stream aborted')));
        resolve(w);
      });
      req.on('error', reject);
    });
  }

  /** Events other than bookmarks. */
  changes(): WatchEventView[] {
    return this.events.filter((e) => e.type !== 'BOOKMARK');
  }

  async waitForEvents(n: number, timeoutMs = 10_000, pred: (e: WatchEventView) => boolean = (e) => e.type !== 'BOOKMARK'): Promise<WatchEventView[]> {
    return waitFor(`${n} watch events (have ${this.events.filter(pred).length})`, () => {
      const got = this.events.filter(pred);
      return got.length >= n ? got : undefined;
    }, timeoutMs);
  }

  async waitForEnd(timeoutMs = 10_000): Promise<void> {
    await waitFor('the watch stream to end', () => this.ended, timeoutMs);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.req.destroy();
    await this.done;
  }
}
