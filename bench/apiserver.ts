// `npm run bench:apiserver`: the API server's request rates and watch fan-out, on real etcd (the npm
// script starts a fresh one with fsync on), beside the raw etcd put rate measured in the same run.
//
// cell-apiserver runs as a child process (`node --import tsx apiserver/main.ts`), so the load
// generated here does not share its event loop. The cases:
//
//   get       GET one of 1,000 pods                          concurrency 64, fixed duration
//   list      GET the list of 1,000 pods (one namespace)     concurrency 64
//   create    POST a new pod                                 concurrency 64
//   update    PUT a worker's own pod with its current resourceVersion (a CAS per request)
//   etcd put  raw single-key put with the etcd3 client, pod-sized value: the baseline for create
//             (create and etcd put run in alternating slices, so background load hits both alike)
//   etcd txn  raw create-if-absent txn (what a create costs etcd), for reference
//   fan-out   1,000 concurrent HTTP watches on one namespace while pods are created there at a
//             fixed offered rate; each pod carries its send time in an annotation, and delivery
//             latency is receive time minus that (same process, same clock). Every watcher must
//             get every event exactly once.
//
// "server CPU µs/req" is the API server process's user+system CPU time (from /proc) over the case
// divided by its requests: unlike the rates, it barely depends on what else the machine is doing.
//
// Environment: BENCH_DURATION_MS (each rate case, default 5000), BENCH_WATCHERS (1000),
// BENCH_WATCH_RATE (writes/s, 200), BENCH_WATCH_MS (10000), BENCH_CONCURRENCY (64);
// BENCH_SERVER_NODE_ARGS are extra node flags for the API server (e.g. `--cpu-prof
// --cpu-prof-dir=/tmp/prof` to profile it).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { startApiServerProcess, type ApiServerProcess } from '../test/clients/apiserver-process.js';
import { freePort } from '../test/harness/ports.js';
import { formatTable, percentile, perSecond, runFor, type LoopResult } from './measure.js';

const env = (name: string, dflt: number) => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};
const DURATION_MS = env('BENCH_DURATION_MS', 5000);
const CONCURRENCY = env('BENCH_CONCURRENCY', 64);
const LIST_PODS = 1000;
const WATCHERS = env('BENCH_WATCHERS', 1000);
const WATCH_RATE = env('BENCH_WATCH_RATE', 200);
const WATCH_MS = env('BENCH_WATCH_MS', 10_000);
/** create and raw put alternate in this many slices each. */
const SLICES = 4;
const TARGET_FANOUT_P99_MS = 250;
const TARGET_CREATE_RATIO = 0.7;

const endpoints = (process.env.ETCD_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
if (endpoints.length === 0) {
  console.error('ETCD_ENDPOINTS is not set: run through `npm run bench:apiserver`');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing: plain node:http with keep-alive (cheaper per request than fetch).

interface Reply {
  status: number;
  body: Buffer;
}

function request(agent: http.Agent, base: URL, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Accept: 'application/json' };
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

function expectStatus(r: Reply, want: number, what: string): Reply {
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status} (wanted ${want}): ${r.body.toString('utf8').slice(0, 300)}`);
  return r;
}

interface PodMeta {
  name: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: PodMeta;
  spec: unknown;
}

/** A small but realistic pod: one container with requests, a few labels. */
function pod(name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Pod {
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

/** Runs `op(i)` for i in [0, count) with `concurrency` workers. */
async function runN(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** CPU time (user + system) the process has used so far, in ms, from /proc; NaN where unavailable. */
function cpuMs(pid: number | undefined): number {
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

/** Several slices of one case as one row. */
function merge(name: string, slices: RateRow[], note?: string): RateRow {
  const latencies = slices.flatMap((r) => r.result.latenciesMs).sort((a, b) => a - b);
  return {
    name,
    result: {
      ok: slices.reduce((n, r) => n + r.result.ok, 0),
      conflicts: slices.reduce((n, r) => n + r.result.conflicts, 0),
      elapsedMs: slices.reduce((n, r) => n + r.result.elapsedMs, 0),
      latenciesMs: latencies,
    },
    serverCpuMs: slices.reduce((n, r) => n + r.serverCpuMs, 0),
    clientCpuMs: slices.reduce((n, r) => n + r.clientCpuMs, 0),
    ...(note ? { note } : {}),
  };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

interface RateRow {
  name: string;
  result: LoopResult;
  /** API server CPU ms spent during the case (NaN for the raw etcd cases). */
  serverCpuMs: number;
  /** This load generator's own CPU ms during the case (it shares the machine with the server). */
  clientCpuMs: number;
  note?: string;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  const prefix = `/cell-bench-${randomUUID()}`;
  const port = await freePort();
  let server: ApiServerProcess | undefined;
  const etcd = new Etcd3({ hosts: endpoints });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    server = await startApiServerProcess({
      etcdEndpoints: endpoints,
      prefix,
      port,
      args: ['--log-level=warn', '--compaction-interval=0'],
      nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    });
    const load0 = os.loadavg()[0]!;
    const base = new URL(server.url);
    const call = (method: string, path: string, body?: unknown) =>
      request(agent, base, method, path, body === undefined ? undefined : JSON.stringify(body));

    for (const ns of ['bench-list', 'bench-create', 'bench-update', 'bench-watch']) {
      expectStatus(await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), 201, `create namespace ${ns}`);
    }
    // 1,000 pods to get and list.
    await runN(LIST_PODS, CONCURRENCY, async (i) => {
      expectStatus(await call('POST', '/api/v1/namespaces/bench-list/pods', pod(`p-${i}`)), 201, 'create list pod');
    });
    const listCheck = JSON.parse((await call('GET', '/api/v1/namespaces/bench-list/pods')).body.toString('utf8')) as { items: Pod[] };
    if (listCheck.items.length !== LIST_PODS) throw new Error(`list returned ${listCheck.items.length} pods, wanted ${LIST_PODS}`);
    const sampleValue = Buffer.from(JSON.stringify(listCheck.items[0]));
    const listBytes = Buffer.byteLength(JSON.stringify(listCheck));

    const rows: RateRow[] = [];
    const serverPid = server.child.pid;
    /** One fixed-duration case at CONCURRENCY, with the API server CPU time it cost. */
    const measure = async (
      name: string,
      op: (w: number, i: number) => Promise<'ok' | 'conflict'>,
      note?: string,
      durationMs = DURATION_MS,
    ): Promise<RateRow> => {
      const before = cpuMs(serverPid);
      const clientBefore = process.cpuUsage();
      const result = await runFor({ durationMs, concurrency: CONCURRENCY }, op);
      const client = process.cpuUsage(clientBefore);
      return { name, result, serverCpuMs: cpuMs(serverPid) - before, clientCpuMs: (client.user + client.system) / 1000, ...(note ? { note } : {}) };
    };

    rows.push(
      await measure('get pod', async (w, i) => {
        expectStatus(await call('GET', `/api/v1/namespaces/bench-list/pods/p-${(w * 7919 + i) % LIST_PODS}`), 200, 'get');
        return 'ok';
      }),
    );
    rows.push(
      await measure(
        `list ${LIST_PODS} pods`,
        async () => {
          expectStatus(await call('GET', '/api/v1/namespaces/bench-list/pods'), 200, 'list');
          return 'ok';
        },
        `${(listBytes / 1024).toFixed(0)} KiB per response`,
      ),
    );

    // create and its baseline, the raw etcd put, run in alternating slices, so that whatever else
    // the machine is doing weighs on both alike and the ratio stays meaningful.
    const putOp = async (w: number, i: number): Promise<'ok'> => {
      await etcd.put(`${prefix}-raw/put/${w}/${i}`).value(sampleValue);
      return 'ok';
    };
    const createOp = async (w: number, i: number): Promise<'ok'> => {
      expectStatus(await call('POST', '/api/v1/namespaces/bench-create/pods', pod(`c-${w}-${i}`)), 201, 'create');
      return 'ok';
    };
    const putSlices: RateRow[] = [];
    const createSlices: RateRow[] = [];
    for (let slice = 0; slice < SLICES; slice++) {
      const offset = slice * 1_000_000; // distinct names per slice
      putSlices.push(await measure('etcd put', (w, i) => putOp(w, offset + i), undefined, DURATION_MS / SLICES));
      createSlices.push(await measure('create', (w, i) => createOp(w, offset + i), undefined, DURATION_MS / SLICES));
    }
    const rawPut = merge('etcd put (raw, etcd3)', putSlices, `${sampleValue.length} B value; interleaved with create`);
    rawPut.serverCpuMs = NaN;
    const create = merge('create pod', createSlices, 'interleaved with etcd put');
    rows.push(create);
    const rawTxn = await measure('etcd txn create-if-absent (raw)', async (w, i) => {
      const key = `${prefix}-raw/txn/${w}/${i}`;
      const res = await etcd.if(key, 'Create', '==', 0).then(etcd.put(key).value(sampleValue)).commit();
      if (!res.succeeded) throw new Error(`raw create-if-absent of ${key} did not succeed`);
      return 'ok';
    });
    rawTxn.serverCpuMs = NaN;

    // Each worker owns one pod and updates it with the resourceVersion its last write returned.
    const owned: Pod[] = [];
    await runN(CONCURRENCY, CONCURRENCY, async (w) => {
      const r = expectStatus(await call('POST', '/api/v1/namespaces/bench-update/pods', pod(`u-${w}`)), 201, 'create update pod');
      owned[w] = JSON.parse(r.body.toString('utf8')) as Pod;
    });
    rows.push(
      await measure('update pod (PUT, CAS)', async (w, i) => {
        const cur = owned[w]!;
        const next: Pod = { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, iteration: String(i) } } };
        const r = await call('PUT', `/api/v1/namespaces/bench-update/pods/u-${w}`, next);
        if (r.status === 409) return 'conflict';
        expectStatus(r, 200, 'update');
        owned[w] = JSON.parse(r.body.toString('utf8')) as Pod;
        return 'ok';
      }),
    );
    rows.push(rawPut, rawTxn);
    const fanout = await watchFanout(server, call);

    // ---- report
    const rate = (r: LoopResult) => perSecond(r.ok, r.elapsedMs);
    console.log(`\ncell-apiserver benchmark — etcd ${endpoints.join(',')} (fsync ${process.env.CELL_ETCD_FSYNC === '1' ? 'on' : 'OFF'}), ` +
      `API server as a child process, ${CONCURRENCY} concurrent requests, ${DURATION_MS / 1000} s per case; ` +
      `${os.cpus().length} CPUs, 1-min load average ${load0.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end\n`);
    console.log(
      formatTable(
        ['workload', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'conflicts', 'server CPU µs/req', 'client CPU µs/req', 'note'],
        rows.map((r) => [
          r.name,
          fmt(rate(r.result), 0),
          fmt(percentile(r.result.latenciesMs, 50), 2),
          fmt(percentile(r.result.latenciesMs, 99), 2),
          r.result.ok,
          r.result.conflicts,
          Number.isFinite(r.serverCpuMs) ? fmt((r.serverCpuMs * 1000) / Math.max(1, r.result.ok + r.result.conflicts), 0) : '-',
          fmt((r.clientCpuMs * 1000) / Math.max(1, r.result.ok + r.result.conflicts), 0),
          r.note ?? '',
        ]),
      ),
    );
    const ratio = rate(create.result) / rate(rawPut.result);
    const txnRatio = rate(create.result) / rate(rawTxn.result);
    console.log(`\ncreate / raw etcd put = ${fmt(rate(create.result), 0)} / ${fmt(rate(rawPut.result), 0)} = ${(ratio * 100).toFixed(1)}%` +
      `   (create / raw create-if-absent txn = ${(txnRatio * 100).toFixed(1)}%)`);

    console.log(`\nwatch fan-out: ${WATCHERS} HTTP watches on pods in one namespace, ${WATCH_RATE} creates/s offered for ${WATCH_MS / 1000} s\n`);
    console.log(
      formatTable(
        ['measure', 'value'],
        [
          ['watchers connected', `${fanout.connected}/${WATCHERS} (in ${fmt(fanout.connectMs, 0)} ms)`],
          ['writes completed', `${fanout.writes} of ${fanout.offered} (${fmt(fanout.achievedRate, 1)}/s achieved, ${WATCH_RATE}/s offered)`],
          ['write latency p50 / p99', `${fmt(fanout.writeP50, 1)} / ${fmt(fanout.writeP99, 1)} ms`],
          ['events expected', fanout.expected],
          ['events delivered', fanout.delivered],
          ['missing / duplicate', `${fanout.missing} / ${fanout.duplicates}`],
          ['watchers with every event', `${fanout.complete}/${WATCHERS}`],
          ['watches ended by server', fanout.endedEarly],
          ['delivery latency p50', `${fmt(fanout.p50, 1)} ms`],
          ['delivery latency p90', `${fmt(fanout.p90, 1)} ms`],
          ['delivery latency p99', `${fmt(fanout.p99, 1)} ms`],
          ['delivery latency max', `${fmt(fanout.max, 1)} ms`],
          ['last event after last write', `${fmt(fanout.drainMs, 0)} ms`],
          ['API server CPU per delivered event', `${fmt((fanout.serverCpuMs * 1000) / Math.max(1, fanout.delivered), 1)} µs (${fmt(fanout.serverCpuMs / 1000, 1)} CPU-s in all)`],
        ],
      ),
    );
    console.log('  (delivery latency = time the watcher read the event − send time stamped into the pod before its POST)');

    const fanoutOk = fanout.p99 < TARGET_FANOUT_P99_MS && fanout.complete === WATCHERS;
    const createOk = ratio >= TARGET_CREATE_RATIO;
    console.log('\ntargets:');
    console.log(`  fan-out p99 < ${TARGET_FANOUT_P99_MS} ms, every watcher every event: ${fanoutOk ? 'PASS' : 'FAIL'} (p99 ${fmt(fanout.p99, 1)} ms, ${fanout.complete}/${WATCHERS} complete)`);
    console.log(`  create ≥ ${TARGET_CREATE_RATIO * 100}% of raw etcd put rate:          ${createOk ? 'PASS' : 'FAIL'} (${(ratio * 100).toFixed(1)}%)`);
    console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    agent.destroy();
    if (server) {
      const code = await server.stop('SIGTERM', 5000);
      if (code !== 0) console.error(`note: cell-apiserver did not exit cleanly on SIGTERM (exit ${code}; null = SIGKILLed after 5 s)`);
    }
    try {
      await etcd.delete().prefix(prefix);
      await etcd.delete().prefix(`${prefix}-raw`);
    } finally {
      etcd.close();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Watch fan-out.

interface FanoutResult {
  offered: number;
  connected: number;
  connectMs: number;
  writes: number;
  achievedRate: number;
  writeP50: number;
  writeP99: number;
  expected: number;
  delivered: number;
  missing: number;
  duplicates: number;
  complete: number;
  endedEarly: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  drainMs: number;
  /** API server CPU ms from the first write until delivery ended. */
  serverCpuMs: number;
}

const SEQ_MARKER = Buffer.from('"bench.cell.dev/seq":"');
const NEWLINE = 0x0a;

/** One raw watch stream; events are found by byte search, not JSON.parse, so 1,000 of them stay cheap. */
class Watcher {
  private leftover: Buffer | undefined;
  readonly seen: Uint8Array;
  received = 0;
  duplicates = 0;
  ended = false;
  lastAt = 0;
  req: http.ClientRequest | undefined;

  constructor(
    total: number,
    private readonly sentAt: Float64Array,
    private readonly latencies: Float64Array,
    private readonly counter: { n: number },
  ) {
    this.seen = new Uint8Array(total);
  }

  open(base: URL, agent: http.Agent, path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = http.get({ host: base.hostname, port: base.port, path, agent, headers: { Accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch: HTTP ${res.statusCode}`));
          res.resume();
          return;
        }
        res.on('data', (chunk: Buffer) => this.onData(chunk));
        res.on('close', () => (this.ended = true));
        res.on('error', () => (this.ended = true));
        resolve();
      });
      this.req.on('error', (err) => {
        this.ended = true;
        reject(err);
      });
    });
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
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

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

async function watchFanout(server: ApiServerProcess, call: (m: string, p: string, b?: unknown) => Promise<Reply>): Promise<FanoutResult> {
  const base = new URL(server.url);
  const total = Math.round((WATCH_RATE * WATCH_MS) / 1000);
  const sentAt = new Float64Array(total);
  const latencies = new Float64Array(total * WATCHERS);
  const counter = { n: 0 };

  // Watch from the namespace's current revision, so only the writes below arrive.
  const list = JSON.parse(expectStatus(await call('GET', '/api/v1/namespaces/bench-watch/pods'), 200, 'list bench-watch').body.toString('utf8')) as {
    metadata: { resourceVersion: string };
  };
  const path = `/api/v1/namespaces/bench-watch/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`;
  const watchAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const watchers = Array.from({ length: WATCHERS }, () => new Watcher(total, sentAt, latencies, counter));
  const c0 = performance.now();
  let connected = 0;
  // Open in batches, so the server's accept queue is not flooded.
  for (let i = 0; i < watchers.length; i += 100) {
    await Promise.all(watchers.slice(i, i + 100).map(async (w) => {
      await w.open(base, watchAgent, path);
      connected++;
    }));
  }
  const connectMs = performance.now() - c0;

  const cpu0 = cpuMs(server.child.pid);
  const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const writeLatencies: number[] = [];
  const writes: Promise<void>[] = [];
  const w0 = performance.now();
  await new Promise<void>((resolve) => {
    let issued = 0;
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - w0) * WATCH_RATE) / 1000) + 1);
      for (; issued < due; issued++) {
        const seq = issued;
        const sent = performance.now();
        sentAt[seq] = sent;
        const body = JSON.stringify(
          pod(`w-${seq}`, { annotations: { 'bench.cell.dev/seq': String(seq), 'bench.cell.dev/sent-ms': (performance.timeOrigin + sent).toFixed(3) } }),
        );
        writes.push(
          request(writeAgent, base, 'POST', '/api/v1/namespaces/bench-watch/pods', body).then((r) => {
            expectStatus(r, 201, 'fan-out write');
            writeLatencies.push(performance.now() - sent);
          }),
        );
      }
      if (issued >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 2);
  });
  // An overloaded server may take far longer than the offered schedule: wait, but not forever.
  let completed = 0;
  writes.forEach((w) => void w.then(() => completed++, () => undefined));
  const writeDeadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), WATCH_MS + 15_000).unref());
  const allWrites = Promise.all(writes);
  const outcome = await Promise.race([allWrites, writeDeadline]);
  allWrites.catch(() => undefined); // failures after the deadline are the overload already reported
  if (outcome === 'timeout') {
    console.error(`fan-out: only ${completed}/${total} writes completed ${(WATCH_MS + 15_000) / 1000} s after the first; not waiting longer`);
  }
  const writesDone = performance.now();
  const writesCompleted = completed;
  const achievedRate = perSecond(writesCompleted, writesDone - w0);

  // Let delivery finish: every watcher has every event, or a deadline passes.
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline && watchers.some((w) => w.received < total && !w.ended)) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200)); // a duplicate arriving late would count now
  const serverCpuMs = cpuMs(server.child.pid) - cpu0;
  const lastAt = Math.max(...watchers.map((w) => w.lastAt));
  const endedEarly = watchers.filter((w) => w.ended).length;
  watchers.forEach((w) => w.close());
  watchAgent.destroy();
  writeAgent.destroy();

  const lat = latencies.subarray(0, counter.n).sort();
  writeLatencies.sort((a, b) => a - b);
  const delivered = watchers.reduce((n, w) => n + w.received, 0);
  return {
    offered: total,
    connected,
    connectMs,
    writes: writesCompleted,
    achievedRate,
    writeP50: percentile(writeLatencies, 50),
    writeP99: percentile(writeLatencies, 99),
    expected: total * WATCHERS,
    delivered,
    missing: total * WATCHERS - delivered,
    duplicates: watchers.reduce((n, w) => n + w.duplicates, 0),
    complete: watchers.filter((w) => w.received === total).length,
    endedEarly,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    max: lat.length > 0 ? lat[lat.length - 1]! : NaN,
    drainMs: lastAt - writesDone,
    serverCpuMs,
  };
}

await main();
