// The README's example plugin (schedulers/examples/cheapest-node.ts), tested the way its author
// would: the SDK's in-memory harness, its own profile file, no cluster.
import { expect } from 'chai';
import { SchedulerHarness, testNode, testPod } from '../../schedulers/sdk.js';

const priced = (name: string, cost: string, o: { cpu?: string; maintenance?: boolean } = {}) =>
  testNode(name, { cpu: o.cpu ?? '4', labels: { 'example.cell.dev/cost-per-hour': cost, ...(o.maintenance ? { 'example.cell.dev/maintenance': 'true' } : {}) } });

describe('example plugin: CheapestNode', () => {
  // Loading the profile type-checks the plugin against the SDK, which compiles the SDK's sources
  // (once per process; tens of seconds on a busy machine): setup, done here rather than inside
  // the first test's time budget.
  before(async function () {
    this.timeout(180_000);
    await SchedulerHarness.create({ nodes: [], profile: 'schedulers/examples/cheapest.yaml' });
  });

  it('fills the cheapest node first, then the next cheapest', async () => {
    const h = await SchedulerHarness.create({
      nodes: [priced('dear', '30'), priced('cheap', '5', { cpu: '1' }), priced('middling', '12')],
      profile: 'schedulers/examples/cheapest.yaml',
    });
    const r = h.schedule([testPod('a', { cpu: '500m' }), testPod('b', { cpu: '500m' }), testPod('c', { cpu: '500m' })]);
    expect([r.placed.get('a'), r.placed.get('b'), r.placed.get('c')]).to.deep.equal(['cheap', 'cheap', 'middling']);
  });

  it('skips nodes in maintenance, and says so when nothing else is left', async () => {
    const h = await SchedulerHarness.create({
      nodes: [priced('cheap', '5', { maintenance: true }), priced('dear', '30', { cpu: '1' })],
      profile: 'schedulers/examples/cheapest.yaml',
    });
    const r = h.schedule([testPod('a', { cpu: '1' }), testPod('b', { cpu: '1' })]);
    expect(r.placed.get('a')).to.equal('dear');
    const b = r.unschedulable.get('b');
    expect(b?.reasons?.get('cheap')).to.deep.equal(['node(s) were in maintenance']);
    expect(b?.reasons?.get('dear')).to.deep.equal(['Insufficient cpu']);
    expect(b?.message).to.equal('0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were in maintenance.');
  });
});
