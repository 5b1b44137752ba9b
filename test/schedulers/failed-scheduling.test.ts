// A pod that fits nowhere: the FailedScheduling event and the PodScheduled=False condition say why,
// node by node, in Kubernetes' words; once a node that fits appears, the pod is bound to it.
import { expect } from 'chai';
import { createNamespace, createNodes, createPods, eventMessages, getPod, nodeObject, podObject, waitFor, waitForBound, schedulerSuite } from './helpers.js';
import { metricValue } from './scheduler-process.js';

describe('scheduler: a pod that fits nowhere', function () {
  this.timeout(60_000);
  const cluster = schedulerSuite();
  const ns = 'unfit';

  before(async () => {
    await createNamespace(cluster.client, ns);
  });

  it('gets FailedScheduling with per-reason node counts, then is bound once a node that fits appears', async () => {
    await createNodes(cluster.client, [
      ...Array.from({ length: 38 }, (_, i) => nodeObject(`small-${i}`, { cpu: '1' })),
      ...Array.from({ length: 12 }, (_, i) => nodeObject(`gpu-${i}`, { cpu: '16', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] })),
    ]);
    await createPods(cluster.client, ns, [podObject('wants-2-cpus', { cpu: '2' })]);

    const expected = '0/50 nodes are available: 38 Insufficient cpu, 12 node(s) had untolerated taint {dedicated: gpu}.';
    const event = await waitFor('the FailedScheduling event', async () => (await eventMessages(cluster.client, ns, 'wants-2-cpus', 'FailedScheduling'))[0]);
    expect(event.startsWith(expected), event).to.equal(true);
    // No lower-priority pods anywhere: preemption says why it could not help either.
    expect(event).to.contain('preemption: 0/50 nodes are available: 38 No preemption victims found for incoming pod, 12 Preemption is not helpful for scheduling.');

    const condition = await waitFor('PodScheduled=False', async () =>
      (await getPod(cluster.client, ns, 'wants-2-cpus'))?.status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'),
    );
    expect(condition.reason).to.equal('Unschedulable');
    expect(condition.message?.startsWith(expected)).to.equal(true);
    expect(metricValue(await cluster.sched.metrics(), 'scheduler_schedule_attempts_total', { result: 'unschedulable' })).to.be.greaterThan(0);

    await createNodes(cluster.client, [nodeObject('roomy', { cpu: '4' })]);
    const bound = await waitForBound(cluster.client, ns, ['wants-2-cpus']);
    expect(bound.get('wants-2-cpus')).to.equal('roomy');
    const scheduled = await waitFor('the Scheduled event', async () => (await eventMessages(cluster.client, ns, 'wants-2-cpus', 'Scheduled'))[0]);
    expect(scheduled).to.equal(`Successfully assigned ${ns}/wants-2-cpus to roomy`);
  });
});
