// QueueingHints: a cluster change wakes only the parked pods it may help. A pod rejected by a
// label-based filter stays parked when room is released (it could not fit anyway), while a pod
// short of cpu is retried at once; a change the label filter registered (a node joining) wakes it.
import { expect } from 'chai';
import { MemoryCluster } from '../../../schedulers/testing/memory-cluster.js';
import { testNode, testPod } from '../../../schedulers/testing/harness.js';
import { counter, startMemoryScheduler, until } from './memory-scheduler.js';

describe('QueueingHints (in memory)', () => {
  it('room released on a node wakes the pod short of cpu, not the one no node selects', async () => {
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('a', { cpu: '4' }));
    cluster.addPod(testPod('filler', { cpu: '3500m', node: 'a' }));
    const run = await startMemoryScheduler({ cluster });
    try {
      const unschedulable = () => counter(run.metrics, 'scheduler_schedule_attempts_total', { result: 'unschedulable' });
      cluster.addPod(testPod('hungry', { cpu: '1' }));
      const selective = testPod('selective');
      cluster.addPod({ ...selective, spec: { ...selective.spec, nodeSelector: { pool: 'gpu' } } });
      const parked = (name: string) => cluster.events.some((e) => e.object === `Pod/default/${name}` && e.reason === 'FailedScheduling');
      await until('both pods parked', () => parked('hungry') && parked('selective'));
      const attemptsBefore = await unschedulable();

      // The filler goes: its node's ledger gives the room back (PodGone, then RoomReleased).
      cluster.deletePod('default', 'filler');
      await until('hungry bound', () => cluster.pod('default', 'hungry')?.spec.nodeName === 'a');
      expect(cluster.pod('default', 'selective')?.spec.nodeName, 'selective placed').to.equal(undefined);
      // Only NodeAffinity rejected `selective`, and it did not register room changes: not retried.
      expect(await unschedulable()).to.equal(attemptsBefore);
      expect(await counter(run.metrics, 'cell_scheduler_queue_hint_skips_total')).to.be.greaterThan(0);

      // A node that its selector matches joins: NodeAffinity registered NodeAdded, so it is retried.
      cluster.addNode(testNode('g', { labels: { pool: 'gpu' } }));
      await until('selective bound', () => cluster.pod('default', 'selective')?.spec.nodeName === 'g');
      expect(cluster.audit()).to.deep.equal([]);
    } finally {
      await run.stop();
    }
  });

  it('a pod whose rejecter is unknown (no diagnosis) is woken by any change', async () => {
    // A ledger refusal the scheduler could not foresee (an ignored resource the ledger enforces)
    // parks the pod without a diagnosis: room released anywhere must retry it.
    const FPGA = 'example.com/fpga';
    const cluster = new MemoryCluster();
    cluster.addNode(testNode('a', { cpu: '4', extra: { [FPGA]: '1' } }));
    cluster.addPod(testPod('holder', { extra: { [FPGA]: '1' }, node: 'a' }));
    const run = await startMemoryScheduler({ cluster, plugins: { NodeResourcesFit: { ignoredResources: [FPGA] } } });
    try {
      cluster.addPod(testPod('wants-fpga', { extra: { [FPGA]: '1' } }));
      await until('wants-fpga refused by the ledger', () => cluster.events.some((e) => e.object === 'Pod/default/wants-fpga' && e.reason === 'FailedScheduling'));
      cluster.deletePod('default', 'holder');
      await until('wants-fpga bound once the fpga is free', () => cluster.pod('default', 'wants-fpga')?.spec.nodeName === 'a');
    } finally {
      await run.stop();
    }
  });
});
