// A node ledger's stored string made from the last one written for the node is exactly the string
// serialising the whole ledger gives, whatever sequence of bindings, releases, retries from an
// older version and re-reads from storage produced it.
import { expect } from 'chai';
import { PodSchema, type Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { emptyAllocation, withoutPod, withPod } from '../../shared/node-ledger.js';
import { seededRandom } from '../../shared/seeded-random.js';
import { LedgerEncoder } from '../../apiserver/placement/ledger-encoding.js';
import type { KubeObject } from '../../apiserver/registry/object.js';

function pod(i: number, hostPort?: number): Pod {
  return PodSchema.parse({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${i}`, namespace: 'default', uid: `uid-${i}` },
    spec: {
      nodeName: 'n',
      containers: [
        {
          name: 'c',
          image: 'x',
          resources: { requests: { cpu: `${(i % 7) + 1}00m`, memory: `${(i % 5) + 1}Mi` } },
          ...(hostPort !== undefined ? { ports: [{ containerPort: 80, hostPort }] } : {}),
        },
      ],
    },
  });
}

/** The string a store serialising the whole object writes: the ledger without its resourceVersion. */
function plain(a: NodeAllocation): string {
  const { resourceVersion: _rv, ...metadata } = a.metadata;
  return JSON.stringify({ ...a, metadata });
}

const asObject = (a: NodeAllocation) => a as unknown as KubeObject;

describe('node ledger encoding from the last ledger written', () => {
  it('is the whole ledger serialised, through bindings, releases, older bases and re-reads', () => {
    const random = seededRandom(19);
    const encoder = new LedgerEncoder(3);
    const keys = ['/nodeallocations/a', '/nodeallocations/b', '/nodeallocations/c', '/nodeallocations/d'];
    // Every version each key had: a retry builds on an older one, a re-read on a decoded copy.
    const history = new Map(keys.map((k) => [k, [emptyAllocation(k.slice(17), { cpu: '64', memory: '64Gi', pods: '110' })]]));
    let next = 0;
    let checked = 0;
    for (let step = 0; step < 3_000; step++) {
      const key = keys[Math.floor(random() * keys.length)]!;
      const versions = history.get(key)!;
      const r = random();
      let base = r < 0.8 ? versions[versions.length - 1]! : versions[Math.floor(random() * versions.length)]!;
      // Decoded from storage: parsed whole, or read by the encoder (which then remembers it).
      if (random() < 0.05) base = JSON.parse(JSON.stringify(base)) as NodeAllocation;
      else if (random() < 0.05) {
        const decoded = encoder.decode(key, plain(base)) as unknown as NodeAllocation;
        expect(decoded).to.deep.equal(JSON.parse(plain(base)));
        base = decoded;
      }
      let ledger: NodeAllocation = base;
      const change = random();
      if (change < 0.6 || base.spec.pods.length === 0) {
        // One binding, or a Placement's several to this node in one transaction.
        const n = random() < 0.8 ? 1 : 2 + Math.floor(random() * 3);
        for (let i = 0; i < n; i++) ledger = withPod(ledger, pod(next++, random() < 0.1 ? 30_000 + next : undefined));
      } else if (change < 0.9) {
        const victim = base.spec.pods[Math.floor(random() * base.spec.pods.length)]!;
        ledger = withoutPod(ledger, victim.uid)!;
      } // else: the same ledger written again (a status-only retry)
      ledger = { ...ledger, metadata: { ...ledger.metadata, resourceVersion: String(step + 1) } };
      const value = encoder.encode(key, asObject(ledger));
      expect(value, `step ${step}`).to.equal(plain(ledger));
      versions.push(ledger);
      checked++;
    }
    expect(checked).to.equal(3_000);
  });

  it('serialises the ledger whole when its entries are not the last ones written', () => {
    const encoder = new LedgerEncoder();
    const key = '/nodeallocations/n';
    let a = emptyAllocation('n', { cpu: '8', pods: '110' });
    a = withPod(withPod(a, pod(1)), pod(2));
    expect(encoder.encode(key, asObject(a))).to.equal(plain(a));
    // A copy with equal entries but not the same objects, extended: still exactly right.
    const copy = withPod(JSON.parse(JSON.stringify(a)) as NodeAllocation, pod(3));
    expect(encoder.encode(key, asObject(copy))).to.equal(plain(copy));
    // A ledger without pods at all (an unexpected shape) is serialised as it is.
    const odd = { apiVersion: 'scheduling.cell.dev/v1alpha1', kind: 'NodeAllocation', metadata: { name: 'n' }, spec: {} } as KubeObject;
    expect(encoder.encode(key, odd)).to.equal(JSON.stringify(odd));
  });

  it('reads a stored ledger as JSON.parse does, and appends the next binding to its text', () => {
    const encoder = new LedgerEncoder();
    const key = '/nodeallocations/n';
    const a = withPod(withPod(emptyAllocation('n', { cpu: '8', pods: '110' }), pod(1)), pod(2));
    // Equal JSON, other bytes: an escaped "u" in the first uid shows whether the text was reused.
    const stored = plain(a).replace('"uid":"uid-1"', '"uid":"\\u0075id-1"');
    expect(stored).to.include('\\u0075');
    const decoded = encoder.decode(key, stored) as unknown as NodeAllocation;
    expect(decoded).to.deep.equal(JSON.parse(stored));
    expect(decoded).to.deep.equal(JSON.parse(plain(a)));
    const next = withPod(decoded, pod(3));
    const value = encoder.encode(key, asObject(next));
    expect(value).to.include('\\u0075', 'the stored pod list text was reused');
    expect(JSON.parse(value)).to.deep.equal(JSON.parse(plain(next)));
    // A ledger the encoder did not read (parsed elsewhere) is serialised whole: no escape left.
    const other = new LedgerEncoder();
    expect(other.encode(key, asObject(withPod(JSON.parse(stored) as NodeAllocation, pod(3))))).to.equal(plain(next));
  });

  it('reads as JSON.parse does any string whose pod list is not where the encoder writes it', () => {
    const encoder = new LedgerEncoder();
    const key = '/nodeallocations/n';
    const meta = '"apiVersion":"scheduling.cell.dev/v1alpha1","kind":"NodeAllocation","metadata":{"name":"n"'
    const entry = '{"uid":"\\u0075id-1","requests":{"cpu":"1"}}';
    const layouts = [
      // pods key text inside an annotation, the real list last: read in parts (the last key found is the list's).
      `{${meta},"annotations":{"a":"\\"pods\\":["}},"spec":{"allocatable":{},"allocated":{},"hostPorts":[],"pods":[${entry}]}}`,
      // a status after spec, with its own pods
      `{${meta}},"spec":{"allocatable":{},"pods":[${entry}]},"status":{"pods":[1]}}`,
      // another key after pods in spec
      `{${meta}},"spec":{"pods":[${entry}],"hostPorts":[]}}`,
      // a pod entry with a pods key of its own
      `{${meta}},"spec":{"pods":[{"uid":"\\u0075id-1","pods":[1]}]}}`,
      // pods is a number; an empty list; whitespace at the end
      `{${meta}},"spec":{"x":[],"pods":0}}`,
      `{${meta}},"spec":{"pods":[]}}`,
      `{${meta}},"spec":{"pods":[${entry}]} }`,
      // the cut lands in a string
      `{${meta},"labels":{"k":"\\"pods\\":[]}}"}},"spec":{"pods":[]}}`,
    ];
    for (const text of layouts) {
      expect(encoder.decode(key, text), text).to.deep.equal(JSON.parse(text));
    }
    expect(() => encoder.decode(key, '{"spec":{"pods":[}}')).to.throw(SyntaxError);
  });
});
