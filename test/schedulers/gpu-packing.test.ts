// The GPU-packing example plugin (schedulers/examples/gpu-packing.ts), tested the way its author
// would: the SDK's in-memory harness, its own profile file, no cluster.
import { expect } from 'chai';
import { SchedulerHarness, testNode, testPod } from '../../schedulers/sdk.js';
import gpuPacking from '../../schedulers/examples/gpu-packing.js';

const GPU = 'nvidia.com/gpu';
const gpuNode = (name: string) => testNode(name, { cpu: '32', memory: '128Gi', extra: { [GPU]: '8' } });
const gpuPod = (name: string, gpus: number, node?: string) => testPod(name, { cpu: '1', extra: { [GPU]: String(gpus) }, ...(node ? { node } : {}) });

describe('example plugin: GpuPacking', () => {
  // Loading the profile type-checks the plugin against the SDK, which compiles the SDK's sources
  // (once per process; tens of seconds on a busy machine): setup, done here rather than inside
  // the first test's time budget.
  before(async function () {
    this.timeout(180_000);
    await SchedulerHarness.create({ nodes: [], profile: 'schedulers/examples/gpu-packing.yaml' });
  });

  it('puts a GPU pod on the GPU node that is already most used, leaving empty ones whole', async () => {
    const h = await SchedulerHarness.create({
      nodes: [gpuNode('empty-1'), gpuNode('half'), gpuNode('empty-2'), testNode('cpu-only', { cpu: '32' })],
      existing: [gpuPod('training', 4, 'half')],
      profile: 'schedulers/examples/gpu-packing.yaml',
    });
    const r = h.schedule([gpuPod('a', 2), gpuPod('b', 2)]);
    expect(r.placed.get('a')).to.equal('half');
    expect(r.placed.get('b')).to.equal('half');
  });

  it('a job that needs a whole node still finds one after the small ones were packed', async () => {
    const h = await SchedulerHarness.create({
      nodes: [gpuNode('g1'), gpuNode('g2')],
      profile: { plugins: ['NodeResourcesFit', { factory: gpuPacking, weight: 10 }] },
    });
    // Four 2-GPU pods, then one 8-GPU job: packing fills g1 (or g2) and leaves the other whole.
    const r = h.schedule([gpuPod('s1', 2), gpuPod('s2', 2), gpuPod('s3', 2), gpuPod('s4', 2), { ...gpuPod('whole', 8), spec: { ...gpuPod('whole', 8).spec, priority: -1 } }]);
    const small = ['s1', 's2', 's3', 's4'].map((n) => r.placed.get(n));
    expect(new Set(small).size, `small pods on ${small.join(', ')}`).to.equal(1);
    expect(r.placed.get('whole')).to.be.a('string').and.not.equal(small[0]);
  });

  it('keeps pods without GPUs off GPU nodes while a CPU node has room', async () => {
    const h = await SchedulerHarness.create({
      nodes: [gpuNode('gpu'), testNode('cpu', { cpu: '2' })],
      profile: 'schedulers/examples/gpu-packing.yaml',
    });
    const r = h.schedule([testPod('web-1', { cpu: '1' }), testPod('web-2', { cpu: '1' }), testPod('web-3', { cpu: '1' })]);
    expect(r.placed.get('web-1')).to.equal('cpu');
    expect(r.placed.get('web-2')).to.equal('cpu');
    // The CPU node is full: the third may use the GPU node rather than wait.
    expect(r.placed.get('web-3')).to.equal('gpu');
  });

  it('a GPU pod that fits nowhere says why, node by node', async () => {
    const h = await SchedulerHarness.create({
      nodes: [gpuNode('g1'), testNode('cpu')],
      existing: [gpuPod('big', 8, 'g1')],
      profile: 'schedulers/examples/gpu-packing.yaml',
    });
    const r = h.schedule([gpuPod('late', 1)]);
    const late = r.unschedulable.get('late');
    expect(late?.reasons?.get('g1')).to.deep.equal([`Insufficient ${GPU}`]);
    expect(late?.reasons?.get('cpu')).to.deep.equal([`Insufficient ${GPU}`]);
    expect(late?.message).to.match(/^0\/2 nodes are available: 2 Insufficient nvidia\.com\/gpu\./);
  });

  it('refuses bad args with a clear error', async () => {
    let err: unknown;
    try {
      await SchedulerHarness.create({ nodes: [], profile: { plugins: [{ factory: gpuPacking, args: { resource: 7 } }] } });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/args\.resource must be a resource name/);
  });
});
