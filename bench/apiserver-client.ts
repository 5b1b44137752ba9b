// The client side shared by the API server benchmarks (bench/apiserver.ts, bench/watchers.ts):
// plain node:http requests, a realistic pod, writes at a fixed offered rate, raw watch streams read
// by byte search, and the server process's CPU time from /proc.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { startApiServerProcess, type ApiServerProcess } from '../test/clients/apiserver-process.js';
import { freePort } from '../test/harness/ports.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { programArgs, REPO_ROOT } from '../test/harness/entrypoint.js';

/** A numeric setting from the environment, `dflt` when unset or empty. */
export const env = (name: string, dflt: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The etcd the npm script started ($ETCD_ENDPOINTS); exits when run without it. */
export function etcdEndpoints(script: string): string[] {
  const endpoints = (process.env.ETCD_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (endpoints.length === 0) {
    console.error(`ETCD_ENDPOINTS is not set: run through \`npm run ${script}\``);
    process.exit(2);
  }
  return endpoints;
}

/**
 * BENCH_AUTH, who the load is: unset, no authentication (the loopback admin); `admin`, a bearer
 * token of a system:masters user (authorization's fast path); `tenant`, a user whose RoleBindings
 * grant `edit` in the benchmark's namespaces, so every request is an RBAC decision.
 */
export const BENCH_AUTH = process.env.BENCH_AUTH === 'admin' || process.env.BENCH_AUTH === 'tenant' ? process.env.BENCH_AUTH : undefined;
const TOKENS = { admin: 'bench-admin-token', tenant: 'bench-tenant-token' };
/** Headers of the load's requests; setup (namespaces, bindings) goes as ADMIN_HEADERS. */
export const LOAD_HEADERS: Record<string, string> = BENCH_AUTH ? { Authorization: `Bearer ${TOKENS[BENCH_AUTH]}` } : {};
export const ADMIN_HEADERS: Record<string, string> = BENCH_AUTH ? { Authorization: `Bearer ${TOKENS.admin}` } : {};
export const BENCH_TENANT = 'bench-tenant';

/**
 * cell-apiserver as a child process on a free port, quiet, without compaction (the benchmark's
 * history must stay); BENCH_SERVER_ARGS are extra flags for it (e.g. `--max-watch-cache-lag=0`),
 * BENCH_SERVER_NODE_ARGS extra node flags (e.g. `--cpu-prof`).
 */
export async function startBenchApiServer(endpoints: string[], prefix: string): Promise<ApiServerProcess> {
  const auth: string[] = [];
  if (BENCH_AUTH) {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cell-bench-')), 'tokens.csv');
    writeFileSync(file, `${TOKENS.admin},bench-admin,1,"system:masters"\n${TOKENS.tenant},${BENCH_TENANT},2\n`);
    auth.push(`--token-auth-file=${file}`);
  }
  return startApiServerProcess({
    etcdEndpoints: endpoints,
    prefix,
    port: await freePort(),
    args: ['--log-level=warn', '--compaction-interval=0', ...auth, ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)],
    nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
  });
}

/**
 * A namespace for the load: created as the admin, and with BENCH_AUTH=tenant bound to `edit` for
 * the tenant; returns once the tenant's requests there are authorized (RBAC follows its caches).
 */
export async function benchNamespace(agent: http.Agent, base: URL, name: string): Promise<void> {
  const admin = (method: string, p: string, body: unknown) => request(agent, base, method, p, JSON.stringify(body), ADMIN_HEADERS);
  expectStatus(await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), 201, `create namespace ${name}`);
  if (BENCH_AUTH !== 'tenant') return;
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'bench-edit', namespace: name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: BENCH_TENANT }],
  };
  expectStatus(await admin('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${name}/rolebindings`, binding), 201, `bind ${BENCH_TENANT} in ${name}`);
  for (const deadline = Date.now() + 10_000; ; ) {
    if ((await request(agent, base, 'GET', `/api/v1/namespaces/${name}/pods?limit=1`)).status === 200) return;
    if (Date.now() > deadline) throw new Error(`${BENCH_TENANT} is still not allowed in ${name}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SIGTERM (SIGKILL after 5 s), saying so when the server did not exit cleanly. */
export async function stopBenchApiServer(server: ApiServerProcess): Promise<void> {
  const code = await server.stop('SIGTERM', 5000);
  if (code !== 0) console.error(`note: cell-apiserver did not exit cleanly on SIGTERM (exit ${code}; null = SIGKILLed after 5 s)`);
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing: plain node:http with keep-alive (cheaper per request than fetch).

export interface Reply {
  status: number;
  body: Buffer;
}

export function request(agent: http.Agent, base: URL, method: string, path: string, body?: string, auth: Record<string, string> = LOAD_HEADERS): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Accept: 'application/json', ...auth };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function expectStatus(r: Reply, want: number, what: string): Reply {
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status} (wanted ${want}): ${r.body.toString('utf8').slice(0, 300)}`);
  return r;
}

interface PodMeta {
  name: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: PodMeta;
  spec: unknown;
}

/** A small but realistic pod: one container with requests, a few labels. */
export function pod(name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench', tier: 'batch', ...extra.labels }, ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      schedulerName: 'default-scheduler',
      restartPolicy: 'Never',
      containers: [
        {
          name: 'main',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'sleep 3600'],
          env: [{ name: 'MODE', value: 'bench' }],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
        },
      ],
    },
  };
}

/** CPU time (user + system) the process has used so far, in ms, from /proc; NaN where unavailable. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** Peak and current resident memory of a process, bytes, from /proc; NaN where unavailable. */
export function residentBytes(pid: number | undefined): { peak: number; now: number } {
  if (pid === undefined) return { peak: NaN, now: NaN };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { peak: kb('VmHWM'), now: kb('VmRSS') };
  } catch {
    return { peak: NaN, now: NaN };
  }
}

/** A Ready node as the benchmarks register it, without an agent: `node-00042`, in one of three zones. */
export function benchNode(i: number, resources: { cpu: string; memory: string; pods: string }) {
  const name = `node-${String(i).padStart(5, '0')}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
    status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/** Delete a run's keys and compact etcd's history, so the next run starts on a small store. */
export async function clearEtcdPrefix(endpoints: string[], prefix: string): Promise<void> {
  const etcd = new Etcd3({ hosts: endpoints });
  try {
    const res = await etcd.delete().prefix(prefix).exec();
    await etcd.kv.compact({ revision: res.header.revision, physical: true });
  } finally {
    etcd.close();
  }
}

/** The etcd serving `endpoint`, found by its command line (the harness starts it), for its CPU time. */
export function etcdPid(endpoint: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd.some((arg) => arg.endsWith('etcd')) && cmd.includes(endpoint)) return Number(entry);
    } catch {
      // the process went away meanwhile
    }
  }
  return undefined;
}

/** Runs `fn(0 … n-1)` with at most `concurrency` in flight; the first failure fails the whole. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

/**
 * POST expecting 201, as a client would: 429 (the server sheds load past its in-flight limit) is
 * retried a while; a 5xx that says to retry (504 "outcome unknown": etcd's connection dropped
 * mid-write) is retried once its Retry-After has passed, and a 409 after it means the first
 * attempt did commit.
 */
export async function postCreated(agent: http.Agent, base: URL, path: string, obj: unknown): Promise<void> {
  const body = JSON.stringify(obj);
  let retriedUnknown = false;
  for (let attempt = 0; ; attempt++) {
    const r = await request(agent, base, 'POST', path, body);
    if (r.status === 429 && attempt < 50) {
      await new Promise((res) => setTimeout(res, 50 + Math.random() * 100));
      continue;
    }
    if (r.status >= 500 && attempt < 10) {
      const retryAfter = retryAfterSeconds(r);
      if (retryAfter !== undefined) {
        console.error(`POST ${path}: HTTP ${r.status}, retrying in ${retryAfter} s: ${r.body.toString('utf8').slice(0, 200)}`);
        retriedUnknown = true;
        await new Promise((res) => setTimeout(res, retryAfter * 1000));
        continue;
      }
    }
    if (r.status === 409 && retriedUnknown) return;
    expectStatus(r, 201, `POST ${path}`);
    return;
  }
}

/** A Status body's `details.retryAfterSeconds`, if the reply is one that asks to be retried. */
function retryAfterSeconds(r: Reply): number | undefined {
  try {
    const status = JSON.parse(r.body.toString('utf8')) as { details?: { retryAfterSeconds?: unknown } };
    const s = status.details?.retryAfterSeconds;
    return typeof s === 'number' && s >= 0 ? s : undefined;
  } catch {
    return undefined; // not a Status: not retryable
  }
}

// ---------------------------------------------------------------------------------------------
// Writes at a fixed offered rate.

export interface PacedPosts {
  /** performance.now() when the first POST was due. */
  startedAt: number;
  /** performance.now() when every POST had completed, or the deadline passed. */
  doneAt: number;
  /** POSTs completed (201) by doneAt. */
  completed: number;
  /** Latency of each completed POST, ms, in completion order. */
  latenciesMs: number[];
}

/**
 * POSTs `total` bodies to `path` at `rate` per second — evenly spaced, or as Poisson arrivals
 * (exponential gaps: an open-loop load whose bursts are what real traffic does) — then waits for
 * them, but no longer than `deadlineMs` after the first: an overloaded server may take far longer
 * than the offered schedule. `body(seq, dueAt)` makes each one; dueAt is its performance.now()
 * arrival time in the schedule, so latency measured from it includes any lag of this generator
 * (no coordinated omission).
 */
export async function postPaced(opts: {
  agent: http.Agent;
  /** Several: the writes go round them (API server replicas). */
  base: URL | readonly URL[];
  path: string;
  total: number;
  rate: number;
  deadlineMs: number;
  arrivals?: 'uniform' | 'poisson';
  /** What the writes are, for error messages. */
  label: string;
  body(seq: number, dueAt: number): string;
  /** Called as each POST completes, for progress. */
  onWritten?(): void;
}): Promise<PacedPosts> {
  const { agent, path, total, rate } = opts;
  const bases = Array.isArray(opts.base) ? opts.base : [opts.base as URL];
  const latenciesMs: number[] = [];
  const writes: Promise<void>[] = [];
  const startedAt = performance.now();
  const gapMs = 1000 / rate;
  let nextDue = startedAt;
  const advance = () => (nextDue += opts.arrivals === 'poisson' ? -Math.log(1 - Math.random()) * gapMs : gapMs);
  await new Promise<void>((resolve) => {
    let issued = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      for (; issued < total && nextDue <= now; issued++, advance()) {
        const sent = performance.now();
        const body = opts.body(issued, nextDue);
        writes.push(
          request(agent, bases[issued % bases.length]!, 'POST', path, body).then((r) => {
            expectStatus(r, 201, `${opts.label} write`);
            latenciesMs.push(performance.now() - sent);
            opts.onWritten?.();
          }),
        );
      }
      if (issued >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  let completed = 0;
  writes.forEach((w) => void w.then(() => completed++, () => undefined));
  const writeDeadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.deadlineMs).unref());
  const allWrites = Promise.all(writes);
  const outcome = await Promise.race([allWrites, writeDeadline]);
  allWrites.catch(() => undefined); // failures after the deadline are the overload already reported
  if (outcome === 'timeout') {
    console.error(`${opts.label}: only ${completed}/${total} writes completed ${opts.deadlineMs / 1000} s after the first; not waiting longer`);
  }
  return { startedAt, doneAt: performance.now(), completed, latenciesMs };
}

// ---------------------------------------------------------------------------------------------
// Raw watch streams.

/** The annotation each bench pod carries its sequence number in, as it appears in the JSON. */
export const SEQ_ANNOTATION = 'bench.cell.dev/seq';
const SEQ_MARKER = Buffer.from(`"${SEQ_ANNOTATION}":"`);
const NEWLINE = 0x0a;

/** One raw watch stream; events are found by byte search, not JSON.parse, so thousands of them stay cheap. */
export class Watcher {
  private leftover: Buffer | undefined;
  readonly seen: Uint8Array;
  received = 0;
  duplicates = 0;
  ended = false;
  /** performance.now() when the stream ended (0 while open). */
  endedAt = 0;
  lastAt = 0;
  req: http.ClientRequest | undefined;
  private res: http.IncomingMessage | undefined;

  /**
   * `clock` reads the time `sentAt` was stamped with: performance.now() in one thread; watchers in
   * worker threads (watch-fleet.ts) use the absolute clock, timeOrigin + now.
   */
  constructor(
    total: number,
    private readonly sentAt: Float64Array,
    private readonly latencies: Float64Array,
    private readonly counter: { n: number },
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.seen = new Uint8Array(total);
  }

  /**
   * `stuck`: pause the response at once and never read it, so the server's queue for it only
   * grows. A paused socket is not read, so an RST from the server goes unnoticed until resume().
   */
  open(base: URL, agent: http.Agent, path: string, stuck = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = http.get({ host: base.hostname, port: base.port, path, agent, headers: { Accept: 'application/json', ...LOAD_HEADERS } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        this.res = res;
        if (stuck) res.pause();
        else res.on('data', (chunk: Buffer) => this.onData(chunk));
        res.on('close', () => this.markEnded());
        res.on('error', () => this.markEnded());
        resolve();
      });
      this.req.on('error', (err) => {
        this.markEnded();
        reject(err);
      });
    });
  }

  /** Start reading a stuck stream. */
  resume(): void {
    this.res?.on('data', (chunk: Buffer) => this.onData(chunk)).resume();
  }

  private markEnded(): void {
    if (!this.ended) this.endedAt = this.clock();
    this.ended = true;
  }

  private onData(chunk: Buffer): void {
    const now = this.clock();
    const buf = this.leftover ? Buffer.concat([this.leftover, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(NEWLINE, start);
      if (nl < 0) break;
      const at = buf.indexOf(SEQ_MARKER, start);
      if (at >= 0 && at < nl) {
        let seq = 0;
        for (let i = at + SEQ_MARKER.length; i < nl; i++) {
          const c = buf[i]!;
          if (c < 0x30 || c > 0x39) break;
          seq = seq * 10 + (c - 0x30);
        }
        if (seq < this.seen.length) {
          if (this.seen[seq]) this.duplicates++;
          else {
            this.seen[seq] = 1;
            this.received++;
            this.latencies[this.counter.n++] = now - this.sentAt[seq]!;
            this.lastAt = now;
          }
        }
      }
      start = nl + 1;
    }
    this.leftover = start < buf.length ? buf.subarray(start) : undefined;
  }

  close(): void {
    this.req?.destroy();
  }
}

/** The p-th percentile (0–100) of ascending `sorted`, nearest-rank; NaN when empty. */
export function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** One hollow cell-agent playing `nodes` nodes named bench-node-N (16 cpu, 64Gi each), and its last output for errors. */
export interface HollowNodes {
  child: ChildProcess;
  output(): string;
}

/** Starts the hollow agent against `base` and waits (up to 300 s) until every one of its nodes is Ready. */
export async function startHollowNodes(agent: http.Agent, base: URL, nodes: number): Promise<HollowNodes> {
  const args = [`--server=${base.origin}`, `--hollow-nodes=${nodes}`, '--node-prefix=bench-node-', '--node-ip=127.0.0.1', '--cpu=16', '--memory=64Gi', '--heartbeat-interval=10s', '--lease-duration=40s', '--log-level=warn'];
  const child = spawn(process.execPath, [...programArgs('agent'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-20_000)));
  for (const deadline = Date.now() + 300_000; ; ) {
    const r = expectStatus(await request(agent, base, 'GET', '/api/v1/nodes?labelSelector=cell.dev%2Fhollow-agent%3Dbench-node'), 200, 'list nodes');
    const list = JSON.parse(r.body.toString('utf8')) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    if (list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= nodes) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`hollow nodes not Ready after 300 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r2) => setTimeout(r2, 500));
  }
  return { child, output: () => output };
}

export async function stopHollowNodes(h: HollowNodes | undefined): Promise<void> {
  if (!h || h.child.exitCode !== null || h.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    h.child.once('exit', () => resolve());
    h.child.kill('SIGTERM');
  });
}
