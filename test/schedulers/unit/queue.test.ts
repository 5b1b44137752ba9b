// The scheduling queue on a fake clock: order, backoff, parking of unschedulable pods and the
// events that bring them back, in-flight bookkeeping, gang activation.
import { expect } from 'chai';
import { podInfoOf } from '../../../schedulers/cache/pod-info.js';
import { byPriorityThenAge } from '../../../schedulers/plugins/priority-sort.js';
import { SchedulingQueue } from '../../../schedulers/queue/scheduling-queue.js';
import { pod } from './fake-cluster.js';

function makeQueue() {
  let now = 1_000_000;
  const queue = new SchedulingQueue({ less: byPriorityThenAge, now: () => now, flushIntervalMs: 0 });
  return { queue, advance: (ms: number) => (now += ms) };
}

const info = (name: string, o: Parameters<typeof pod>[1] = {}) => podInfoOf(pod(name, o));

describe('SchedulingQueue', () => {
  it('pops higher priority first, then first come first served', () => {
    const { queue, advance } = makeQueue();
    queue.add(info('low-old', { priority: 1 }));
    advance(1);
    queue.add(info('high', { priority: 10 }));
    advance(1);
    queue.add(info('low-new', { priority: 1 }));
    expect([queue.tryPop(), queue.tryPop(), queue.tryPop()].map((q) => q?.podInfo.name)).to.deep.equal(['high', 'low-old', 'low-new']);
    expect(queue.tryPop()).to.equal(undefined);
  });

  it('backs off 1 s, 2 s, 4 s … up to 10 s per attempt', () => {
    const { queue } = makeQueue();
    expect([1, 2, 3, 4, 5, 6].map((a) => queue.backoffDuration(a))).to.deep.equal([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('retries an errored pod after its backoff', () => {
    const { queue, advance } = makeQueue();
    queue.add(info('p'));
    const q = queue.tryPop()!;
    queue.requeue(q, 'backoff');
    expect(queue.counts()).to.include({ active: 0, backoff: 1 });
    advance(999);
    queue.flush();
    expect(queue.tryPop()).to.equal(undefined);
    advance(1);
    queue.flush();
    expect(queue.tryPop()?.podInfo.name).to.equal('p');
  });

  it('parks unschedulable pods until the cluster changes (or 60 s pass)', () => {
    const { queue, advance } = makeQueue();
    queue.add(info('a'));
    queue.add(info('b'));
    const qa = queue.tryPop()!;
    const qb = queue.tryPop()!;
    queue.requeue(qa, 'unschedulable');
    queue.requeue(qb, 'unschedulable');
    expect(queue.counts()).to.include({ unschedulable: 2, active: 0 });
    // A cluster change: back into play (after their 1 s backoff).
    queue.moveAllToActiveOrBackoff((q) => q.podInfo.name === 'a');
    expect(queue.counts()).to.include({ unschedulable: 1, backoff: 1 });
    advance(1000);
    queue.flush();
    expect(queue.tryPop()?.podInfo.name).to.equal('a');
    // Nothing happens for a minute: retried anyway.
    advance(60_000);
    queue.flush();
    expect(queue.tryPop()?.podInfo.name).to.equal('b');
  });

  it('does not park a pod that failed while the cluster changed (the change may have fixed it)', () => {
    const { queue, advance } = makeQueue();
    queue.add(info('p'));
    const q = queue.tryPop()!;
    queue.moveAllToActiveOrBackoff();
    queue.requeue(q, 'unschedulable');
    expect(queue.counts()).to.include({ unschedulable: 0, backoff: 1 });
    advance(1000);
    queue.flush();
    expect(queue.tryPop()?.podInfo.name).to.equal('p');
  });

  it('keeps the newest version of an in-flight pod and drops one deleted meanwhile', () => {
    const { queue } = makeQueue();
    const v1 = info('p', { cpu: '1' });
    queue.add(v1);
    const q = queue.tryPop()!;
    const v2 = podInfoOf({ ...v1.pod, metadata: { ...v1.pod.metadata, labels: { v: '2' } } });
    queue.update(v2, true);
    expect(queue.counts()).to.include({ active: 0, inFlight: 1 });
    expect(queue.requeue(q, 'active')).to.equal(true);
    expect(queue.tryPop()?.podInfo.labels).to.deep.equal({ v: '2' });
    const again = queue.tryPop() ?? q;
    queue.delete(v1.key);
    expect(queue.requeue(again, 'active')).to.equal(false);
    expect(queue.counts()).to.deep.equal({ active: 0, backoff: 0, unschedulable: 0, inFlight: 0 });
  });

  it('a status-only update leaves a parked pod parked; a spec or label change retries it', () => {
    const { queue } = makeQueue();
    const p = info('p');
    queue.add(p);
    queue.requeue(queue.tryPop()!, 'unschedulable');
    queue.update(p, false);
    expect(queue.counts().unschedulable).to.equal(1);
    queue.update(p, true);
    expect(queue.counts().unschedulable).to.equal(0);
  });

  it('brings a gang’s parked and backing-off members to the front together', () => {
    const { queue, advance } = makeQueue();
    const member = (n: string) => info(n, { labels: { 'scheduling.x-k8s.io/pod-group': 'g' } });
    for (const n of ['m1', 'm2', 'm3']) {
      queue.add(member(n));
      advance(1);
    }
    queue.add(info('other'));
    const [m1, m2, m3] = [queue.tryPop()!, queue.tryPop()!, queue.tryPop()!];
    queue.requeue(m2, 'unschedulable');
    queue.requeue(m3, 'backoff');
    queue.activateGroup('default/g');
    const order = [queue.tryPop(), queue.tryPop(), queue.tryPop()].map((q) => q?.podInfo.name);
    expect(order).to.have.members(['m2', 'm3', 'other']);
    expect(m1.podInfo.name).to.equal('m1');
  });
});
