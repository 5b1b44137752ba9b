// DefaultPreemption, end to end: a pod that fits nowhere evicts the fewest, lowest-priority pods on
// one node (graceful delete), waits for the room under status.nominatedNodeName, and is bound
// there once its victims are gone; pods of equal or higher priority are never victims.
import { expect } from 'chai';
import type { ApiClient } from '../../shared/client/http-client.js';
import { NotFoundError } from '../../shared/errors.js';
import { createNamespace, createNodes, createPods, eventMessages, getPod, holds, listPods, nodeObject, podObject, waitFor, waitForBound, schedulerSuite } from './helpers.js';
import { metricValue } from './scheduler-process.js';

/** Plays the node agent for graceful deletes: a pod marked for deletion is gone `afterMs` later. */
function finishGracefulDeletes(client: ApiClient, ns: string, afterMs: number): { stop(): Promise<void>; deleted: string[] } {
  let running = true;
  const deleted: string[] = [];
  const loop = (async () => {
    while (running) {
      for (const p of await listPods(client, ns)) {
        if (!p.metadata.deletionTimestamp || deleted.includes(p.metadata.name ?? '')) continue;
        deleted.push(p.metadata.name ?? '');
        setTimeout(() => {
          client.delete({ namespace: ns, resource: 'pods', name: p.metadata.name ?? '' }, { gracePeriodSeconds: 0 }).catch((err: unknown) => {
            if (!(err instanceof NotFoundError)) throw err;
          });
        }, afterMs);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    deleted,
    async stop() {
      running = false;
      await loop;
    },
  };
}

describe('scheduler: preemption', function () {
  this.timeout(60_000);
  const cluster = schedulerSuite();
  const ns = 'preempt';

  before(async () => {
    await createNamespace(cluster.client, ns);
    await createNodes(cluster.client, [nodeObject('node-a', { cpu: '2' }), nodeObject('node-b', { cpu: '2' })]);
    const on = (node: string) => ({ nodeSelector: { 'kubernetes.io/hostname': node } });
    await createPods(cluster.client, ns, [
      podObject('low-1', { cpu: '1', priority: 1, grace: 5, spec: on('node-a') }),
      podObject('low-2', { cpu: '1', priority: 1, grace: 5, spec: on('node-a') }),
      podObject('mid', { cpu: '1', priority: 5, grace: 5, spec: on('node-b') }),
      podObject('high', { cpu: '1', priority: 100, grace: 5, spec: on('node-b') }),
    ]);
    await waitForBound(cluster.client, ns, ['low-1', 'low-2', 'mid', 'high']);
  });

  it('evicts one lowest-priority pod, nominates its node, and binds there once the victim is gone', async () => {
    const agent = finishGracefulDeletes(cluster.client, ns, 1000);
    try {
      await createPods(cluster.client, ns, [podObject('important', { cpu: '1', priority: 10 })]);
      const nominated = await waitFor('status.nominatedNodeName', async () => (await getPod(cluster.client, ns, 'important'))?.status.nominatedNodeName);
      expect(nominated).to.equal('node-a');
      const bound = await waitForBound(cluster.client, ns, ['important']);
      expect(bound.get('important')).to.equal('node-a');
      // Exactly one victim, one of the two priority-1 pods; the others were never touched.
      expect(agent.deleted).to.have.length(1);
      expect(['low-1', 'low-2']).to.include(agent.deleted[0]);
      const victim = agent.deleted[0]!;
      const survivors = await listPods(cluster.client, ns);
      expect(survivors.map((p) => p.metadata.name).sort()).to.deep.equal(['high', 'important', 'mid', victim === 'low-1' ? 'low-2' : 'low-1'].sort());
      expect(survivors.every((p) => !p.metadata.deletionTimestamp)).to.equal(true);
      expect(await eventMessages(cluster.client, ns, victim, 'Preempted')).to.deep.equal([`Preempted by ${ns}/important on node node-a`]);
      const text = await cluster.sched.metrics();
      expect(metricValue(text, 'scheduler_preemption_attempts_total')).to.equal(1);
      expect(metricValue(text, 'scheduler_preemption_victims_sum')).to.equal(1);
    } finally {
      await agent.stop();
    }
  });

  it('never evicts pods of equal or higher priority', async () => {
    const agent = finishGracefulDeletes(cluster.client, ns, 0);
    try {
      // Needs a whole node. node-a: one priority-1 pod and `important` (10); node-b: mid (5), high (100).
      // Evicting the priority-1 pod would not make room, and mid is not lower than 5.
      await createPods(cluster.client, ns, [podObject('equal', { cpu: '2', priority: 5 })]);
      const msg = await waitFor('FailedScheduling', async () => (await eventMessages(cluster.client, ns, 'equal', 'FailedScheduling'))[0]);
      expect(msg).to.match(/^0\/2 nodes are available: 2 Insufficient cpu\. preemption: 0\/2 nodes are available: 2 No preemption victims found for incoming pod\./);
      expect(await holds(1500, async () => agent.deleted.length === 0)).to.equal(true);
      expect((await getPod(cluster.client, ns, 'equal'))?.status.nominatedNodeName).to.equal(undefined);
    } finally {
      await agent.stop();
    }
  });
});
