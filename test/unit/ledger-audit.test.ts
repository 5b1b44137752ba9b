// The ledger audit's common checks (ledgers/ledger.ts) through the NodeAllocation kind, on objects
// built by hand: each way a node ledger can be wrong is reported once, with its kind.
import { expect } from 'chai';
import { checkLedgers, type ListedObjects } from '../../apiserver/ledgers/ledger.js';
import { nodeAllocationLedger } from '../../apiserver/placement/audit.js';
import type { KubeObject } from '../../apiserver/registry/object.js';

const node = (name: string, cpu: string) => ({ metadata: { name }, spec: {}, status: { allocatable: { cpu, memory: '1Gi', pods: '10' } } });
const pod = (name: string, nodeName: string | undefined, cpu: string, phase = 'Running') => ({
  metadata: { namespace: 'ns', name, uid: `uid-${name}` },
  spec: { nodeName, containers: [{ name: 'c', image: 'i', resources: { requests: { cpu } } }] },
  status: { phase },
});
const ledger = (name: string, allocated: Record<string, string>, pods: string[]) => ({
  metadata: { name },
  spec: { allocatable: {}, allocated, hostPorts: [], pods: pods.map((p) => ({ uid: `uid-${p}`, namespace: 'ns', name: p, requests: {} })) },
});

function audit(objects: Record<string, unknown[]>) {
  const list: ListedObjects = (r) => (objects[r] ?? []) as KubeObject[];
  return checkLedgers(nodeAllocationLedger, nodeAllocationLedger.state(list)).map((v) => `${v.kind} ${v.node ?? ''} ${v.pod ?? ''}`.trim());
}

describe('ledger audit: the NodeAllocation kind', () => {
  it('a ledger that matches its pods and fits is clean; finished and unbound pods hold nothing', () => {
    expect(audit({
      nodes: [node('n1', '2')],
      pods: [pod('a', 'n1', '1'), pod('b', 'n1', '1'), pod('done', 'n1', '4', 'Succeeded'), pod('pending', undefined, '8')],
      nodeallocations: [ledger('n1', { cpu: '2', pods: '2' }, ['a', 'b'])],
    })).to.deep.equal([]);
  });

  it('reports over-commit, a wrong total, a pod missing from its ledger, a pod in two ledgers, a missing ledger, an orphan', () => {
    const found = audit({
      nodes: [node('n1', '1'), node('n2', '4'), node('n3', '4')],
      pods: [pod('a', 'n1', '1'), pod('b', 'n1', '1'), pod('c', 'n2', '1'), pod('d', 'gone', '1'), pod('e', 'n3', '1')],
      nodeallocations: [
        ledger('n1', { cpu: '2', pods: '2' }, ['a', 'b']),
        // n2 records more than c requests, and also lists b (bound to n1).
        ledger('n2', { cpu: '3', pods: '1' }, ['c', 'b']),
      ],
    });
    expect(found).to.have.members([
      'OverCommitted n1',
      'LedgerMismatch n2',
      'DoubleBound n2 ns/b',
      'LedgerMismatch n2 ns/b',
      'MissingLedger n3',
      'OrphanedPod gone ns/d',
    ]);
    expect(found).to.have.length(6);
  });
});
