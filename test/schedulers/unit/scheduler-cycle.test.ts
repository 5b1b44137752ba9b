// The scheduling cycle with its commits, in memory: the real Scheduler over a MemoryCluster whose
// ledgers refuse what no longer fits, as the API server does. "Another scheduler" commits between
// this one's decision and its commit (MemoryPlanner's beforeCommit), so conflicts happen on cue.
import { expect } from 'chai';
import type { Pod } from '../../../shared/api/core.js';
import { parseResourceList } from '../../../shared/resources.js';
import { seededRandom } from '../../../shared/seeded-random.js';
import { misfit } from '../../../shared/node-ledger.js';
import { MemoryCluster } from '../../../schedulers/testing/memory-cluster.js';
import { testNode, testPod } from '../../../schedulers/testing/harness.js';
import { counter, holds, startMemoryScheduler, until, type MemoryScheduler } from './memory-scheduler.js';

/** The cpu (milli) a node's ledger has free. */
function freeCpu(cluster: MemoryCluster, node: string): number {
  const ledger = cluster.ledger(node)!;
  return Number(parseResourceList(ledger.spec.allocatable).get('cpu') - parseResourceList(ledger.spec.allocated).get('cpu'));
}

/** An unschedulable verdict was written on the pod (PodScheduled=False). */
function markedUnschedulable(p: Pod): boolean {
  return (p.status.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'False');
}

describe('scheduler cycle with commits (in memory)', function () {
  this.timeout(20_000);
  let run: MemoryScheduler | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('a commit that loses its node to another scheduler is decided again and lands elsewhere', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('big', { cpu: '4' }));
    cluster.addNode(testNode('small', { cpu: '2' }));
    let raced = false;
    run = await startMemoryScheduler({
      cluster,
      beforeCommit(decisions) {
        // The first commit to `big`: another scheduler fills it just before this one's arrives.
        if (raced || decisions[0]?.nodeName !== 'big') return;
        raced = true;
        cluster.addPod(testPod('intruder', { cpu: '4', spec: { schedulerName: 'other' } }));
        expect(cluster.place([{ podName: 'intruder', nodeName: 'big' }])[0]!.outcome).to.equal('Bound');
      },
    });
    cluster.addPod(testPod('web', { cpu: '1' }));
    const placed = await until('web bound', () => cluster.placements().get('web'));

    expect(raced, 'LeastAllocated decided for the bigger node first').to.equal(true);
    expect(placed).to.equal('small');
    const first = run.planner.commits[0]!.results[0]!;
    expect(first).to.deep.include({ podName: 'web', nodeName: 'big', outcome: 'Conflict', reason: 'Insufficient' });
    expect(await counter(run.metrics, 'cell_scheduler_conflicts_total', { reason: 'insufficient' })).to.equal(1);
    expect(await counter(run.metrics, 'cell_scheduler_retries_total', { reason: 'conflict' })).to.equal(1);
    expect(cluster.audit()).to.deep.equal([]);
  });

  it('a pod another replica bound first (PodTaken) is dropped, not retried', async () => {
    const cluster = new MemoryCluster();
    for (const n of ['a', 'b']) cluster.addNode(testNode(n, { cpu: '2' }));
    let winner: string | undefined;
    run = await startMemoryScheduler({
      cluster,
      beforeCommit(decisions) {
        // Another replica of this scheduler binds the same pod, on the other node.
        if (winner !== undefined) return;
        winner = decisions[0]!.nodeName === 'a' ? 'b' : 'a';
        cluster.place([{ podName: decisions[0]!.ctx.pod.name, nodeName: winner }]);
      },
    });
    cluster.addPod(testPod('contested'));
    await until('the commit refused', () => run!.planner.commits.length > 0);
    expect(run.planner.commits[0]!.results[0]).to.deep.include({ outcome: 'Conflict', reason: 'PodTaken' });
    expect(await holds(100, () => run!.planner.commits.length === 1), 'no second attempt').to.equal(true);
    expect(cluster.placements().get('contested')).to.equal(winner);
    expect(await counter(run.metrics, 'cell_scheduler_conflicts_total', { reason: 'pod-taken' })).to.equal(1);
    expect(await counter(run.metrics, 'cell_scheduler_retries_total')).to.equal(0);
    expect(cluster.audit()).to.deep.equal([]);
  });

  for (const mode of ['fine', 'coarse'] as const) {
    it(`${mode} mode: many pods, another scheduler interleaving its commits: no node is ever over-committed, every pod that fits is placed`, async () => {
      for (const seed of [1, 2, 3]) {
        const random = seededRandom(seed);
        const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
        const cluster = new MemoryCluster();
        const nodes = Array.from({ length: 6 }, (_, i) => `n-${i}`);
        for (const name of nodes) cluster.addNode(testNode(name, { cpu: String(2 + Math.floor(random() * 6)), memory: '16Gi' }));
        let others = 0;
        let commits = 0;
        const violations: string[] = [];
        run = await startMemoryScheduler({
          cluster,
          conflictMode: mode,
          batchSize: 8,
          beforeCommit(decisions) {
            // Another scheduler commits first: every third commit it takes what is left of a node
            // this commit names (a sure conflict); otherwise, half the time, a small pod anywhere.
            const fill = ++commits % 3 === 1;
            if (fill || random() < 0.5) {
              const name = `other-${++others}`;
              const node = fill ? pick(decisions).nodeName : pick(nodes);
              const cpu = fill ? freeCpu(cluster, node) : 100 * (1 + Math.floor(random() * 5));
              if (cpu > 0) {
                cluster.addPod(testPod(name, { cpu: `${cpu}m`, spec: { schedulerName: 'other' } }));
                cluster.place([{ podName: name, nodeName: node }]);
              }
            }
            violations.push(...cluster.audit());
          },
        });
        const mine = Array.from({ length: 60 }, (_, i) => `p-${i}`);
        for (const name of mine) cluster.addPod(testPod(name, { cpu: `${100 * (1 + Math.floor(random() * 15))}m` }));

        // Settled: each pod bound, or marked unschedulable and fitting no node's ledger.
        await until(`seed ${seed}: every pod placed or fitting nowhere`, () =>
          mine.every((name) => {
            const p = cluster.pod('default', name)!;
            if (p.spec.nodeName) return true;
            return markedUnschedulable(p) && nodes.every((n) => misfit(cluster.ledger(n)!, p) !== undefined);
          }),
        );
        expect(violations, `seed ${seed}`).to.deep.equal([]);
        expect(cluster.audit(), `seed ${seed}`).to.deep.equal([]);
        // The interleaving did make conflicts happen, and each one was retried or settled.
        const conflicts = run.planner.commits.flatMap((c) => c.results).filter((r) => r.outcome === 'Conflict');
        expect(conflicts.length, `seed ${seed}: conflicts`).to.be.greaterThan(0);
        // Refused on the ledger version it decided on: the scheduler itself would have
        // over-committed the node (its own fit rule and assumptions let the pod through).
        const selfInflicted = run.planner.commits.flatMap((c) =>
          c.results.filter((r, i) => r.outcome === 'Conflict' && r.allocationResourceVersion !== undefined && r.allocationResourceVersion === c.decidedOn[i]),
        );
        expect(selfInflicted, `seed ${seed}`).to.deep.equal([]);
        // Busy enough that decisions went out in batches (Incremental placements), not only one by one.
        expect(run.planner.commits.some((c) => c.kind === 'placement'), `seed ${seed}: batched commits`).to.equal(true);
        if (mode === 'coarse') expect(conflicts.some((c) => c.reason === 'LedgerMoved'), `seed ${seed}`).to.equal(true);
        await run.stop();
        run = undefined;
      }
    });
  }

  it('a refusal on the very ledger version the scheduler decided on leaves the node trusted', async () => {
    // The profile ignores memory; the ledger does not. The pod that needs too much memory is
    // refused (Insufficient) on the version the decision read: the scheduler's rule was laxer,
    // its view was not stale, and a pod that fits must still land on the node at once.
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('only', { cpu: '4', memory: '1Gi' }));
    run = await startMemoryScheduler({ cluster, plugins: { NodeResourcesFit: { ignoredResources: ['memory'] } } });
    cluster.addPod(testPod('too-big', { memory: '2Gi' }));
    await until('too-big refused', () => run!.planner.commits.length > 0);
    const refused = run.planner.commits[0]!.results[0]!;
    expect(refused).to.deep.include({ podName: 'too-big', outcome: 'Conflict', reason: 'Insufficient' });
    await until('too-big unschedulable', () => markedUnschedulable(cluster.pod('default', 'too-big')!));
    const node = run.scheduler.cache.node('only')!;
    expect(node.allocationResourceVersion).to.equal(refused.allocationResourceVersion);
    expect(node.staleVersion, 'the node must not be marked stale').to.equal(undefined);
    expect(await counter(run.metrics, 'cell_scheduler_retries_total', { reason: 'conflict' })).to.equal(0);

    cluster.addPod(testPod('small', { memory: '100Mi' }));
    expect(await until('small bound', () => cluster.placements().get('small'))).to.equal('only');
    expect(cluster.pod('default', 'too-big')!.spec.nodeName).to.equal(undefined);
    const event = cluster.events.find((e) => e.object === 'Pod/default/too-big' && e.reason === 'FailedScheduling');
    expect(event?.message).to.contain('refused it on the ledger this scheduler read');
    expect(cluster.audit()).to.deep.equal([]);
  });
});
