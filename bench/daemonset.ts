// `npm run bench:daemonset`: a DaemonSet across N hollow nodes, every part a real process on real
// etcd — cell-apiserver, one hollow cell-agent playing the N nodes, one cell-scheduler placing the
// daemon pods (each pinned to its node by affinity) and cell-controller-manager running only the
// DaemonSet controller. Two phases:
//   - rollout: the DaemonSet is created; timed until its status says every node runs an available
//     pod (desired = available = N), with pods created/s and bound/s from one watch;
//   - update: the image changes; timed until every node runs an available pod of the new
//     template, the status sampled every 100 ms for the most nodes without an available pod
//     (bounded by maxUnavailable).
// Reported beside them: each process's CPU per node.
//
//   npm run bench:daemonset                              1,000 nodes, maxUnavailable 10%
//   npm run bench:daemonset -- --nodes=N --max-unavailable=25% [--timeout=600s]
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { DaemonSet } from '../shared/api/apps.js';
import { parseFlags } from '../shared/flags.js';
import { startControllerManagerProcess, type ControllerManagerProcess } from '../test/controllers/helpers.js';
import { startSchedulerProcess, type SchedulerProcess } from '../test/schedulers/scheduler-process.js';
import { clearEtcdPrefix, cpuMs, etcdEndpoints, etcdPid, expectStatus, postCreated, request, startBenchApiServer, startHollowNodes, stopBenchApiServer, stopHollowNodes, type HollowNodes } from './apiserver-client.js';
import { formatTable, perSecond } from './measure.js';

const USAGE = `Usage: npm run bench:daemonset -- [flags]

  --nodes=1000           hollow nodes (one cell-agent process)
  --max-unavailable=10%  the DaemonSet's rollingUpdate.maxUnavailable
  --timeout=600s         give up waiting after this long (per phase)
  -h, --help
`;
const flags = parseFlags('bench:daemonset', USAGE, {
  nodes: { type: 'string', default: '1000' },
  'max-unavailable': { type: 'string', default: '10%' },
  timeout: { type: 'string', default: '600s' },
});
const NODES = flags.int('nodes');
const MAX_UNAVAILABLE = /^\d+$/.test(flags.str('max-unavailable') ?? '') ? Number(flags.str('max-unavailable')) : (flags.str('max-unavailable') ?? '10%');
const TIMEOUT_MS = flags.duration('timeout');
const NAMESPACE = 'bench-ds';
const endpoints = etcdEndpoints('bench:daemonset');
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** When each pod was first seen, and first seen bound, on one watch of the namespace. */
class PodTimes {
  readonly created = new Map<string, number>();
  readonly bound = new Map<string, number>();
  private req: http.ClientRequest | undefined;
  private leftover = '';

  open(base: URL, resourceVersion: string): Promise<void> {
    const path = `/api/v1/namespaces/${NAMESPACE}/pods?watch=true&resourceVersion=${resourceVersion}&timeoutSeconds=3600`;
    return new Promise((resolve, reject) => {
      this.req = http.get({ host: base.hostname, port: base.port, path, agent: false, headers: { Accept: 'application/json' } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const now = performance.now();
          const lines = (this.leftover + chunk).split('\n');
          this.leftover = lines.pop() ?? '';
          for (const line of lines) {
            if (line === '') continue;
            const ev = JSON.parse(line) as { type: string; object: { metadata?: { name?: string }; spec?: { nodeName?: string } } };
            const name = ev.object.metadata?.name;
            if (!name) continue;
            if (!this.created.has(name)) this.created.set(name, now);
            if (ev.object.spec?.nodeName && !this.bound.has(name)) this.bound.set(name, now);
          }
        });
        resolve();
      });
      this.req.on('error', reject);
    });
  }

  close(): void {
    this.req?.destroy();
  }
}

const lastOf = (m: Map<string, number>, t0: number) => Math.max(t0, ...m.values());

function daemonSet(image: string): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'node-agent' },
    spec: {
      selector: { matchLabels: { app: 'node-agent' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: MAX_UNAVAILABLE } },
      template: {
        metadata: { labels: { app: 'node-agent' } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'agent', image, command: ['run'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

async function getDs(base: URL): Promise<DaemonSet> {
  return JSON.parse(expectStatus(await request(agent, base, 'GET', `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/node-agent`), 200, 'get the DaemonSet').body.toString('utf8')) as DaemonSet;
}

/** Polls the status every 100 ms until `done`; returns when, and the most nodes seen without an available pod. */
async function waitFor(base: URL, what: string, done: (ds: DaemonSet) => boolean): Promise<{ at: number; maxUnavailable: number }> {
  let maxUnavailable = 0;
  const deadline = performance.now() + TIMEOUT_MS;
  for (;;) {
    const ds = await getDs(base);
    const s = ds.status;
    if ((s.observedGeneration ?? 0) >= (ds.metadata.generation ?? 1)) maxUnavailable = Math.max(maxUnavailable, s.desiredNumberScheduled - (s.numberAvailable ?? 0));
    if (done(ds)) return { at: performance.now(), maxUnavailable };
    if (performance.now() > deadline) throw new Error(`${what}: not done after ${TIMEOUT_MS / 1000} s; status ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const prefix = `/cell-bench-ds-${randomUUID()}`;
let server: Awaited<ReturnType<typeof startBenchApiServer>> | undefined;
let hollow: HollowNodes | undefined;
let scheduler: SchedulerProcess | undefined;
let manager: ControllerManagerProcess | undefined;
let watch: PodTimes | undefined;
let exitCode = 0;

try {
  console.error(`bench:daemonset: a DaemonSet on ${NODES} hollow nodes, maxUnavailable ${MAX_UNAVAILABLE} …`);
  server = await startBenchApiServer(endpoints, prefix);
  const base = new URL(server.url);
  await postCreated(agent, base, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  hollow = await startHollowNodes(agent, base, NODES);
  scheduler = await startSchedulerProcess({ server: server.url });
  manager = await startControllerManagerProcess({ server: server.url, args: ['--controllers=daemonset', '--leader-elect=false'] });
  const procs: Record<string, number | undefined> = { etcd: etcdPid(endpoints[0]!), apiserver: server.child.pid, scheduler: scheduler.child.pid, agent: hollow.child.pid, 'controller-manager': manager.child.pid };
  const cpuNow = () => Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuMs(pid)]));
  const cpuRow = (before: Record<string, number>) => Object.keys(procs).map((k) => ((cpuMs(procs[k]) - (before[k] ?? NaN)) / NODES).toFixed(2));

  console.log(`\ncell DaemonSet at scale — ${NODES.toLocaleString('en-US')} hollow nodes, maxUnavailable ${MAX_UNAVAILABLE}, etcd ${endpoints.join(',')} (fsync ${process.env.CELL_ETCD_FSYNC === '1' ? 'on' : 'OFF'}), ` +
    `${process.env.CELL_RUN_FROM === 'dist' ? 'compiled dist/' : 'TypeScript sources via tsx'}\n`);
  const list = JSON.parse(expectStatus(await request(agent, base, 'GET', `/api/v1/namespaces/${NAMESPACE}/pods?limit=1`), 200, 'list pods').body.toString('utf8')) as { metadata: { resourceVersion: string } };
  watch = new PodTimes();
  await watch.open(base, list.metadata.resourceVersion);

  const rows: (string | number)[][] = [];
  let cpu0 = cpuNow();
  let t0 = performance.now();
  await postCreated(agent, base, `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets`, daemonSet('busybox:1.36'));
  const created = await waitFor(base, 'rollout', (ds) => ds.status.desiredNumberScheduled === NODES && ds.status.numberAvailable === NODES && ds.status.updatedNumberScheduled === NODES);
  rows.push(['create', ((created.at - t0) / 1000).toFixed(1), perSecond(watch.created.size, lastOf(watch.created, t0) - t0).toFixed(0), perSecond(watch.bound.size, lastOf(watch.bound, t0) - t0).toFixed(0), '-', ...cpuRow(cpu0)]);

  cpu0 = cpuNow();
  t0 = performance.now();
  const current = await getDs(base);
  current.spec.template.spec.containers[0]!.image = 'busybox:1.37';
  const p = expectStatus(await request(agent, base, 'PUT', `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets/node-agent`, JSON.stringify(current)), 200, 'change the image');
  const generation = (JSON.parse(p.body.toString('utf8')) as DaemonSet).metadata.generation ?? 2;
  const before = watch.created.size;
  const updated = await waitFor(base, 'update', (ds) => (ds.status.observedGeneration ?? 0) >= generation && ds.status.updatedNumberScheduled === NODES && ds.status.numberAvailable === NODES);
  rows.push(['update', ((updated.at - t0) / 1000).toFixed(1), perSecond(watch.created.size - before, lastOf(watch.created, t0) - t0).toFixed(0), '-', String(updated.maxUnavailable), ...cpuRow(cpu0)]);

  console.log(formatTable(['phase', 'seconds', 'pods created/s', 'bound/s', 'most nodes without an available pod', ...Object.keys(procs).map((k) => `${k} CPU ms/node`)], rows));
  console.log(`\n  update: maxUnavailable ${MAX_UNAVAILABLE} of ${NODES} nodes; the most is sampled from the status every 100 ms`);
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  watch?.close();
  await manager?.stop();
  await scheduler?.stop();
  await stopHollowNodes(hollow);
  if (server) await stopBenchApiServer(server);
  await clearEtcdPrefix(endpoints, prefix);
  agent.destroy();
}
process.exit(exitCode);
