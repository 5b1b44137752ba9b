// `npm run bench:e2e`: end-to-end scheduling throughput on real etcd (fsync on), beside the raw
// etcd compare-and-swap rate measured in the same run (DESIGN §8).
//
// Per scenario: a fresh cell-apiserver child process (its own etcd prefix); N nodes registered
// through the API; cell-scheduler daemons as child processes (two unless BENCH_SCHEDULERS) splitting
// the pods by spec.schedulerName (bench-a, bench-b, …: policies side by side); then P pods created as fast
// as the API server takes them (128 in flight), each seen bound through a watch. Reported:
//   pods bound per second   P / (last bound − first create sent)
//   create→bound latency    p50 / p99, per pod (create request sent → bound event received)
//   conflicts               per scheduler: conflicts / pods it bound (from its /metrics)
//   raw etcd CAS/s          64 workers, each get + guarded put on its own key with the etcd3 client
//                           itself (bench/etcd-baseline.ts), same etcd, measured
//                           just before and just after the run (the mean is the baseline)
//   CPU seconds             per process (etcd, API server, each scheduler, this load generator)
//   memory                  peak resident memory per process, the API server's and schedulers' V8
//                           heap, etcd's database size; per pod: etcd bytes in use and the API
//                           server's resident growth from the end of setup; etcd's Go heap and the
//                           watch events it held for slow watchers at their peaks (sampled each second)
//   backpressure            creates that waited for a lagging watch cache (--max-watch-cache-lag)
// and the no-over-commit audit of the API server at the end.
//
// The closed loop measures the most the system binds, but its latency is queueing (128 creates
// always waiting). With BENCH_OPEN_LOOP ("0.5,0.8,0.95") each scenario then offers Poisson
// arrivals at those fractions of the bound rate it just measured, for BENCH_OPEN_LOOP_SECONDS
// (20) each, to the same cluster, and reports create→bound p50/p99/p99.9 measured from each pod's
// scheduled arrival time (so a lagging load generator cannot hide latency). Nodes are registered straight through
// the API (no agents) and no controller manager runs, so no node lifecycle controller marks them.
//
// Environment: BENCH_OPEN_LOOP, BENCH_OPEN_LOOP_SECONDS (above), BENCH_OPEN_LOOP_RATES (offered
// pods/s instead of fractions, e.g. "300,600": the same load whatever the closed loop reached, to
// compare CPU per pod across runs — 1 and 4 API servers — below saturation), BENCH_SCENARIOS ("1000x5000,5000x10000": nodes x pods), BENCH_CAS_MS (3000),
// BENCH_CONCURRENCY (creates in flight, 128), BENCH_SCHEDULERS (2: scheduler daemons, each its own
// name, spread over the API servers), BENCH_SAME_NAME=1 (the daemons share one name:
// active-active replicas racing for every pod), BENCH_APISERVERS (1; more = API server replicas on
// the same etcd prefix, creates and schedulers spread over them), BENCH_SCHEDULER_ARGS (extra flags
// for every daemon, e.g. "--conflict-mode=coarse"), BENCH_TRACE=1 (progress every 2 s),
// BENCH_SERVER_NODE_ARGS (node flags for the API server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`),
// BENCH_SCHEDULER_NODE_ARGS (the same for both scheduler daemons), BENCH_SERVER_ARGS (extra
// cell-apiserver flags, e.g. "--etcd-group-commit=2"), BENCH_FOLLOWERS (0; more = extra API server
// replicas on the same prefix that receive no request at all, their CPU reported on its own: what
// a replica pays just to follow the store), BENCH_FOLLOWER_NODE_ARGS (node flags for those only,
// e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof-follow`; BENCH_SERVER_NODE_ARGS otherwise),
// BENCH_CREATE_VIA=jobs (the pods are made by Jobs instead of one POST each: P / BENCH_JOB_PODS
// Jobs of BENCH_JOB_PODS (1000) pods, completions = parallelism, created 16 at a time, each naming
// one of the two schedulers; cell-controller-manager runs the job controller alone
// (--concurrent-job-syncs=BENCH_JOB_SYNCS, 5), with BENCH_MANAGER_NODE_ARGS (BENCH_SCHEDULER_NODE_ARGS
// otherwise); latency is then from its Job's create to the pod's bound event, and create/s is the
// rate the bench's watch saw the pods appear. Not with BENCH_OPEN_LOOP, whose arrivals are single pods).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { startApiServerProcess, type ApiServerProcess } from '../test/clients/apiserver-process.js';
import { freePort } from '../test/harness/ports.js';
import { metricValue, startSchedulerProcess, type SchedulerProcess } from '../test/schedulers/scheduler-process.js';
import { startControllerManagerProcess, type ControllerManagerProcess } from '../test/controllers/helpers.js';
import { rawCasRate } from './etcd-baseline.js';
import { formatTable, percentile, perSecond } from './measure.js';
import { AuditReportSchema } from '../shared/api/audit.js';
import { benchNode, clearEtcdPrefix, cpuMs, etcdPid, expectStatus, pool, postCreated, postPaced, request, residentBytes } from './apiserver-client.js';

const cpuSec = (pid: number | undefined) => cpuMs(pid) / 1000;

const endpoints = (process.env.ETCD_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
if (endpoints.length === 0) {
  console.error('ETCD_ENDPOINTS is not set: run through `npm run bench:e2e`');
  process.exit(2);
}
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? '1000x5000,5000x10000').split(',').map((s) => {
  const [nodes, pods] = s.split('x').map(Number);
  if (!nodes || !pods) throw new Error(`bad BENCH_SCENARIOS entry "${s}" (want NODESxPODS)`);
  return { nodes, pods };
});
const CAS_MS = Number(process.env.BENCH_CAS_MS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 128);
const SAME_NAME = process.env.BENCH_SAME_NAME === '1';
const SCHEDULERS = Number(process.env.BENCH_SCHEDULERS ?? 2);
if (!(Number.isInteger(SCHEDULERS) && SCHEDULERS >= 1 && SCHEDULERS <= 26)) throw new Error(`bad BENCH_SCHEDULERS "${process.env.BENCH_SCHEDULERS}" (want 1 to 26)`);
const API_SERVERS = Number(process.env.BENCH_APISERVERS ?? 1);
const FOLLOWERS = Number(process.env.BENCH_FOLLOWERS ?? 0);
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const FOLLOWER_NODE_ARGS = process.env.BENCH_FOLLOWER_NODE_ARGS !== undefined ? process.env.BENCH_FOLLOWER_NODE_ARGS.split(' ').filter(Boolean) : SERVER_NODE_ARGS;
const SCHEDULER_ARGS = (process.env.BENCH_SCHEDULER_ARGS ?? '').split(' ').filter(Boolean);
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
const SCHEDULER_NODE_ARGS = (process.env.BENCH_SCHEDULER_NODE_ARGS ?? '').split(' ').filter(Boolean);
const OPEN_LOOP = (process.env.BENCH_OPEN_LOOP ?? '').split(',').filter(Boolean).map((f) => {
  const x = Number(f);
  if (!(x > 0 && x <= 1.5)) throw new Error(`bad BENCH_OPEN_LOOP fraction "${f}" (want e.g. 0.5,0.8,0.95)`);
  return x;
});
const OPEN_LOOP_SECONDS = Number(process.env.BENCH_OPEN_LOOP_SECONDS ?? 20);
/** Offered rates in pods/s instead of fractions: the same load for runs whose maxima differ (1 and 4 API servers). */
const OPEN_LOOP_RATES = (process.env.BENCH_OPEN_LOOP_RATES ?? '').split(',').filter(Boolean).map((f) => {
  const x = Number(f);
  if (!(x > 0)) throw new Error(`bad BENCH_OPEN_LOOP_RATES entry "${f}" (want pods/s, e.g. 300,600)`);
  return x;
});
if (OPEN_LOOP.length > 0 && OPEN_LOOP_RATES.length > 0) throw new Error('BENCH_OPEN_LOOP and BENCH_OPEN_LOOP_RATES: one or the other');
/** Each open-loop phase's offered rate, given the closed loop's bound rate. */
const openLoopLoads = (boundRate: number) =>
  OPEN_LOOP_RATES.length > 0 ? OPEN_LOOP_RATES.map((rate) => ({ fraction: rate / boundRate, offered: rate })) : OPEN_LOOP.map((fraction) => ({ fraction, offered: fraction * boundRate }));
const CREATE_VIA = process.env.BENCH_CREATE_VIA ?? 'pods';
if (CREATE_VIA !== 'pods' && CREATE_VIA !== 'jobs') throw new Error(`bad BENCH_CREATE_VIA "${CREATE_VIA}" (want pods or jobs)`);
const VIA_JOBS = CREATE_VIA === 'jobs';
if (VIA_JOBS && OPEN_LOOP.length + OPEN_LOOP_RATES.length > 0) throw new Error('BENCH_OPEN_LOOP offers single pods: it does not go with BENCH_CREATE_VIA=jobs');
const JOB_PODS = Number(process.env.BENCH_JOB_PODS ?? 1000);
if (!(Number.isInteger(JOB_PODS) && JOB_PODS > 0)) throw new Error(`bad BENCH_JOB_PODS "${process.env.BENCH_JOB_PODS}" (want a positive integer)`);
const JOB_SYNCS = Number(process.env.BENCH_JOB_SYNCS ?? 5);
const MANAGER_NODE_ARGS = process.env.BENCH_MANAGER_NODE_ARGS !== undefined ? process.env.BENCH_MANAGER_NODE_ARGS.split(' ').filter(Boolean) : SCHEDULER_NODE_ARGS;
const NAMESPACE = 'bench';
/** The 2-core target: bound/s at 1,000 nodes at least the raw get+CAS rate of 64 workers. */
const TARGET_RATIO_1000 = 1.0;
/** Kubernetes' scheduler_perf reaches about 500 pods/s at 5,000 nodes (on 36 cores). */
const TARGET_RATE_5000 = 500;

function podSpec(schedulerName: string) {
  return {
    schedulerName,
    restartPolicy: 'Never',
    containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
  };
}

function podObject(i: number, schedulerName: string) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${i}`, labels: { app: 'bench' } }, spec: podSpec(schedulerName) };
}

/** Job `job-j`, whose pods (`job-j-xxxxx`, made by the job controller) are the bench's pods. */
function jobObject(j: number, pods: number, schedulerName: string) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `job-${j}` },
    spec: { completions: pods, parallelism: pods, template: { metadata: { labels: { app: 'bench' } }, spec: podSpec(schedulerName) } },
  };
}

/** When the request that made pod `name` was sent: its own POST, or its Job's. */
function sentAtOf(name: string, podSentAt: Float64Array, jobSentAt: Float64Array): number | undefined {
  if (name.startsWith('pod-')) return podSentAt[Number(name.slice('pod-'.length))];
  const match = /^job-(\d+)-/.exec(name);
  return match ? jobSentAt[Number(match[1])] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Watching for bound pods.

class BoundWatcher {
  readonly boundAt = new Map<string, number>();
  /** Pods seen created (ADDED: once each, a resumed watch starting after the last event it had), and when the last one was. */
  added = 0;
  lastAddedAt = 0;
  private req: http.ClientRequest | undefined;
  private leftover = '';
  private waiters: (() => void)[] = [];
  private base: URL | undefined;
  /** The newest resourceVersion seen (events and bookmarks): where a resumed watch starts. */
  private lastResourceVersion = '';
  private stopped = false;
  /**
   * Times the server ended the stream and the watch resumed from its last resourceVersion, as a
   * client does (the server cuts a watcher that falls behind; a load generator starved of CPU can).
   */
  resumes = 0;
  /** Why the watch could not resume (a 410: events were lost), if it could not. */
  failure: string | undefined;

  open(base: URL, resourceVersion: string): Promise<void> {
    this.base = base;
    this.lastResourceVersion = resourceVersion;
    return this.connect();
  }

  private connect(): Promise<void> {
    const path = `/api/v1/namespaces/${NAMESPACE}/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${this.lastResourceVersion}&timeoutSeconds=3600`;
    const base = this.base!;
    this.leftover = '';
    return new Promise((resolve, reject) => {
      // Its own connection: the global agent's idle timeout must not apply to a long-lived stream.
      this.req = http.get({ host: base.hostname, port: base.port, path, agent: false, headers: { Accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.onData(chunk));
        res.on('close', () => this.onClose());
        resolve();
      });
      this.req.on('error', (err) => reject(err));
    });
  }

  private onClose(): void {
    if (this.stopped || this.failure) return;
    this.resumes++;
    this.connect().catch((err: unknown) => {
      this.failure = `resuming from ${this.lastResourceVersion}: ${err instanceof Error ? err.message : String(err)}`;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private onData(chunk: string): void {
    const now = performance.now();
    const text = this.leftover + chunk;
    const lines = text.split('\n');
    this.leftover = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      const ev = JSON.parse(line) as { type: string; object: { metadata?: { name?: string; resourceVersion?: string }; spec?: { nodeName?: string } } };
      if (ev.type === 'ERROR') {
        this.failure = `the bench's watch failed: ${line.slice(0, 300)}`;
        break;
      }
      if (ev.object.metadata?.resourceVersion) this.lastResourceVersion = ev.object.metadata.resourceVersion;
      const name = ev.object.metadata?.name;
      if (name === undefined) continue;
      if (ev.type === 'ADDED') {
        this.added++;
        this.lastAddedAt = now;
      }
      if (ev.object.spec?.nodeName && !this.boundAt.has(name)) this.boundAt.set(name, now);
    }
    this.wake();
  }

  async waitFor(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.boundAt.size < count) {
      if (this.failure) throw new Error(this.failure);
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  close(): void {
    this.stopped = true;
    this.req?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

/** Raw etcd: 64 workers, each get + update-if-unchanged on its own key (see etcd-baseline.ts). */
function measureCas(): Promise<number> {
  return rawCasRate(endpoints, CAS_MS);
}

interface SchedulerRow {
  name: string;
  bound: number;
  conflicts: number;
  attempts: number;
  commits: number;
  commitSeconds: number;
  decideSeconds: number;
  decisions: number;
}

interface ScenarioResult {
  nodes: number;
  pods: number;
  bound: number;
  /** Mean of the CAS rate measured before and after the run. */
  casRate: number;
  casRange: [number, number];
  createRate: number;
  boundRate: number;
  p50: number;
  p99: number;
  setupSeconds: number;
  schedulers: SchedulerRow[];
  /** CPU seconds each process used between the first create and the last bound pod. */
  cpu: RunCpu;
  /** Group commit over the run, all serving replicas: transactions and the etcd requests that carried them. */
  /** Over the run, all serving replicas: transactions, the etcd requests that carried them, placement transactions retried after losing a race. */
  groupCommit: { txns: number; requests: number; retries: number };
  auditOk: boolean;
  auditViolations: number;
  /** Times the bench's own watch was cut by the server and resumed. */
  watchResumes: number;
  openLoop: OpenLoopPhase[];
  memory: MemoryFigures;
}

interface RunCpu {
  etcd: number;
  apiserver: number;
  followers: number;
  schedulers: number[];
  manager: number;
  bench: number;
  elapsed: number;
}

interface OpenLoopPhase {
  fraction: number;
  offered: number;
  pods: number;
  bound: number;
  boundRate: number;
  p50: number;
  p99: number;
  p999: number;
  /** CPU seconds each process used from the first arrival to the last bound pod. */
  cpu: RunCpu;
  /** Transactions the serving replicas asked of etcd in the phase, and the etcd requests that carried them. */
  groupCommit: { txns: number; requests: number };
}

interface MemoryFigures {
  /** Every pod created in the scenario, closed and open loop. */
  pods: number;
  etcdPeak: number;
  etcdDbSize: number;
  etcdDbInUse: number;
  /** Per API server replica (the largest). */
  apiserverPeak: number;
  apiserverHeap: number;
  /** The first replica's resident and heap growth from the end of setup to the end of the run. */
  apiserverGrowth: number;
  apiserverHeapGrowth: number;
  schedulerPeak: number;
  schedulerHeap: number;
  /** The controller manager's (BENCH_CREATE_VIA=jobs; NaN otherwise). */
  managerPeak: number;
  managerHeap: number;
  benchPeak: number;
  /** The most watch events etcd held at once for watchers slower than its writes (sampled each second). */
  etcdPendingPeak: number;
  /** etcd's Go heap in use at its largest (sampled each second): resident memory less the database's mmap. */
  etcdHeapPeak: number;
  /** Raft entries etcd committed during the scenario, and the bytes its clients sent it (what those entries carry). */
  etcdEntries: number;
  etcdReceivedBytes: number;
  /** Creates that waited for a lagging watch cache (backpressure), and those refused with 429 after the wait. */
  lagWaits: number;
  lagRefused: number;
}

/** A process's /metrics text. */
function metricsText(url: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    http.get(`${url}/metrics`, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** A process's V8 heap in use, from its /metrics. */
async function heapUsed(url: string): Promise<number> {
  return metricValue(await metricsText(url), 'nodejs_heap_size_used_bytes');
}

/** Transactions the serving replicas asked of etcd and the etcd requests that carried them (group commit), from their /metrics. */
async function groupCommitCounts(servers: ApiServerProcess[]): Promise<{ txns: number; requests: number; retries: number }> {
  const texts = await Promise.all(servers.map((sv) => metricsText(sv.url)));
  return {
    txns: texts.reduce((sum, t) => sum + metricValue(t, 'cell_etcd_operations_total', { kind: 'txn' }), 0),
    requests: texts.reduce((sum, t) => sum + metricValue(t, 'cell_etcd_requests_total', { kind: 'txn' }), 0),
    retries: texts.reduce((sum, t) => sum + metricValue(t, 'cell_binding_retries_total'), 0),
  };
}

interface EtcdCounts {
  /** Raft entries committed (etcd_server_proposals_committed_total). */
  entries: number;
  /** Bytes received from clients over gRPC. */
  received: number;
}

async function etcdCountsNow(): Promise<EtcdCounts> {
  const t = await metricsText(endpoints[0]!);
  return { entries: metricValue(t, 'etcd_server_proposals_committed_total'), received: metricValue(t, 'etcd_network_client_grpc_received_bytes_total') };
}

/**
 * Peak memory of every process, V8 heaps from their /metrics, and etcd's database in use once its
 * history is compacted (what the pods themselves cost, not their revisions).
 */
async function measureMemory(
  servers: ApiServerProcess[],
  schedulers: SchedulerProcess[],
  manager: ControllerManagerProcess | undefined,
  pods: number,
  serverAfterSetup: { rss: number; heap: number },
  etcdSampled: { pending: number; heap: number },
  etcdCounts0: EtcdCounts,
): Promise<MemoryFigures> {
  const etcdCounts = await etcdCountsNow();
  const etcd = new Etcd3({ hosts: endpoints });
  try {
    const before = await etcd.maintenance.status();
    try {
      await etcd.kv.compact({ revision: before.header.revision, physical: true });
    } catch (err) {
      // The API server's own compaction (--compaction-interval) got there first: nothing left to do.
      if (!String(err).includes('required revision has been compacted')) throw err;
    }
    const status = await etcd.maintenance.status();
    const serverTexts = await Promise.all(servers.map((sv) => metricsText(sv.url)));
    const heaps = serverTexts.map((t) => metricValue(t, 'nodejs_heap_size_used_bytes'));
    const lagWaits = (outcome: string) => serverTexts.reduce((sum, t) => sum + metricValue(t, 'apiserver_create_lag_waits_total', { outcome }), 0);
    const schedulerTexts = await Promise.all(schedulers.map((s) => s.metrics()));
    return {
      pods,
      etcdPeak: residentBytes(etcdPid(endpoints[0]!)).peak,
      etcdDbSize: Number(status.dbSize),
      etcdDbInUse: Number(status.dbSizeInUse),
      apiserverPeak: Math.max(...servers.map((sv) => residentBytes(sv.child.pid).peak)),
      apiserverHeap: Math.max(...heaps),
      apiserverGrowth: residentBytes(servers[0]!.child.pid).now - serverAfterSetup.rss,
      apiserverHeapGrowth: heaps[0]! - serverAfterSetup.heap,
      schedulerPeak: Math.max(...schedulers.map((s) => residentBytes(s.child.pid).peak)),
      schedulerHeap: Math.max(...schedulerTexts.map((t) => metricValue(t, 'nodejs_heap_size_used_bytes'))),
      managerPeak: manager ? residentBytes(manager.child.pid).peak : NaN,
      managerHeap: manager ? await heapUsed(manager.url) : NaN,
      benchPeak: residentBytes(process.pid).peak,
      etcdPendingPeak: etcdSampled.pending,
      etcdHeapPeak: etcdSampled.heap,
      etcdEntries: etcdCounts.entries - etcdCounts0.entries,
      etcdReceivedBytes: etcdCounts.received - etcdCounts0.received,
      lagWaits: lagWaits('waited') + lagWaits('refused'),
      lagRefused: lagWaits('refused'),
    };
  } finally {
    etcd.close();
  }
}

async function scenario(nodes: number, pods: number): Promise<ScenarioResult> {
  const setup0 = performance.now();
  const prefix = `/cell-bench-e2e-${randomUUID()}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const servers: ApiServerProcess[] = [];
  /** Replicas that only follow the store: no request is ever sent to them. */
  const followers: ApiServerProcess[] = [];
  const schedulers: SchedulerProcess[] = [];
  let manager: ControllerManagerProcess | undefined;
  const watcher = new BoundWatcher();
  try {
    // Replicas of the API server share the etcd prefix (DESIGN §7); each has its own watch cache.
    for (let i = 0; i < API_SERVERS; i++) {
      servers.push(
        await startApiServerProcess({
          etcdEndpoints: endpoints,
          prefix,
          port: await freePort(),
          // Nodes here are registered without agents: no lease heartbeats, so no node lifecycle controller.
          args: ['--log-level=warn', '--compaction-interval=0', '--max-requests-inflight=0', ...SERVER_ARGS],
          nodeArgs: SERVER_NODE_ARGS,
        }),
      );
    }
    for (let i = 0; i < FOLLOWERS; i++) {
      followers.push(
        await startApiServerProcess({
          etcdEndpoints: endpoints,
          prefix,
          port: await freePort(),
          args: ['--log-level=warn', '--compaction-interval=0', '--max-requests-inflight=0', ...SERVER_ARGS],
          nodeArgs: FOLLOWER_NODE_ARGS,
        }),
      );
    }
    const bases = servers.map((s) => new URL(s.url));
    const base = bases[0]!;
    await postCreated(agent, base, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
    await pool(nodes, 64, (i) => postCreated(agent, bases[i % bases.length]!, '/api/v1/nodes', benchNode(i, { cpu: '32', memory: '128Gi', pods: '110' })));

    // bench-a, bench-b, …: one name per daemon, the pods split between them (one shared name with BENCH_SAME_NAME).
    const names = Array.from({ length: SCHEDULERS }, (_, i) => (SAME_NAME ? 'bench' : `bench-${String.fromCharCode(97 + i)}`));
    for (const [i, name] of names.entries()) {
      schedulers.push(await startSchedulerProcess({ server: servers[i % servers.length]!.url, name, args: SCHEDULER_ARGS, nodeArgs: SCHEDULER_NODE_ARGS }));
    }
    if (VIA_JOBS) {
      manager = await startControllerManagerProcess({
        server: servers[0]!.url,
        nodeArgs: MANAGER_NODE_ARGS,
        args: ['--controllers=job', '--leader-elect=false', `--concurrent-job-syncs=${JOB_SYNCS}`],
      });
    }

    // The CAS baseline on the same etcd, before the run (and again after it).
    const casBefore = await measureCas();

    const list = JSON.parse((await request(agent, base, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods?limit=1`)).body.toString('utf8')) as { metadata: { resourceVersion: string } };
    await watcher.open(base, list.metadata.resourceVersion);
    const setupSeconds = (performance.now() - setup0) / 1000;
    const serverAfterSetup = { rss: residentBytes(servers[0]!.child.pid).now, heap: await heapUsed(servers[0]!.url) };

    const sentAt = new Float64Array(VIA_JOBS ? 0 : pods);
    const jobs = VIA_JOBS ? Math.ceil(pods / JOB_PODS) : 0;
    const jobSentAt = new Float64Array(jobs);
    const etcd = etcdPid(endpoints[0]!);
    const groupCommit0 = await groupCommitCounts(servers);
    // CPU seconds each process has used so far (the bench's own as process.cpuUsage's record).
    const cpuNow = () => ({
      etcd: cpuSec(etcd),
      apiserver: servers.reduce((sum, sv) => sum + cpuSec(sv.child.pid), 0),
      followers: followers.reduce((sum, sv) => sum + cpuSec(sv.child.pid), 0),
      schedulers: schedulers.map((s) => cpuSec(s.child.pid)),
      manager: cpuSec(manager?.child.pid),
      bench: process.cpuUsage(),
    });
    const cpu0 = cpuNow();
    const t0 = performance.now();
    let created = 0;
    // etcd's pending watch events (what it holds in memory for watchers reading slower than it
    // writes) and its Go heap, to tell what its resident memory is made of.
    const etcdSampled = { pending: 0, heap: 0 };
    const etcdCounts0 = await etcdCountsNow();
    const etcdSampler = setInterval(() => {
      metricsText(endpoints[0]!).then(
        (t) => {
          etcdSampled.pending = Math.max(etcdSampled.pending, metricValue(t, 'etcd_debugging_mvcc_pending_events_total'));
          etcdSampled.heap = Math.max(etcdSampled.heap, metricValue(t, 'go_memstats_heap_inuse_bytes'));
        },
        (err: unknown) => console.error(`bench:e2e: etcd metrics: ${String(err)}`),
      );
    }, 1000);
    const sampler = process.env.BENCH_TRACE === '1'
      ? setInterval(() => {
          void Promise.all(schedulers.map((s) => s.metrics())).then((texts) => {
            const q = texts.map((t) => ['active', 'backoff', 'unschedulable', 'inflight'].map((k) => metricValue(t, 'scheduler_pending_pods', { queue: k })).join('/'));
            const b = texts.map((t) => metricValue(t, 'cell_scheduler_bound_pods_total'));
            const c = texts.map((t) => ['insufficient', 'allocation-changed', 'pod-taken', 'pod-changed'].map((k) => metricValue(t, 'cell_scheduler_conflicts_total', { reason: k })).join('/'));
            console.error(`trace conflicts(ins/alloc/taken/changed)=${c.join(' ')} t=${((performance.now() - t0) / 1000).toFixed(1)}s created=${VIA_JOBS ? watcher.added : created} seenBound=${watcher.boundAt.size} schedBound=${b.join('+')} queues(a/b/u/f)=${q.join(' ')}`);
          });
        }, 2000)
      : undefined;
    if (VIA_JOBS) {
      await pool(jobs, 16, async (j) => {
        jobSentAt[j] = performance.now();
        const jobPods = Math.min(JOB_PODS, pods - j * JOB_PODS);
        await postCreated(agent, bases[j % bases.length]!, `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`, jobObject(j, jobPods, names[j % names.length]!));
        created += jobPods;
      });
    } else {
      await pool(pods, CONCURRENCY, async (i) => {
        sentAt[i] = performance.now();
        await postCreated(agent, bases[i % bases.length]!, `/api/v1/namespaces/${NAMESPACE}/pods`, podObject(i, names[i % names.length]!));
        created++;
      });
    }
    const createdAt = performance.now();
    // Jobs' pods are still being made when the Jobs' creates return: wait while pods keep binding.
    for (let before = -1; watcher.boundAt.size < pods && watcher.boundAt.size > before; ) {
      before = watcher.boundAt.size;
      if (await watcher.waitFor(pods, 120_000)) break;
      if (!VIA_JOBS) break;
    }
    if (watcher.boundAt.size < pods) {
      console.error(`bench:e2e: only ${watcher.boundAt.size}/${pods} pods seen bound ${VIA_JOBS ? 'when 120 s passed without one more' : 'after 120 s'}`);
    }
    if (sampler) clearInterval(sampler);
    const cpuSince = (from: ReturnType<typeof cpuNow>, since: number) => {
      const now = cpuNow();
      const benchCpu = process.cpuUsage(from.bench);
      return {
        etcd: now.etcd - from.etcd,
        apiserver: now.apiserver - from.apiserver,
        followers: now.followers - from.followers,
        schedulers: now.schedulers.map((c, i) => c - from.schedulers[i]!),
        manager: now.manager - from.manager,
        bench: (benchCpu.user + benchCpu.system) / 1e6,
        elapsed: (performance.now() - since) / 1000,
      };
    };
    const cpu = cpuSince(cpu0, t0);

    let lastBound = t0;
    const latencies: number[] = [];
    for (const [name, at] of watcher.boundAt) {
      const sent = sentAtOf(name, sentAt, jobSentAt);
      if (sent !== undefined) latencies.push(at - sent);
      if (at > lastBound) lastBound = at;
    }
    latencies.sort((a, b) => a - b);

    const rows: SchedulerRow[] = [];
    for (const [i, s] of schedulers.entries()) {
      const text = await s.metrics();
      rows.push({
        name: SAME_NAME ? `${s.name} #${i + 1}` : s.name,
        bound: metricValue(text, 'cell_scheduler_bound_pods_total'),
        conflicts: metricValue(text, 'cell_scheduler_conflicts_total'),
        attempts: metricValue(text, 'scheduler_schedule_attempts_total'),
        commits: metricValue(text, 'cell_scheduler_commit_duration_seconds_count'),
        commitSeconds: metricValue(text, 'cell_scheduler_commit_duration_seconds_sum'),
        decideSeconds: metricValue(text, 'scheduler_scheduling_algorithm_duration_seconds_sum'),
        decisions: metricValue(text, 'scheduler_scheduling_algorithm_duration_seconds_count'),
      });
    }
    const groupCommit1 = await groupCommitCounts(servers);
    const groupCommit = {
      txns: groupCommit1.txns - groupCommit0.txns,
      requests: groupCommit1.requests - groupCommit0.requests,
      retries: groupCommit1.retries - groupCommit0.retries,
    };
    const bound = watcher.boundAt.size;
    const boundRate = perSecond(bound, lastBound - t0);

    // Open loop: Poisson arrivals at fractions of the bound rate just measured, same cluster.
    const openLoop: OpenLoopPhase[] = [];
    let total = pods;
    for (const { fraction, offered } of openLoopLoads(boundRate)) {
      const count = Math.max(20, Math.round(offered * OPEN_LOOP_SECONDS));
      const dueAt = new Float64Array(count);
      const first = total;
      console.error(`bench:e2e: open loop at ${Math.round(fraction * 100)}% (${Math.round(offered)} pods/s offered, ${count} pods) …`);
      const cpuBefore = cpuNow();
      const commitsBefore = await groupCommitCounts(servers);
      await postPaced({
        agent,
        base: bases,
        path: `/api/v1/namespaces/${NAMESPACE}/pods`,
        total: count,
        rate: offered,
        arrivals: 'poisson',
        deadlineMs: 120_000,
        label: 'open-loop pod',
        body: (seq, due) => {
          dueAt[seq] = due;
          return JSON.stringify(podObject(first + seq, names[(first + seq) % names.length]!));
        },
      });
      total += count;
      const all = await watcher.waitFor(total, 120_000);
      const phaseCpu = cpuSince(cpuBefore, dueAt[0]!);
      const commitsAfter = await groupCommitCounts(servers);
      const lat: number[] = [];
      let last = dueAt[0]!;
      for (let i = 0; i < count; i++) {
        const at = watcher.boundAt.get(`pod-${first + i}`);
        if (at === undefined) continue;
        lat.push(at - dueAt[i]!);
        if (at > last) last = at;
      }
      lat.sort((a, b) => a - b);
      if (!all) console.error(`bench:e2e: open loop at ${fraction}: only ${lat.length}/${count} bound after 120 s`);
      openLoop.push({ fraction, offered, pods: count, bound: lat.length, boundRate: perSecond(lat.length, last - dueAt[0]!), p50: percentile(lat, 50), p99: percentile(lat, 99), p999: percentile(lat, 99.9), cpu: phaseCpu, groupCommit: { txns: commitsAfter.txns - commitsBefore.txns, requests: commitsAfter.requests - commitsBefore.requests } });
    }

    const audit = AuditReportSchema.parse(JSON.parse(expectStatus(await request(agent, base, 'GET', '/audit'), 200, 'audit').body.toString('utf8')));
    clearInterval(etcdSampler);
    const memory = await measureMemory(servers, schedulers, manager, total, serverAfterSetup, etcdSampled, etcdCounts0);
    const casAfter = await measureCas();
    return {
      nodes,
      pods,
      bound,
      casRate: (casBefore + casAfter) / 2,
      casRange: [casBefore, casAfter],
      createRate: VIA_JOBS ? perSecond(watcher.added, watcher.lastAddedAt - t0) : perSecond(pods, createdAt - t0),
      boundRate,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      setupSeconds,
      schedulers: rows,
      cpu,
      groupCommit,
      auditOk: audit.ok,
      auditViolations: audit.violations.length,
      watchResumes: watcher.resumes,
      openLoop,
      memory,
    };
  } finally {
    watcher.close();
    agent.destroy();
    if (manager) {
      const code = await manager.stop('SIGTERM', 10_000);
      if (code !== 0) console.error(`note: the controller manager did not exit cleanly on SIGTERM (exit ${code})\n${manager.output().slice(-2000)}`);
    }
    for (const s of schedulers) {
      const code = await s.stop('SIGTERM', 10_000);
      if (code !== 0) console.error(`note: ${s.name} did not exit cleanly on SIGTERM (exit ${code})\n${s.output().slice(-2000)}`);
    }
    for (const sv of [...servers, ...followers]) await sv.stop('SIGTERM', 10_000);
    await clearEtcdPrefix(endpoints, prefix);
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-');

const t0 = performance.now();
const results: ScenarioResult[] = [];
for (const s of SCENARIOS) {
  console.error(`bench:e2e: ${s.nodes} nodes, ${s.pods} pods …`);
  results.push(await scenario(s.nodes, s.pods));
}

console.log(`\ncell end-to-end scheduling — etcd ${endpoints.join(',')} (fsync ${process.env.CELL_ETCD_FSYNC === '1' ? 'on' : 'OFF'}), ` +
  `${API_SERVERS === 1 ? 'API server' : `${API_SERVERS} API servers`} + ${SCHEDULERS} schedulers as child processes (${SAME_NAME ? 'one name, active-active' : `${SCHEDULERS} names splitting the pods`}` +
  `${SCHEDULER_ARGS.length > 0 ? `, ${SCHEDULER_ARGS.join(' ')}` : ''}), ` +
  `${VIA_JOBS ? `pods made by Jobs of ${fmt(JOB_PODS)} (job controller in cell-controller-manager, --concurrent-job-syncs=${JOB_SYNCS}; latency from the Job's create)` : `${CONCURRENCY} creates in flight`}\n`);
console.log(
  formatTable(
    ['nodes', 'pods', 'bound', 'create/s', 'bound/s', 'p50 ms', 'p99 ms', 'etcd CAS/s (before/after)', 'bound/CAS', 'audit'],
    results.map((r) => [
      fmt(r.nodes),
      fmt(r.pods),
      fmt(r.bound),
      fmt(r.createRate),
      fmt(r.boundRate),
      fmt(r.p50),
      fmt(r.p99),
      `${fmt(r.casRate)} (${fmt(r.casRange[0])}/${fmt(r.casRange[1])})`,
      `${fmt(r.boundRate / r.casRate, 2)}x`,
      r.auditOk ? 'ok' : `${r.auditViolations} violations`,
    ]),
  ),
);
for (const r of results) {
  if (r.watchResumes > 0) console.log(`\n${fmt(r.nodes)} × ${fmt(r.pods)}: the bench's watch was cut by the server ${r.watchResumes} time(s) and resumed from its last resourceVersion (no event lost: a lost one is a 410 and fails the run)`);
}
console.log('\nper scheduler (from its /metrics):\n');
console.log(
  formatTable(
    ['nodes', 'scheduler', 'bound', 'conflicts', 'conflict fraction', 'attempts', 'commits', 'pods/commit', 'commit ms', 'decide µs/pod'],
    results.flatMap((r) =>
      r.schedulers.map((s) => [
        fmt(r.nodes),
        s.name,
        fmt(s.bound),
        fmt(s.conflicts),
        s.bound > 0 ? fmt(s.conflicts / s.bound, 4) : '-',
        fmt(s.attempts),
        fmt(s.commits),
        s.commits > 0 ? fmt(s.bound / s.commits, 1) : '-',
        s.commits > 0 ? fmt((1000 * s.commitSeconds) / s.commits, 1) : '-',
        s.decisions > 0 ? fmt((1e6 * s.decideSeconds) / s.decisions, 0) : '-',
      ]),
    ),
  ),
);
console.log('\nCPU seconds used from the first create to the last bound pod (2 cores = 2 CPU-seconds per second):\n');
console.log(
  formatTable(
    ['nodes', 'wall s', 'etcd', API_SERVERS === 1 ? 'apiserver' : 'apiservers', 'schedulers', ...(VIA_JOBS ? ['controller manager'] : []), 'bench (load + watch)'],
    results.map((r) => [fmt(r.nodes), fmt(r.cpu.elapsed, 1), fmt(r.cpu.etcd, 1), fmt(r.cpu.apiserver, 1), r.cpu.schedulers.map((c) => fmt(c, 1)).join(' + '), ...(VIA_JOBS ? [fmt(r.cpu.manager, 1)] : []), fmt(r.cpu.bench, 1)]),
  ),
);
for (const r of results) {
  const g = r.groupCommit;
  console.log(`\n${fmt(r.nodes)} × ${fmt(r.pods)}: group commit ${fmt(g.txns)} transactions in ${fmt(g.requests)} etcd requests (${g.requests > 0 ? fmt(g.txns / g.requests, 2) : '-'} per request, ${API_SERVERS === 1 ? 'one replica' : `${API_SERVERS} replicas`}); ${fmt(g.retries)} placement transactions retried after another commit moved their ledger`);
  if (FOLLOWERS > 0) {
    console.log(`  followers (${FOLLOWERS} replicas receiving no requests): ${fmt(r.cpu.followers, 2)} CPU s in all, ${fmt((1000 * r.cpu.followers) / FOLLOWERS / r.bound, 3)} ms per bound pod per follower`);
  }
}
if (OPEN_LOOP.length + OPEN_LOOP_RATES.length > 0) {
  console.log(`\nopen loop: Poisson arrivals at ${OPEN_LOOP_RATES.length > 0 ? 'fixed rates (load: the fraction of the closed-loop bound rate)' : 'fractions of the closed-loop bound rate'}, ${OPEN_LOOP_SECONDS} s each; latency from each pod's scheduled arrival to its bound event; CPU ms per bound pod from the first arrival to the last bound pod (${API_SERVERS === 1 ? 'the API server' : `${API_SERVERS} API servers together`}, etcd, the schedulers together):\n`);
  const perPod = (sec: number, o: OpenLoopPhase) => fmt((1000 * sec) / Math.max(1, o.bound), 3);
  console.log(
    formatTable(
      ['nodes', 'load', 'offered/s', 'pods', 'bound', 'bound/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'apiserver ms/pod', 'etcd ms/pod', 'schedulers ms/pod', 'txns/pod', 'txns/etcd request'],
      results.flatMap((r) =>
        r.openLoop.map((o) => [
          fmt(r.nodes),
          `${Math.round(o.fraction * 100)}%`,
          fmt(o.offered),
          fmt(o.pods),
          fmt(o.bound),
          fmt(o.boundRate),
          fmt(o.p50),
          fmt(o.p99),
          fmt(o.p999),
          perPod(o.cpu.apiserver, o),
          perPod(o.cpu.etcd, o),
          perPod(o.cpu.schedulers.reduce((a, b) => a + b, 0), o),
          fmt(o.groupCommit.txns / Math.max(1, o.bound), 2),
          o.groupCommit.requests > 0 ? fmt(o.groupCommit.txns / o.groupCommit.requests, 2) : '-',
        ]),
      ),
    ),
  );
}
const mib = (b: number) => fmt(b / 2 ** 20);
console.log('\nmemory at the end of each scenario (MiB: peak resident, V8 heap in use; etcd\'s database after compacting its history; B/pod: over every pod created, the API server\'s growth from the end of setup):\n');
console.log(
  formatTable(
    ['nodes', 'pods', 'etcd peak', 'etcd Go heap peak', 'etcd db (in use)', 'etcd B/pod', 'apiserver peak', 'heap', 'apiserver B/pod: RSS', 'heap', 'scheduler peak', 'heap', ...(VIA_JOBS ? ['manager peak', 'heap'] : []), 'bench peak'],
    results.map((r) => {
      const m = r.memory;
      return [fmt(r.nodes), fmt(m.pods), mib(m.etcdPeak), mib(m.etcdHeapPeak), `${mib(m.etcdDbSize)} (${mib(m.etcdDbInUse)})`, fmt(m.etcdDbInUse / m.pods), mib(m.apiserverPeak), mib(m.apiserverHeap), fmt(m.apiserverGrowth / m.pods), fmt(m.apiserverHeapGrowth / m.pods), mib(m.schedulerPeak), mib(m.schedulerHeap), ...(VIA_JOBS ? [mib(m.managerPeak), mib(m.managerHeap)] : []), mib(m.benchPeak)];
    }),
  ),
);
console.log('\netcd\'s memory and backpressure (the whole scenario): the most watch events etcd held at once for slow watchers (sampled each second); the raft entries it committed and the MiB its clients sent (etcd keeps its raft log in memory, at least the last 5,000 entries and up to --snapshot-count more); creates that waited for a watch cache lagging --max-watch-cache-lag commits behind, and of those refused with 429\n');
console.log(
  formatTable(
    ['nodes', 'pods', 'etcd pending events peak', 'raft entries', 'MiB sent to etcd', 'KiB per entry', 'creates waited', 'refused'],
    results.map((r) => {
      const m = r.memory;
      return [fmt(r.nodes), fmt(m.pods), fmt(m.etcdPendingPeak), fmt(m.etcdEntries), mib(m.etcdReceivedBytes), fmt(m.etcdReceivedBytes / 1024 / Math.max(1, m.etcdEntries)), fmt(m.lagWaits), fmt(m.lagRefused)];
    }),
  ),
);
console.log('\n  bound/s = pods bound / (last bound event − first create sent); latency = create sent → bound event seen');
console.log('  conflict fraction = 409s the scheduler got / pods it bound\n');
console.log('targets:');
for (const r of results) {
  if (r.nodes === 1000) {
    const ok = r.boundRate >= TARGET_RATIO_1000 * r.casRate && r.bound === r.pods;
    console.log(`  1,000 nodes: bound/s ≥ ${TARGET_RATIO_1000}× raw CAS/s: ${ok ? 'PASS' : 'FAIL'} (${fmt(r.boundRate / r.casRate, 2)}×)`);
  }
  if (r.nodes === 5000) {
    const ok = r.boundRate >= TARGET_RATE_5000 && r.bound === r.pods;
    console.log(`  5,000 nodes: bound/s ≥ ${TARGET_RATE_5000}:             ${ok ? 'PASS' : 'FAIL'} (${fmt(r.boundRate)}/s)`);
  }
}
console.log(`\nsetup (API server, nodes, schedulers, CAS) per scenario: ${results.map((r) => `${fmt(r.setupSeconds, 1)} s`).join(', ')}; total ${fmt((performance.now() - t0) / 1000, 1)} s`);
