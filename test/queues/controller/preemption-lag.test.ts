// A preemption loop the chaos run found (one Workload preempted 5 times by the same preemptor):
// the victim's release reaches the controller through its Workload informer before the
// ClusterQueue's ledger shows it (two informers, one transaction). While they disagree the
// controller does not decide for a head that does not fit ("behind": it might preempt what is
// already free) — but the cycle went on past that head and admitted the next workload that fit:
// the victim just released, into the room it shared with the preemptor (further down a
// BestEffortFIFO queue, or as a borrower in another queue of the cohort). Once the ledger caught
// up, the preemptor preempted it again. Here the controller's ClusterQueue events are held from
// the victim's release on, so that window is as long as the test needs.
import { expect } from 'chai';
import type { Workload } from '../../../shared/api/kueue.js';
import type { ApiClient, RequestOptions, ResourceRef } from '../../../shared/client/http-client.js';
import { Informer } from '../../../shared/client/informer.js';
import { WatchHoldingClient } from '../../clients/watch-holding-client.js';
import { unique } from '../helpers.js';
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
    agentArgs: [`--labels=${POOL_LABEL}=batch`],
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

  /** A queued Job of the scenario: its namespace (and so its queue), cpu and priority. */
  interface ScenarioJob {
    ns: string;
    cpu: string;
    priority: number;
  }

  /**
   * `filler` and `victim` are admitted; `urgent` does not fit and preempts the victim alone. From
   * the victim's release on, the controller's ClusterQueue ledger is held for 3 s; then released.
   * The victim must be preempted once and stay pending, and `urgent` admitted.
   */
  async function preemptWhileLedgerLags(jobs: { filler: ScenarioJob; victim: ScenarioJob; urgent: ScenarioJob }): Promise<void> {
    const client = cluster.client;
    const all = async () => (await client.list<{ items: Workload[] }>(WL)).items;
    const ofJob = (wls: Workload[], job: string) => wls.find((w) => w.metadata.ownerReferences?.some((r) => r.name === job));
    const names = Object.fromEntries(Object.keys(jobs).map((role) => [role, unique(role)])) as Record<keyof typeof jobs, string>;
    const submit = (role: keyof typeof jobs) => {
      const { ns, cpu, priority } = jobs[role];
      return client.create({ ...JOBS, namespace: ns }, queuedJobManifest(names[role], { queue: 'lq', cpu, priority }));
    };
    const admitted = async (role: keyof typeof jobs) => {
      const wl = ofJob(await all(), names[role]);
      return wl !== undefined && isAdmittedWl(wl);
    };

    // What the test sees of the victim: each time it is preempted, reserved and released.
    const history: string[] = [];
    const wls = new Informer<Workload>({ client, ref: WL });
    wls.addHandlers({
      update: (old, wl) => {
        if (!wl.metadata.ownerReferences?.some((r) => r.name === names.victim)) return;
        const preempted = (w: Workload) => w.status.conditions?.some((c) => c.type === 'Preempted' && c.status === 'True') ?? false;
        if (!preempted(old) && preempted(wl)) history.push('preempted');
        if (!reserved(old) && reserved(wl)) history.push('reserved');
        if (reserved(old) && !reserved(wl)) history.push('released');
      },
    });
    await wls.start();
    try {
      await submit('filler');
      await waitFor(() => admitted('filler') || undefined, 'filler admitted', 30_000, 100);
      await submit('victim');
      await waitFor(() => admitted('victim') || undefined, 'victim admitted', 30_000, 100);
      controllerClient!.victim = ofJob(await all(), names.victim)!.metadata.name;
      await waitFor(() => {
        const victim = ofJob(wls.list(), names.victim);
        return victim !== undefined && reserved(victim);
      }, "the test's watch sees the victim reserved", 10_000, 20);
      history.length = 0;

      await submit('urgent');
      try {
        await waitFor(() => history.includes('released') || undefined, 'the victim released', 30_000, 20);
      } catch (err) {
        throw new Error(`${(err as Error).message}: ${JSON.stringify((await all()).map((w) => [w.metadata.name, w.status.conditions?.map((c) => `${c.type}=${c.status}`)]))}`);
      }
      expect(controllerClient!.holding('clusterqueues'), 'the ledger held from the release on').to.equal(true);
      // A window, for what must not happen: the release starts an admission cycle at once, and
      // the controller resyncs every 2 s, so the old behaviour re-admits the victim within it
      // (many times over). The fix admits nothing while the ledger is held, however slow.
      await new Promise((r) => setTimeout(r, 3_000));
      expect(history, 'the victim while the ledger lags').to.deep.equal(['preempted', 'released']);

      controllerClient!.release('clusterqueues');
      await waitFor(() => admitted('urgent') || undefined, 'urgent admitted', 30_000, 100);
      expect(history, 'the victim, preempted once').to.deep.equal(['preempted', 'released']);
      expect(reserved(ofJob(await all(), names.victim)!), 'the victim waits').to.equal(false);
    } finally {
      controllerClient!.release();
      await wls.stop();
    }
  }

  async function queueIn(ns: string, cq: string): Promise<void> {
    await createNamespace(cluster.client, ns);
    await cluster.client.create({ ...LQ, namespace: ns }, localQueueManifest('lq', cq));
  }

  before(async () => {
    await cluster.client.create(RF, flavorManifest('default'));
  });

  it('within a BestEffortFIFO queue: the released victim is not admitted again past its preemptor', async () => {
    // 2 cpu; 1 cpu + 500m admitted, the victim at the lowest priority: 500m free. Urgent (1 cpu,
    // the highest priority) preempts the victim, not the filler.
    const cq = unique('cq');
    await cluster.client.create(CQ, clusterQueueManifest(cq, { cpu: '2', strategy: 'BestEffortFIFO', preemption: { withinClusterQueue: 'LowerPriority' } }));
    const ns = unique('lag-team');
    await queueIn(ns, cq);
    await preemptWhileLedgerLags({ filler: { ns, cpu: '1', priority: 50 }, victim: { ns, cpu: '500m', priority: 0 }, urgent: { ns, cpu: '1', priority: 100 } });
  });

  it('in a cohort: the borrower whose quota was reclaimed does not borrow it back past the reclaimer', async () => {
    // A cohort of 3 cpu: cq-a's 2 (all lent) and cq-b's 1. cq-b runs its filler (1 cpu) and the
    // victim, borrowing 1 cpu of cq-a's. Urgent (1500m, within cq-a's nominal quota) reclaims,
    // from the lower priority first: the victim.
    const cohort = unique('cohort');
    const [a, b] = [unique('cq-a'), unique('cq-b')];
    await cluster.client.create(CQ, clusterQueueManifest(a, { cohort, cpu: '2', strategy: 'BestEffortFIFO', preemption: { reclaimWithinCohort: 'Any' } }));
    await cluster.client.create(CQ, clusterQueueManifest(b, { cohort, cpu: '1', borrowingLimit: '2', strategy: 'BestEffortFIFO' }));
    const [nsA, nsB] = [unique('lag-a'), unique('lag-b')];
    await queueIn(nsA, a);
    await queueIn(nsB, b);
    await preemptWhileLedgerLags({ filler: { ns: nsB, cpu: '1', priority: 10 }, victim: { ns: nsB, cpu: '1', priority: 0 }, urgent: { ns: nsA, cpu: '1500m', priority: 0 } });
  });
});
