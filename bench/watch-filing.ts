// `npm run bench:watch-filing`: what one pod event costs the watch cache's fan-out when every node
// agent has its own watch (`spec.nodeName=<node>`), with watchers filed under their node
// (apiserver/registry/watcher-index.ts) against the same selectors tested on every event. In one
// process, on the memory store, so the figure is the fan-out's own CPU: each pod is created
// unbound, bound to a node, set Running and deleted (4 events), and the run waits for the cache to
// deliver every event. Each mode runs twice, alternating.
//
// Environment: BENCH_WATCHERS (node watchers, 5000), BENCH_PODS (2000).
import type { KubeObject } from '../apiserver/registry/object.js';
import { WatchCache, type WatchedObject, type WatcherSink, type WatchFilter } from '../apiserver/registry/watch-cache.js';
import { MemoryStore } from '../apiserver/storage/memory.js';
import { createLogger } from '../shared/logging.js';
import { formatTable } from './measure.js';

const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 5000);
const PODS = Number(process.env.BENCH_PODS ?? 2000);

class CountingSink implements WatcherSink {
  events = 0;
  send(_type: string, _watched: WatchedObject): boolean {
    this.events++;
    return true;
  }
  bookmark(): void {}
  close(): void {}
}

function pod(i: number, nodeName: string, phase: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'bench', uid: `uid-${i}` },
    spec: { nodeName, containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: '100m' } } }] },
    status: { phase },
  });
}

const nodeNameOf = (obj: KubeObject) => (obj as { spec?: { nodeName?: string } }).spec?.nodeName ?? '';

async function run(filed: boolean): Promise<{ cpuMs: number; delivered: number }> {
  const store = new MemoryStore();
  const cache = new WatchCache(store, '/pods/', createLogger('bench', 'error'), {
    capacity: 10_000,
    decode: (_key, value, version) => {
      const obj = JSON.parse(value) as KubeObject;
      obj.metadata.resourceVersion = String(version);
      return obj;
    },
  });
  await cache.ready();
  const sinks: CountingSink[] = [];
  for (let n = 0; n < WATCHERS; n++) {
    const node = `node-${n}`;
    const filter: WatchFilter = {
      keyPrefix: '/pods/',
      matches: (obj) => nodeNameOf(obj) === node,
      ...(filed ? { exact: { field: 'spec.nodeName', value: node, valueOf: nodeNameOf } } : {}),
    };
    const sink = new CountingSink();
    sinks.push(sink);
    await cache.watch(undefined, filter, sink);
  }
  const started = process.cpuUsage();
  let last = 0;
  for (let i = 0; i < PODS; i++) {
    const key = `/pods/bench/p${i}`;
    const node = `node-${i % WATCHERS}`;
    const created = await store.create(key, pod(i, '', 'Pending'));
    const bound = await store.update(key, pod(i, node, 'Pending'), created.modRevision);
    await store.update(key, pod(i, node, 'Running'), bound.modRevision);
    last = await store.delete(key);
  }
  while (cache.currentRevision < last) await new Promise((resolve) => setImmediate(resolve));
  const used = process.cpuUsage(started);
  cache.stop();
  await store.close();
  return { cpuMs: (used.user + used.system) / 1000, delivered: sinks.reduce((n, s) => n + s.events, 0) };
}

async function main(): Promise<void> {
  console.error(`bench:watch-filing: ${WATCHERS} node watchers, ${PODS} pods × 4 events`);
  const rows: string[][] = [];
  const figures: Record<string, number[]> = { tested: [], filed: [] };
  for (let round = 0; round < 2; round++) {
    for (const filed of [false, true]) {
      const r = await run(filed);
      const perEvent = (r.cpuMs * 1000) / (PODS * 4);
      figures[filed ? 'filed' : 'tested']!.push(perEvent);
      // Each pod reaches its node's watcher as ADDED (bound), MODIFIED (Running), DELETED.
      if (r.delivered !== PODS * 3) throw new Error(`${filed ? 'filed' : 'tested'}: delivered ${r.delivered} events, expected ${PODS * 3}`);
      rows.push([filed ? 'filed under the node' : 'every selector tested', String(WATCHERS), String(PODS * 4), r.cpuMs.toFixed(0), perEvent.toFixed(1), String(r.delivered)]);
    }
  }
  console.log('\ncell watch cache fan-out: node agents each watching spec.nodeName=<node> (memory store, one process)\n');
  console.log(formatTable(['watchers', 'node watchers', 'events', 'CPU ms', 'µs per event', 'delivered'], rows));
  const best = (xs: number[]) => Math.min(...xs);
  console.log(`\nfiled ÷ tested, µs per event (best of each): ${(best(figures.filed!) / best(figures.tested!)).toFixed(3)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
