// Plugins the other suites left untested, in memory: PodTopologySpread (maxSkew hard and soft,
// minDomains, nodes without the topology key), NodePorts (what clashes and what does not, and the
// ledger's own HostPortInUse), and NodeResourcesFit's ignoredResources against a ledger that still
// enforces the resource.
import { expect } from 'chai';
import type { TopologySpreadConstraint } from '../../../shared/api/core.js';
import { MemoryCluster } from '../../../schedulers/testing/memory-cluster.js';
import { SchedulerHarness, testNode, testPod, type PodInput, type TestPodOptions } from '../../../schedulers/testing/harness.js';
import { counter, startMemoryScheduler, until, type MemoryScheduler } from './memory-scheduler.js';

const SPREAD = "node(s) didn't match pod topology spread constraints";
const MISSING_KEY = "node(s) didn't match pod topology spread constraints (missing required label)";
const PORTS = "node(s) didn't have free ports for the requested pod ports";

function spread(name: string, c: Partial<TopologySpreadConstraint>, o: TestPodOptions = {}): PodInput {
  const constraint: TopologySpreadConstraint = {
    maxSkew: 1,
    topologyKey: 'zone',
    whenUnsatisfiable: 'DoNotSchedule',
    labelSelector: { matchLabels: { app: 'web' } },
    ...c,
  };
  return testPod(name, { ...o, labels: { app: 'web' }, spec: { topologySpreadConstraints: [constraint] } });
}

const web = (name: string, node: string) => testPod(name, { labels: { app: 'web' }, node });

/** A host port as a pod spec writes it (protocol TCP unless told). */
interface HostPortSpec {
  hostPort: number;
  hostIP?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

function withPorts(name: string, ports: HostPortSpec[], o: TestPodOptions = {}): PodInput {
  const containerPorts = ports.map((p, i) => ({ containerPort: 8000 + i, ...p }));
  return testPod(name, { ...o, spec: { containers: [{ name: 'main', image: 'busybox', ports: containerPorts, resources: { requests: { cpu: '100m' } } }] } });
}

describe('plugin rules (in memory)', () => {
  describe('PodTopologySpread', () => {
    const zones = [testNode('z1-node', { cpu: '8', labels: { zone: 'z1' } }), testNode('z2-node', { cpu: '8', labels: { zone: 'z2' } })];

    it('DoNotSchedule: no placement may take a domain more than maxSkew above the emptiest', async () => {
      const h = await SchedulerHarness.create({ nodes: zones, existing: [web('w-0', 'z1-node'), web('w-1', 'z1-node')], profile: 'default' });
      const r = h.schedule([spread('s-0', {}), spread('s-1', {}), spread('s-2', { maxSkew: 2 })]);
      // z1 holds 2, z2 none: the first two must both go to z2 (2-0 and 2-1 stay within 1 only there).
      expect(r.placed.get('s-0')).to.equal('z2-node');
      expect(r.placed.get('s-1')).to.equal('z2-node');
      expect(r.placed.has('s-2')).to.equal(true);

      // With z2 full, z1 would be 3 against 0: the pod waits rather than skew the zones.
      const full = await SchedulerHarness.create({
        nodes: zones,
        existing: [web('w-0', 'z1-node'), web('w-1', 'z1-node'), testPod('hog', { cpu: '8', node: 'z2-node' })],
        profile: 'default',
      });
      const waits = full.schedule([spread('s', {})]).unschedulable.get('s');
      expect(waits?.reasons?.get('z1-node')).to.deep.equal([SPREAD]);
      expect(waits?.reasons?.get('z2-node')).to.deep.equal(['Insufficient cpu']);
    });

    it('ScheduleAnyway: the emptier domain scores higher, but a skewed placement is still allowed', async () => {
      // LeastAllocated alone prefers the bigger, z1 node; the soft constraint outweighs it.
      const nodes = [testNode('z1-node', { cpu: '8', labels: { zone: 'z1' } }), testNode('z2-node', { cpu: '1', labels: { zone: 'z2' } })];
      const profile = { plugins: ['NodeResourcesFit', { name: 'PodTopologySpread', weight: 2 }] };
      const existing = [web('w-0', 'z1-node'), web('w-1', 'z1-node')];
      const plain = await SchedulerHarness.create({ nodes, existing, profile });
      expect(plain.schedule([testPod('p', { labels: { app: 'web' } })]).placed.get('p')).to.equal('z1-node');
      const soft = await SchedulerHarness.create({ nodes, existing, profile });
      expect(soft.schedule([spread('s', { whenUnsatisfiable: 'ScheduleAnyway' })]).placed.get('s')).to.equal('z2-node');

      // z2 cannot take it: it goes to z1 though that makes the skew 3.
      const z2Full = await SchedulerHarness.create({ nodes, existing: [...existing, testPod('hog', { cpu: '1', node: 'z2-node' })], profile });
      expect(z2Full.schedule([spread('s', { whenUnsatisfiable: 'ScheduleAnyway' })]).placed.get('s')).to.equal('z1-node');
    });

    it('minDomains: with fewer domains than asked, the smallest count is taken as 0', async () => {
      const existing = [web('w-0', 'z1-node'), web('w-1', 'z2-node')];
      const h = await SchedulerHarness.create({ nodes: zones, existing, profile: 'default' });
      // Two domains at 1 each: without minDomains either takes it (1+1-1 = 1).
      expect(h.schedule([spread('free', {})]).placed.has('free')).to.equal(true);
      const strict = await SchedulerHarness.create({ nodes: zones, existing, profile: 'default' });
      const r = strict.schedule([spread('strict', { minDomains: 3 })]);
      expect(r.unschedulable.get('strict')?.message).to.match(new RegExp(`^0/2 nodes are available: 2 ${SPREAD.replace(/[()]/g, '\\$&')}\\.`));
    });

    it('nodes without the topology key: DoNotSchedule rejects them (unresolvable), their pods are not counted', async () => {
      const nodes = [...zones, testNode('bare', { cpu: '64' })];
      // Many matching pods on the unlabelled node: they must not count against any zone.
      const existing = [web('w-0', 'bare'), web('w-1', 'bare'), web('w-2', 'bare'), web('z', 'z1-node')];
      const h = await SchedulerHarness.create({ nodes, existing, profile: 'default' });
      const r = h.schedule([spread('s', {})]);
      expect(r.placed.get('s')).to.equal('z2-node');

      const noRoom = await SchedulerHarness.create({ nodes, existing: [...existing, testPod('h1', { cpu: '8', node: 'z1-node' }), testPod('h2', { cpu: '8', node: 'z2-node' })], profile: 'default' });
      const waits = noRoom.schedule([spread('s', {})]).unschedulable.get('s');
      expect(waits?.reasons?.get('bare')).to.deep.equal([MISSING_KEY]);
      // The bare node's rejection is one preemption cannot cure: it is not even tried.
      expect(waits?.diagnosis?.nodeStatus.get('bare')?.unresolvable).to.equal(true);

      // ScheduleAnyway: the bare node is allowed, only scored last.
      const soft = await SchedulerHarness.create({ nodes: [testNode('bare', { cpu: '64' })], profile: 'default' });
      expect(soft.schedule([spread('s', { whenUnsatisfiable: 'ScheduleAnyway' })]).placed.get('s')).to.equal('bare');
    });
  });

  describe('NodePorts', () => {
    const taken = [withPorts('holder', [{ hostPort: 8080 }, { hostPort: 9090, hostIP: '10.0.0.1' }], { node: 'a' })];

    it('the same port and protocol on an overlapping address clash; another protocol or address does not', async () => {
      const cases: [string, HostPortSpec[], boolean][] = [
        ['same-port-tcp', [{ hostPort: 8080 }], false],
        ['same-port-explicit-tcp', [{ hostPort: 8080, protocol: 'TCP' }], false],
        ['same-port-udp', [{ hostPort: 8080, protocol: 'UDP' }], true],
        ['same-port-sctp', [{ hostPort: 8080, protocol: 'SCTP' }], true],
        ['other-port', [{ hostPort: 8081 }], true],
        ['same-ip', [{ hostPort: 9090, hostIP: '10.0.0.1' }], false],
        ['other-ip', [{ hostPort: 9090, hostIP: '10.0.0.2' }], true],
        ['any-ip-vs-one', [{ hostPort: 9090 }], false],
        ['one-ip-vs-any', [{ hostPort: 8080, hostIP: '10.0.0.9' }], false],
        ['wildcard-ip', [{ hostPort: 8080, hostIP: '0.0.0.0' }], false],
      ];
      for (const [name, ports, fits] of cases) {
        const h = await SchedulerHarness.create({ nodes: [testNode('a')], existing: taken, profile: 'default' });
        const r = h.schedule([withPorts(name, ports)]);
        if (fits) expect(r.placed.get(name), name).to.equal('a');
        else expect(r.unschedulable.get(name)?.reasons?.get('a'), name).to.deep.equal([PORTS]);
      }
    });

    it('pods decided together see each other’s ports: the second goes to another node', async () => {
      const h = await SchedulerHarness.create({ nodes: [testNode('a'), testNode('b')], profile: 'default' });
      const r = h.schedule([withPorts('first', [{ hostPort: 80 }]), withPorts('second', [{ hostPort: 80 }]), withPorts('third', [{ hostPort: 80 }])]);
      expect(new Set([r.placed.get('first'), r.placed.get('second')])).to.deep.equal(new Set(['a', 'b']));
      expect(r.unschedulable.get('third')?.message).to.equal(`0/2 nodes are available: 2 ${PORTS}. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.`);
    });

    it('the ledger refuses a clash the scheduler did not see (HostPortInUse), and the pod lands elsewhere', async () => {
      const cluster = new MemoryCluster();
      cluster.addNode(testNode('a', { cpu: '8' }));
      cluster.addNode(testNode('b', { cpu: '2' }));
      let raced = false;
      const run: MemoryScheduler = await startMemoryScheduler({
        cluster,
        beforeCommit(decisions) {
          if (raced || decisions[0]?.nodeName !== 'a') return;
          raced = true;
          cluster.addPod(withPorts('other-owner', [{ hostPort: 443 }], { spec: { schedulerName: 'other' } }));
          cluster.place([{ podName: 'other-owner', nodeName: 'a' }]);
        },
      });
      try {
        cluster.addPod(withPorts('web', [{ hostPort: 443 }]));
        expect(await until('web bound', () => cluster.placements().get('web'))).to.equal('b');
        expect(run.planner.commits[0]!.results[0]).to.deep.include({ nodeName: 'a', outcome: 'Conflict', reason: 'HostPortInUse' });
        expect(cluster.audit()).to.deep.equal([]);
      } finally {
        await run.stop();
      }
    });
  });

  describe('NodeResourcesFit ignoredResources', () => {
    const FPGA = 'example.com/fpga';

    it('the scheduler does not check an ignored resource', async () => {
      const nodes = [testNode('a', { extra: { [FPGA]: '1' } })];
      const checked = await SchedulerHarness.create({ nodes, profile: { plugins: ['NodeResourcesFit'] } });
      expect(checked.schedule([testPod('p', { extra: { [FPGA]: '2' } })]).unschedulable.get('p')?.reasons?.get('a')).to.deep.equal([`Insufficient ${FPGA}`]);
      const ignoring = await SchedulerHarness.create({ nodes, profile: { plugins: [{ name: 'NodeResourcesFit', args: { ignoredResources: [FPGA] } }] } });
      expect(ignoring.schedule([testPod('p', { extra: { [FPGA]: '2' } })]).placed.get('p')).to.equal('a');
    });

    it('the ledger still enforces it: the commit is refused, the pod is unschedulable, the node is not marked stale', async () => {
      const cluster = new MemoryCluster();
      cluster.addNode(testNode('a', { cpu: '4', extra: { [FPGA]: '1' } }));
      const run = await startMemoryScheduler({ cluster, plugins: { NodeResourcesFit: { ignoredResources: [FPGA] } } });
      try {
        cluster.addPod(testPod('greedy', { extra: { [FPGA]: '2' } }));
        const failed = await until('greedy unschedulable', () => cluster.events.find((e) => e.object === 'Pod/default/greedy' && e.reason === 'FailedScheduling'));
        expect(failed.message).to.contain(`node a refused it on the ledger this scheduler read`);
        expect(failed.message).to.contain(FPGA);
        expect(run.planner.commits.map((c) => c.results[0]!.reason)).to.deep.equal(['Insufficient']);
        expect(run.scheduler.cache.node('a')!.staleVersion).to.equal(undefined);
        expect(await counter(run.metrics, 'scheduler_schedule_attempts_total', { result: 'unschedulable' })).to.be.greaterThan(0);
        // The node is still used: a pod within the FPGA it has lands there.
        cluster.addPod(testPod('modest', { extra: { [FPGA]: '1' } }));
        expect(await until('modest bound', () => cluster.placements().get('modest'))).to.equal('a');
        expect(cluster.pod('default', 'greedy')!.spec.nodeName).to.equal(undefined);
        expect(cluster.audit()).to.deep.equal([]);
      } finally {
        await run.stop();
      }
    });
  });
});
