// Plugins and framework pieces on an in-memory cluster (no processes): scoring strategies,
// toleration rules, Gt/Lt affinity, preemption's choice of node and victims, symmetric
// anti-affinity, the FailedScheduling message, and node sampling.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { histogram } from '../../../schedulers/framework/diagnosis.js';
import { unresolvable, unschedulable } from '../../../schedulers/framework/plugin.js';
import { numFeasibleNodesToFind } from '../../../schedulers/framework/sampling.js';
import { toleratesTaint } from '../../../shared/tolerations.js';
import { FakeCluster, pod } from './fake-cluster.js';

const DEFAULT = readFileSync('schedulers/profiles/default.yaml', 'utf8');
const BINPACK = readFileSync('schedulers/profiles/binpack.yaml', 'utf8');

describe('scheduler plugins (in memory)', () => {
  it('NodeResourcesFit: LeastAllocated picks the emptiest node, MostAllocated the fullest that fits', async () => {
    for (const [profile, want] of [[DEFAULT, 'empty'], [BINPACK, 'busy']] as const) {
      const c = new FakeCluster();
      c.addNode('empty', { cpu: '4' });
      c.addNode('busy', { cpu: '4' });
      c.addNode('full', { cpu: '4' });
      c.bind(pod('x', { cpu: '1' }), 'empty');
      c.bind(pod('y', { cpu: '3' }), 'busy');
      c.bind(pod('z', { cpu: '4' }), 'full');
      await c.load(profile);
      expect(c.decide(pod('new', { cpu: '500m' })).node).to.equal(want);
    }
  });

  it('TaintToleration: Kubernetes’ matching rules', () => {
    const taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const };
    expect(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, taint)).to.equal(true);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Equal', value: 'cpu' }, taint)).to.equal(false);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists' }, taint)).to.equal(true);
    expect(toleratesTaint({ operator: 'Exists' }, taint)).to.equal(true);
    expect(toleratesTaint({ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, taint)).to.equal(false);
    expect(toleratesTaint({ key: 'other', operator: 'Exists' }, taint)).to.equal(false);
  });

  it('NodeAffinity: Gt and Lt compare integer label values; a non-integer never matches', async () => {
    const c = new FakeCluster();
    c.addNode('gen-2', { labels: { gen: '2' } });
    c.addNode('gen-8', { labels: { gen: '8' } });
    c.addNode('gen-x', { labels: { gen: 'x' } });
    await c.load(DEFAULT);
    const req = (op: 'Gt' | 'Lt', v: string) =>
      pod('p', { spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gen', operator: op, values: [v] }] }] } } } } });
    expect(c.decide(req('Gt', '5')).node).to.equal('gen-8');
    expect(c.decide(req('Lt', '5')).node).to.equal('gen-2');
    expect(c.decide(req('Gt', '9')).diagnosis.message()).to.equal("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
  });

  it('DefaultPreemption: the node whose most important victim matters least; never equal or higher priority', async () => {
    const c = new FakeCluster();
    c.addNode('two-low', { cpu: '2' });
    c.addNode('one-lowest', { cpu: '2' });
    c.addNode('important', { cpu: '2' });
    c.bind(pod('l1', { cpu: '1', priority: 1 }), 'two-low');
    c.bind(pod('l2', { cpu: '1', priority: 1 }), 'two-low');
    c.bind(pod('l0', { cpu: '2', priority: 0 }), 'one-lowest');
    c.bind(pod('i1', { cpu: '1', priority: 50 }), 'important');
    c.bind(pod('i2', { cpu: '1', priority: 50 }), 'important');
    await c.load(DEFAULT);

    const r = c.decide(pod('preemptor', { cpu: '2', priority: 10 }));
    expect(r.node).to.equal(undefined);
    const post = c.framework.postFilter(r.ctx, r.diagnosis);
    expect(post).to.deep.include({ nominatedNodeName: 'one-lowest', victims: 1 });

    // Priority 1: the priority-1 pods are its equals, only the priority-0 pod may go.
    const eq = c.decide(pod('equal', { cpu: '2', priority: 1 }));
    expect(c.framework.postFilter(eq.ctx, eq.diagnosis)).to.deep.include({ nominatedNodeName: 'one-lowest', victims: 1 });
    // Priority 0: nothing is lower.
    const none = c.decide(pod('lowest', { cpu: '2', priority: 0 }));
    expect(c.framework.postFilter(none.ctx, none.diagnosis)?.message).to.equal(
      'preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
    );
  });

  it('DefaultPreemption: evicts as few pods as needed, the least important first', async () => {
    const c = new FakeCluster();
    c.addNode('n', { cpu: '4' });
    c.bind(pod('p1', { cpu: '1', priority: 1 }), 'n');
    c.bind(pod('p2', { cpu: '1', priority: 2 }), 'n');
    c.bind(pod('p3', { cpu: '1', priority: 3 }), 'n');
    c.bind(pod('p4', { cpu: '1', priority: 4 }), 'n');
    await c.load(DEFAULT);
    const r = c.decide(pod('needs-2', { cpu: '2', priority: 10 }));
    expect(c.framework.postFilter(r.ctx, r.diagnosis)).to.deep.include({ nominatedNodeName: 'n', victims: 2 });
  });

  it('InterPodAffinity: an existing pod’s required anti-affinity keeps matching pods off its node', async () => {
    const c = new FakeCluster();
    c.addNode('a');
    c.addNode('b');
    const loner = pod('loner', {
      labels: { app: 'loner' },
      spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } }] } } },
    });
    c.bind(loner, 'a');
    await c.load(DEFAULT);
    for (let i = 0; i < 5; i++) expect(c.decide(pod(`web-${i}`, { labels: { app: 'web' } })).node).to.equal('b');
  });

  it('FailedScheduling: reasons counted per node, largest count first', () => {
    const insufficient = unschedulable('Insufficient cpu');
    const taint = unresolvable('node(s) had untolerated taint {dedicated: gpu}');
    const both = unschedulable('Insufficient cpu', 'Insufficient memory');
    expect(histogram([taint, insufficient, insufficient, both, taint, insufficient])).to.equal(
      '4 Insufficient cpu, 2 node(s) had untolerated taint {dedicated: gpu}, 1 Insufficient memory',
    );
  });

  it('samples every node below 100, a shrinking share above (Kubernetes’ percentageOfNodesToScore)', () => {
    expect(numFeasibleNodesToFind(50, 0)).to.equal(50);
    expect(numFeasibleNodesToFind(100, 0)).to.equal(100);
    expect(numFeasibleNodesToFind(1000, 0)).to.equal(420);
    expect(numFeasibleNodesToFind(5000, 0)).to.equal(500);
    expect(numFeasibleNodesToFind(10_000, 0)).to.equal(500);
    expect(numFeasibleNodesToFind(1000, 100)).to.equal(1000);
    expect(numFeasibleNodesToFind(1000, 5)).to.equal(100);
  });
});
