// Preemption and disruption budgets, end to end with a real scheduler process: among nodes where
// evicting lower-priority pods makes room, the scheduler prefers the one whose victims no
// PodDisruptionBudget protects (Kubernetes' DefaultPreemption); a budget makes a victim less
// likely, not impossible.
import { expect } from 'chai';
import { createNamespace, createNodes, createPods, getPod, holds, nodeObject, podObject, schedulerSuite, waitFor, waitForBound } from '../schedulers/helpers.js';
import { createBudget, getBudget } from './helpers.js';

describe('preemption prefers victims no disruption budget protects', function () {
  this.timeout(60_000);
  const cluster = schedulerSuite();
  const ns = 'pdb-preempt';
  const on = (node: string) => ({ nodeSelector: { 'kubernetes.io/hostname': node } });

  before(async () => {
    await createNamespace(cluster.client, ns);
    // node-a comes first in the scheduler's node order, so without budgets it would win the tie.
    await createNodes(cluster.client, [nodeObject('node-a', { cpu: '1' }), nodeObject('node-b', { cpu: '1' })]);
    // No pod here is Running and Ready (no agent), so the budget allows no disruption at all.
    await createBudget(cluster.client, 'guarded', { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } }, ns);
    await createPods(cluster.client, ns, [
      podObject('guarded', { cpu: '1', priority: 1, grace: 30, labels: { app: 'guarded' }, spec: on('node-a') }),
      podObject('free', { cpu: '1', priority: 1, grace: 30, labels: { app: 'free' }, spec: on('node-b') }),
    ]);
    await waitForBound(cluster.client, ns, ['guarded', 'free']);
    expect((await getBudget(cluster.client, 'guarded', ns)).status.disruptionsAllowed).to.equal(0);
  });

  it('evicts the unprotected pod on node-b, not the protected one on node-a', async () => {
    await createPods(cluster.client, ns, [podObject('important', { cpu: '1', priority: 10 })]);
    const nominated = await waitFor('status.nominatedNodeName', async () => (await getPod(cluster.client, ns, 'important'))?.status.nominatedNodeName);
    expect(nominated).to.equal('node-b');
    // The scheduler evicts its victims beside writing the nomination, not before it: the one may
    // land before the other on a loaded machine.
    await waitFor('the unprotected victim marked for deletion', async () => (await getPod(cluster.client, ns, 'free'))?.metadata.deletionTimestamp);
    expect(await holds(1000, async () => (await getPod(cluster.client, ns, 'guarded'))?.metadata.deletionTimestamp === undefined)).to.equal(true);
  });

  it('still preempts a protected pod when it is the only way to make room', async () => {
    await createPods(cluster.client, ns, [podObject('urgent', { cpu: '1', priority: 20, spec: on('node-a') })]);
    const nominated = await waitFor('status.nominatedNodeName', async () => (await getPod(cluster.client, ns, 'urgent'))?.status.nominatedNodeName);
    expect(nominated).to.equal('node-a');
    await waitFor('the protected victim marked for deletion', async () => (await getPod(cluster.client, ns, 'guarded'))?.metadata.deletionTimestamp);
  });
});
