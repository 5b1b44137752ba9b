// The experiments' decision-time knob (Omega's t_job + t_task × tasks): charged once per job and per
// task, spent between deciding and committing — so a slow decision commits on state that has moved.
import { expect } from 'chai';
import type { PodInput } from '../../../schedulers/testing/harness.js';
import { MemoryCluster } from '../../../schedulers/testing/memory-cluster.js';
import { testNode, testPod } from '../../../schedulers/testing/harness.js';
import { DecisionTime, jobOf, parseDecisionTimeClasses } from '../../../schedulers/experiment/decision-time.js';
import type { Pod } from '../../../shared/api/core.js';
import { counter, startMemoryScheduler, until, type MemoryScheduler } from './memory-scheduler.js';

function taskOf(job: string, name: string, cpu = '100m'): PodInput {
  const pod = testPod(name, { cpu });
  pod.metadata = { ...pod.metadata, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job, uid: `uid-${job}`, controller: true }] };
  return pod;
}

describe('scheduler decision time (experiments)', function () {
  this.timeout(20_000);
  let run: MemoryScheduler | undefined;
  afterEach(async () => {
    await run?.stop();
    run = undefined;
  });

  it('charges t_job on the first task of each job and t_task on every task', () => {
    const t = new DecisionTime({ perJobMs: 1000, perTaskMs: 10 });
    const pod = (input: PodInput) => input as unknown as Pod;
    expect(t.costOf(pod(taskOf('a', 'a-0')))).to.equal(1010);
    expect(t.costOf(pod(taskOf('a', 'a-1')))).to.equal(10);
    expect(t.costOf(pod(taskOf('b', 'b-0')))).to.equal(1010);
    // A pod with no controller and no gang is a job of its own.
    expect(jobOf(pod(testPod('lone')))).to.match(/^pod:/);
    expect(new DecisionTime({ perJobMs: 0, perTaskMs: 0 }).enabled).to.equal(false);
  });

  it('charges per-class times keyed by a pod label, the default times to other pods (a monolithic scheduler)', () => {
    const classes = parseDecisionTimeClasses('service=2s/10ms, batch=0/5ms');
    expect(classes.get('service')).to.deep.equal({ perJobMs: 2000, perTaskMs: 10 });
    expect(() => parseDecisionTimeClasses('service=2s')).to.throw(/CLASS=T_JOB\/T_TASK/);
    const t = new DecisionTime({ perJobMs: 100, perTaskMs: 1, classes: { label: 'class', times: classes } });
    const labelled = (job: string, name: string, cls?: string) => {
      const input = taskOf(job, name);
      input.metadata = { ...input.metadata, labels: cls ? { class: cls } : {} };
      return input as unknown as Pod;
    };
    expect(t.costOf(labelled('s', 's-0', 'service'))).to.equal(2010);
    expect(t.costOf(labelled('s', 's-1', 'service'))).to.equal(10);
    expect(t.costOf(labelled('b', 'b-0', 'batch'))).to.equal(5);
    expect(t.costOf(labelled('o', 'o-0', 'other'))).to.equal(101);
    expect(t.costOf(labelled('u', 'u-0'))).to.equal(101);
    // Only class times set: still on.
    expect(new DecisionTime({ perJobMs: 0, perTaskMs: 0, classes: { label: 'class', times: classes } }).enabled).to.equal(true);
  });

  it('waits the decision time before committing and counts it as busy time', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('n1', { cpu: '8' }));
    run = await startMemoryScheduler({ cluster, decisionTime: new DecisionTime({ perJobMs: 150, perTaskMs: 20 }) });
    const started = Date.now();
    for (let i = 0; i < 3; i++) cluster.addPod(taskOf('a', `a-${i}`));
    cluster.addPod(taskOf('b', 'b-0'));
    await until('all bound', () => cluster.placements().size === 4);
    // Two jobs × 150 ms + four tasks × 20 ms, one after the other, each waited out in full.
    expect(Date.now() - started).to.be.at.least(380);
    expect(await counter(run.metrics, 'cell_scheduler_busy_seconds_total', { profile: 'default' })).to.be.at.least(0.38);
  });

  it('commits a decision taken on the state before the wait: a node filled meanwhile is a conflict', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('big', { cpu: '4' }));
    cluster.addNode(testNode('small', { cpu: '2' }));
    run = await startMemoryScheduler({ cluster, decisionTime: new DecisionTime({ perJobMs: 300, perTaskMs: 0 }) });
    cluster.addPod(taskOf('svc', 'svc-0', '1'));
    // While the scheduler "thinks" about svc-0 (decided for the emptier node, big), another
    // scheduler fills big.
    await new Promise((r) => setTimeout(r, 100));
    cluster.addPod(testPod('intruder', { cpu: '4', spec: { schedulerName: 'other' } }));
    expect(cluster.place([{ podName: 'intruder', nodeName: 'big' }])[0]!.outcome).to.equal('Bound');
    const placed = await until('svc-0 bound', () => cluster.placements().get('svc-0'));
    expect(placed).to.equal('small');
    expect(run.planner.commits[0]!.results[0]).to.deep.include({ podName: 'svc-0', nodeName: 'big', outcome: 'Conflict' });
    expect(cluster.audit()).to.deep.equal([]);
  });
});
