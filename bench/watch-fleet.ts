// Many raw watch streams spread over worker threads, so that a fan-out benchmark measures the API
// server and not the one event loop reading a million events per second. Each worker runs its
// share of Watchers (apiserver-client.ts); the pods' send times, each watcher's received count and
// whether it ended are shared memory the main thread reads while the writes run, and the latencies
// come back when the fleet finishes. Times are absolute (timeOrigin + now): threads share no
// performance.now() origin.
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

export interface FleetOptions {
  /** Worker threads; the watchers are dealt out evenly. */
  workers: number;
  watchers: number;
  /** Events each watcher should get (pods written, numbered 0 … total-1 by SEQ_ANNOTATION). */
  total: number;
  base: string;
  path: string;
}

/** Watch requests carry the load's credentials (LOAD_HEADERS, from the environment every thread sees). */
export interface FleetWorkerData {
  base: string;
  path: string;
  total: number;
  /** This worker's watchers are [first, first + count) of the shared arrays. */
  first: number;
  count: number;
  sentAt: SharedArrayBuffer;
  received: SharedArrayBuffer;
  ended: SharedArrayBuffer;
}

export type FleetWorkerMessage =
  | { type: 'connected' }
  | { type: 'failed'; error: string }
  | { type: 'finished'; latencies: Float64Array; duplicates: number; lastAt: number };

export interface FleetResult {
  /** Every delivery latency, ms, ascending. */
  latencies: Float64Array;
  delivered: number;
  duplicates: number;
  complete: number;
  endedEarly: number;
  /** Absolute time of the last event any watcher read. */
  lastAt: number;
}

/**
 * The worker is TypeScript, like this script: a thread does not inherit the main thread's tsx
 * loader (nor take it from execArgv before loading its entry), so it registers one first.
 */
const WORKER_BOOT = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./watch-fleet-worker.ts', import.meta.url).href)}); })`;

/** The absolute clock the fleet's times use. */
export const absoluteNow = () => performance.timeOrigin + performance.now();

export class WatchFleet {
  /** Absolute send time of each pod: stamp it before the pod's POST. */
  readonly sentAt: Float64Array;
  private readonly received: Int32Array;
  private readonly ended: Uint8Array;

  private constructor(
    private readonly opts: FleetOptions,
    private readonly workers: Worker[],
    buffers: { sentAt: SharedArrayBuffer; received: SharedArrayBuffer; ended: SharedArrayBuffer },
  ) {
    this.sentAt = new Float64Array(buffers.sentAt);
    this.received = new Int32Array(buffers.received);
    this.ended = new Uint8Array(buffers.ended);
  }

  /** Starts the workers and resolves once every watch is open (or rejects with the first failure). */
  static async open(opts: FleetOptions): Promise<WatchFleet> {
    const buffers = {
      sentAt: new SharedArrayBuffer(8 * opts.total),
      received: new SharedArrayBuffer(4 * opts.watchers),
      ended: new SharedArrayBuffer(opts.watchers),
    };
    const n = Math.max(1, Math.min(opts.workers, opts.watchers));
    const workers: Worker[] = [];
    const connected: Promise<void>[] = [];
    for (let w = 0, first = 0; w < n; w++) {
      const count = Math.floor(opts.watchers / n) + (w < opts.watchers % n ? 1 : 0);
      const data: FleetWorkerData = { base: opts.base, path: opts.path, total: opts.total, first, count, ...buffers };
      const worker = new Worker(WORKER_BOOT, { eval: true, workerData: data });
      workers.push(worker);
      connected.push(
        new Promise((resolve, reject) => {
          worker.once('error', reject);
          worker.once('message', (m: FleetWorkerMessage) => (m.type === 'connected' ? resolve() : reject(new Error(m.type === 'failed' ? m.error : 'unexpected message'))));
        }),
      );
      first += count;
    }
    try {
      await Promise.all(connected);
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new WatchFleet(opts, workers, buffers);
  }

  /** Whether every watcher has every event, or has ended. */
  settled(): boolean {
    for (let i = 0; i < this.opts.watchers; i++) {
      if (Atomics.load(this.received, i) < this.opts.total && Atomics.load(this.ended, i) === 0) return false;
    }
    return true;
  }

  /** Closes every watch and gathers what each read. */
  async finish(): Promise<FleetResult> {
    const parts = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<Extract<FleetWorkerMessage, { type: 'finished' }>>((resolve, reject) => {
            w.once('error', reject);
            w.once('message', (m: FleetWorkerMessage) => (m.type === 'finished' ? resolve(m) : reject(new Error(`unexpected ${m.type}`))));
            w.postMessage('finish');
          }),
      ),
    );
    await Promise.all(this.workers.map((w) => w.terminate()));
    const size = parts.reduce((n, p) => n + p.latencies.length, 0);
    const latencies = new Float64Array(size);
    let at = 0;
    for (const p of parts) {
      latencies.set(p.latencies, at);
      at += p.latencies.length;
    }
    latencies.sort();
    let complete = 0;
    let endedEarly = 0;
    for (let i = 0; i < this.opts.watchers; i++) {
      if (this.received[i] === this.opts.total) complete++;
      if (this.ended[i] === 1) endedEarly++;
    }
    return {
      latencies,
      delivered: size,
      duplicates: parts.reduce((n, p) => n + p.duplicates, 0),
      complete,
      endedEarly,
      lastAt: Math.max(...parts.map((p) => p.lastAt)),
    };
  }
}
