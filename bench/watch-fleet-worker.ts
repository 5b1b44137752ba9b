// One worker thread of a WatchFleet (watch-fleet.ts): opens its share of the watches, keeps each
// one's received count and ended flag in shared memory, and on 'finish' closes them and sends back
// their latencies.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../shared/errors.js';
import { Watcher } from './apiserver-client.js';
import { absoluteNow, type FleetWorkerData, type FleetWorkerMessage } from './watch-fleet.js';

const data = workerData as FleetWorkerData;
const port = parentPort!;
const send = (m: FleetWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

const sentAt = new Float64Array(data.sentAt);
const received = new Int32Array(data.received);
const ended = new Uint8Array(data.ended);
const latencies = new Float64Array(data.total * data.count);
const counter = { n: 0 };
const base = new URL(data.base);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const watchers = Array.from({ length: data.count }, () => new Watcher(data.total, sentAt, latencies, counter, absoluteNow));

// Publish progress every 20 ms: cheap next to reading the streams, and the main thread polls no faster.
const publish = () => {
  watchers.forEach((w, i) => {
    Atomics.store(received, data.first + i, w.received);
    if (w.ended) Atomics.store(ended, data.first + i, 1);
  });
};
let timer: NodeJS.Timeout | undefined;

try {
  // Opened in batches, so the server's accept queue is not flooded.
  for (let i = 0; i < watchers.length; i += 100) {
    await Promise.all(watchers.slice(i, i + 100).map((w) => w.open(base, agent, data.path)));
  }
  timer = setInterval(publish, 20);
  send({ type: 'connected' });
} catch (err) {
  send({ type: 'failed', error: errorMessage(err) });
}

port.on('message', (m: unknown) => {
  if (m !== 'finish') return;
  if (timer) clearInterval(timer);
  publish();
  watchers.forEach((w) => w.close());
  agent.destroy();
  const mine = latencies.slice(0, counter.n);
  send({ type: 'finished', latencies: mine, duplicates: watchers.reduce((n, w) => n + w.duplicates, 0), lastAt: Math.max(0, ...watchers.map((w) => w.lastAt)) }, [mine.buffer]);
});
