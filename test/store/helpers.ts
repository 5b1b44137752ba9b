// Shared by the store tests: backends to run against, a watch recorder that can be awaited, and
// the check that a recorded watch saw exactly etcd's history.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { MemoryStore } from '../../apiserver/storage/memory.js';
import type { Store, StoreWatch, WatchEvent, WatchOptions } from '../../apiserver/storage/store.js';
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
  opts?: WatchOptions,
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
    }, opts),
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

/** Waits until `check` holds (polling: the watch cache moves on its own), or fails naming `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The error `p` rejects with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Runs `fn(i)` for i in [0, n) with at most `concurrency` at once. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

/** One event as a line, for readable diffs. */
export function brief(ev: WatchEvent): string {
  return `${ev.modRevision} ${ev.type} ${ev.key} ${ev.value ?? '-'}`;
}

/**
 * Checks `rec` against etcd's own record of the same history, read afterwards by a watch that
 * nothing disturbs: identical sequences mean nothing was skipped, repeated or reordered.
 */
export async function expectExactHistory(endpoints: string[], prefix: string, start: number, rec: Recorder): Promise<WatchEvent[]> {
  const verifier = new EtcdStore({ endpoints, prefix });
  try {
    const end = await verifier.currentRevision();
    await rec.until(() => (rec.events[rec.events.length - 1]?.modRevision ?? 0) >= end, `the watch to reach revision ${end}`, 60_000);
    const ref = record(verifier, '/', start);
    await ref.until(() => (ref.events[ref.events.length - 1]?.modRevision ?? 0) >= end, 'the reference replay', 60_000);
    ref.watch.cancel();
    await sleep(200); // a duplicate delivered late would show up now
    expect(rec.errors.map((e) => e.message)).to.deep.equal([]);
    // Revision order (group commit puts several transactions in one revision: equal is fine), and
    // no (revision, key) twice.
    const revs = rec.events.map((e) => e.modRevision);
    for (let i = 1; i < revs.length; i++) expect(revs[i]!, `revision order at event ${i}`).to.be.at.least(revs[i - 1]!);
    expect(new Set(rec.events.map((e) => `${e.modRevision} ${e.key}`)).size).to.equal(rec.events.length);
    expect(rec.events.length).to.equal(ref.events.length);
    expect(rec.events.map(brief)).to.deep.equal(ref.events.map(brief));
    // The events are full: same prev values as an undisturbed watch.
    expect(rec.events).to.deep.equal(ref.events);
    return ref.events;
  } finally {
    await verifier.close();
  }
}
