// `npm run bench:informer-sync`: what it costs an informer to get the state of a large collection —
// what every scheduler, agent and controller does at start and after a 410 — as a list in pages
// and then a watch, against a watch-list (sendInitialEvents: the state as ADDED events on the
// watch itself). A cell-apiserver child process on real etcd (fsync on) holds P pods; the
// project's Informer, in this process, syncs them in each way in turn (alternating, R rounds).
// Reported per way: wall time from start() to synced, the API server's CPU and this process's CPU
// over that time (both per pod), and the list requests it took (from the server's /metrics).
//
//   npm run bench:informer-sync                 50,000 pods, 3 rounds
//   npm run bench:informer-sync -- --pods=N --rounds=R
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseFlags } from '../shared/flags.js';
import { ApiClient } from '../shared/client/http-client.js';
import { Informer } from '../shared/client/informer.js';
import type { Pod } from '../shared/api/core.js';
import { clearEtcdPrefix, cpuMs, etcdEndpoints, expectStatus, pod, pool, request, startBenchApiServer, stopBenchApiServer } from './apiserver-client.js';
import { formatTable } from './measure.js';
import { metricValue } from '../test/schedulers/scheduler-process.js';

const USAGE = `Usage: npm run bench:informer-sync -- [flags]

  --pods=50000   pods in the collection
  --rounds=3     syncs in each way, alternating
  -h, --help
`;
const flags = parseFlags('bench:informer-sync', USAGE, { pods: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '3' } });
const PODS = flags.int('pods');
const ROUNDS = flags.int('rounds');
const NS = 'bench-sync';
const CREATE_LIST = 500;

interface Sync {
  way: 'list, then watch' | 'watch-list';
  wallMs: number;
  serverCpuMs: number;
  clientCpuMs: number;
  /** List requests the server answered for it (the watch is one more either way). */
  lists: number;
}

async function main(): Promise<void> {
  const endpoints = etcdEndpoints('bench:informer-sync');
  const prefix = `/cell-bench-sync-${randomUUID()}`;
  const server = await startBenchApiServer(endpoints, prefix);
  const base = new URL(server.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    expectStatus(await request(agent, base, 'POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })), 201, 'namespace');
    const began = performance.now();
    await pool(Math.ceil(PODS / CREATE_LIST), 4, async (b) => {
      const items = [];
      for (let i = b * CREATE_LIST; i < Math.min(PODS, (b + 1) * CREATE_LIST); i++) items.push(pod(`p-${i}`));
      expectStatus(await request(agent, base, 'POST', `/api/v1/namespaces/${NS}/pods`, JSON.stringify({ apiVersion: 'v1', kind: 'List', items })), 200, 'create list');
    });
    console.log(`bench:informer-sync: ${PODS.toLocaleString('en-US')} pods created in ${((performance.now() - began) / 1000).toFixed(1)} s; ${ROUNDS} rounds of each way, alternating\n`);

    const syncs: Sync[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const watchList of r % 2 === 0 ? [false, true] : [true, false]) syncs.push(await syncOnce(server.url, server.child.pid, watchList));
    }
    const rows = (['list, then watch', 'watch-list'] as const).map((way) => {
      const mine = syncs.filter((s) => s.way === way);
      const range = (f: (s: Sync) => number, digits = 0) => {
        const v = mine.map(f).sort((a, b) => a - b);
        return `${v[0]!.toFixed(digits)}–${v[v.length - 1]!.toFixed(digits)}`;
      };
      return [way, range((s) => s.wallMs), range((s) => (s.serverCpuMs * 1000) / PODS, 1), range((s) => (s.clientCpuMs * 1000) / PODS, 1), range((s) => s.lists)];
    });
    console.log(formatTable(['way', 'wall ms', 'API server µs/pod', 'informer µs/pod', 'list requests'], rows));
    const median = (way: Sync['way'], f: (s: Sync) => number) => {
      const v = syncs.filter((s) => s.way === way).map(f).sort((a, b) => a - b);
      return v[Math.floor(v.length / 2)]!;
    };
    const ratio = (f: (s: Sync) => number) => (median('watch-list', f) / median('list, then watch', f)).toFixed(2);
    console.log(`\nwatch-list ÷ list, medians: wall ${ratio((s) => s.wallMs)}×, API server CPU ${ratio((s) => s.serverCpuMs)}×, informer CPU ${ratio((s) => s.clientCpuMs)}×`);
  } finally {
    agent.destroy();
    await stopBenchApiServer(server);
    await clearEtcdPrefix(endpoints, prefix);
  }
}

/** List requests for pods the server has answered so far (its /metrics). */
async function podLists(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return metricValue(text, 'apiserver_request_total', { verb: 'list', resource: 'pods' });
}

/** One informer's sync of the namespace's pods, the way asked. */
async function syncOnce(url: string, pid: number | undefined, watchList: boolean): Promise<Sync> {
  const client = new ApiClient({ servers: [url], retries: 0 });
  const informer = new Informer<Pod>({ client, ref: { resource: 'pods', namespace: NS }, watchList });
  const lists0 = await podLists(url);
  const server0 = cpuMs(pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  await informer.start();
  const wallMs = performance.now() - t0;
  const clientUsage = process.cpuUsage(client0);
  const serverCpuMs = cpuMs(pid) - server0;
  if (informer.size !== PODS) throw new Error(`informer holds ${informer.size} pods, not ${PODS}`);
  await informer.stop();
  client.close();
  const lists = (await podLists(url)) - lists0;
  return { way: watchList ? 'watch-list' : 'list, then watch', wallMs, serverCpuMs, clientCpuMs: (clientUsage.user + clientUsage.system) / 1000, lists };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
