// `npm run bench:watchers` (issue: memory stays bounded with 5,000 watchers): the API server's
// memory while 5,000 HTTP watches are open on one namespace's pods, a fifth of them stuck, and pods
// are written there at a steady rate. On real etcd (the npm script starts a fresh one, fsync on).
//
// cell-apiserver runs as a child process (its RSS is what is measured, from /proc/<pid>/status
// every 250 ms; heap and external memory from its /metrics twice a second). The watchers:
//   readers  read every byte; events are counted by byte search (no JSON.parse) by their sequence
//            annotation, so each must see each event exactly once
//   stuck    pause the response at once and never read: the client's socket buffer fills, then the
//            server's, then the server's per-socket write queue, until the server cuts them off
//
// Why memory should stay bounded (apiserver/http/watch.ts): a socket's queue may grow to
// maxQueuedBytes (8 MiB by default; cell-apiserver has no flag for it) before the watcher is cut
// off with a reset, which drops its queue at once. And the bytes of one flush window are encoded
// once into one Buffer that every same-filter socket queues, so 1,000 stuck queues of the same
// stream hold references to the same Buffers — roughly one copy of the last ~8 MiB of the stream,
// plus per-write bookkeeping — not 1,000 × 8 MiB. The stated bound, peak RSS growth < 1 GiB, is an
// eighth of the 8 GiB that unshared copies would pin, and several times the shared estimate.
//
// The cut-off only fires once a stuck socket has been sent more than maxQueuedBytes plus what the
// kernel holds for it (its send buffer, which autotunes up to net.ipv4.tcp_wmem's max, plus the
// client's receive buffer: 1.5–4 MiB per socket, less under the machine's tcp_mem pressure). That
// kernel memory is per socket, not shared, and not in the server's RSS: the timeline shows it,
// machine-wide. So the defaults send each watcher 50 events/s × 2 KiB = 100 KiB/s for 120 s: a
// load 4,000 readers on a 2-core machine get through, and enough for every stuck socket to reach
// the cut-off (about 95–100 s in). Shorter runs (BENCH_WATCH_MS=20000, BENCH_WATCH_RATE=200,
// BENCH_EVENT_BYTES=1024) show the memory but end before any cut.
//
// Environment: BENCH_WATCHERS (5000), BENCH_STUCK (1000), BENCH_WATCH_RATE (pods written per s,
// 50), BENCH_WATCH_MS (how long, 120000), BENCH_EVENT_BYTES (size of one event on the wire, 2048),
// BENCH_SERVER_NODE_ARGS (node flags for the API server).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import type { ApiServerProcess } from '../test/clients/apiserver-process.js';
import { metricValue } from '../test/schedulers/scheduler-process.js';
import { cpuMs, env, etcdEndpoints, expectStatus, fmt, pct, pod, postPaced, request, SEQ_ANNOTATION, startBenchApiServer, stopBenchApiServer, Watcher } from './apiserver-client.js';
import { formatTable, percentile, perSecond } from './measure.js';

const WATCHERS = env('BENCH_WATCHERS', 5000);
const STUCK = Math.min(WATCHERS, env('BENCH_STUCK', 1000));
const READERS = WATCHERS - STUCK;
const WATCH_RATE = env('BENCH_WATCH_RATE', 50);
const WATCH_MS = env('BENCH_WATCH_MS', 120_000);
const EVENT_BYTES = env('BENCH_EVENT_BYTES', 2048);
/** Watches opened at once: enough to connect quickly, few enough not to overflow the accept queue. */
const CONNECT_BATCH = 200;
const RSS_EVERY_MS = 250;
const METRICS_EVERY_MS = 500;
/** The server's default (apiserver/server.ts watchMaxQueuedBytes); main.ts has no flag for it. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const BOUND_BYTES = 1024 * 1024 * 1024;
const NS = 'bench-watchers';
const MiB = 1024 * 1024;

const endpoints = etcdEndpoints('bench:watchers');

// ---------------------------------------------------------------------------------------------
// Sampling the server's memory.

/** Resident set size and its high-water mark (bytes) from /proc/<pid>/status; NaN where unavailable. */
function rss(pid: number | undefined): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Memory the kernel holds in TCP socket buffers, machine-wide (both ends of every watch): not in anyone's RSS. */
function kernelTcpBytes(): number {
  try {
    const m = /^TCP:.* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
    return m ? Number(m[1]) * 4096 : NaN; // in pages
  } catch {
    return NaN;
  }
}

interface RssSample {
  t: number;
  rss: number;
  tcp: number;
  /** Pods written so far. */
  written: number;
  /** Fewest events any reader has received so far. */
  slowestReader: number;
}
interface MetricsSample {
  t: number;
  heapUsed: number;
  external: number;
  registered: number;
  /** Pod watches the server has ended as too slow. */
  cutSlow: number;
}

class Sampler {
  readonly rss: RssSample[] = [];
  readonly metrics: MetricsSample[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private scraping = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    private readonly pid: number | undefined,
    private readonly base: URL,
    private readonly progress: { written: number; readers: Watcher[] },
  ) {}

  start(): void {
    this.timers.push(setInterval(() => this.sampleRss(), RSS_EVERY_MS));
    // A scrape still in flight (a busy server) is not doubled up.
    this.timers.push(setInterval(() => void this.scrape().catch((err: unknown) => console.error(`metrics scrape failed: ${String(err)}`)), METRICS_EVERY_MS));
  }

  sampleRss(): RssSample {
    const readers = this.progress.readers;
    const s = {
      t: performance.now(),
      rss: rss(this.pid).rss,
      tcp: kernelTcpBytes(),
      written: this.progress.written,
      slowestReader: readers.length > 0 ? Math.min(...readers.map((w) => w.received)) : 0,
    };
    this.rss.push(s);
    return s;
  }

  async scrape(): Promise<MetricsSample | undefined> {
    if (this.scraping) return undefined;
    this.scraping = true;
    try {
      const text = expectStatus(await request(this.agent, this.base, 'GET', '/metrics'), 200, 'metrics').body.toString('utf8');
      const s = {
        t: performance.now(),
        heapUsed: metricValue(text, 'nodejs_heap_size_used_bytes'),
        external: metricValue(text, 'nodejs_external_memory_bytes'),
        registered: metricValue(text, 'apiserver_registered_watchers', { resource: 'pods' }),
        cutSlow: metricValue(text, 'apiserver_terminated_watchers_total', { resource: 'pods', reason: 'slow' }),
      };
      this.metrics.push(s);
      return s;
    } finally {
      this.scraping = false;
    }
  }

  /** Both kinds of sample now, once a scrape in flight has finished. */
  async checkpoint(): Promise<{ rss: RssSample; metrics: MetricsSample }> {
    while (this.scraping) await sleep(10);
    const metrics = (await this.scrape())!;
    return { rss: this.sampleRss(), metrics };
  }

  stop(): void {
    this.timers.forEach((t) => clearInterval(t));
    this.agent.destroy();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number, digits = 0) => fmt(bytes / MiB, digits);
/** The last sample at or before `t` (the first one when none is). */
function at<S extends { t: number }>(samples: S[], t: number): S | undefined {
  let found = samples[0];
  for (const s of samples) if (s.t <= t) found = s;
  return found;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const t0 = performance.now();
  const prefix = `/cell-bench-${randomUUID()}`;
  let server: ApiServerProcess | undefined;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const watchAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const watchers: Watcher[] = [];
  let sampler: Sampler | undefined;
  try {
    server = await startBenchApiServer(endpoints, prefix);
    const pid = server.child.pid;
    const load0 = os.loadavg()[0]!;
    const base = new URL(server.url);
    const call = (method: string, path: string, body?: unknown) =>
      request(agent, base, method, path, body === undefined ? undefined : JSON.stringify(body));
    for (const ns of [NS, `${NS}-probe`]) {
      expectStatus(await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }), 201, `create namespace ${ns}`);
    }

    // Pad each pod so that its watch event line is EVENT_BYTES: measure one as the server returns it
    // (in another namespace, so no watcher here sees it).
    const total = Math.round((WATCH_RATE * WATCH_MS) / 1000);
    const podBody = (seq: number, padding: string) =>
      pod(`w-${seq}`, { annotations: { [SEQ_ANNOTATION]: String(seq), 'bench.cell.dev/padding': padding } });
    const probe = expectStatus(await call('POST', `/api/v1/namespaces/${NS}-probe/pods`, podBody(total, '')), 201, 'probe pod');
    const unpadded = probe.body.length + '{"type":"ADDED","object":}\n'.length;
    const padding = 'x'.repeat(Math.max(0, EVENT_BYTES - unpadded));
    const eventBytes = unpadded + padding.length;

    const sentAt = new Float64Array(total);
    const latencies = new Float64Array(total * READERS);
    const counter = { n: 0 };
    // Stuck watchers spread evenly among the readers, so neither kind sits at one end of the server's watcher set.
    const isStuck = (i: number) => Math.floor(((i + 1) * STUCK) / WATCHERS) > Math.floor((i * STUCK) / WATCHERS);
    for (let i = 0; i < WATCHERS; i++) watchers.push(new Watcher(total, sentAt, latencies, counter));
    const readers = watchers.filter((_, i) => !isStuck(i));
    const stuck = watchers.filter((_, i) => isStuck(i));

    const progress = { written: 0, readers };
    sampler = new Sampler(pid, base, progress);
    sampler.start();
    await sleep(1000);
    const before = await sampler.checkpoint();

    // Watch from the namespace's current revision, so only the writes below arrive.
    const list = JSON.parse(expectStatus(await call('GET', `/api/v1/namespaces/${NS}/pods`), 200, `list ${NS}`).body.toString('utf8')) as {
      metadata: { resourceVersion: string };
    };
    const path = `/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`;
    const c0 = performance.now();
    for (let i = 0; i < WATCHERS; i += CONNECT_BATCH) {
      const batch = watchers.slice(i, i + CONNECT_BATCH);
      await Promise.all(batch.map((w, j) => w.open(base, watchAgent, path, isStuck(i + j))));
    }
    const connectMs = performance.now() - c0;
    await sleep(1000);
    const connected = await sampler.checkpoint();

    // The writes, then delivery: every reader has every event, or a deadline passes.
    const cpu0 = cpuMs(pid);
    const clientCpu0 = process.cpuUsage();
    // Whether this process kept up: a late event loop reads late and writes late.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const paced = await postPaced({
      agent: writeAgent,
      base,
      path: `/api/v1/namespaces/${NS}/pods`,
      total,
      rate: WATCH_RATE,
      deadlineMs: WATCH_MS + 15_000,
      label: 'watchers',
      body: (seq, sent) => {
        sentAt[seq] = sent;
        return JSON.stringify(podBody(seq, padding));
      },
      onWritten: () => progress.written++,
    });
    writeAgent.destroy();
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline && readers.some((w) => w.received < total && !w.ended)) await sleep(20);
    await sleep(200); // a duplicate arriving late would count now
    const end = await sampler.checkpoint();
    const serverCpuMs = cpuMs(pid) - cpu0;
    const clientCpu = process.cpuUsage(clientCpu0);
    loopDelay.disable();
    const w0 = paced.startedAt;
    const runMs = end.rss.t - w0;

    const lat = latencies.subarray(0, counter.n).sort();
    const delivered = readers.reduce((n, w) => n + w.received, 0);
    const duplicates = readers.reduce((n, w) => n + w.duplicates, 0);
    const readersComplete = readers.filter((w) => w.received === total).length;
    const readersCut = readers.filter((w) => w.ended).length;
    const lastAt = Math.max(...readers.map((w) => w.lastAt));

    // A paused socket never notices the server's reset: read the stuck ones now. Those the server
    // cut end with ECONNRESET once their socket buffer is read; the others must get their whole
    // backlog, every event.
    stuck.forEach((w) => w.resume());
    const confirmBy = performance.now() + 15_000;
    while (performance.now() < confirmBy && stuck.some((w) => !w.ended && w.received < total)) await sleep(20);
    const stuckEnded = stuck.filter((w) => w.ended).length;
    const stuckOpen = stuck.filter((w) => !w.ended);

    watchers.forEach((w) => w.close());
    await sleep(2000);
    const closed = await sampler.checkpoint();
    const hwm = rss(pid).hwm;
    sampler.stop();

    // ---- report
    const during = sampler.rss.filter((s) => s.t >= w0 && s.t <= end.rss.t);
    const peak = during.reduce((a, s) => (s.rss > a.rss ? s : a), during[0] ?? end.rss);
    const metricsDuring = sampler.metrics.filter((s) => s.t >= w0 && s.t <= end.rss.t);
    const peakHeap = Math.max(...metricsDuring.map((s) => s.heapUsed));
    const peakExternal = Math.max(...metricsDuring.map((s) => s.external));
    const peakTcp = Math.max(...during.map((s) => s.tcp));
    const cutAt = (n: number) => (n <= 0 ? undefined : sampler!.metrics.find((s) => s.cutSlow - connected.metrics.cutSlow >= n)?.t);
    const cutTotal = end.metrics.cutSlow - connected.metrics.cutSlow;
    const secs = (t: number | undefined) => (t === undefined ? 'never' : `${fmt((t - w0) / 1000, 1)} s`);
    const streamBytes = paced.completed * eventBytes;
    const streamRate = WATCH_RATE * eventBytes;
    const growth = peak.rss - before.rss.rss;

    console.log(`\ncell-apiserver memory with ${WATCHERS} watchers (${READERS} reading, ${STUCK} stuck) — etcd ${endpoints.join(',')} ` +
      `(fsync ${process.env.CELL_ETCD_FSYNC === '1' ? 'on' : 'OFF'}), API server as a child process; ${os.cpus().length} CPUs, ` +
      `1-min load average ${load0.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at end`);
    console.log(`${WATCH_RATE} pods/s offered for ${WATCH_MS / 1000} s, ${eventBytes} B per watch event (${unpadded} unpadded): ` +
      `${fmt(streamRate / 1024, 0)} KiB/s to each watcher, ${mib(streamRate * READERS, 0)} MiB/s to the readers in all; ` +
      `slow-consumer cut-off ${mib(MAX_QUEUED_BYTES)} MiB queued per socket (server default)\n`);

    console.log('timeline (t from the first write; RSS every 250 ms, heap and watchers from /metrics every 500 ms)\n');
    const rows: (string | number)[][] = [];
    for (let t = 0; t <= runMs + 1; t += 2000) {
      const r = at(sampler.rss, w0 + t)!;
      const m = at(sampler.metrics, w0 + t)!;
      rows.push([fmt(t / 1000, 0), mib(r.rss), mib(m.heapUsed), mib(m.external), mib(r.tcp), r.written, r.slowestReader, m.registered, m.cutSlow - connected.metrics.cutSlow]);
    }
    console.log(formatTable(['t s', 'RSS MiB', 'heap MiB', 'external MiB', 'kernel TCP MiB', 'pods written', 'slowest reader has', 'watches open', 'cut as slow'], rows));

    console.log('\nmemory (API server process)\n');
    const perWatcherKiB = (connected.rss.rss - before.rss.rss) / WATCHERS / 1024;
    console.log(
      formatTable(
        ['checkpoint', 'RSS MiB', 'heap used MiB', 'external MiB', 'note'],
        [
          ['before watchers', mib(before.rss.rss), mib(before.metrics.heapUsed), mib(before.metrics.external), ''],
          ['after connecting', mib(connected.rss.rss), mib(connected.metrics.heapUsed), mib(connected.metrics.external),
            `+${mib(connected.rss.rss - before.rss.rss)} MiB = ${fmt(perWatcherKiB, 1)} KiB per watcher`],
          ['peak during writes', mib(peak.rss), mib(peakHeap), mib(peakExternal),
            `at ${secs(peak.t)}; +${mib(peak.rss - connected.rss.rss)} MiB over connected (heap, external: peaks of 500 ms scrapes)`],
          ['end of writes + delivery', mib(end.rss.rss), mib(end.metrics.heapUsed), mib(end.metrics.external), `at ${secs(end.rss.t)}`],
          ['all watches closed (+2 s)', mib(closed.rss.rss), mib(closed.metrics.heapUsed), mib(closed.metrics.external), ''],
          ['VmHWM (kernel peak RSS)', mib(hwm), '', '', 'whole life of the process'],
        ],
      ),
    );
    console.log(`  kernel TCP buffers, whole machine: ${mib(before.rss.tcp)} MiB before, peak ${mib(peakTcp)} MiB during writes (not in RSS)`);

    console.log('\nwatchers\n');
    const p = (x: number) => `${fmt(pct(lat, x), 0)}`;
    console.log(
      formatTable(
        ['measure', 'value'],
        [
          ['watchers connected', `${connected.metrics.registered - before.metrics.registered}/${WATCHERS} registered by the server (opened in ${fmt(connectMs / 1000, 1)} s)`],
          ['pods written', `${paced.completed} of ${total} (${fmt(perSecond(paced.completed, paced.doneAt - w0), 1)}/s achieved); POST p50 / p99 ${fmt(percentile(paced.latenciesMs.sort((a, b) => a - b), 50), 0)} / ${fmt(percentile(paced.latenciesMs, 99), 0)} ms`],
          ['stream sent to each watcher', `${mib(streamBytes, 1)} MiB; the ${mib(MAX_QUEUED_BYTES)} MiB cut-off is ${fmt(MAX_QUEUED_BYTES / streamRate, 0)} s of it at the offered rate, plus kernel buffers`],
          ['readers with every event', `${readersComplete}/${READERS}`],
          ['reader events missing / duplicate', `${total * READERS - delivered} / ${duplicates} (of ${total * READERS})`],
          ['readers cut by the server', readersCut],
          ['reader delivery latency p50 / p99 / max', `${p(50)} / ${p(99)} / ${fmt(lat.length > 0 ? lat[lat.length - 1]! : NaN, 0)} ms; last event ${fmt(lastAt - paced.doneAt, 0)} ms after the last write`],
          ['stuck watchers cut (server metric)', `${cutTotal}/${STUCK}${cutTotal > STUCK ? ' (includes readers)' : ''}`],
          ['  first / half / all cut at', `${secs(cutAt(1))} / ${secs(cutAt(Math.ceil(STUCK / 2)))} / ${secs(cutAt(STUCK))}`],
          ['stuck watchers reset (seen on resume)', `${stuckEnded}/${STUCK}` + (stuckOpen.length === 0 ? '' : `; of the ${stuckOpen.length} still open, ` +
            `${stuckOpen.filter((w) => w.received === total && w.duplicates === 0).length} then read their backlog: every event, once`)],
          ['API server CPU', `${fmt(serverCpuMs / 1000, 1)} CPU-s over ${fmt(runMs / 1000, 1)} s (${fmt((serverCpuMs / runMs) * 100, 0)}% of a core), ${fmt((serverCpuMs * 1000) / Math.max(1, delivered), 2)} µs per delivered event`],
          ['this load generator', `${fmt((clientCpu.user + clientCpu.system) / 1e6, 1)} CPU-s (${fmt(((clientCpu.user + clientCpu.system) / 1000 / runMs) * 100, 0)}% of a core); ` +
            `event loop delay p99 / max ${fmt(loopDelay.percentile(99) / 1e6, 0)} / ${fmt(loopDelay.max / 1e6, 0)} ms`],
        ],
      ),
    );

    const everyEvent = readersComplete === READERS && duplicates === 0;
    const cutNeeded = STUCK > 0 && streamBytes > MAX_QUEUED_BYTES;
    console.log('\nverdict:');
    console.log(`  peak RSS growth < ${mib(BOUND_BYTES)} MiB: ${growth < BOUND_BYTES ? 'PASS' : 'FAIL'} ` +
      `(+${mib(growth)} MiB over before-watchers, ${mib(peak.rss)} MiB peak; unshared 8 MiB queues would be ${mib(STUCK * MAX_QUEUED_BYTES)} MiB)`);
    console.log(`  stuck watchers cut off: ${cutNeeded ? (cutTotal >= STUCK ? 'PASS' : 'FAIL') : 'not exercised'} ` +
      `(${cutTotal}/${STUCK}; each was sent ${mib(streamBytes, 1)} MiB against the ${mib(MAX_QUEUED_BYTES)} MiB cut-off` +
      (cutNeeded || STUCK === 0 ? ')' : ', and a cut needs that plus the socket\'s kernel buffers: try BENCH_WATCH_RATE=50 BENCH_EVENT_BYTES=2048 BENCH_WATCH_MS=120000)'));
    console.log(`  every reader every event, once: ${everyEvent ? 'PASS' : 'FAIL'} (${readersComplete}/${READERS} complete, ${readersCut} cut, ${duplicates} duplicates)`);
    console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    sampler?.stop();
    watchers.forEach((w) => w.close());
    watchAgent.destroy();
    agent.destroy();
    if (server) await stopBenchApiServer(server);
    const etcd = new Etcd3({ hosts: endpoints });
    try {
      await etcd.delete().prefix(prefix);
    } finally {
      etcd.close();
    }
  }
}

await main();
