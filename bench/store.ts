// `npm run bench:store`: raw compare-and-swap rates of each Store backend — the baseline that the
// end-to-end binding rate is reported against (DESIGN §8). Runs against the etcd in ETCD_ENDPOINTS
// (the npm script starts a fresh one with fsync on).
//
//   cas-1key   each worker owns one key: get, then update guarded by its mod revision
//   bind-txn   each worker owns a pod key; per op it reads one of 100 allocation keys, then commits
//              one txn comparing the pod's and the allocation's mod revisions and writing both (the
//              shape of a §3 bind); a moved allocation is a conflict, counted, not retried
//
// BENCH_DURATION_MS sets each case's duration (default 5000).
import { EtcdStore } from '../apiserver/storage/etcd.js';
import { MemoryStore } from '../apiserver/storage/memory.js';
import type { Store } from '../apiserver/storage/store.js';
import { formatTable, percentile, perSecond, runFor, type LoopResult } from './measure.js';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5000);
const ALLOCATION_KEYS = 100;

interface Case {
  workload: string;
  concurrency: number;
  run(store: Store): Promise<LoopResult>;
}

/** Each worker owns one key and does get + guarded update on it: every op is one CAS commit. */
function casOwnKey(concurrency: number): Case {
  return {
    workload: 'cas-1key (get + guarded update)',
    concurrency,
    async run(store) {
      const mods: number[] = [];
      for (let w = 0; w < concurrency; w++) mods.push((await store.create(`/cas/${w}`, '0')).modRevision);
      return runFor({ durationMs, concurrency }, async (w) => {
        const cur = await store.get(`/cas/${w}`);
        if (!cur) throw new Error(`key /cas/${w} vanished`);
        await store.update(cur.key, String(Number(cur.value) + 1), cur.modRevision);
        return 'ok';
      });
    },
  };
}

/** §3's bind shape: compare pod + allocation, write both. */
function bindTxn(concurrency: number): Case {
  return {
    workload: `bind-txn (pod + 1 of ${ALLOCATION_KEYS} allocations)`,
    concurrency,
    async run(store) {
      for (let a = 0; a < ALLOCATION_KEYS; a++) await store.create(`/allocs/n${a}`, '0');
      const podMods: number[] = [];
      for (let w = 0; w < concurrency; w++) podMods.push((await store.create(`/pods/bench/p${w}`, 'pending')).modRevision);
      return runFor({ durationMs, concurrency }, async (w, i) => {
        const allocKey = `/allocs/n${Math.floor(Math.random() * ALLOCATION_KEYS)}`;
        const podKey = `/pods/bench/p${w}`;
        const alloc = await store.get(allocKey);
        if (!alloc) throw new Error(`${allocKey} vanished`);
        const res = await store.txn({
          compares: [
            { key: podKey, modRevision: podMods[w] as number },
            { key: allocKey, modRevision: alloc.modRevision },
          ],
          success: [
            { type: 'put', key: podKey, value: `bound-${i}` },
            { type: 'put', key: allocKey, value: String(Number(alloc.value) + 1) },
          ],
        });
        if (!res.succeeded) return 'conflict';
        podMods[w] = res.revision;
        return 'ok';
      });
    },
  };
}

const cases: Case[] = [casOwnKey(1), casOwnKey(64), bindTxn(64)];

interface Backend {
  name: string;
  make(): Store;
}

function etcdBackend(): Backend {
  const eps = process.env.ETCD_ENDPOINTS;
  if (!eps) throw new Error('ETCD_ENDPOINTS is not set: run through test/harness/run-with-etcd.ts (npm run bench:store does)');
  return {
    name: `etcd (fsync ${process.env.CELL_ETCD_FSYNC === '1' ? 'on' : 'off/unknown'})`,
    make: () => new EtcdStore({ endpoints: eps.split(','), prefix: `/bench-${process.pid}-${Date.now()}` }),
  };
}

const backends: Backend[] = [{ name: 'memory', make: () => new MemoryStore() }, etcdBackend()];

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

for (const backend of backends) {
  const rows: string[][] = [];
  for (const c of cases) {
    // A fresh store (fresh prefix on etcd) per case, so earlier keys do not matter.
    const store = backend.make();
    try {
      const cpu0 = process.cpuUsage();
      const r = await c.run(store);
      const cpu = process.cpuUsage(cpu0);
      // Keep the memory store's history (and etcd's) from growing across cases.
      await store.compact(await store.currentRevision());
      const attempts = r.ok + r.conflicts;
      rows.push([
        c.workload,
        String(c.concurrency),
        fmt(perSecond(r.ok, r.elapsedMs)),
        fmt(r.conflicts),
        attempts > 0 ? `${fmt((100 * r.conflicts) / attempts, 1)}%` : '-',
        fmt(percentile(r.latenciesMs, 50), 3),
        fmt(percentile(r.latenciesMs, 99), 3),
        // This process's CPU per attempt: the client side of the store (encoding, the gRPC call, decoding).
        attempts > 0 ? fmt((cpu.user + cpu.system) / attempts, 1) : '-',
      ]);
    } finally {
      await store.close();
    }
  }
  console.log(`\n${backend.name} — ${durationMs / 1000} s per case`);
  console.log(
    formatTable(['workload', 'concurrency', 'commits/s', 'conflicts', 'conflict %', 'p50 ms', 'p99 ms', 'client CPU µs/attempt'], rows),
  );
}
