// Preemption and gangs end to end in memory: the real Scheduler over a MemoryCluster. Victims are
// evicted through the cluster (their room goes back to the ledger), the preemptor is bound there;
// a gang is committed all or nothing, and a gang that cannot be placed leaves no member bound.
import { expect } from 'chai';
import type { Pod } from '../../../shared/api/core.js';
import { POD_GROUP_LABEL } from '../../../shared/api/scheduling.js';
import { MemoryCluster } from '../../../schedulers/testing/memory-cluster.js';
import { testNode, testPod } from '../../../schedulers/testing/harness.js';
import { holds, startMemoryScheduler, until, type MemoryScheduler } from './memory-scheduler.js';

const member = (name: string, group: string, cpu: string, schedulerName?: string) =>
  testPod(name, { cpu, labels: { [POD_GROUP_LABEL]: group }, ...(schedulerName ? { spec: { schedulerName } } : {}) });

function boundMembers(cluster: MemoryCluster, group: string): Pod[] {
  return cluster.pods().filter((p) => p.metadata.labels?.[POD_GROUP_LABEL] === group && p.spec.nodeName);
}

describe('preemption and gangs (in memory)', function () {
  this.timeout(20_000);
  let run: MemoryScheduler | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('DefaultPreemption: evicts the fewest, least important victims and the preemptor is bound in their place', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('busy', { cpu: '2' }));
    cluster.addNode(testNode('guarded', { cpu: '2' }));
    // Equal priority on `busy`: the older pod is the more important one and stays.
    cluster.addPod(testPod('low-old', { cpu: '1', priority: 0, node: 'busy' }));
    cluster.addPod(testPod('low-new', { cpu: '1', priority: 0, node: 'busy' }));
    cluster.addPod(testPod('important', { cpu: '2', priority: 100, node: 'guarded' }));
    run = await startMemoryScheduler({ cluster });

    cluster.addPod(testPod('preemptor', { cpu: '1', priority: 10 }));
    expect(await until('preemptor bound', () => cluster.placements().get('preemptor'))).to.equal('busy');

    expect(cluster.pod('default', 'low-new'), 'the victim was evicted').to.equal(undefined);
    expect(cluster.pod('default', 'low-old')?.spec.nodeName).to.equal('busy');
    expect(cluster.pod('default', 'important')?.spec.nodeName).to.equal('guarded');
    expect(cluster.events.filter((e) => e.reason === 'Preempted').map((e) => e.object)).to.deep.equal(['Pod/default/low-new']);
    const failed = cluster.events.find((e) => e.object === 'Pod/default/preemptor' && e.reason === 'FailedScheduling');
    expect(failed?.message).to.contain('preemption: evicting 1 lower-priority pod(s) on node busy');
    // The nomination is cleared once the preemptor is bound.
    await until('nomination cleared', () => cluster.pod('default', 'preemptor')!.status.nominatedNodeName === undefined);
    expect(cluster.audit()).to.deep.equal([]);
  });

  it('DefaultPreemption: nothing of equal or higher priority is evicted; the pod stays pending', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('n', { cpu: '2' }));
    cluster.addPod(testPod('peer', { cpu: '2', priority: 10, node: 'n' }));
    run = await startMemoryScheduler({ cluster });
    cluster.addPod(testPod('same', { cpu: '1', priority: 10 }));
    const failed = await until('FailedScheduling', () => cluster.events.find((e) => e.object === 'Pod/default/same' && e.reason === 'FailedScheduling'));
    expect(failed.message).to.contain('No preemption victims found for incoming pod');
    expect(await holds(100, () => cluster.pod('default', 'peer') !== undefined && !cluster.pod('default', 'same')!.spec.nodeName)).to.equal(true);
  });

  it('Coscheduling: a gang that fits is committed in one all-or-nothing commit', async () => {
    const cluster = new MemoryCluster();
    for (const n of ['a', 'b']) cluster.addNode(testNode(n, { cpu: '2' }));
    cluster.addPodGroup({ metadata: { name: 'trio' }, spec: { minMember: 3 } });
    run = await startMemoryScheduler({ cluster });
    for (const n of ['t-0', 't-1', 't-2']) cluster.addPod(member(n, 'trio', '1'));
    await until('the gang bound', () => boundMembers(cluster, 'trio').length === 3);
    const gangCommits = run.planner.commits.filter((c) => c.kind === 'gang');
    expect(gangCommits).to.have.length(1);
    expect(gangCommits[0]!.results.map((r) => r.outcome)).to.deep.equal(['Bound', 'Bound', 'Bound']);
    // No member went by itself.
    expect(run.planner.commits.filter((c) => c.kind !== 'gang')).to.deep.equal([]);
    expect(cluster.audit()).to.deep.equal([]);
  });

  it('Coscheduling: a gang that does not fit leaves no member bound', async () => {
    const cluster = new MemoryCluster();
    for (const n of ['a', 'b']) cluster.addNode(testNode(n, { cpu: '2' }));
    cluster.addPodGroup({ metadata: { name: 'too-big' }, spec: { minMember: 3 } });
    run = await startMemoryScheduler({ cluster });
    // Two of these fit (one per node), the third nowhere.
    for (const n of ['b-0', 'b-1', 'b-2']) cluster.addPod(member(n, 'too-big', '1500m'));
    await until('a member rejected the gang', () => cluster.events.some((e) => e.reason === 'FailedScheduling' && e.message.includes('gang: released the default/too-big pods')));
    expect(await holds(300, () => boundMembers(cluster, 'too-big').length === 0)).to.equal(true);
    expect(run.planner.commits, 'nothing was even sent').to.deep.equal([]);
    // The room the held members had is free again: a lone pod takes a whole node.
    cluster.addPod(testPod('solo', { cpu: '2' }));
    expect(await until('solo bound', () => cluster.placements().get('solo'))).to.be.oneOf(['a', 'b']);
  });

  it('Coscheduling: a gang commit refused on one node binds none of it; retried, it lands on the room left', async () => {
    const cluster = new MemoryCluster();
    for (const n of ['a', 'b', 'c']) cluster.addNode(testNode(n, { cpu: '2' }));
    cluster.addPodGroup({ metadata: { name: 'trio' }, spec: { minMember: 3 } });
    let filled: string | undefined;
    let boundAtSecondCommit: number | undefined;
    run = await startMemoryScheduler({
      cluster,
      beforeCommit(decisions, kind) {
        if (kind !== 'gang') return;
        if (filled === undefined) {
          // Another scheduler fills the node of the gang's first member just before it commits.
          filled = decisions[0]!.nodeName;
          cluster.addPod(testPod('intruder', { cpu: '2', spec: { schedulerName: 'other' } }));
          cluster.place([{ podName: 'intruder', nodeName: filled }]);
        } else boundAtSecondCommit ??= boundMembers(cluster, 'trio').length;
      },
    });
    for (const n of ['t-0', 't-1', 't-2']) cluster.addPod(member(n, 'trio', '1'));
    await until('the gang bound', () => boundMembers(cluster, 'trio').length === 3);

    const [first] = run.planner.commits.filter((c) => c.kind === 'gang');
    const outcomes = first!.results.map((r) => `${r.outcome}/${r.reason ?? ''}`).sort();
    expect(outcomes).to.deep.equal(['Conflict/Insufficient', 'Skipped/NotAttempted', 'Skipped/NotAttempted']);
    expect(boundAtSecondCommit, 'no member was bound by the refused commit').to.equal(0);
    expect(boundMembers(cluster, 'trio').map((p) => p.spec.nodeName)).to.not.include(filled);
    expect(cluster.audit()).to.deep.equal([]);
  });

  it('Coscheduling: a pod parked while a gang held the room at permit is woken when the gang is released, not left for a minute', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('a', { cpu: '4' }));
    cluster.addPodGroup({ metadata: { name: 'holding' }, spec: { minMember: 3, scheduleTimeoutSeconds: 1 } });
    run = await startMemoryScheduler({ cluster });
    cluster.addPod(member('h-other', 'holding', '1', 'elsewhere'));
    for (const n of ['h-0', 'h-1']) cluster.addPod(member(n, 'holding', '1'));
    // The two members hold 2 of the 4 cpu at permit; a 4-cpu pod fits nowhere meanwhile and is parked.
    await new Promise((r) => setTimeout(r, 300));
    cluster.addPod(testPod('whole', { cpu: '4' }));
    await until('whole parked', () => cluster.events.find((e) => e.reason === 'FailedScheduling' && e.object === 'Pod/default/whole'));
    // The gang's wait times out (1 s) and its room is free: the parked pod is tried again at once,
    // before the members' back-off ends. (It used to stay parked for maxUnschedulableMs: 60 s.)
    expect(await until('whole bound', () => cluster.placements().get('whole'), 4_000)).to.equal('a');
    expect(cluster.audit()).to.deep.equal([]);
  });

  it('Coscheduling: members held at permit for a sibling that never comes are released after scheduleTimeoutSeconds', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('a', { cpu: '4' }));
    cluster.addPodGroup({ metadata: { name: 'late' }, spec: { minMember: 3, scheduleTimeoutSeconds: 1 } });
    run = await startMemoryScheduler({ cluster });
    // The third member belongs to a scheduler that is not running: it counts, but is never placed.
    cluster.addPod(member('l-other', 'late', '1', 'elsewhere'));
    for (const n of ['l-0', 'l-1']) cluster.addPod(member(n, 'late', '1'));
    const timedOut = await until('held members timed out', () => cluster.events.find((e) => e.reason === 'FailedScheduling' && e.message.includes('rejected due to timeout after waiting 1s at permit')), 5_000);
    expect(timedOut.object).to.be.oneOf(['Pod/default/l-0', 'Pod/default/l-1']);
    expect(boundMembers(cluster, 'late')).to.deep.equal([]);
    expect(run.planner.commits).to.deep.equal([]);
    // The group says so too: PodGroupScheduled=False, reason Unschedulable.
    const condition = await until('PodGroup condition', () => cluster.podGroup('default', 'late')?.status.conditions?.find((c) => c.type === 'PodGroupScheduled'));
    expect(condition).to.deep.include({ status: 'False', reason: 'Unschedulable' });
    // Nothing holds the room any more: the node's full 4 cpu go to one pod.
    cluster.addPod(testPod('whole', { cpu: '4' }));
    expect(await until('whole bound', () => cluster.placements().get('whole'))).to.equal('a');
  });
});
