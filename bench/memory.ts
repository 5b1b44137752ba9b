// `npm run bench:memory`: the API server's retained heap per cached pod, on real etcd.
//
// Two cell-apiserver child processes on one etcd prefix, each started with --expose-gc and the
// bench's GC probe (bench/gc-probe.ts): A with the default watch cache (a window of 20,000 recent
// events per resource), B with a window of one event. Every write goes through A; B only follows,
// as a replica does. Both have one watcher of every pod (as a scheduler or a controller would).
// Pods are written as a cluster writes them: created, bound to a node through the binding
// subresource (the pod and the node's allocation ledger in one transaction), then given a Running
// status the way the hollow agent writes it (a JSON patch). At each size the bench waits until
// both servers' watchers have seen the last write, then has each collect garbage and report its
// heap. Printed: heap after GC at each size, and the slope (heap(N2) − heap(N1)) / (N2 − N1) in
// bytes per pod, for A, for B, and A − B: the event window's share.
//
// Flags: --pods=10000,30000 (sizes, ascending; each continues from the one before),
// --concurrency=64 (requests in flight).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ApiClient } from '../shared/client/http-client.js';
import { parseFlags } from '../shared/flags.js';
import { startApiServerProcess, type ApiServerProcess } from '../test/clients/apiserver-process.js';
import { REPO_ROOT } from '../test/harness/entrypoint.js';
import { freePort } from '../test/harness/ports.js';
import { benchNode, clearEtcdPrefix, etcdEndpoints, pod, pool } from './apiserver-client.js';
import { formatTable } from './measure.js';

const endpoints = etcdEndpoints('bench:memory');
const flags = parseFlags('bench:memory', `Usage: npm run bench:memory -- [flags]

  --pods=10000,30000   pod counts, ascending; each size continues from the one before
  --concurrency=64     requests in flight
  -h, --help
`, {
  pods: { type: 'string', default: '10000,30000' },
  concurrency: { type: 'string', default: '64' },
});
const SIZES = (flags.str('pods') ?? '').split(',').map(Number);
if (SIZES.length < 2 || SIZES.some((n, i) => !Number.isSafeInteger(n) || n <= 0 || (i > 0 && n <= SIZES[i - 1]!))) {
  flags.fail('--pods wants two or more ascending pod counts, e.g. --pods=10000,30000');
}
const CONCURRENCY = flags.int('concurrency');
const NAMESPACE = 'bench';
/** Pods per node at the largest size: a full node, as a packed cluster has. */
const PODS_PER_NODE = 100;
const NODES = Math.ceil(SIZES[SIZES.length - 1]! / PODS_PER_NODE);
const PROBE = pathToFileURL(path.join(REPO_ROOT, 'bench', 'gc-probe.ts')).href;

interface Server {
  name: string;
  process: ApiServerProcess;
  probeFile: string;
  probes: number;
  watch: WatchTail;
}

interface Memory {
  heapUsed: number;
  rss: number;
}

/** A watch of every pod that reads and discards its stream, noting whether a given string went by. */
class WatchTail {
  private req: http.ClientRequest | undefined;
  private tail = '';
  private wanted: string | undefined;
  private seen = false;

  open(url: string): Promise<void> {
    const u = new URL(`${url}/api/v1/pods?watch=true&timeoutSeconds=36000`);
    return new Promise((resolve, reject) => {
      // Its own connection: a long-lived stream.
      this.req = http.get({ host: u.hostname, port: u.port, path: u.pathname + u.search, agent: false }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`watch: HTTP ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (this.wanted === undefined || this.seen) return;
          // The string may straddle two chunks: keep the end of the last one.
          const text = this.tail + chunk;
          if (text.includes(this.wanted)) this.seen = true;
          this.tail = text.slice(-this.wanted.length);
        });
        resolve();
      });
      this.req.on('error', reject);
    });
  }

  /** Resolves once `text` has come by on the stream (from now on). */
  async waitFor(text: string, timeoutMs: number): Promise<void> {
    this.wanted = text;
    this.seen = false;
    this.tail = '';
    const deadline = performance.now() + timeoutMs;
    while (!this.seen) {
      if (performance.now() > deadline) throw new Error(`bench:memory: the watch never showed ${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.req?.destroy();
  }
}

async function startServer(name: string, prefix: string, dir: string, args: string[]): Promise<Server> {
  const probeFile = path.join(dir, `${name}.json`);
  const proc = await startApiServerProcess({
    etcdEndpoints: endpoints,
    prefix,
    port: await freePort(),
    args: ['--log-level=warn', '--compaction-interval=0', '--max-requests-inflight=0', ...args],
    // tsx loads the probe (TypeScript); the server itself runs as it is built.
    nodeArgs: ['--expose-gc', '--import', 'tsx', '--import', PROBE],
    env: { ...process.env, CELL_GC_PROBE_FILE: probeFile },
  });
  const watch = new WatchTail();
  await watch.open(proc.url);
  return { name, process: proc, probeFile, probes: 0, watch };
}

/** The server's memory right after two full collections (bench/gc-probe.ts). */
async function probe(s: Server): Promise<Memory> {
  const want = ++s.probes;
  s.process.child.kill('SIGUSR2');
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (existsSync(s.probeFile)) {
      const m = JSON.parse(readFileSync(s.probeFile, 'utf8')) as { probe: number; heapUsed: number; rss: number };
      if (m.probe >= want) return { heapUsed: m.heapUsed, rss: m.rss };
    }
    if (performance.now() > deadline) throw new Error(`bench:memory: ${s.name} did not answer its GC probe\n${s.process.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Written {
  metadata: { uid: string; resourceVersion: string };
}

/** Pod `i`: created, bound, then Running as the hollow agent reports it. Returns the last resourceVersion. */
async function writePod(client: ApiClient, i: number): Promise<string> {
  const name = `pod-${i}`;
  const node = i % NODES;
  const nodeName = `node-${String(node).padStart(5, '0')}`;
  const ref = { namespace: NAMESPACE, resource: 'pods', name };
  const created = await client.create<Written>({ namespace: NAMESPACE, resource: 'pods' }, pod(name));
  const uid = created.metadata.uid;
  await client.create({ ...ref, subresource: 'binding' }, {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name, namespace: NAMESPACE, uid },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ip = `10.${(node >> 8) & 255}.${node & 255}.1`;
  const conditions = [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
    { type: 'Initialized', status: 'True', lastTransitionTime: now },
    { type: 'Ready', status: 'True', lastTransitionTime: now },
    { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
  ];
  const containerStatuses = [{
    name: 'main',
    state: { running: { startedAt: now } },
    ready: true,
    restartCount: 0,
    containerID: `cell://${uid}/main/0`,
    image: 'busybox:1.36',
    imageID: '',
    started: true,
  }];
  const running = await client.patch<Written>({ ...ref, subresource: 'status' }, [
    { op: 'test', path: '/metadata/uid', value: uid },
    { op: 'add', path: '/status/phase', value: 'Running' },
    { op: 'add', path: '/status/conditions', value: conditions },
    { op: 'add', path: '/status/containerStatuses', value: containerStatuses },
    { op: 'add', path: '/status/startTime', value: now },
    { op: 'add', path: '/status/hostIP', value: ip },
    { op: 'add', path: '/status/podIP', value: ip },
    { op: 'add', path: '/status/podIPs', value: [{ ip }] },
  ], 'json');
  return running.metadata.resourceVersion;
}

const prefix = `/cell-bench-memory-${randomUUID()}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'cell-bench-memory-'));
const servers: Server[] = [];
const rows: { pods: number; a: Memory; b: Memory }[] = [];
const t0 = performance.now();
try {
  servers.push(await startServer('A', prefix, dir, []));
  servers.push(await startServer('B', prefix, dir, ['--watch-cache-size=1']));
  const [a, b] = servers as [Server, Server];
  const client = new ApiClient({ servers: [a.process.url], timeoutMs: 60_000 });
  await client.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await pool(NODES, CONCURRENCY, (i) => client.create({ resource: 'nodes' }, benchNode(i, { cpu: '64', memory: '256Gi', pods: '110' })).then(() => undefined));
  let written = 0;
  for (const size of SIZES) {
    let last = '';
    let lastVersion = -1;
    console.error(`bench:memory: writing pods ${written}…${size - 1} …`);
    await pool(size - written, CONCURRENCY, async (k) => {
      const rv = await writePod(client, written + k);
      if (Number(rv) > lastVersion) {
        lastVersion = Number(rv);
        last = rv;
      }
    });
    written = size;
    // Both servers (and their watchers) have everything: the newest write went by on both watches.
    await Promise.all(servers.map((s) => s.watch.waitFor(`"resourceVersion":"${last}"`, 120_000)));
    rows.push({ pods: size, a: await probe(a), b: await probe(b) });
  }
  client.close();
} finally {
  for (const s of servers) {
    s.watch.close();
    await s.process.stop('SIGTERM', 10_000);
  }
  await clearEtcdPrefix(endpoints, prefix);
  rmSync(dir, { recursive: true, force: true });
}

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
const perPod = (b: number) => Math.round(b).toLocaleString('en-US');
console.log(`\ncell API server memory per cached pod — etcd ${endpoints.join(',')}, ${NODES} nodes, pods created → bound → Running, one watcher of all pods per server\n`);
console.log(
  formatTable(
    ['pods', 'A heap MiB', 'A rss MiB', 'B heap MiB (window 1)', 'B rss MiB', 'window share MiB (A − B)'],
    rows.map((r) => [r.pods.toLocaleString('en-US'), mib(r.a.heapUsed), mib(r.a.rss), mib(r.b.heapUsed), mib(r.b.rss), mib(r.a.heapUsed - r.b.heapUsed)]),
  ),
);
console.log('\nslope: retained heap per added pod, bytes (heap after GC)\n');
console.log(
  formatTable(
    ['from', 'to', 'A B/pod', 'B B/pod (window 1)', 'window share B/pod'],
    rows.slice(1).map((r, i) => {
      const p = rows[i]!;
      const n = r.pods - p.pods;
      const sa = (r.a.heapUsed - p.a.heapUsed) / n;
      const sb = (r.b.heapUsed - p.b.heapUsed) / n;
      return [p.pods.toLocaleString('en-US'), r.pods.toLocaleString('en-US'), perPod(sa), perPod(sb), perPod(sa - sb)];
    }),
  ),
);
console.log(`\ntarget: ≤ 3,072 B of API server heap per cached pod (A's slope); total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
