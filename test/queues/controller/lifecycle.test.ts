// A queued Job end to end, on real etcd with a real scheduler and hollow nodes: held suspended
// (no pods) while its LocalQueue is missing, saying why; admitted once it fits, unsuspended with
// its flavor's node labels in its pods' nodeSelector; run to completion; its Workload Finished and
// the ClusterQueue's ledger back to zero. A gang Job is admitted whole or not at all.
import { expect } from 'chai';
import type { Event, Pod } from '../../../shared/api/core.js';
import type { ClusterQueue, LocalQueue } from '../../../shared/api/kueue.js';
import {
  CQ,
  LQ,
  POOL_LABEL,
  RF,
  ReservationWatch,
  clusterQueueManifest,
  cond,
  createNamespace,
  flavorManifest,
  getJob,
  isAdmittedWl,
  isFinishedWl,
  ledgerOf,
  localQueueManifest,
  queueSuite,
  queuedJobManifest,
  waitFor,
  waitJobCondition,
  waitWorkload,
  workloadOfJob,
  JOBS,
} from './helpers.js';
import { ActiveWatch } from '../../workloads/job-helpers.js';

describe('queue controller: a queued Job from submission to completion', function () {
  this.timeout(180_000);
  const cluster = queueSuite('kueue-life');

  before(async () => {
    await cluster.client.create(RF, flavorManifest('batch', { [POOL_LABEL]: 'batch' }));
  });

  it('is held suspended while its LocalQueue is missing, then admitted with the flavor, run, finished, and its quota released', async () => {
    const client = cluster.client;
    const ns = 'kueue-life';
    await createNamespace(client, ns);
    await client.create(CQ, clusterQueueManifest('life', { flavor: 'batch', cpu: '2' }));
    const watch = new ReservationWatch(client, { life: 2000n });
    await watch.start();
    try {
      const created = await getJobAfterCreate(ns);
      expect(created.spec.suspend, 'created suspended by the API server').to.equal(true);

      // No LocalQueue yet: the Workload says why it waits, with an Event; the Job has no pods.
      const waiting = await waitWorkload(client, ns, 'work', (wl) => cond(wl, 'QuotaReserved')?.reason === 'Inadmissible', 'inadmissible');
      expect(cond(waiting, 'QuotaReserved')).to.include({ status: 'False', message: "LocalQueue lq doesn't exist" });
      expect(waiting.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'batch/v1', kind: 'Job', name: 'work', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true }]);
      expect(waiting.spec.podSets.map((p) => [p.name, p.count])).to.deep.equal([['main', 2]]);
      expect(waiting.spec.queueName).to.equal('lq');
      expect((await pods(ns)).length, 'no pods while not admitted').to.equal(0);
      expect((await getJob(client, ns, 'work')).spec.suspend).to.equal(true);
      await waitFor(async () => (await events(ns)).some((e) => e.involvedObject.kind === 'Workload' && e.reason === 'Inadmissible'), 'an Inadmissible event', 20_000, 100);

      await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', 'life'));
      const admitted = await waitWorkload(client, ns, 'work', isAdmittedWl, 'admitted');
      expect(admitted.status.admission).to.deep.equal({ clusterQueue: 'life', podSetAssignments: [{ name: 'main', flavors: { cpu: 'batch' }, resourceUsage: { cpu: '2' }, count: 2 }] });
      expect(cond(admitted, 'QuotaReserved')).to.include({ status: 'True', reason: 'QuotaReserved', message: 'Quota reserved in ClusterQueue life' });

      const job = await waitJobCondition(client, ns, 'work', 'Complete');
      expect(job.status.succeeded).to.equal(2);
      expect(job.spec.template.spec.nodeSelector).to.deep.equal({ [POOL_LABEL]: 'batch' });
      const ran = await pods(ns);
      expect(ran).to.have.length(2);
      for (const p of ran) {
        expect(p.spec.nodeSelector, 'the flavor’s node labels').to.deep.equal({ [POOL_LABEL]: 'batch' });
        expect(p.spec.nodeName).to.match(/^kueue-life-node-/);
      }

      const finished = await waitWorkload(client, ns, 'work', isFinishedWl, 'finished');
      expect(cond(finished, 'Finished')).to.include({ status: 'True', reason: 'Succeeded' });
      const cq = await waitFor(async () => {
        const q = await client.get<ClusterQueue>({ ...CQ, name: 'life' });
        return Object.keys(ledgerOf(q)).length === 0 && q.status.admittedWorkloads === 0 ? q : undefined;
      }, 'the ledger released and the status updated', 30_000, 100);
      expect(cq.status.conditions?.find((c) => c.type === 'Active')).to.include({ status: 'True', reason: 'Ready' });
      const lq = await waitFor(async () => {
        const q = await client.get<LocalQueue>({ ...LQ, namespace: ns, name: 'lq' });
        return q.status.reservingWorkloads === 0 && q.status.pendingWorkloads === 0 ? q : undefined;
      }, 'the LocalQueue status', 30_000, 100);
      expect(lq.status.conditions?.find((c) => c.type === 'Active')?.status).to.equal('True');

      const reasons = (await events(ns)).filter((e) => e.involvedObject.kind === 'Workload').map((e) => e.reason);
      expect(reasons).to.include.members(['QuotaReserved', 'Admitted']);
      const jobReasons = (await events(ns)).filter((e) => e.involvedObject.kind === 'Job').map((e) => e.reason);
      expect(jobReasons).to.include.members(['CreatedWorkload', 'Started']);
      watch.expectWithinLimits();
      expect(watch.most.get('life')).to.equal(2000n);

      const metrics = await cluster.controllers.instances[0]!.metrics();
      expect(metrics).to.match(/kueue_admitted_workloads_total\{cluster_queue="life"\} 1/);
      expect(metrics).to.match(/kueue_cluster_queue_nominal_quota\{cohort="",cluster_queue="life",flavor="batch",resource="cpu"\} 2/);
      expect(metrics).to.match(/kueue_admission_wait_time_seconds_count\{cluster_queue="life"\} 1/);
    } finally {
      await watch.stop();
    }

    async function getJobAfterCreate(namespace: string) {
      await client.create({ ...JOBS, namespace }, queuedJobManifest('work', { queue: 'lq', parallelism: 2, runSeconds: 1 }));
      await workloadOfJob(client, namespace, 'work');
      return getJob(client, namespace, 'work');
    }
  });

  it('a gang of 4 pods in a queue of 3 cpu is never started; a gang of 3 runs all at once', async () => {
    const client = cluster.client;
    const ns = 'kueue-gang';
    await createNamespace(client, ns);
    await client.create(CQ, clusterQueueManifest('gang', { flavor: 'batch', cpu: '3' }));
    await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', 'gang'));
    await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('four', { queue: 'lq', parallelism: 4, runSeconds: 1 }));
    const refused = await waitWorkload(client, ns, 'four', (wl) => cond(wl, 'QuotaReserved')?.reason === 'Pending', 'pending');
    expect(cond(refused, 'QuotaReserved')?.message).to.equal("couldn't assign flavors to pod set main: insufficient unused quota for cpu in flavor batch, 1 more needed");

    const active = new ActiveWatch(client, ns);
    await active.start();
    try {
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('three', { queue: 'lq', parallelism: 3, runSeconds: 2 }));
      const admitted = await waitWorkload(client, ns, 'three', isAdmittedWl, 'admitted');
      expect(admitted.status.admission?.podSetAssignments[0]).to.include({ count: 3 });
      await waitJobCondition(client, ns, 'three', 'Complete');
      expect(active.maxActive, 'all three pods at once').to.equal(3);
    } finally {
      await active.stop();
    }
    const all = await pods(ns);
    expect(all.filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'three')).to.have.length(3);
    expect(all.filter((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'four'), 'the gang that does not fit has no pod').to.have.length(0);
    const four = await getJob(client, ns, 'four');
    expect(four.spec.suspend).to.equal(true);
    expect(isAdmittedWl(await workloadOfJob(client, ns, 'four'))).to.equal(false);
  });

  it('stopPolicy HoldAndDrain evicts what the queue holds: the Job stops, its quota is released; None admits it again', async () => {
    const client = cluster.client;
    const ns = 'kueue-drain';
    await createNamespace(client, ns);
    await client.create(CQ, clusterQueueManifest('drain', { flavor: 'batch', cpu: '1' }));
    await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', 'drain'));
    await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('steady', { queue: 'lq' }));
    await waitWorkload(client, ns, 'steady', isAdmittedWl, 'admitted');
    await waitFor(async () => (await pods(ns)).some((p) => p.status.phase === 'Running') || undefined, 'its pod running', 60_000, 100);

    await client.patch({ ...CQ, name: 'drain' }, { spec: { stopPolicy: 'HoldAndDrain' } }, 'merge');
    const evicted = await waitWorkload(client, ns, 'steady', (wl) => cond(wl, 'Evicted')?.status === 'True', 'evicted');
    expect(cond(evicted, 'Evicted')).to.include({ reason: 'ClusterQueueStopped', message: 'The ClusterQueue is stopped' });
    const released = await waitWorkload(client, ns, 'steady', (wl) => wl.status.admission === undefined && cond(wl, 'QuotaReserved')?.reason === 'Inadmissible', 'released, waiting on the stopped queue');
    expect(cond(released, 'QuotaReserved')).to.include({ status: 'False', message: 'ClusterQueue drain is inactive' });
    expect(cond(released, 'Requeued')).to.include({ status: 'True', reason: 'ClusterQueueStopped' });
    expect((await getJob(client, ns, 'steady')).spec.suspend).to.equal(true);
    expect((await pods(ns)).filter((p) => p.status.phase !== 'Succeeded' && p.status.phase !== 'Failed'), 'no pod left running once released').to.have.length(0);
    const stopped = await waitFor(async () => {
      const q = await client.get<ClusterQueue>({ ...CQ, name: 'drain' });
      return q.status.conditions?.find((c) => c.type === 'Active' && c.status === 'False') ? q : undefined;
    }, 'the queue inactive', 30_000, 100);
    expect(stopped.status.conditions?.find((c) => c.type === 'Active')?.reason).to.equal('Stopped');

    await client.patch({ ...CQ, name: 'drain' }, { spec: { stopPolicy: 'None' } }, 'merge');
    await waitWorkload(client, ns, 'steady', isAdmittedWl, 'admitted again');
    await waitFor(async () => (await getJob(client, ns, 'steady')).spec.suspend === false || undefined, 'the Job running again', 30_000, 100);
  });

  async function pods(ns: string): Promise<Pod[]> {
    return (await cluster.client.list<{ items: Pod[] }>({ resource: 'pods', namespace: ns })).items;
  }

  async function events(ns: string): Promise<Event[]> {
    return (await cluster.client.list<{ items: Event[] }>({ resource: 'events', namespace: ns })).items;
  }
});
