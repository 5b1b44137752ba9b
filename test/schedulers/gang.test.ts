// Gang scheduling (Coscheduling + PodGroup), end to end: a group's pods are bound all together in
// one AllOrNothing Placement or not at all; a group that cannot be placed within its
// scheduleTimeoutSeconds says so in its status and events, and is retried when the cluster changes.
import { expect } from 'chai';
import { createNamespace, createNodes, createPods, eventMessages, getPodGroup, holds, listPods, nodeObject, podObject, waitFor, waitForBound, schedulerSuite } from './helpers.js';
import { metricValue } from './scheduler-process.js';
import { revisionOf } from '../../apiserver/storage/resource-version.js';

function podGroup(name: string, minMember: number, scheduleTimeoutSeconds?: number) {
  return {
    apiVersion: 'scheduling.x-k8s.io/v1alpha1',
    kind: 'PodGroup',
    metadata: { name },
    spec: { minMember, ...(scheduleTimeoutSeconds ? { scheduleTimeoutSeconds } : {}) },
  };
}

describe('scheduler: gang scheduling (PodGroup)', function () {
  this.timeout(60_000);
  const cluster = schedulerSuite();
  const ns = 'gang';

  before(async () => {
    await createNamespace(cluster.client, ns);
  });

  const member = (name: string, group: string, cpu: string) => podObject(name, { cpu, labels: { 'scheduling.x-k8s.io/pod-group': group } });
  const boundIn = async (names: string[]) => (await listPods(cluster.client, ns)).filter((p) => names.includes(p.metadata.name ?? '') && p.spec.nodeName).length;

  it('binds no member until all fit, reports the timeout on the PodGroup, then binds all in one transaction', async () => {
    await createNodes(cluster.client, [nodeObject('g-1', { cpu: '2' }), nodeObject('g-2', { cpu: '2' })]);
    await cluster.client.create({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: ns, resource: 'podgroups' }, podGroup('trio', 3, 2));
    const names = ['trio-0', 'trio-1', 'trio-2'];
    await createPods(cluster.client, ns, names.map((n) => member(n, 'trio', '2')));

    // Two of the three would fit: all or nothing means none is bound.
    const condition = await waitFor('PodGroupScheduled=False on the PodGroup', async () =>
      (await getPodGroup(cluster.client, ns, 'trio')).status.conditions?.find((c) => c.type === 'PodGroupScheduled' && c.status === 'False'),
    );
    expect(condition.reason).to.equal('Unschedulable');
    expect(condition.message).to.match(/^gang gang\/trio could not be scheduled within 2s: /);
    expect(await boundIn(names)).to.equal(0);
    const groupEvents = await waitFor('a Warning event on the PodGroup', async () => {
      const msgs = await eventMessages(cluster.client, ns, 'trio', 'Unschedulable');
      return msgs.length > 0 ? msgs : undefined;
    });
    expect(groupEvents[0]).to.contain('could not be scheduled within 2s');
    expect(await holds(1000, async () => (await boundIn(names)) === 0)).to.equal(true);

    // Room for the third: all three are bound, by one AllOrNothing Placement (one etcd transaction).
    await createNodes(cluster.client, [nodeObject('g-3', { cpu: '2' })]);
    const bound = await waitForBound(cluster.client, ns, names);
    expect(new Set(bound.values()).size).to.equal(3);
    const pods = (await listPods(cluster.client, ns)).filter((p) => names.includes(p.metadata.name ?? ''));
    expect(new Set(pods.map((p) => revisionOf(Number(p.metadata.resourceVersion)))).size, 'one transaction').to.equal(1);
    expect(metricValue(await cluster.sched.metrics(), 'cell_scheduler_commits_total', { kind: 'gang', outcome: 'bound' })).to.equal(1);
    const status = await waitFor('phase Scheduled', async () => {
      const pg = await getPodGroup(cluster.client, ns, 'trio');
      return pg.status.phase === 'Scheduled' ? pg.status : undefined;
    });
    expect(status.scheduled).to.equal(3);
    expect(status.conditions?.find((c) => c.type === 'PodGroupScheduled')?.status).to.equal('True');
  });

  it('waits for minMember pods to exist before binding any', async () => {
    await createNodes(cluster.client, [nodeObject('g-4', { cpu: '2' })]);
    await cluster.client.create({ group: 'scheduling.x-k8s.io', version: 'v1alpha1', namespace: ns, resource: 'podgroups' }, podGroup('late', 3));
    await createPods(cluster.client, ns, [member('late-0', 'late', '100m'), member('late-1', 'late', '100m')]);
    const msg = await waitFor('FailedScheduling', async () => (await eventMessages(cluster.client, ns, 'late-0', 'FailedScheduling'))[0]);
    expect(msg).to.contain('cannot find enough sibling pods, current pods number: 2, minMember of group: 3');
    expect(await holds(1000, async () => (await boundIn(['late-0', 'late-1'])) === 0)).to.equal(true);
    await createPods(cluster.client, ns, [member('late-2', 'late', '100m')]);
    await waitForBound(cluster.client, ns, ['late-0', 'late-1', 'late-2']);
    expect(metricValue(await cluster.sched.metrics(), 'cell_scheduler_commits_total', { kind: 'gang', outcome: 'bound' })).to.equal(2);
  });
});
