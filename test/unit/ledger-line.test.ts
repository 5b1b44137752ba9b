// The schedulers' ledger watch decoder: whatever a line looks like, the event it gives equals
// JSON.parse of the line, and the pods it reports listed are exactly the ledger's. Lines laid out as
// the API server writes them take the fast path (pod list kept as text); others are parsed whole.
import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import type { WatchEvent } from '../../shared/client/http-client.js';
import { ledgerPods, parseLedgerWatchLine } from '../../schedulers/cache/ledger-line.js';
import { seededRandom } from '../../shared/seeded-random.js';

type Entry = { uid: string; requests: Record<string, string>; hostPorts?: { port: number; protocol: string }[] };

function ledger(entries: Entry[], metadata: Record<string, unknown> = {}): NodeAllocation {
  return {
    apiVersion: 'scheduling.cell.dev/v1alpha1',
    kind: 'NodeAllocation',
    metadata: { name: 'n1', uid: 'ledger-uid', resourceVersion: '42', ...metadata },
    spec: {
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      allocated: { cpu: `${entries.length * 100}m`, pods: String(entries.length) },
      hostPorts: entries.flatMap((e) => (e.hostPorts ?? []).map((h) => ({ ...h, podUID: e.uid }))),
      pods: entries,
    },
  } as NodeAllocation;
}

function entry(uid: string, port?: number): Entry {
  return { uid, requests: { cpu: '100m', memory: '64Mi' }, ...(port ? { hostPorts: [{ port, protocol: 'TCP' }] } : {}) };
}

function line(object: unknown, type = 'MODIFIED'): string {
  return JSON.stringify({ type, object });
}

/** Whether the decoder kept the pod list as text (the fast path). */
function lazy(ev: WatchEvent<NodeAllocation>): boolean {
  return typeof Object.getOwnPropertyDescriptor(ev.object.spec, 'pods')?.get === 'function';
}

function expectSame(text: string): WatchEvent<NodeAllocation> {
  const ev = parseLedgerWatchLine(text);
  expect(ev).to.deep.equal(JSON.parse(text));
  expect(JSON.stringify(ev)).to.equal(JSON.stringify(JSON.parse(text)));
  return ev;
}

describe('ledger watch lines (schedulers/cache/ledger-line)', () => {
  it('keeps the pod list of a ledger laid out as the API server writes it as text, and finds uids in it', () => {
    const entries = [entry('a-1'), entry('b-2', 8080), entry('c-3'), entry('d"4\\x')];
    const ev = expectSame(line(ledger(entries)));
    expect(lazy(ev)).to.equal(true);
    const listed = ledgerPods(ev.object);
    for (const e of entries) expect(listed.has(e.uid), e.uid).to.equal(true);
    // Not a prefix of a listed uid, not the ledger's own uid, not a quantity or a port.
    for (const uid of ['a', 'a-', 'b-2 ', 'ledger-uid', '100m', '8080', 'TCP', 'z-9']) expect(listed.has(uid), uid).to.equal(false);
  });

  it('reads an empty ledger on the fast path', () => {
    const ev = expectSame(line(ledger([]), 'ADDED'));
    expect(lazy(ev)).to.equal(true);
    expect(ev.object.spec.pods).to.deep.equal([]);
    expect(ledgerPods(ev.object).has('a')).to.equal(false);
  });

  it('parses a line laid out otherwise whole, with the same result', () => {
    const base = ledger([entry('a-1', 80), entry('b-2')]);
    const { pods, ...specRest } = base.spec;
    const cases: Record<string, string> = {
      'pods not last in spec': line({ ...base, spec: { pods, ...specRest } }),
      'a key after pods': line({ ...base, spec: { ...base.spec, extra: [1, 2] } }),
      'spec not last': line({ ...base, status: { seen: ['x'] } }),
      'an entry with its array first': line({ ...base, spec: { ...specRest, pods: [{ hostPorts: [{ port: 80, protocol: 'TCP' }], uid: 'a-1', requests: {} }] } }),
      'an entry without uid first': line({ ...base, spec: { ...specRest, pods: [{ requests: {}, uid: 'a-1' }] } }),
      'spaces between tokens': JSON.stringify({ type: 'MODIFIED', object: base }, null, 1).replace(/\n/g, ''),
      'spaces in the entries only': line(base).replace(/"uid":"/g, '"uid": "'),
      'a key after the object': JSON.stringify({ type: 'MODIFIED', object: base, extra: { x: [1] } }),
      'another kind': line({ ...base, kind: 'Other' }),
      "a pods array in metadata's annotations text": line({ ...base, metadata: { ...base.metadata, annotations: { note: '"pods":[1]}}}' } } }),
    };
    for (const [name, text] of Object.entries(cases)) {
      const ev = expectSame(text);
      const wanted = (JSON.parse(text) as WatchEvent<NodeAllocation>).object.spec.pods.map((p) => p.uid);
      const listed = ledgerPods(ev.object);
      for (const uid of wanted) expect(listed.has(uid), `${name}: ${uid}`).to.equal(true);
      expect(listed.has('b-3'), name).to.equal(false);
    }
  });

  it('passes bookmarks and errors through as parsed', () => {
    expectSame(line({ kind: 'NodeAllocation', apiVersion: 'scheduling.cell.dev/v1alpha1', metadata: { resourceVersion: '9' } }, 'BOOKMARK'));
    expectSame(line({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 410, reason: 'Expired', details: { causes: [] } }, 'ERROR'));
  });

  it('matches JSON.parse on random ledgers', () => {
    const random = seededRandom(19);
    for (let n = 0; n < 300; n++) {
      const entries: Entry[] = [];
      const count = Math.floor(random() * 20);
      for (let i = 0; i < count; i++) entries.push(entry(`${n}-${i}-${Math.floor(random() * 1e6)}`, random() < 0.2 ? 1000 + i : undefined));
      const labels = random() < 0.5 ? { 'x/pods': ']}}}', pods: '"pods":[' } : undefined;
      const ev = expectSame(line(ledger(entries, labels ? { labels } : {})));
      expect(lazy(ev)).to.equal(true);
      const listed = ledgerPods(ev.object);
      for (const e of entries) expect(listed.has(e.uid)).to.equal(true);
      expect(listed.has(`${n}-${count}-0`)).to.equal(false);
    }
  });

  it('keeps a ledger without the read buffer its line was cut from', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const pods = Array.from({ length: 100 }, (_, i) => entry(`uid-${i}`));
    gc();
    const before = process.memoryUsage().heapUsed;
    // As the HTTP client reads a stream: each line is a slice of a buffer holding far more.
    const kept = Array.from({ length: 200 }, (_, i) => {
      const buffer = `${line(ledger(pods, { name: `n${i}` }))}\n${'x'.repeat(512 * 1024)}\n`;
      buffer.indexOf('\n');
      return parseLedgerWatchLine(buffer.slice(0, buffer.indexOf('\n')));
    });
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    // 200 ledgers of ~9 KiB: a few MiB; holding each 512 KiB buffer would be 100 MiB.
    expect(grown, `${(grown / 2 ** 20).toFixed(1)} MiB`).to.be.below(25 * 2 ** 20);
    expect(ledgerPods(kept[199]!.object).has('uid-99')).to.equal(true);
  });

  it('indexes a ledger that did not come from a watch line', () => {
    const listed = ledgerPods(ledger([entry('a-1'), entry('b-2')]));
    expect([listed.has('a-1'), listed.has('b-2'), listed.has('c-3')]).to.deep.equal([true, true, false]);
  });
});
