// `npm run bench:jobs`: pods created by workload controllers at scale (DESIGN §8): J Jobs of P pods
// each on N hollow nodes, every part a real process on real etcd — cell-apiserver, one hollow
// cell-agent playing the N nodes, one cell-scheduler, and cell-controller-manager running only the
// job controller (--controllers=job). All Jobs are created at once (completions = parallelism = P,
// pods finishing after --run-seconds); the run ends when every Job is Complete. Reported, from one
// watch on the pods: pods created/s, bound/s and completed/s (each over the span from the first
// Job create to the last such event), and CPU per pod for each process. Beside them, in the same
// run and on the same API server: bench:e2e's way of creating pods — one POST per pod, 128 in
// flight — for as many pods, giving the raw create rate the controller's rate compares with.
//
//   npm run bench:jobs                       20 Jobs × 100 pods on 200 nodes
//   npm run bench:jobs -- --preset=16core    100 Jobs × 1,000 pods on 5,000 nodes
//   npm run bench:jobs -- --jobs=J --pods=P --nodes=N [--run-seconds=1] [--timeout=600s]
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { parseFlags } from '../shared/flags.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { programArgs, REPO_ROOT } from '../test/harness/entrypoint.js';
import { startControllerManagerProcess, type ControllerManagerProcess } from '../test/controllers/helpers.js';
import { startSchedulerProcess, type SchedulerProcess } from '../test/schedulers/scheduler-process.js';
import { cpuMs, etcdEndpoints, etcdPid, expectStatus, pool, postCreated, request, startBenchApiServer, stopBenchApiServer } from './apiserver-client.js';
import { formatTable, perSecond } from './measure.js';

const USAGE = `Usage: npm run bench:jobs -- [flags]

  --jobs=20            Jobs created at once
  --pods=100           pods per Job (completions = parallelism)
  --nodes=200          hollow nodes (one cell-agent process)
  --preset=16core      100 Jobs × 1,000 pods on 5,000 nodes (overrides the three above)
  --run-seconds=1      how long each hollow pod runs before it succeeds
  --timeout=600s       give up waiting for the Jobs after this long
  -h, --help
`;

const flags = parseFlags('bench:jobs', USAGE, {
  jobs: { type: 'string', default: '20' },
  pods: { type: 'string', default: '100' },
  nodes: { type: 'string', default: '200' },
  preset: { type: 'string' },
  'run-seconds': { type: 'string', default: '1' },
  timeout: { type: 'string', default: '600s' },
});
const preset = flags.str('preset');
if (preset !== undefined && preset !== '16core') flags.fail(`unknown --preset "${preset}" (known: 16core)`);
const JOBS = preset ? 100 : flags.int('jobs');
const PODS = preset ? 1000 : flags.int('pods');
const NODES = preset ? 5000 : flags.int('nodes');
const RUN_SECONDS = flags.num('run-seconds');
const TIMEOUT_MS = flags.duration('timeout');
const NAMESPACE = 'bench-jobs';
const RAW_NAMESPACE = 'bench-raw';
const RAW_CONCURRENCY = 128;
const endpoints = etcdEndpoints('bench:jobs');

/** What one watch on all pods saw, per pod: when it first existed, was bound, succeeded. */
class PodProgress {
  readonly created = new Map<string, number>();
  readonly bound = new Map<string, number>();
  readonly succeeded = new Map<string, number>();
  private req: http.ClientRequest | undefined;
  private leftover = '';

  open(base: URL, namespace: string, resourceVersion: string): Promise<void> {
    const path = `/api/v1/namespaces/${namespace}/pods?watch=true&resourceVersion=${resourceVersion}&timeoutSeconds=3600`;
    return new Promise((resolve, reject) => {
      this.req = http.get({ host: base.hostname, port: base.port, path, agent: false, headers: { Accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.onData(chunk));
        resolve();
      });
      this.req.on('error', reject);
    });
  }

  private onData(chunk: string): void {
    const now = performance.now();
    const lines = (this.leftover + chunk).split('\n');
    this.leftover = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      const ev = JSON.parse(line) as { type: string; object: { metadata?: { name?: string }; spec?: { nodeName?: string }; status?: { phase?: string } } };
      if (ev.type === 'ERROR') throw new Error(`the bench's watch failed: ${line.slice(0, 300)}`);
      const name = ev.object.metadata?.name;
      if (!name) continue;
      if (!this.created.has(name)) this.created.set(name, now);
      if (ev.object.spec?.nodeName && !this.bound.has(name)) this.bound.set(name, now);
      if (ev.object.status?.phase === 'Succeeded' && !this.succeeded.has(name)) this.succeeded.set(name, now);
    }
  }

  close(): void {
    this.req?.destroy();
  }
}

function jobObject(i: number) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `job-${i}` },
    spec: {
      completions: PODS,
      parallelism: PODS,
      template: {
        metadata: { annotations: { 'cell.dev/run-seconds': String(RUN_SECONDS) } },
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: 'busybox', command: ['work'], resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
        },
      },
    },
  };
}

/** A pod no scheduler owns: the raw create path only, as bench:e2e creates its pods. */
function rawPod(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `raw-${i}` },
    spec: { schedulerName: 'bench-nobody', restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['work'], resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
  };
}

async function completeJobs(agent: http.Agent, base: URL): Promise<number> {
  const r = expectStatus(await request(agent, base, 'GET', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`), 200, 'list jobs');
  const list = JSON.parse(r.body.toString('utf8')) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
  return list.items.filter((j) => j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')).length;
}

const total = JOBS * PODS;
const prefix = `/cell-bench-jobs-${randomUUID()}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: RAW_CONCURRENCY });
const progress = new PodProgress();
let server: Awaited<ReturnType<typeof startBenchApiServer>> | undefined;
let hollow: ChildProcess | undefined;
let hollowOutput = '';
let scheduler: SchedulerProcess | undefined;
let manager: ControllerManagerProcess | undefined;
let exitCode = 0;
try {
  console.error(`bench:jobs: ${JOBS} Jobs × ${PODS} pods on ${NODES} hollow nodes …`);
  server = await startBenchApiServer(endpoints, prefix);
  const base = new URL(server.url);
  for (const ns of [NAMESPACE, RAW_NAMESPACE]) await postCreated(agent, base, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  // Room for every pod at once: 110 pods a node, cpu for all of them.
  // The agent runs from dist/ like the other processes when CELL_RUN_FROM=dist.
  const agentArgs = [`--server=${server.url}`, `--hollow-nodes=${NODES}`, '--node-prefix=bench-node-', '--node-ip=127.0.0.1', '--cpu=16', '--memory=64Gi', '--heartbeat-interval=10s', '--lease-duration=40s', '--log-level=warn'];
  hollow = spawn(process.execPath, [...programArgs('agent'), ...agentArgs], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  hollow.stderr?.setEncoding('utf8').on('data', (d: string) => (hollowOutput = (hollowOutput + d).slice(-20_000)));
  for (const deadline = Date.now() + 300_000; ; ) {
    const r = expectStatus(await request(agent, base, 'GET', '/api/v1/nodes?labelSelector=cell.dev%2Fhollow-agent%3Dbench-node'), 200, 'list nodes');
    const nodes = JSON.parse(r.body.toString('utf8')) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
    if (nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= NODES) break;
    if (Date.now() > deadline) throw new Error(`hollow nodes not Ready after 300 s:\n${hollowOutput.slice(-2000)}`);
    await new Promise((r2) => setTimeout(r2, 500));
  }
  scheduler = await startSchedulerProcess({ server: server.url });
  manager = await startControllerManagerProcess({ server: server.url, args: ['--controllers=job', '--leader-elect=false'] });

  const list = JSON.parse(expectStatus(await request(agent, base, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods?limit=1`), 200, 'list pods').body.toString('utf8')) as { metadata: { resourceVersion: string } };
  await progress.open(base, NAMESPACE, list.metadata.resourceVersion);

  const etcd = etcdPid(endpoints[0]!);
  const procs = { etcd, apiserver: server.child.pid, scheduler: scheduler.child.pid, agent: hollow.pid, 'controller-manager': manager.child.pid };
  const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
  const t0 = performance.now();
  await pool(JOBS, 16, (i) => postCreated(agent, base, `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`, jobObject(i)));
  for (let last = 0; ; ) {
    const done = await completeJobs(agent, base);
    if (done === JOBS) break;
    const elapsed = performance.now() - t0;
    if (elapsed > TIMEOUT_MS) throw new Error(`only ${done}/${JOBS} Jobs Complete after ${(elapsed / 1000).toFixed(0)} s (pods created ${progress.created.size}, bound ${progress.bound.size}, succeeded ${progress.succeeded.size})`);
    if (elapsed - last > 5000) {
      last = elapsed;
      console.error(`  t=${(elapsed / 1000).toFixed(0)}s jobs complete ${done}/${JOBS}, pods created ${progress.created.size}, bound ${progress.bound.size}, succeeded ${progress.succeeded.size}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const elapsedMs = performance.now() - t0;
  const cpu = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid) - (cpu0[k] ?? NaN)]));
  const lastOf = (m: Map<string, number>) => {
    let last = t0;
    for (const at of m.values()) if (at > last) last = at;
    return last;
  };

  // bench:e2e's create path, same server, same count: one POST per pod, 128 in flight.
  const r0 = performance.now();
  await pool(total, RAW_CONCURRENCY, (i) => postCreated(agent, base, `/api/v1/namespaces/${RAW_NAMESPACE}/pods`, rawPod(i)));
  const rawRate = perSecond(total, performance.now() - r0);

  const rate = (m: Map<string, number>) => perSecond(m.size, lastOf(m) - t0);
  console.log(`\ncell Jobs at scale — ${JOBS} Jobs × ${PODS} pods (${total.toLocaleString('en-US')}) on ${NODES.toLocaleString('en-US')} hollow nodes, ` +
    `etcd ${endpoints.join(',')} (fsync ${process.env.CELL_ETCD_FSYNC === '1' ? 'on' : 'OFF'}), job controller in cell-controller-manager (--controllers=job), ` +
    `${process.env.CELL_RUN_FROM === 'dist' ? 'compiled dist/' : 'TypeScript sources via tsx'}\n`);
  console.log(formatTable(
    ['pods', 'created', 'bound', 'succeeded', 'created/s', 'bound/s', 'completed/s', 'all Complete in', 'raw POST create/s (bench:e2e path)'],
    [[total, progress.created.size, progress.bound.size, progress.succeeded.size, rate(progress.created).toFixed(0), rate(progress.bound).toFixed(0), rate(progress.succeeded).toFixed(0), `${(elapsedMs / 1000).toFixed(1)} s`, rawRate.toFixed(0)]],
  ));
  console.log('');
  console.log(formatTable(
    ['process', 'CPU s', 'CPU ms per pod'],
    Object.entries(cpu).map(([name, ms]) => [name, Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-', Number.isFinite(ms) ? (ms / total).toFixed(2) : '-']),
  ));
  if (progress.succeeded.size !== total) {
    console.error(`bench:jobs: ${progress.succeeded.size} pods seen Succeeded, ${total} expected`);
    exitCode = 1;
  }
} catch (err) {
  console.error(`bench:jobs failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  if (manager) console.error(`controller manager output:\n${manager.output().slice(-3000)}`);
  exitCode = 1;
} finally {
  progress.close();
  await manager?.stop('SIGTERM', 10_000);
  await scheduler?.stop('SIGTERM', 10_000);
  if (hollow && hollow.exitCode === null && hollow.signalCode === null) {
    const h = hollow;
    await new Promise<void>((resolve) => {
      h.once('exit', () => resolve());
      h.kill('SIGTERM');
    });
  }
  if (server) await stopBenchApiServer(server);
  agent.destroy();
  const etcd = new Etcd3({ hosts: endpoints });
  try {
    const res = await etcd.delete().prefix(prefix).exec();
    await etcd.kv.compact({ revision: res.header.revision, physical: true });
  } finally {
    etcd.close();
  }
}
process.exit(exitCode);
