// npm run bench:bind — what optimistic placement commits cost, beside what etcd itself can do,
// measured in one run on one etcd (fsync on):
//   1. raw etcd single-key get + compare-and-swap, 64 workers (the baseline);
//   2. single bindings through the API server, 64 workers, no contention (each on its own node);
//   3. Placements of 50 bindings each;
//   4. contention: 64 binders aimed at 10% of the nodes, fine- vs coarse-grained conflict detection.
// The API server runs as its own process so the load generator does not share its event loop.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ApiClient } from '../shared/client/http-client.js';
import { ConflictError } from '../shared/errors.js';
import { startApiServerProcess } from '../test/clients/apiserver-process.js';
import { freePort } from '../test/harness/ports.js';
import { bindingBody, nodeObject, podObject, pool } from '../test/placement/fixtures.js';
import { rawCasRate } from './etcd-baseline.js';
import { formatTable, percentile, perSecond } from './measure.js';

const endpoints = (process.env.ETCD_ENDPOINTS ?? '').split(',').filter(Boolean);
if (endpoints.length === 0) throw new Error('ETCD_ENDPOINTS is not set (run through npm run bench:bind)');
const quick = process.env.BENCH_QUICK === '1';
const NODES = 100;
const WORKERS = 64;
const SINGLE_PODS = quick ? 600 : 3000;
const BATCH = 50;
const BATCHES = quick ? 20 : 160;
const CONTENDED_PODS = quick ? 400 : 1500;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(`bench:bind — ${NODES} nodes, ${WORKERS} workers${quick ? ' (quick)' : ''}; etcd ${endpoints.join(',')}`);
  const raw = await rawCasRate(endpoints, quick ? 2000 : 5000, WORKERS);
  console.log(`raw etcd get+CAS: ${fmt(raw)}/s`);

  const server = await startApiServerProcess({
    etcdEndpoints: endpoints,
    prefix: `/bench-bind-${randomUUID()}`,
    port: await freePort(),
    args: ['--log-level=error'],
    // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the API server
    nodeArgs: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
  });
  const client = new ApiClient({ servers: [server.url], retries: 0 });
  try {
    const nodes = Array.from({ length: NODES }, (_, i) => `n${i}`);
    await pool(NODES, 16, (i) => client.create({ resource: 'nodes' }, nodeObject(nodes[i]!, '1000', { pods: '100000', memory: '1000Gi' })).then(() => undefined));
    let podSeq = 0;
    const makePods = async (n: number): Promise<string[]> => {
      const names = Array.from({ length: n }, () => `p${podSeq++}`);
      await pool(n, WORKERS, (i) => client.create({ namespace: 'default', resource: 'pods' }, podObject(names[i]!, '10m')).then(() => undefined));
      return names;
    };
    const rows: (string | number)[][] = [];

    // 2. Single bindings, each worker on its own node: no two commits touch one allocation.
    {
      const pods = await makePods(SINGLE_PODS);
      let next = 0;
      const lat: number[] = [];
      const t0 = performance.now();
      await Promise.all(Array.from({ length: WORKERS }, async (_, w) => {
        while (next < pods.length) {
          const pod = pods[next++]!;
          const s = performance.now();
          await client.create({ namespace: 'default', resource: 'pods', name: pod, subresource: 'binding' }, bindingBody(pod, nodes[w % NODES]!));
          lat.push(performance.now() - s);
        }
      }));
      const rate = perSecond(pods.length, performance.now() - t0);
      lat.sort((a, b) => a - b);
      rows.push(['single bindings (64 workers)', fmt(rate), `${(rate / raw).toFixed(2)}×`, percentile(lat, 50).toFixed(1), percentile(lat, 99).toFixed(1)]);
    }

    // 3. Placements of 50 bindings, 8 in flight, each batch spread over a few nodes.
    {
      const pods = await makePods(BATCH * BATCHES);
      let next = 0;
      let bound = 0;
      const lat: number[] = [];
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        while (next < BATCHES) {
          const b = next++;
          const bindings = pods.slice(b * BATCH, (b + 1) * BATCH).map((p, i) => ({ podNamespace: 'default', podName: p, nodeName: nodes[(w * 10 + (i % 10)) % NODES]! }));
          const s = performance.now();
          const res = await client.create<{ status: { bound: number } }>(
            { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'placements' },
            { apiVersion: 'scheduling.cell.dev/v1alpha1', kind: 'Placement', metadata: {}, spec: { mode: 'Incremental', bindings } },
          );
          lat.push(performance.now() - s);
          bound += res.status.bound;
        }
      }));
      const rate = perSecond(bound, performance.now() - t0);
      lat.sort((a, b) => a - b);
      rows.push([`placements of ${BATCH} (8 in flight)`, fmt(rate), `${(rate / raw).toFixed(2)}×`, percentile(lat, 50).toFixed(1), percentile(lat, 99).toFixed(1)]);
    }
    console.log(`\n${formatTable(['commit path', 'bindings/s', 'vs raw CAS', 'p50 ms', 'p99 ms'], rows)}`);

    // 4. Contention: every binder aims at the same 10% of the nodes.
    const hot = nodes.slice(0, NODES / 10);
    const contention: (string | number)[][] = [];
    for (const mode of ['fine', 'coarse'] as const) {
      const pods = await makePods(CONTENDED_PODS);
      let next = 0;
      let ok = 0;
      let conflicts = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: WORKERS }, async () => {
        while (next < pods.length) {
          const pod = pods[next++]!;
          // A binder retries a refused pod, like a scheduler re-queueing it against fresh state.
          for (;;) {
            const node = hot[Math.floor(Math.random() * hot.length)]!;
            let rv: string | undefined;
            if (mode === 'coarse') {
              const alloc = await client.get<{ metadata: { resourceVersion: string } }>({ group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations', name: node });
              rv = alloc.metadata.resourceVersion;
            }
            try {
              await client.create({ namespace: 'default', resource: 'pods', name: pod, subresource: 'binding' }, bindingBody(pod, node, rv));
              ok++;
              break;
            } catch (err) {
              if (!(err instanceof ConflictError)) throw err;
              conflicts++;
            }
          }
        }
      }));
      const rate = perSecond(ok, performance.now() - t0);
      contention.push([mode, fmt(rate), conflicts, (conflicts / Math.max(ok, 1)).toFixed(3)]);
    }
    console.log(`\ncontention: ${WORKERS} binders on ${hot.length} of ${NODES} nodes`);
    console.log(formatTable(['conflict detection', 'bindings/s', 'conflicts', 'conflicts per commit'], contention));
    const audit = await client.request<{ ok: boolean; violations: unknown[] }>('GET', '/audit');
    console.log(`\naudit after the run: ${audit.ok ? 'clean' : `${audit.violations.length} violations`}`);
    if (!audit.ok) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

await main();
