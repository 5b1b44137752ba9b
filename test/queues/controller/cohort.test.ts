// Borrowing and reclaiming within a cohort: queue b (2 cpu) borrows queue a's idle 2 cpu for a
// 4-pod Job; when a Job arrives in queue a that fits its nominal quota, the borrowing Job is
// preempted (its Workload Evicted/Preempted, saying by whom and why), its Job suspended, and its
// admission cleared only once none of its pods is left — checked on revisions: every pod of the
// victim ended before the write that released its quota. The cohort never holds more than its 4
// cpu at any revision; the victim runs again once quota frees.
import { expect } from 'chai';
import type { Event, Pod } from '../../../shared/api/core.js';
import type { ClusterQueue, Workload } from '../../../shared/api/kueue.js';
import { Informer } from '../../../shared/client/informer.js';
import { revision } from '../../../controllers/kueue/workload-view.js';
import {
  CQ,
  JOBS,
  LQ,
  RF,
  ReservationWatch,
  WL,
  clusterQueueManifest,
  cond,
  createNamespace,
  flavorManifest,
  getJob,
  isAdmittedWl,
  localQueueManifest,
  queueSuite,
  queuedJobManifest,
  waitFor,
  waitJobCondition,
  waitWorkload,
} from './helpers.js';

describe('queue controller: borrowing within a cohort, and reclaiming by preemption', function () {
  this.timeout(180_000);
  const cluster = queueSuite('kueue-cohort');

  it('a queue borrows idle quota and gives it back when its lender needs its nominal quota', async () => {
    const client = cluster.client;
    await client.create(RF, flavorManifest('default'));
    await client.create(CQ, clusterQueueManifest('cq-a', { cohort: 'team', cpu: '2', preemption: { reclaimWithinCohort: 'Any' } }));
    await client.create(CQ, clusterQueueManifest('cq-b', { cohort: 'team', cpu: '2' }));
    for (const [ns, cq] of [['team-a', 'cq-a'], ['team-b', 'cq-b']] as const) {
      await createNamespace(client, ns);
      await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', cq));
    }
    const watch = new ReservationWatch(client, { 'cq-a': 4000n, 'cq-b': 4000n }, { team: { queues: ['cq-a', 'cq-b'], limit: 4000n } });
    await watch.start();
    // When each of the borrower's pods stopped running (terminal or gone), and when its quota was released.
    const podEnds = new Map<string, bigint>();
    const pods = new Informer<Pod>({ client, ref: { resource: 'pods', namespace: 'team-b' } });
    const ended = (p: Pod) => {
      const uid = p.metadata.uid ?? '';
      if (!podEnds.has(uid)) podEnds.set(uid, revision(p.metadata.resourceVersion));
    };
    pods.addHandlers({ update: (_o, p) => (p.status.phase === 'Succeeded' || p.status.phase === 'Failed') && ended(p), delete: ended });
    const releases: { rv: bigint; podsSeen: number }[] = [];
    const workloads = new Informer<Workload>({ client, ref: { ...WL, namespace: 'team-b' } });
    workloads.addHandlers({
      update: (old, wl) => {
        if (old.status.admission && !wl.status.admission) releases.push({ rv: revision(wl.metadata.resourceVersion), podsSeen: pods.size });
      },
    });
    await pods.start();
    await workloads.start();
    try {
      // b borrows a's idle quota: 4 pods of 1 cpu on a nominal quota of 2.
      await client.create({ ...JOBS, namespace: 'team-b' }, queuedJobManifest('borrower', { queue: 'lq', parallelism: 4 }));
      await waitWorkload(client, 'team-b', 'borrower', isAdmittedWl, 'admitted, borrowing');
      const b = await waitFor(async () => {
        const q = await client.get<ClusterQueue>({ ...CQ, name: 'cq-b' });
        return q.status.fairSharing?.weightedShare === 500 ? q : undefined;
      }, 'cq-b borrowing half of what the cohort lends (weighted share 500)', 30_000, 100);
      expect(b.status.flavorsReservation?.[0]?.resources[0]).to.include({ name: 'cpu', total: '4', borrowed: '2' });
      await waitFor(async () => (await runningPods('team-b')).length === 4 || undefined, 'the borrower running 4 pods', 60_000, 100);

      // a's Job fits a's nominal quota: the borrower is preempted to give it back.
      await client.create({ ...JOBS, namespace: 'team-a' }, queuedJobManifest('owner', { queue: 'lq', parallelism: 2, runSeconds: 2 }));
      const victim = await waitWorkload(client, 'team-b', 'borrower', (wl) => cond(wl, 'Evicted')?.status === 'True', 'evicted');
      const owner = await waitWorkload(client, 'team-a', 'owner', () => true, 'exists');
      expect(cond(victim, 'Evicted')).to.include({ status: 'True', reason: 'Preempted' });
      expect(cond(victim, 'Preempted')).to.include({ status: 'True', reason: 'InCohortReclamation' });
      expect(cond(victim, 'Preempted')?.message).to.contain(`UID: ${owner.metadata.uid ?? ''}`).and.to.contain('due to reclamation within the cohort').and.to.contain(`team-a/${owner.metadata.name ?? ''} in ClusterQueue cq-a`);

      await waitWorkload(client, 'team-a', 'owner', isAdmittedWl, 'admitted');
      expect((await getJob(client, 'team-b', 'borrower')).spec.suspend, 'the victim’s Job is suspended').to.equal(true);
      const requeued = await waitWorkload(client, 'team-b', 'borrower', (wl) => cond(wl, 'Requeued')?.status === 'True', 'requeued');
      expect(cond(requeued, 'Requeued')).to.include({ reason: 'Preempted' });
      await waitJobCondition(client, 'team-a', 'owner', 'Complete');

      // Its quota was released only after every one of its pods had stopped.
      expect(releases.length, 'the admission was cleared once').to.be.greaterThan(0);
      const firstRelease = releases[0]!;
      expect(podEnds.size, 'all 4 of the borrower’s first pods ended').to.be.at.least(4);
      const firstPods = [...podEnds.values()].filter((rv) => rv < firstRelease.rv);
      expect(firstPods.length, 'pods that ended before the release').to.equal(4);

      // Quota freed: the victim is admitted again, borrowing again.
      await waitWorkload(client, 'team-b', 'borrower', isAdmittedWl, 're-admitted', 90_000);
      const events = (await client.list<{ items: Event[] }>({ resource: 'events', namespace: 'team-b' })).items;
      expect(events.some((e) => e.involvedObject.kind === 'Workload' && e.reason === 'Preempted' && (e.message ?? '').includes('reclamation within the cohort'))).to.equal(true);
      expect(events.some((e) => e.involvedObject.kind === 'Job' && e.reason === 'Stopped')).to.equal(true);
      watch.expectWithinLimits();
      expect(watch.most.get('team')).to.equal(4000n);

      const metrics = (await cluster.controllers.instances[0]!.metrics()).split('\n').filter((l) => /^kueue_(evicted|preempted)_workloads_total/.test(l));
      expect(metrics, 'one preemption').to.include.members(['kueue_evicted_workloads_total{cluster_queue="cq-b",reason="Preempted"} 1', 'kueue_preempted_workloads_total{preempting_cluster_queue="cq-a",reason="InCohortReclamation"} 1']);
    } finally {
      await workloads.stop();
      await pods.stop();
      await watch.stop();
    }
  });

  it('fair sharing: queues of weight 2 and 1 borrowing from an idle lender get 4 and 2 of its 6 cpu', async () => {
    const client = cluster.client;
    for (const [name, weight] of [['share-x', '2'], ['share-y', '1']] as const) {
      await client.create(CQ, clusterQueueManifest(name, { cohort: 'shares', cpu: '0', weight }));
      await createNamespace(client, name);
      await client.create({ ...LQ, namespace: name }, localQueueManifest('lq', name));
    }
    const watch = new ReservationWatch(client, {}, { shares: { queues: ['share-x', 'share-y', 'share-lender'], limit: 6000n } });
    await watch.start();
    try {
      // y's Jobs first: admitting in submission order would give y everything.
      for (const ns of ['share-y', 'share-x']) {
        for (let i = 0; i < 6; i++) await client.create({ ...JOBS, namespace: ns }, queuedJobManifest(`j-${i}`, { queue: 'lq' }));
      }
      for (const ns of ['share-y', 'share-x']) {
        for (let i = 0; i < 6; i++) await waitWorkload(client, ns, `j-${i}`, (wl) => cond(wl, 'QuotaReserved')?.reason === 'Pending', 'pending while nothing is lent');
      }
      // The lender arrives: one event, and every Workload is already waiting.
      await client.create(CQ, clusterQueueManifest('share-lender', { cohort: 'shares', cpu: '6' }));
      const held = async (ns: string) => (await client.list<{ items: Workload[] }>({ ...WL, namespace: ns })).items.filter(isAdmittedWl).length;
      await waitFor(async () => ((await held('share-x')) + (await held('share-y')) === 6) || undefined, 'the lender’s 6 cpu all lent', 60_000, 100);
      expect(await held('share-x'), 'weight 2').to.equal(4);
      expect(await held('share-y'), 'weight 1').to.equal(2);
      for (const name of ['share-x', 'share-y']) {
        const q = await waitFor(async () => {
          const cq = await client.get<ClusterQueue>({ ...CQ, name });
          return cq.status.fairSharing?.weightedShare === 333 ? cq : undefined;
        }, `${name} weighted share 333`, 30_000, 100);
        expect(q.status.admittedWorkloads).to.equal(name === 'share-x' ? 4 : 2);
      }
      watch.expectWithinLimits();
      expect(await cluster.controllers.instances[0]!.metrics()).to.match(/kueue_cluster_queue_weighted_share\{cluster_queue="share-x"\} 333/);
    } finally {
      await watch.stop();
      for (const ns of ['share-x', 'share-y']) for (let i = 0; i < 6; i++) await client.delete({ ...JOBS, namespace: ns, name: `j-${i}` });
    }
  });

  it('withinClusterQueue LowerPriority: a higher-priority Job preempts a lower one of its own queue', async () => {
    const client = cluster.client;
    const ns = 'prio';
    await createNamespace(client, ns);
    await client.create(CQ, clusterQueueManifest('prio', { cpu: '2', preemption: { withinClusterQueue: 'LowerPriority' } }));
    await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', 'prio'));
    await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('low', { queue: 'lq', parallelism: 2, priority: 0 }));
    await waitWorkload(client, ns, 'low', isAdmittedWl, 'admitted');
    await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('high', { queue: 'lq', parallelism: 2, priority: 100, runSeconds: 1 }));
    const victim = await waitWorkload(client, ns, 'low', (wl) => cond(wl, 'Preempted')?.status === 'True', 'preempted');
    expect(cond(victim, 'Preempted')).to.include({ reason: 'InClusterQueue' });
    expect(cond(victim, 'Preempted')?.message).to.contain('due to prioritization in the ClusterQueue');
    const high = await waitWorkload(client, ns, 'high', isAdmittedWl, 'admitted');
    expect(high.spec.priority).to.equal(100);
    await waitJobCondition(client, ns, 'high', 'Complete');
    await waitWorkload(client, ns, 'low', isAdmittedWl, 'admitted again once the high-priority Job is done', 60_000);
  });

  async function runningPods(ns: string): Promise<Pod[]> {
    return (await cluster.client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns })).items.filter((p) => p.status.phase === 'Running' && p.metadata.deletionTimestamp === undefined);
  }
});
