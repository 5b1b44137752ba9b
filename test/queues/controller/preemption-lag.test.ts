// A preemption loop the chaos run found (one Workload preempted 5 times by the same preemptor):
// the victim's release reaches the controller through its Workload informer before the
// ClusterQueue's ledger shows it (two informers, one transaction). While they disagree the
// controller does not decide for a head that does not fit ("behind": it might preempt what is
// already free) — but a BestEffortFIFO queue then went on past that head, and admitted the next
// workload that fit: the victim just released, into the room it shared with the preemptor. Once
// the ledger caught up, the preemptor preempted it again. Here the controller's ClusterQueue
// events are held from the victim's release on, so that window is as long as the test needs.
import { expect } from 'chai';
import type { Workload } from '../../../shared/api/kueue.js';
import type { ApiClient, RequestOptions, ResourceRef } from '../../../shared/client/http-client.js';
import { Informer } from '../../../shared/client/informer.js';
import { WatchHoldingClient } from '../../clients/watch-holding-client.js';
import { workloadSuite } from '../../workloads/cluster.js';
import {
  CQ,
  JOBS,
  LQ,
  POOL_LABEL,
  RF,
  WL,
  clusterQueueManifest,
  createNamespace,
  flavorManifest,
  isAdmittedWl,
  localQueueManifest,
  queuedJobManifest,
  startQueueControllers,
  waitFor,
  type QueueControllers,
} from './helpers.js';

/** The queue controller's client: from the victim's release on, its ClusterQueue events are held. */
class LaggingLedgerClient extends WatchHoldingClient {
  /** The Workload whose release starts the hold. */
  victim: string | undefined;

  override async update<T>(ref: ResourceRef, body: unknown, query?: RequestOptions['query']): Promise<T> {
    const wl = body as Workload;
    if (ref.resource === 'workloads' && ref.subresource === 'status' && ref.name === this.victim && wl.status.admission === undefined) {
      this.victim = undefined;
      this.hold('clusterqueues');
    }
    return super.update<T>(ref, body, query);
  }
}

const reserved = (wl: Workload) => wl.status.conditions?.some((c) => c.type === 'QuotaReserved' && c.status === 'True') ?? false;

describe('queue controller: a preemptor gets what its victim released, even while the ledger lags the workloads', function () {
  this.timeout(120_000);
  let controllerClient: LaggingLedgerClient | undefined;
  const cluster = workloadSuite<QueueControllers>({
    name: 'kueue-preemption-lag',
    hollowNodes: 4,
    hollowArgs: [`--labels=${POOL_LABEL}=batch`],
    startControllers: async (client: ApiClient) => {
      controllerClient = new LaggingLedgerClient({ ...client.config, retries: 0 });
      const started = await startQueueControllers(controllerClient, 1);
      return {
        ...started,
        async stop() {
          controllerClient?.release();
          await started.stop();
          controllerClient?.close();
        },
      };
    },
  });

  it('the released victim is not admitted again past the preemptor waiting for its quota', async () => {
    const client = cluster.client;
    const ns = 'lag-team';
    await client.create(RF, flavorManifest('default'));
    await client.create(CQ, clusterQueueManifest('cq', { cpu: '2', strategy: 'BestEffortFIFO', preemption: { withinClusterQueue: 'LowerPriority' } }));
    await createNamespace(client, ns);
    await client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', 'cq'));
    const all = async () => (await client.list<{ items: Workload[] }>({ ...WL, namespace: ns })).items;
    const ofJob = (wls: Workload[], job: string) => wls.find((w) => w.metadata.ownerReferences?.some((r) => r.name === job));

    // What the test sees of the victim: each time it is preempted, and each reservation.
    const history: string[] = [];
    const wls = new Informer<Workload>({ client, ref: { ...WL, namespace: ns } });
    wls.addHandlers({
      update: (old, wl) => {
        if (!wl.metadata.ownerReferences?.some((r) => r.name === 'victim')) return;
        const preempted = (w: Workload) => w.status.conditions?.some((c) => c.type === 'Preempted' && c.status === 'True') ?? false;
        if (!preempted(old) && preempted(wl)) history.push('preempted');
        if (!reserved(old) && reserved(wl)) history.push('reserved');
        if (reserved(old) && !reserved(wl)) history.push('released');
      },
    });
    await wls.start();
    try {
      // 1 cpu + 500m of 2 admitted, the victim at the lowest priority: 500m free.
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('filler', { queue: 'lq', cpu: '1', priority: 50 }));
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('victim', { queue: 'lq', cpu: '500m', priority: 0 }));
      await waitFor(async () => (await all()).filter(isAdmittedWl).length === 2 || undefined, 'filler and victim admitted', 30_000, 100);
      controllerClient!.victim = ofJob(await all(), 'victim')!.metadata.name;
      await waitFor(() => {
        const victim = ofJob(wls.list(), 'victim');
        return victim !== undefined && reserved(victim);
      }, "the test's watch sees the victim reserved", 10_000, 20);
      history.length = 0;

      // 1 cpu at the highest priority: it preempts the victim (500m free + its 500m), not the filler.
      await client.create({ ...JOBS, namespace: ns }, queuedJobManifest('urgent', { queue: 'lq', cpu: '1', priority: 100 }));
      try {
        await waitFor(() => history.includes('released') || undefined, 'the victim released', 30_000, 20);
      } catch (err) {
        throw new Error(`${(err as Error).message}: ${JSON.stringify((await all()).map((w) => [w.metadata.name, w.status.conditions?.map((c) => `${c.type}=${c.status}`)]))}`);
      }
      expect(controllerClient!.holding('clusterqueues'), 'the ledger held from the release on').to.equal(true);
      // The release starts an admission cycle at once, and the controller resyncs every 2 s: the
      // held ledger stays behind through both.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(history, 'the victim while the ledger lags').to.deep.equal(['preempted', 'released']);

      controllerClient!.release('clusterqueues');
      await waitFor(async () => {
        const urgent = ofJob(await all(), 'urgent');
        return (urgent && isAdmittedWl(urgent)) || undefined;
      }, 'urgent admitted', 30_000, 100);
      expect(history, 'the victim, preempted once').to.deep.equal(['preempted', 'released']);
      expect(reserved(ofJob(await all(), 'victim')!), 'the victim waits').to.equal(false);
    } finally {
      controllerClient!.release();
      await wls.stop();
    }
  });
});
