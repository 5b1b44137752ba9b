// The one fit rule (shared/node-fit.ts) that the API server's ledger, the agent's admission and the
// scheduler's NodeResourcesFit share.
import { expect } from 'chai';
import { admissionFailure } from '../../agent/agent.js';
import { misfit } from '../../shared/node-ledger.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { describeShortfall, firstShortfall, isLimitedResource } from '../../shared/node-fit.js';
import { parseResourceList, subtract, type ResourceAmounts, type ResourceList } from '../../shared/resources.js';

const list = (l: ResourceList): ResourceAmounts => parseResourceList(l);
const NONE = list({});

describe('node fit (shared by the ledger, the agent and the scheduler)', () => {
  describe('firstShortfall', () => {
    const cases: { name: string; request: ResourceList; used?: ResourceList; capacity: ResourceList; expected: string | undefined }[] = [
      { name: 'fits', request: { cpu: '500m', memory: '1Gi' }, capacity: { cpu: '1', memory: '2Gi' }, expected: undefined },
      { name: 'fits exactly', request: { cpu: '1', memory: '1024Mi' }, capacity: { cpu: '1000m', memory: '1Gi' }, expected: undefined },
      { name: 'fits exactly beside what is used', request: { cpu: '500m' }, used: { cpu: '1500m' }, capacity: { cpu: '2' }, expected: undefined },
      { name: 'short of cpu', request: { cpu: '500m', memory: '1Gi' }, capacity: { cpu: '200m', memory: '2Gi' }, expected: 'insufficient cpu: requested 500m, free 200m' },
      { name: 'short of cpu beside what is used', request: { cpu: '500m' }, used: { cpu: '1800m' }, capacity: { cpu: '2' }, expected: 'insufficient cpu: requested 500m, free 200m' },
      { name: 'short of memory, binary in the message', request: { cpu: '100m', memory: '1Gi' }, capacity: { cpu: '1', memory: '512Mi' }, expected: 'insufficient memory: requested 1Gi, free 512Mi' },
      { name: 'short by one milli', request: { cpu: '1001m' }, capacity: { cpu: '1' }, expected: 'insufficient cpu: requested 1001m, free 1' },
      { name: 'an extended resource the node does not have', request: { 'nvidia.com/gpu': 1 }, capacity: { cpu: '8' }, expected: 'insufficient nvidia.com/gpu: requested 1, free 0' },
      { name: 'cpu on a node that lists none', request: { cpu: '1m' }, capacity: { memory: '1Gi' }, expected: 'insufficient cpu: requested 1m, free 0' },
      { name: 'a zero request of a missing resource', request: { 'nvidia.com/gpu': 0 }, capacity: {}, expected: undefined },
      { name: 'an unlisted non-extended resource is not limited', request: { 'ephemeral-storage': '10Gi' }, capacity: { cpu: '1' }, expected: undefined },
      { name: 'a listed one is', request: { 'ephemeral-storage': '10Gi' }, capacity: { 'ephemeral-storage': '1Gi' }, expected: 'insufficient ephemeral-storage: requested 10Gi, free 1Gi' },
      { name: 'first short resource in name order', request: { memory: '4Gi', cpu: '4' }, capacity: { memory: '1Gi', cpu: '1' }, expected: 'insufficient cpu: requested 4, free 1' },
      { name: 'empty request', request: {}, capacity: {}, expected: undefined },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const short = firstShortfall(list(c.request), list(c.used ?? {}), list(c.capacity));
        expect(short && describeShortfall(short)).to.equal(c.expected);
      });
    }

    it('reports the amounts as quantities', () => {
      const short = firstShortfall(list({ cpu: '500m' }), list({ cpu: '1800m' }), list({ cpu: '2' }));
      expect(short?.resource).to.equal('cpu');
      expect([short?.requested.milliValue(), short?.used.milliValue(), short?.capacity.milliValue(), short?.free.milliValue()]).to.deep.equal([500n, 1800n, 2000n, 200n]);
    });

    it('an over-committed node (used above capacity) fits nothing more', () => {
      const short = firstShortfall(list({ cpu: '1m' }), list({ cpu: '2' }), list({ cpu: '1' }));
      expect(short && describeShortfall(short)).to.equal('insufficient cpu: requested 1m, free -1');
      expect(firstShortfall(list({ cpu: '1m' }), NONE, subtract(list({ cpu: '1' }), list({ cpu: '2' })))).to.not.equal(undefined);
    });
  });

  it('isLimitedResource: core and extended resources always; others when the node lists them', () => {
    const lists = (names: string[]) => (n: string) => names.includes(n);
    expect(['cpu', 'memory', 'pods', 'example.com/dongle'].every((n) => isLimitedResource(n, lists([])))).to.equal(true);
    expect(isLimitedResource('ephemeral-storage', lists([]))).to.equal(false);
    expect(isLimitedResource('ephemeral-storage', lists(['ephemeral-storage']))).to.equal(true);
  });

  it('the ledger and the agent decide the same way for the same numbers', () => {
    const alloc = (allocatable: ResourceList, allocated: ResourceList): NodeAllocation => ({
      apiVersion: 'scheduling.cell.dev/v1alpha1',
      kind: 'NodeAllocation',
      metadata: { name: 'n' },
      spec: { allocatable: allocatable as Record<string, string>, allocated: allocated as Record<string, string>, hostPorts: [], pods: [] },
    });
    const pod = (requests: ResourceList) => ({ spec: { containers: [{ name: 'c', image: 'i', resources: { requests: requests as Record<string, string> } }] } });
    const cases: [ResourceList, ResourceList, ResourceList][] = [
      [{ cpu: '2', memory: '1Gi', pods: '10' }, { cpu: '1500m', pods: '3' }, { cpu: '500m' }],
      [{ cpu: '2', memory: '1Gi', pods: '10' }, { cpu: '1500m', pods: '3' }, { cpu: '501m' }],
      [{ cpu: '2', memory: '1Gi', pods: '3' }, { pods: '3' }, { cpu: '1m' }],
      [{ cpu: '2', memory: '1Gi', pods: '10' }, {}, { 'ephemeral-storage': '1Ti' }],
      [{ cpu: '2', memory: '1Gi', pods: '10' }, {}, { 'nvidia.com/gpu': '1' }],
    ];
    for (const [capacity, used, request] of cases) {
      const ledger = misfit(alloc(capacity, used), pod(request) as Parameters<typeof misfit>[1]);
      const agent = admissionFailure(list(capacity), list(used), pod(request) as Parameters<typeof admissionFailure>[2]);
      expect(ledger?.resource, JSON.stringify({ capacity, used, request })).to.equal(agent?.reason.slice('OutOf'.length));
    }
  });
});
