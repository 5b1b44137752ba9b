// The job controller decides on one snapshot: whether its own creates have all been seen is
// judged together with the list of pods it acts on. A sync that lists the pods while some of its
// creates are still unseen, then waits on a write (a status write, finalizer removals) during which
// they arrive, must not go on to create pods from that old list: it would create the unseen ones
// again. That is what made a saturated bench:jobs run end with 125–245 pods beyond completions.
// Real API server on etcd; the controller in-process over a client that holds its pod events and
// one status write, so the interleaving is exact.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Job } from '../../shared/api/batch.js';
import type { Pod } from '../../shared/api/core.js';
import type { ApiClient, CreateOutcome, RequestOptions, ResourceRef } from '../../shared/client/http-client.js';
import { WatchHoldingClient } from '../clients/watch-holding-client.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { ActiveWatch, createJob, createNamespace, jobManifest, jobPods, startController, waitFor, type RunningController } from './job-helpers.js';

const PODS: ResourceRef = { version: 'v1', resource: 'pods' };

/**
 * The controller's client, with three hooks: a function can run before each batch of pods it
 * creates; pod watch events can be held (and later delivered in order); and one Job status write
 * chosen by a predicate can be held until released.
 */
class GatedClient extends WatchHoldingClient {
  /** Pods created through this client. */
  podsCreated = 0;
  private beforePodBatch: ((batch: number) => Promise<void>) | undefined;
  private batches = 0;
  private statusGate: { matches: (job: Job) => boolean; reached: () => void; open: Promise<void> } | undefined;

  /** Run `fn` before each batch of pods from now on, with the batch's number (1, 2, …). */
  onPodBatch(fn: ((batch: number) => Promise<void>) | undefined): void {
    this.beforePodBatch = fn;
    this.batches = 0;
  }

  /** The next Job status write whose body `matches` waits for `open`; resolves when it is reached. */
  holdStatusWrite(matches: (job: Job) => boolean, open: Promise<void>): Promise<void> {
    return new Promise((reached) => (this.statusGate = { matches, reached, open }));
  }

  override async createMany<T>(ref: ResourceRef, items: readonly unknown[], query?: RequestOptions['query']): Promise<CreateOutcome<T>[]> {
    if (ref.resource !== 'pods') return super.createMany<T>(ref, items, query);
    await this.beforePodBatch?.(++this.batches);
    const out = await super.createMany<T>(ref, items, query);
    this.podsCreated += out.filter((o) => o.ok).length;
    return out;
  }

  override async update<T>(ref: ResourceRef, body: unknown, query?: RequestOptions['query']): Promise<T> {
    const gate = this.statusGate;
    if (gate && ref.resource === 'jobs' && ref.subresource === 'status' && gate.matches(body as Job)) {
      this.statusGate = undefined;
      gate.reached();
      await gate.open;
    }
    return super.update<T>(ref, body, query);
  }
}

describe('job controller: a sync acts only on a pod list taken with its own creates all seen', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let admin: ApiClient;
  let client: GatedClient;
  let jobs: RunningController;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    admin = api.client();
    client = new GatedClient({ servers: [api.url], retries: 0 });
    jobs = await startController(client);
  });

  after(async () => {
    client?.release();
    await jobs?.stop();
    client?.close();
    admin?.close();
    await api?.close();
  });

  const succeed = async (pod: Pod) => {
    const fresh = await admin.get<Pod>({ ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name });
    await admin.update({ ...PODS, namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' }, { ...fresh, status: { ...fresh.status, phase: 'Succeeded' } });
  };

  it('creates arriving while a sync waits on its status write are not created again', async () => {
    const ns = `job-snapshot-${randomUUID().slice(0, 8)}`;
    await createNamespace(admin, ns);
    const watch = new ActiveWatch(admin, ns);
    await watch.start();
    const seen = jobs.informers.get<Pod>(PODS);
    const seenIn = () => seen.list().filter((p) => p.metadata.namespace === ns);
    try {
      // Completions 10, parallelism 4: the first 4 pods, all seen by the controller.
      await createJob(admin, ns, jobManifest('lag', { completions: 10, parallelism: 4 }));
      await waitFor(() => seenIn().length === 4, 'the controller sees 4 pods', 20_000, 20);
      const [p1, p2, p3, p4] = await jobPods(admin, ns, 'lag');

      // Three succeed: the controller creates 3 pods, in batches of 1 and 2. Between them the
      // fourth succeeds (seen by the controller), and from then on its pod events are held — so the
      // batch of 2 is created but unseen, and the next sync lists the pods without them.
      let open!: () => void;
      const gateOpen = new Promise<void>((resolve) => (open = resolve));
      let writeHeld = false;
      client.onPodBatch(async (batch) => {
        if (batch !== 2) return;
        await succeed(p4!);
        await waitFor(() => seen.get(ns, p4!.metadata.name ?? '')?.status.phase === 'Succeeded', 'the controller sees pod 4 succeed', 20_000, 10);
        client.hold('pods');
        // The next sync's first write records pod 4 as finished but not yet counted: held too.
        void client.holdStatusWrite((job) => job.status.uncountedTerminatedPods?.succeeded?.includes(p4!.metadata.uid ?? '') ?? false, gateOpen).then(() => (writeHeld = true));
      });
      for (const p of [p1!, p2!, p3!]) await succeed(p);
      await waitFor(() => writeHeld, 'the next sync to write its status', 20_000, 10);
      expect(seenIn(), 'pods the controller sees').to.have.length(5); // 4 + the batch of 1

      // While that sync waits on its write, the batch of 2 is seen; then the write goes through.
      client.release('pods');
      expect(seenIn(), 'pods the controller sees').to.have.length(7);
      open();

      // One pod replaces pod 4. The sync that writes active 4 and succeeded 4 has done its
      // creates: by then a sync acting on the old list would have created 3 pods, not 1.
      await waitFor(async () => {
        const { status } = await admin.get<Job>({ group: 'batch', version: 'v1', resource: 'jobs', namespace: ns, name: 'lag' });
        return status.active === 4 && status.succeeded === 4;
      }, 'status active 4, succeeded 4', 20_000, 50);
      expect(client.podsCreated, 'pods created for the Job').to.equal(8);
      await waitFor(() => watch.size === 8, 'the watch sees 8 pods', 20_000, 20);
      expect(watch.maxActive, 'most pods active at once').to.equal(4);
    } finally {
      client.onPodBatch(undefined);
      client.release('pods');
      await watch.stop();
    }
  });
});
