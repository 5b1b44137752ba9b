// Shared by the store tests: backends to run against, and a watch recorder that can be awaited.
import { randomUUID } from 'node:crypto';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import type { Store, StoreWatch, WatchEvent } from '../../apiserver/storage/store.js';
import type { CellError } from '../../shared/errors.js';

export interface Backend {
  name: string;
  make(): Store;
}

/** The shared etcd of the test run. Missing is an error, not a skip: CI must exercise etcd. */
export function etcdEndpoints(): string[] {
  const eps = process.env.ETCD_ENDPOINTS;
  if (!eps) {
    throw new Error(
      'ETCD_ENDPOINTS is not set: run the tests through test/harness/run-with-etcd.ts (npm test does)',
    );
  }
  return eps.split(',').map((e) => e.trim()).filter((e) => e.length > 0);
}

/** A prefix no other test uses, so tests can share one etcd. */
export function randomPrefix(): string {
  return `/cell-test-${randomUUID()}`;
}

export const backends: Backend[] = [
  { name: 'memory', make: () => new MemoryStore() },
  { name: 'etcd', make: () => new EtcdStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() }) },
];

export interface Recorder {
  events: WatchEvent[];
  errors: CellError[];
  /** Number of onEvents calls. */
  batches: number;
  watch: StoreWatch;
  until(pred: () => boolean, what: string, timeoutMs?: number): Promise<void>;
}

/** Starts a watch that records everything it is told; `onBatch` sees each batch as it arrives. */
export function record(
  store: Store,
  prefix: string,
  afterRevision: number,
  onBatch?: (batch: WatchEvent[]) => void,
): Recorder {
  let wake: (() => void) | undefined;
  const rec: Recorder = {
    events: [],
    errors: [],
    batches: 0,
    watch: store.watch(prefix, afterRevision, {
      onEvents: (batch) => {
        rec.batches++;
        for (const ev of batch) rec.events.push(ev);
        onBatch?.(batch);
        wake?.();
      },
      onError: (err) => {
        rec.errors.push(err);
        wake?.();
      },
    }),
    async until(pred, what, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for ${what}: have ${rec.events.length} events, errors [${rec.errors.map((e) => e.message).join('; ')}]`,
          );
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
  return rec;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` at once. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}
