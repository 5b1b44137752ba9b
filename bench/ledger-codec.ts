// `npm run bench:ledger-codec`: what the API server pays, per binding, to read a node's ledger
// and write it back with one more pod (placement/ledger-encoding.ts), in one process, at
// BENCH_LEDGER_PODS (100) pods a node:
//
//   cached      the decoded ledger is in the watch cache and the encoder wrote it: the new
//               string appends one entry to the last one
//   parsed      the ledger is not in the decoded cache, or another writer (an API server replica)
//               wrote it, read the way the store did before the encoder read ledgers: parsed
//               whole, then serialised whole (its entries are not the ones the encoder remembers)
//   codec-read  the same miss read by the encoder (LedgerEncoder.decode): head and pod list parsed
//               apart, the list's text kept, then appended to
//
// At 10,000 nodes the decoded cache held 4,096 ledgers, so ~60% of bindings were misses; it now
// holds as many as the encoder remembers (16,384).
import { performance } from 'node:perf_hooks';
import { PodSchema, type Pod } from '../shared/api/core.js';
import type { NodeAllocation } from '../shared/api/scheduling.js';
import { emptyAllocation, withPod } from '../shared/node-ledger.js';
import { LedgerEncoder } from '../apiserver/placement/ledger-encoding.js';
import type { KubeObject } from '../apiserver/registry/object.js';
import { formatTable } from './measure.js';

const PODS = Number(process.env.BENCH_LEDGER_PODS ?? 100);
const ROUNDS = 5;
const PER_ROUND = 5_000;

function pod(i: number): Pod {
  return PodSchema.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: 'default', uid: `0b6f2c1e-1111-4a4a-9b9b-${String(i).padStart(12, '0')}` },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
  });
}

const asObject = (a: NodeAllocation) => a as unknown as KubeObject;
const key = '/nodeallocations/node-1';

let base = emptyAllocation('node-1', { cpu: '640', memory: '2560Gi', pods: '100000' });
for (let i = 0; i < PODS; i++) base = withPod(base, pod(i));
const stored = new LedgerEncoder().encode(key, asObject(base));
const extra = Array.from({ length: PER_ROUND }, (_, i) => pod(PODS + i));

/** µs per binding of `bind`, run PER_ROUND times. */
function time(bind: (i: number) => string): number {
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < PER_ROUND; i++) bytes += bind(i).length;
  const us = ((performance.now() - t0) * 1000) / PER_ROUND;
  if (bytes === 0) throw new Error('nothing encoded');
  return us;
}

const results: Record<string, number[]> = { cached: [], parsed: [], 'codec-read': [] };
for (let round = 0; round < ROUNDS; round++) {
  // cached: each binding extends the ledger the previous one wrote (the chain a busy node sees);
  // restarted from the base every PODS bindings so the ledger stays at about PODS pods.
  const encoder = new LedgerEncoder();
  let ledger = base;
  encoder.encode(key, asObject(ledger));
  results.cached!.push(
    time((i) => {
      if (i % PODS === 0) {
        ledger = base;
        encoder.encode(key, asObject(ledger));
      }
      ledger = withPod(ledger, extra[i]!);
      return encoder.encode(key, asObject(ledger));
    }),
  );
  results.parsed!.push(time((i) => new LedgerEncoder().encode(key, asObject(withPod(JSON.parse(stored) as NodeAllocation, extra[i]!)))));
  results['codec-read']!.push(
    time((i) => {
      const e = new LedgerEncoder();
      return e.encode(key, asObject(withPod(e.decode(key, stored) as unknown as NodeAllocation, extra[i]!)));
    }),
  );
}

const fmt = (n: number) => n.toFixed(1);
console.log(`\nbench:ledger-codec: one binding to a node ledger of ${PODS} pods (${stored.length.toLocaleString('en-US')} bytes stored), µs per binding, ${ROUNDS} rounds of ${PER_ROUND.toLocaleString('en-US')}\n`);
console.log(
  formatTable(
    ['read', 'min', 'median', 'max'],
    Object.entries(results).map(([name, us]) => {
      const sorted = [...us].sort((a, b) => a - b);
      return [name, fmt(sorted[0]!), fmt(sorted[Math.floor(sorted.length / 2)]!), fmt(sorted[sorted.length - 1]!)];
    }),
  ),
);
