// A preemption loop the chaos run's queue tenants found (controllers/kueue/admission.ts,
// bestEffortHead). cq-a (2 cpu, lends all, reclaimWithinCohort Any, BestEffortFIFO) and cq-b (1500m + borrowing 1,
// StrictFIFO) in one cohort. cq-b holds 2 cpu (borrowing 500m). cq-a holds 1 cpu (Job x) and has an
// older Workload that can never fit (6 cpu). Job y (1 cpu, within cq-a's nominal quota) reclaims:
// one of cq-b's Workloads is preempted and released — and then re-admitted at once, before y,
// and preempted again by y, over and over (483 preemptions of the same Workload in 30 s here);
// y is never admitted. Without the never-fitting Workload, y is admitted after one preemption.
import { expect } from 'chai';
import type { Workload } from '../../../shared/api/kueue.js';
import { Informer } from '../../../shared/client/informer.js';
import { CQ, JOBS, LQ, RF, WL, clusterQueueManifest, createNamespace, flavorManifest, isAdmittedWl, localQueueManifest, queueSuite, queuedJobManifest, waitFor } from './helpers.js';

describe('queue controller: a reclaiming workload is admitted after its victims release, whatever else waits in its queue', function () {
  this.timeout(180_000);
  const cluster = queueSuite('kueue-preemption-loop');

  it('one preemption, then the preemptor is admitted (an older never-fitting workload in its queue)', async () => {
    const client = cluster.client;
    await client.create(RF, flavorManifest('default'));
    await client.create(CQ, clusterQueueManifest('cq-a', { cohort: 'team', cpu: '2', weight: '2', strategy: 'BestEffortFIFO', preemption: { reclaimWithinCohort: 'Any' } }));
    await client.create(CQ, clusterQueueManifest('cq-b', { cohort: 'team', cpu: '1500m', borrowingLimit: '1', strategy: 'StrictFIFO' }));
    for (const [ns, cq] of [['team-a', 'cq-a'], ['team-b', 'cq-b']] as const) {
      await createNamespace(client, ns);
      await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', cq));
    }
    const preempted: string[] = [];
    const wls = new Informer<Workload>({ client, ref: WL });
    wls.addHandlers({
      update: (old, wl) => {
        const was = old.status.conditions?.find((c) => c.type === 'Preempted')?.status === 'True';
        if (!was && wl.status.conditions?.find((c) => c.type === 'Preempted')?.status === 'True') preempted.push(wl.metadata.name ?? '');
      },
    });
    await wls.start();
    try {
      const all = async (ns: string) => (await client.list<{ items: Workload[] }>({ ...WL, namespace: ns })).items;
      for (let i = 0; i < 2; i++) await client.create({ ...JOBS, namespace: 'team-b' }, queuedJobManifest(`b-${i}`, { queue: 'lq', cpu: '1' }));
      await waitFor(async () => (await all('team-b')).filter(isAdmittedWl).length === 2 || undefined, 'both of cq-b\'s Jobs admitted', 30_000, 100);
      await client.create({ ...JOBS, namespace: 'team-a' }, queuedJobManifest('too-big', { queue: 'lq', cpu: '6' }));
      await waitFor(async () => (await all('team-a')).some((w) => w.status.conditions?.some((c) => c.type === 'QuotaReserved' && c.status === 'False')) || undefined, 'too-big pending', 30_000, 100);
      await client.create({ ...JOBS, namespace: 'team-a' }, queuedJobManifest('x', { queue: 'lq', cpu: '1' }));
      await waitFor(async () => (await all('team-a')).filter(isAdmittedWl).length === 1 || undefined, 'x admitted', 30_000, 100);
      await client.create({ ...JOBS, namespace: 'team-a' }, queuedJobManifest('y', { queue: 'lq', cpu: '1' }));
      try {
        await waitFor(async () => (await all('team-a')).filter(isAdmittedWl).length === 2 || undefined, 'y admitted', 30_000, 100);
      } catch (err) {
        throw new Error(`${(err as Error).message}; meanwhile ${preempted.length} preemptions (${[...new Set(preempted)].join(', ')})`);
      }
      expect(preempted, 'one victim, preempted once').to.have.length(1);
    } finally {
      await wls.stop();
    }
  });
});
