// The SDK's in-memory harness (schedulers/testing/harness.ts) decides as the daemon does: the
// same plugins, queue order, diagnosis, room taken by earlier pods, gangs held at permit, and
// preemption that nominates (without a server to evict through).
import { expect } from 'chai';
import { SchedulerHarness, StateKey, testNode, testPod, unresolvable, type PluginFactory } from '../../schedulers/sdk.js';

describe('the in-memory scheduler harness', () => {
  it('counts existing pods and earlier decisions, and orders the queue by priority', async () => {
    const h = await SchedulerHarness.create({
      nodes: [testNode('a', { cpu: '2' }), testNode('b', { cpu: '2' })],
      existing: [testPod('old', { cpu: '2', node: 'a' })],
      profile: 'default',
    });
    const r = h.schedule([testPod('low', { cpu: '2', priority: 0 }), testPod('high', { cpu: '2', priority: 10 })]);
    expect(r.outcomes.map((o) => o.pod)).to.deep.equal(['default/high', 'default/low']);
    expect(r.placed.get('high')).to.equal('b');
    expect(r.unschedulable.get('low')?.message).to.equal('0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.');
  });

  it('runs an author’s factory with state across extension points, and reports its rejections per node', async () => {
    const ZONE = new StateKey<string>('SameZone/zone');
    const WRONG_ZONE = unresolvable("node(s) were not in the pod's zone");
    const sameZone: PluginFactory = () => ({
      name: 'SameZone',
      preFilter(ctx) {
        const zone = ctx.pod.pod.metadata.annotations?.['example.com/zone'];
        if (zone === undefined) return 'skip';
        ctx.write(ZONE, zone);
        return undefined;
      },
      filter: (ctx, node) => (node.labels['zone'] === ctx.read(ZONE) ? undefined : WRONG_ZONE),
    });
    const h = await SchedulerHarness.create({
      nodes: [testNode('east', { labels: { zone: 'east' } }), testNode('west', { labels: { zone: 'west' } })],
      profile: { plugins: ['NodeResourcesFit', { factory: sameZone }] },
    });
    const r = h.schedule([
      testPod('w', { annotations: { 'example.com/zone': 'west' } }),
      testPod('n', { annotations: { 'example.com/zone': 'north' } }),
      testPod('any'),
    ]);
    expect(r.placed.get('w')).to.equal('west');
    expect(r.placed.get('any')).to.be.oneOf(['east', 'west']);
    expect(Object.fromEntries(r.unschedulable.get('n')?.reasons ?? [])).to.deep.equal({ east: [WRONG_ZONE.reasons[0]], west: [WRONG_ZONE.reasons[0]] });
  });

  it('preemption nominates a node; the eviction it tries has no server to go to', async () => {
    const h = await SchedulerHarness.create({
      nodes: [testNode('a', { cpu: '1' })],
      existing: [testPod('victim', { cpu: '1', node: 'a', priority: 0 })],
      profile: 'default',
    });
    const r = h.schedule([testPod('vip', { cpu: '1', priority: 100 })]);
    expect(r.unschedulable.get('vip')?.nominatedNodeName).to.equal('a');
    // The eviction is asynchronous: wait for it to have been tried.
    for (let i = 0; i < 100 && !h.apiRequests.some((c) => c.startsWith('DELETE')); i++) await new Promise((res) => setImmediate(res));
    expect(h.apiRequests).to.include('DELETE /api/v1/namespaces/default/pods/victim');
  });

  it('holds a gang at permit and places it whole, or not at all', async () => {
    const member = (name: string, group: string) => testPod(name, { cpu: '1', labels: { 'scheduling.x-k8s.io/pod-group': group } });
    const h = await SchedulerHarness.create({
      nodes: [testNode('a', { cpu: '2' }), testNode('b', { cpu: '1' })],
      podGroups: [
        { metadata: { name: 'fits', namespace: 'default' }, spec: { minMember: 3 } },
        { metadata: { name: 'too-big', namespace: 'default' }, spec: { minMember: 3 } },
      ],
      profile: { plugins: ['Coscheduling', 'NodeResourcesFit'] },
    });
    const r = h.schedule([member('f1', 'fits'), member('f2', 'fits'), member('f3', 'fits')]);
    expect([...r.placed.keys()].filter((k) => !k.includes('/')).sort()).to.deep.equal(['f1', 'f2', 'f3']);
    const r2 = h.schedule([member('t1', 'too-big'), member('t2', 'too-big'), member('t3', 'too-big')]);
    expect(r2.placed.size).to.equal(0);
    expect(r2.unschedulable.size).to.be.greaterThan(0);
  });
});
