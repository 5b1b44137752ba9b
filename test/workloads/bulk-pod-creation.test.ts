// The workload controllers create pods through the multi-object create: each slow-start batch is
// one request (1, 2, 4, … pods), the first batch with a failure ends the sync (Kubernetes' slow
// start, unchanged), and what a refused batch did create is counted. Real API server on etcd, the
// controllers in-process over a client that records each batch; no nodes (the pods stay Pending).
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Job } from '../../shared/api/batch.js';
import type { Pod } from '../../shared/api/core.js';
import type { ResourceQuota } from '../../shared/api/quota.js';
import { ResponseLostError } from '../../shared/errors.js';
import { ApiClient, type CreateOutcome, type RequestOptions, type ResourceRef } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { SharedInformers } from '../../controllers/informers.js';
import { ReplicaSetController, REPLICASETS } from '../../controllers/replicaset/controller.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { testControllerContext } from '../controllers/helpers.js';
import { counted, createQuota, InProcessQuotaController, quotaRef } from '../quota/helpers.js';
import { createJob, jobManifest, JOBS_REF, startController, waitFor, type RunningController } from './job-helpers.js';

interface Batch {
  namespace: string;
  /** Pods asked for (0 for the server's late commit of a batch whose answer was lost). */
  size: number;
  created: number;
  at: number;
}

/** What the next create of pods in a namespace does when its answer is to be lost. */
type LostAnswer = { done: 'later'; afterMs: number } | { done: 'never' };

/**
 * The controllers' client, recording every batch of pods they create (and what became of it). A
 * namespace's next batch can have its answer lost (`loseNextAnswer`), as when the client's timeout
 * ends before the server commits: the controller hears ResponseLostError for every pod while the
 * server creates them later, or never.
 */
class RecordingClient extends ApiClient {
  readonly batches: Batch[] = [];
  private readonly losing = new Map<string, LostAnswer>();

  loseNextAnswer(namespace: string, lost: LostAnswer): void {
    this.losing.set(namespace, lost);
  }

  override async createMany<T>(ref: ResourceRef, items: readonly unknown[], query?: RequestOptions['query']): Promise<CreateOutcome<T>[]> {
    const namespace = ref.namespace ?? '';
    const lost = ref.resource === 'pods' ? this.losing.get(namespace) : undefined;
    if (lost) {
      this.losing.delete(namespace);
      this.batches.push({ namespace, size: items.length, created: 0, at: Date.now() });
      if (lost.done === 'later') {
        setTimeout(() => {
          void super.createMany<T>(ref, items, query).then((out) => {
            this.batches.push({ namespace, size: 0, created: out.filter((o) => o.ok).length, at: Date.now() });
          });
        }, lost.afterMs);
      }
      const error = new ResponseLostError('request timed out (test: the answer is lost)');
      return items.map(() => ({ ok: false, error }));
    }
    const out = await super.createMany<T>(ref, items, query);
    if (ref.resource === 'pods') this.batches.push({ namespace, size: items.length, created: out.filter((o) => o.ok).length, at: Date.now() });
    return out;
  }

  /** Pods this client created in `namespace`, lost answers included. */
  createdIn(namespace: string): number {
    return this.of(namespace).reduce((n, b) => n + b.created, 0);
  }

  of(namespace: string): Batch[] {
    return this.batches.filter((b) => b.namespace === namespace);
  }
}

/**
 * How long the controllers here wait for pods whose create lost its answer (65 s in production).
 * Long beside the late commits below (500 ms), so that a slow machine cannot end the wait first.
 */
const LOST_ANSWER_WAIT_MS = 5_000;

describe('workload controllers create pods in slow-start batches, one request each', function () {
  this.timeout(90_000);
  let api: TestApiServer;
  let admin: ApiClient;
  let client: RecordingClient;
  let jobs: RunningController;
  let replicaSets: { stop(): Promise<void> };
  let quotas: InProcessQuotaController;

  const podsIn = async (ns: string) => (await admin.list<{ items: Pod[] }>({ version: 'v1', resource: 'pods', namespace: ns })).items;

  async function podCreateRequests(): Promise<number> {
    const values = (await api.server.metrics.requests.get()).values;
    return values.filter((v) => v.labels.verb === 'create' && v.labels.resource === 'pods').reduce((n, v) => n + v.value, 0);
  }

  /** ReplicaSet `web` of `replicas` pods in `ns`. */
  async function createReplicaSet(ns: string, replicas: number): Promise<void> {
    await admin.create({ ...REPLICASETS, namespace: ns }, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] } },
      },
    });
  }

  async function namespace(prefix: string): Promise<string> {
    const name = `${prefix}-${randomUUID().slice(0, 8)}`;
    await admin.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd' });
    admin = api.client();
    client = new RecordingClient({ servers: [api.url], retries: 0 });
    jobs = await startController(client, { outcomeUnknownWaitMs: LOST_ANSWER_WAIT_MS });
    const log = createLogger('replicaset', 'error');
    const informers = new SharedInformers(client, log);
    const rs = new ReplicaSetController(testControllerContext(client, log, informers), { outcomeUnknownWaitMs: LOST_ANSWER_WAIT_MS });
    rs.start();
    await informers.start();
    replicaSets = {
      async stop() {
        await rs.stop();
        await informers.stop();
      },
    };
    quotas = new InProcessQuotaController(admin);
    await quotas.start();
  });

  after(async () => {
    await quotas?.stop();
    await replicaSets?.stop();
    await jobs?.stop();
    client?.close();
    admin?.close();
    await api?.close();
  });

  it('a Job of 300 pods: batches of 1, 2, 4, … 128 and the last 45, one request each, 300 pods', async () => {
    const ns = await namespace('bulk-job');
    const before = await podCreateRequests();
    await createJob(admin, ns, jobManifest('wide', { completions: 300, parallelism: 300 }));
    await waitFor(async () => (await podsIn(ns)).length >= 300, '300 pods', 60_000, 100);
    await waitFor(async () => (await admin.get<Job>({ ...JOBS_REF, namespace: ns, name: 'wide' })).status.active === 300, 'status.active = 300', 30_000, 100);
    expect(client.of(ns).map((b) => b.size)).to.deep.equal([1, 2, 4, 8, 16, 32, 64, 128, 45]);
    expect(client.of(ns).every((b) => b.created === b.size)).to.equal(true);
    expect(await podCreateRequests()).to.equal(before + 9);
    const pods = await podsIn(ns);
    expect(pods).to.have.length(300);
    expect(new Set(pods.map((p) => p.metadata.name)).size).to.equal(300);
    for (const p of pods) {
      expect(p.metadata.name).to.match(/^wide-[a-z0-9]{5}$/);
      expect(p.metadata.finalizers).to.deep.equal(['batch.kubernetes.io/job-tracking']);
      expect(p.metadata.ownerReferences?.[0]).to.include({ kind: 'Job', name: 'wide', controller: true });
    }
  });

  it('a Job over its quota stops after the first batch with a refusal, and creates the rest once the quota allows', async () => {
    const ns = await namespace('bulk-quota');
    await createQuota(admin, ns, 'q', { hard: { pods: '5' } });
    await counted(admin, ns, 'q');
    await createJob(admin, ns, jobManifest('capped', { completions: 20, parallelism: 20 }));
    await waitFor(() => client.of(ns).some((b) => b.created < b.size), 'a refused batch', 30_000, 20);
    // 1 + 2 created, then of 4 only 2 fit: the sync ends there, 13 never tried.
    expect(client.of(ns).slice(0, 3).map(({ size, created }) => ({ size, created }))).to.deep.equal([
      { size: 1, created: 1 },
      { size: 2, created: 2 },
      { size: 4, created: 2 },
    ]);
    expect((await podsIn(ns)).length).to.equal(5);
    // Each retry starts again at one pod, refused while the quota is full.
    for (const b of client.of(ns).slice(3)) expect({ size: b.size, created: b.created }).to.deep.equal({ size: 1, created: 0 });

    const quota = await admin.get<ResourceQuota>(quotaRef(ns, 'q'));
    await admin.update(quotaRef(ns, 'q'), { ...quota, spec: { hard: { pods: '20' } } });
    await waitFor(async () => (await podsIn(ns)).length >= 20, '20 pods', 60_000, 100);
    await waitFor(async () => (await admin.get<Job>({ ...JOBS_REF, namespace: ns, name: 'capped' })).status.active === 20, 'status.active = 20', 30_000, 100);
    expect((await podsIn(ns)).length).to.equal(20);
  });

  it('a ReplicaSet of 50: batches of 1, 2, 4, 8, 16 and the last 19, 50 pods', async () => {
    const ns = await namespace('bulk-rs');
    await createReplicaSet(ns, 50);
    await waitFor(async () => (await podsIn(ns)).length >= 50, '50 pods', 60_000, 100);
    expect(client.of(ns).map((b) => b.size)).to.deep.equal([1, 2, 4, 8, 16, 19]);
    const pods = await podsIn(ns);
    expect(pods).to.have.length(50);
    expect(pods.every((p) => p.metadata.name?.startsWith('web-') && p.metadata.ownerReferences?.[0]?.name === 'web')).to.equal(true);
  });
  // A create whose answer was lost may have been done: counted as failed, the next sync would
  // create its pods again (the pods seen twice in a saturated bench:jobs run). Kept expected, it is
  // seen done, or given up on after the wait.
  it('a Job whose first create lost its answer, though the server did it, gets no pod twice', async () => {
    const ns = await namespace('lost-job');
    client.loseNextAnswer(ns, { done: 'later', afterMs: 500 });
    await createJob(admin, ns, jobManifest('lost', { completions: 4, parallelism: 4 }));
    await waitFor(async () => (await podsIn(ns)).length >= 4, '4 pods', 30_000, 50);
    await waitFor(async () => (await admin.get<Job>({ ...JOBS_REF, namespace: ns, name: 'lost' })).status.active === 4, 'status.active = 4', 30_000, 100);
    // Past the wait, nothing more is created.
    await new Promise((r) => setTimeout(r, LOST_ANSWER_WAIT_MS));
    // The lost batch of 1, then the other 3 once its pod was seen (the late commit is not a batch).
    expect(client.of(ns).filter((b) => b.size > 0).map(({ size, created }) => ({ size, created }))).to.deep.equal([
      { size: 1, created: 0 },
      { size: 1, created: 1 },
      { size: 2, created: 2 },
    ]);
    expect(client.createdIn(ns)).to.equal(4);
    expect((await podsIn(ns)).length).to.equal(4);
  });

  it('a Job whose lost create was never done gets its pods once the wait is over', async () => {
    const ns = await namespace('lost-never');
    client.loseNextAnswer(ns, { done: 'never' });
    await createJob(admin, ns, jobManifest('never', { completions: 3, parallelism: 3 }));
    await waitFor(async () => (await podsIn(ns)).length >= 3, '3 pods', 30_000, 100);
    const batches = client.of(ns);
    expect(batches.map(({ size, created }) => ({ size, created }))).to.deep.equal([
      { size: 1, created: 0 },
      { size: 1, created: 1 },
      { size: 2, created: 2 },
    ]);
    expect(batches[1]!.at - batches[0]!.at).to.be.at.least(LOST_ANSWER_WAIT_MS);
    expect((await podsIn(ns)).length).to.equal(3);
  });

  it('a ReplicaSet whose first create lost its answer, though the server did it, gets no pod twice', async () => {
    const ns = await namespace('lost-rs');
    client.loseNextAnswer(ns, { done: 'later', afterMs: 500 });
    await createReplicaSet(ns, 3);
    await waitFor(async () => (await podsIn(ns)).length >= 3, '3 pods', 30_000, 50);
    await new Promise((r) => setTimeout(r, LOST_ANSWER_WAIT_MS));
    expect(client.createdIn(ns)).to.equal(3);
    expect((await podsIn(ns)).length).to.equal(3);
  });
});
