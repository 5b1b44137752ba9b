// A node's ledger changed by a pod's own write (the pod finishing, or created already bound) is
// decided on the API server's memory — its watch cache with its own newer writes over it — not
// read from etcd each time: one transaction per release, the next release on the node starting
// from this server's last ledger write. What memory cannot vouch for is confirmed against the
// store: a pod missing from a lagging cached ledger (another server bound it), or a refusal.
// A node's delete, which finds the pods its ledger lists (by uid) in the cache, waits for them.
// Server B runs on a store whose watch events the test holds back, beside server A.
import { expect } from 'chai';
import type { ApiServer } from '../../apiserver/server.js';
import { startApiServer } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { Pod } from '../../shared/api/core.js';
import type { NodeAllocation } from '../../shared/api/scheduling.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from '../clients/helpers.js';
import { refusal } from '../harness/refusal.js';
import { UnavailableError } from '../../shared/errors.js';
import { HeldWatchStore } from '../store/held-watch-store.js';
import { audit, bind, createNamespace, ledgerNames, ledgerPodNames, nodeObject, podObject } from './fixtures.js';

const ALLOC = { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations' };

describe('node ledgers decided on a lagging cache (etcd)', function () {
  this.timeout(60_000);
  let a: TestApiServer;
  let aClient: ApiClient;
  let lagging: HeldWatchStore;
  let b: ApiServer;
  let bClient: ApiClient;
  let seq = 0;
  let ns: string;

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd' });
    aClient = a.client();
    lagging = new HeldWatchStore(new EtcdStore({ endpoints: etcdEndpoints(), prefix: a.prefix }));
    b = await startApiServer({ store: lagging, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0 });
    bClient = new ApiClient({ servers: [b.url], retries: 0 });
  });
  beforeEach(async () => {
    ns = `ledger-lag-${seq++}`;
    await createNamespace(aClient, ns);
  });
  // A test that fails while B's watch events are held must not hold them for the next one.
  afterEach(() => lagging.release());
  after(async () => {
    bClient?.close();
    await b?.close();
    await lagging?.close();
    aClient?.close();
    await a?.close();
  });

  const node = (n: string) => `${ns}-${n}`;
  const podRef = (name: string) => ({ namespace: ns, resource: 'pods', name });

  /** The ledger as stored (A reads etcd for a GET). */
  const stored = (n: string) => aClient.get<NodeAllocation>({ ...ALLOC, name: node(n) });

  /** B's watch cache shows node `n`'s ledger holding exactly `pods`, and each of them bound. */
  async function bSees(n: string, pods: string[]): Promise<void> {
    await waitFor(async () => {
      const ledgers = await bClient.list<{ items: NodeAllocation[] }>(ALLOC, { resourceVersion: '0' });
      const ledger = ledgers.items.find((l) => l.metadata.name === node(n));
      const cached = await bClient.list<{ items: Pod[] }>({ namespace: ns, resource: 'pods' }, { resourceVersion: '0' });
      const bound = new Set(cached.items.filter((p) => p.spec.nodeName === node(n)).map((p) => p.metadata.name));
      return ledger !== undefined && JSON.stringify(ledgerNames(ledger, cached.items).sort()) === JSON.stringify([...pods].sort()) && pods.every((p) => bound.has(p));
    }, `B's cache to show ${node(n)} holding [${pods.join(', ')}]`);
  }

  /** Let B catch up; every ledger matches its pods. */
  async function expectAuditClean(): Promise<void> {
    lagging.release();
    expect((await audit(aClient)).violations).to.deep.equal([]);
  }

  /** Node `n`'s stored ledger holds nothing, and the audit agrees. */
  async function expectReleased(n: string): Promise<void> {
    const ledger = await stored(n);
    expect(ledger.spec.pods).to.deep.equal([]);
    expect(ledger.spec.allocated).to.deep.equal({});
    await expectAuditClean();
  }

  async function finish(client: ApiClient, pod: Pod, phase: 'Succeeded' | 'Failed' = 'Succeeded'): Promise<void> {
    await client.update({ ...podRef(pod.metadata.name ?? ''), subresource: 'status' }, { ...pod, status: { ...pod.status, phase } });
  }

  it('releases pods on memory: no ledger read from etcd, one transaction each, the second on B\'s own first release', async () => {
    await aClient.create({ resource: 'nodes' }, nodeObject(node('n'), '4'));
    for (const p of ['p0', 'p1']) {
      await aClient.create({ namespace: ns, resource: 'pods' }, podObject(p, '500m'));
      await bind(aClient, ns, p, node('n'));
    }
    await bSees('n', ['p0', 'p1']);
    const [p0, p1] = [await bClient.get<Pod>(podRef('p0')), await bClient.get<Pod>(podRef('p1'))];
    lagging.hold();
    const before = { txns: lagging.txns, gets: lagging.gets };
    await finish(bClient, p0);
    await finish(bClient, p1, 'Failed');
    expect({ txns: lagging.txns - before.txns, gets: lagging.gets - before.gets }).to.deep.equal({ txns: 2, gets: 0 });
    await expectReleased('n');
  });

  it('a pod missing from B\'s lagging cached ledger is released from the stored one', async () => {
    await aClient.create({ resource: 'nodes' }, nodeObject(node('m'), '4'));
    await aClient.create({ namespace: ns, resource: 'pods' }, podObject('q0', '500m'));
    await bSees('m', []);
    // B's ledgers stop; its pods go on: it sees q0 bound, and a ledger without it.
    lagging.hold('nodeallocations');
    await bind(aClient, ns, 'q0', node('m'));
    await waitFor(async () => (await bClient.list<{ items: Pod[] }>({ namespace: ns, resource: 'pods' }, { resourceVersion: '0' })).items.some((p) => p.spec.nodeName === node('m')), 'B to see q0 bound');
    await finish(bClient, await bClient.get<Pod>(podRef('q0')));
    await expectReleased('m');
  });

  it('a pod created bound that B\'s lagging ledger has no room for is admitted on the stored one', async () => {
    await aClient.create({ resource: 'nodes' }, nodeObject(node('k'), '1'));
    await aClient.create({ namespace: ns, resource: 'pods' }, podObject('r0', '800m'));
    await bind(aClient, ns, 'r0', node('k'));
    await bSees('k', ['r0']);
    lagging.hold('nodeallocations');
    await finish(aClient, await aClient.get<Pod>(podRef('r0')));
    expect((await stored('k')).spec.pods).to.deep.equal([]);
    const r1 = podObject('r1', '800m');
    await bClient.create({ namespace: ns, resource: 'pods' }, { ...r1, spec: { ...r1.spec, nodeName: node('k') } });
    expect(await ledgerPodNames(aClient, node('k'))).to.deep.equal(['r1']);
    await expectAuditClean();
  });

  // A ledger names its pods by uid only; a node's delete finds them among the pods B's cache holds
  // bound to the node — which, while B's pods lag, is not yet all of them.
  it('a node deleted on B while B\'s pods lag behind its ledger fails every pod the ledger lists', async () => {
    await aClient.create({ resource: 'nodes' }, nodeObject(node('d'), '4'));
    for (const p of ['s0', 's1']) await aClient.create({ namespace: ns, resource: 'pods' }, podObject(p, '500m'));
    await waitFor(async () => (await bClient.list<{ items: Pod[] }>({ namespace: ns, resource: 'pods' }, { resourceVersion: '0' })).items.length === 2, 'B to see both pods');
    lagging.hold('pods');
    for (const p of ['s0', 's1']) await bind(aClient, ns, p, node('d'));
    const gets = lagging.gets;
    const deleted = bClient.delete({ resource: 'nodes', name: node('d') });
    // B has read the ledger (its uids) from etcd: the pods are released only now. Had the delete
    // not waited for them, it would have found none to fail and left both bound to no node.
    await waitFor(async () => lagging.gets > gets, 'B to read the node\'s ledger');
    lagging.release();
    await deleted;
    for (const p of ['s0', 's1']) {
      const pod = await aClient.get<Pod>(podRef(p));
      expect(pod.status.phase, p).to.equal('Failed');
      expect(pod.status.reason, p).to.equal('NodeLost');
    }
    expect((await audit(aClient)).violations).to.deep.equal([]);
  });

  it('a node delete whose ledger\'s pods B never sees is refused (503) and changes nothing', async () => {
    await aClient.create({ resource: 'nodes' }, nodeObject(node('e'), '4'));
    await aClient.create({ namespace: ns, resource: 'pods' }, podObject('t0', '500m'));
    lagging.hold('pods');
    await bind(aClient, ns, 't0', node('e'));
    const err = await refusal(bClient.delete({ resource: 'nodes', name: node('e') }));
    expect(err).to.be.instanceOf(UnavailableError);
    expect(err.message).to.include('not in this server\'s cache yet');
    lagging.release();
    expect((await aClient.get<{ metadata: { name: string } }>({ resource: 'nodes', name: node('e') })).metadata.name).to.equal(node('e'));
    const t0 = await aClient.get<Pod>(podRef('t0'));
    expect([t0.spec.nodeName, t0.status.phase]).to.deep.equal([node('e'), 'Pending']);
    expect(await ledgerPodNames(aClient, node('e'))).to.deep.equal(['t0']);
    expect((await audit(aClient)).violations).to.deep.equal([]);
  });
});
