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
//             latency is receive time minus that (one absolute clock for every thread). Every
//             watcher must get every event exactly once. The watches are read by worker threads
//             (BENCH_WATCH_WORKERS, one per core but one), so that one event loop parsing a million
//             events per second does not measure itself instead of the server; this process's own
//             CPU is reported beside the server's.
//
// "server CPU µs/req" is the API server process's user+system CPU time (from /proc) over the case
// divided by its requests: unlike the rates, it barely depends on what else the machine is doing.
//
// Environment: BENCH_DURATION_MS (each rate case, default 5000), BENCH_WATCHERS (1000),
// BENCH_WATCH_RATE (writes/s, 200), BENCH_WATCH_MS (10000), BENCH_CONCURRENCY (64);
// BENCH_SERVER_NODE_ARGS are extra node flags for the API server (e.g. `--cpu-prof
// --cpu-prof-dir=/tmp/prof` to profile it); BENCH_AUTH=admin|tenant authenticates the load with a
// token, as a system:masters user or as a tenant RBAC authorizes (bench/apiserver-client.ts).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import type { ApiServerProcess } from '../test/clients/apiserver-process.js';
import { benchNamespace, BENCH_AUTH, cpuMs, env, etcdEndpoints, expectStatus, fmt, pct, pod, postPaced, request, SEQ_ANNOTATION, startBenchApiServer, stopBenchApiServer, type Pod, type Reply } from './apiserver-client.js';
import { formatTable, percentile, perSecond, runFor, type LoopResult } from './measure.js';
import { absoluteNow, WatchFleet } from './watch-fleet.js';

const DURATION_MS = env('BENCH_DURATION_MS', 5000);
const CONCURRENCY = env('BENCH_CONCURRENCY', 64);
const LIST_PODS = 1000;
const WATCHERS = env('BENCH_WATCHERS', 1000);
const WATCH_RATE = env('BENCH_WATCH_RATE', 200);
const WATCH_MS = env('BENCH_WATCH_MS', 10_000);
/** Threads reading the watches (the writes stay on the main thread): one per core but one, 1 to 8. */
const WATCH_WORKERS = env('BENCH_WATCH_WORKERS', Math.max(1, Math.min(8, os.availableParallelism() - 1)));
/** create and raw put alternate in this many slices each. */
const SLICES = 4;
const TARGET_FANOUT_P99_MS = 250;
const TARGET_CREATE_RATIO = 0.7;

const endpoints = etcdEndpoints('bench:apiserver');

/** Runs `op(i)` for i in [0, count) with `concurrency` workers. */
async function runN(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

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
  let server: ApiServerProcess | undefined;
  const etcd = new Etcd3({ hosts: endpoints });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    server = await startBenchApiServer(endpoints, prefix);
    const load0 = os.loadavg()[0]!;
    const base = new URL(server.url);
    const call = (method: string, path: string, body?: unknown) =>
      request(agent, base, method, path, body === undefined ? undefined : JSON.stringify(body));

    for (const ns of ['bench-list', 'bench-create', 'bench-update', 'bench-watch']) await benchNamespace(agent, base, ns);
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
      `API server as a child process, ${CONCURRENCY} concurrent requests, ${DURATION_MS / 1000} s per case, ` +
      `requests ${BENCH_AUTH === undefined ? 'unauthenticated (loopback admin)' : BENCH_AUTH === 'admin' ? 'as a system:masters token user' : 'as a tenant authorized by RBAC RoleBindings'}; ` +
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
          ['load generator CPU (writes + watch readers)', `${fmt(fanout.loadCpuMs / 1000, 1)} CPU-s over ${WATCH_WORKERS} reader thread${WATCH_WORKERS === 1 ? '' : 's'} + 1`],
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
    if (server) await stopBenchApiServer(server);
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
  /** This load generator's CPU ms (every thread: the writes and the watch readers) over the same span. */
  loadCpuMs: number;
}

async function watchFanout(server: ApiServerProcess, call: (m: string, p: string, b?: unknown) => Promise<Reply>): Promise<FanoutResult> {
  const base = new URL(server.url);
  const total = Math.round((WATCH_RATE * WATCH_MS) / 1000);

  // Watch from the namespace's current revision, so only the writes below arrive.
  const list = JSON.parse(expectStatus(await call('GET', '/api/v1/namespaces/bench-watch/pods'), 200, 'list bench-watch').body.toString('utf8')) as {
    metadata: { resourceVersion: string };
  };
  const path = `/api/v1/namespaces/bench-watch/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`;
  const c0 = performance.now();
  const fleet = await WatchFleet.open({ workers: WATCH_WORKERS, watchers: WATCHERS, total, base: server.url, path });
  const connectMs = performance.now() - c0;

  const cpu0 = cpuMs(server.child.pid);
  const load0 = process.cpuUsage();
  const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // An overloaded server may take far longer than the offered schedule: wait, but not forever.
  const paced = await postPaced({
    agent: writeAgent,
    base,
    path: '/api/v1/namespaces/bench-watch/pods',
    total,
    rate: WATCH_RATE,
    deadlineMs: WATCH_MS + 15_000,
    label: 'fan-out',
    body: (seq) => {
      const sent = absoluteNow();
      fleet.sentAt[seq] = sent;
      return JSON.stringify(pod(`w-${seq}`, { annotations: { [SEQ_ANNOTATION]: String(seq), 'bench.cell.dev/sent-ms': sent.toFixed(3) } }));
    },
  });
  const writeLatencies = paced.latenciesMs;
  const writesDone = performance.timeOrigin + paced.doneAt;
  const writesCompleted = paced.completed;
  const achievedRate = perSecond(writesCompleted, paced.doneAt - paced.startedAt);

  // Let delivery finish: every watcher has every event, or a deadline passes.
  const deadline = performance.now() + 10_000;
  while (performance.now() < deadline && !fleet.settled()) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200)); // a duplicate arriving late would count now
  const serverCpuMs = cpuMs(server.child.pid) - cpu0;
  const load = process.cpuUsage(load0);
  const result = await fleet.finish();
  writeAgent.destroy();

  const lat = result.latencies;
  writeLatencies.sort((a, b) => a - b);
  const delivered = result.delivered;
  return {
    offered: total,
    connected: WATCHERS,
    connectMs,
    writes: writesCompleted,
    achievedRate,
    writeP50: percentile(writeLatencies, 50),
    writeP99: percentile(writeLatencies, 99),
    expected: total * WATCHERS,
    delivered,
    missing: total * WATCHERS - delivered,
    duplicates: result.duplicates,
    complete: result.complete,
    endedEarly: result.endedEarly,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    max: lat.length > 0 ? lat[lat.length - 1]! : NaN,
    drainMs: result.lastAt - writesDone,
    serverCpuMs,
    loadCpuMs: (load.user + load.system) / 1000,
  };
}

await main();
