// An admission is guarded by every ClusterQueue of the cohort it read, not only its target: a
// replica whose ClusterQueue cache lags behind another member's admissions decides on stale usage,
// fails that member's compare, and is decided again on the store's queues — so it never
// over-admits. And when another admitter commits into a cohort member between a decision and its
// transaction (made to happen every time here, not by luck), the transaction fails the same way.
import { expect } from 'chai';
import type { ApiServer } from '../../apiserver/server.js';
import { startApiServer } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { ClusterQueue } from '../../shared/api/kueue.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { ConflictError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { InterceptingStore } from '../harness/intercepting-store.js';
import { HeldWatchStore } from '../store/held-watch-store.js';
import {
  admit,
  clusterQueueManifest,
  cqRef,
  createNamespace,
  expectQueuesAuditOk,
  refusal,
  reservedOf,
  unique,
  waitFor,
  wlRef,
  workloadManifest,
} from './helpers.js';

describe('admissions guarded by every queue of the cohort', function () {
  this.timeout(60_000);
  let a: TestApiServer;
  let lagging: HeldWatchStore;
  let b: ApiServer;
  let bClient: ApiClient;

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd' });
    lagging = new HeldWatchStore(new EtcdStore({ endpoints: etcdEndpoints(), prefix: a.prefix }));
    b = await startApiServer({ store: lagging, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0 });
    bClient = new ApiClient({ servers: [b.url], retries: 0 });
  });

  // A test that fails while B's watch events are held must not hold them for the next one.
  afterEach(() => lagging.release());

  after(async () => {
    bClient?.close();
    await b?.close();
    await lagging?.close();
    await a?.close();
  });

  /** A cohort of two queues of 2 cpu each (all lent: the pool is 4), and n workloads. */
  async function cohortOfTwo(n: number): Promise<{ ns: string; x: string; y: string; names: string[] }> {
    const api = a.client();
    const ns = await createNamespace(api, 'lag');
    const cohort = unique('cohort');
    const [x, y] = [unique('x'), unique('y')];
    await api.create(cqRef(), clusterQueueManifest(x, { default: { cpu: { nominalQuota: '2' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(y, { default: { cpu: { nominalQuota: '2' } } }, { cohort }));
    const names = Array.from({ length: n }, (_, i) => `w-${i}`);
    for (const name of names) await api.create(wlRef(ns), workloadManifest(name));
    return { ns, x, y, names };
  }

  /** B's cache shows queue `cq` holding `cpu` (it has caught up with it). */
  async function bSees(cq: string, cpu: string): Promise<void> {
    await waitFor(async () => {
      const list = await bClient.list<{ items: ClusterQueue[] }>(cqRef(), { resourceVersion: '0' });
      const q = list.items.find((i) => i.metadata.name === cq);
      const total = q?.status.flavorsReservation?.[0]?.resources[0]?.total ?? '0';
      return q !== undefined && total === cpu;
    }, `B's cache shows ${cq} holding ${cpu} cpu`);
  }

  it('a replica whose cache has not seen another member fill the pool refuses, after reading the store', async () => {
    const api = a.client();
    const { ns, x, y, names } = await cohortOfTwo(5);
    await admit(bClient, ns, names[0]!, x);
    await admit(bClient, ns, names[1]!, x);
    await bSees(x, '2');
    await bSees(y, '0');
    // B's caches stop here. Through A: y takes its 2 — the pool of 4 is now used up; B still shows y empty.
    lagging.hold();
    await admit(api, ns, names[2]!, y);
    await admit(api, ns, names[3]!, y);
    // B decides on x = 2 (current) and y = 0 (stale): it fits there, but y's compare fails, and
    // the store's queues refuse it.
    const err = await refusal(admit(bClient, ns, names[4]!, x));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.causes[0]).to.include({ reason: 'CohortExhausted', field: 'default/cpu' });
    expect(await reservedOf(api, x)).to.deep.equal({ 'default/cpu': '2' });
    expect(await reservedOf(api, y)).to.deep.equal({ 'default/cpu': '2' });
    await expectQueuesAuditOk(a);
  });

  it('a member admitted into between a decision and its transaction fails the transaction, and the retry refuses', async () => {
    const api = a.client();
    const { ns, x, y, names } = await cohortOfTwo(5);
    await admit(api, ns, names[0]!, x);
    await admit(api, ns, names[1]!, y);
    await admit(api, ns, names[2]!, y);
    await bSees(x, '1');
    await bSees(y, '2');
    // B's admission of w-3 into x (the pool's last unit) is decided; just before its transaction
    // is sent, A admits w-4 into y, taking that unit.
    const xKey = b.resources.get('clusterqueues')!.rest.objects.key(undefined, x);
    lagging.beforeNextTxn((req) => InterceptingStore.writes(req, xKey, 'put'), async () => {
      await admit(api, ns, names[4]!, y);
    });
    const err = await refusal(admit(bClient, ns, names[3]!, x));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.causes[0]).to.include({ reason: 'CohortExhausted' });
    expect(await reservedOf(api, x)).to.deep.equal({ 'default/cpu': '1' });
    expect(await reservedOf(api, y)).to.deep.equal({ 'default/cpu': '3' });
    await expectQueuesAuditOk(a);
  });
});
