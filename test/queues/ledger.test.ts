// A ClusterQueue's reservations are a ledger committed in the transaction of each admission and
// release (apiserver/queues/admission.ts): racing admitters on two API server replicas never push
// a queue past its quota, borrowing in a cohort is bounded by what the others lend, releases
// (eviction, finish, delete) give the quota back, a queue holding reservations outlives its delete
// until the last one goes, and the audit finds a ledger broken by hand.
import { expect } from 'chai';
import type { ClusterQueue, Workload } from '../../shared/api/kueue.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { ConflictError, InvalidError, NotFoundError } from '../../shared/errors.js';
import type { KubeObject } from '../../apiserver/registry/object.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import {
  admit,
  auditQueues,
  clusterQueueManifest,
  cqRef,
  createNamespace,
  expectQueuesAuditOk,
  finish,
  refusal,
  reservedOf,
  unadmit,
  unique,
  wlRef,
  workloadManifest,
} from './helpers.js';

const RACERS = 20;
const CLIENTS_PER_SERVER = 3;

describe('ClusterQueue ledger committed with each admission', function () {
  this.timeout(120_000);
  let a: TestApiServer;
  let b: TestApiServer;
  let api: ApiClient;
  let clients: ApiClient[];

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd' });
    b = await startTestApiServer({ backend: 'etcd', prefix: a.prefix });
    api = a.client();
    // Separate connections per client: the admissions really arrive at once, on both replicas.
    clients = [a, b].flatMap((s) => Array.from({ length: CLIENTS_PER_SERVER }, () => new ApiClient({ servers: [s.url], retries: 0 })));
  });

  after(async () => {
    clients?.forEach((c) => c.close());
    await b?.close();
    await a?.close();
  });

  async function workloads(ns: string, prefix: string, n: number): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    await Promise.all(names.map((name) => api.create(wlRef(ns), workloadManifest(name))));
    return names;
  }

  /** Admits every workload at once, spread over both replicas; returns the admitted and the refusals. */
  async function race(ns: string, names: string[], cq: string): Promise<{ admitted: string[]; refused: ConflictError[] }> {
    const admitted: string[] = [];
    const refused: ConflictError[] = [];
    await Promise.all(
      names.map(async (name, i) => {
        try {
          await admit(clients[i % clients.length]!, ns, name, cq);
          admitted.push(name);
        } catch (err) {
          expect(err).to.be.instanceOf(ConflictError);
          refused.push(err as ConflictError);
        }
      }),
    );
    return { admitted, refused };
  }

  it(`${RACERS} admissions of 1 cpu racing into a 5-cpu queue through two replicas: exactly 5 admitted, the rest 409 naming the flavor and resource`, async () => {
    const ns = await createNamespace(api, 'race');
    const cq = unique('race');
    await api.create(cqRef(), clusterQueueManifest(cq, { default: { cpu: { nominalQuota: '5' } } }));
    const names = await workloads(ns, 'w', RACERS);
    const { admitted, refused } = await race(ns, names, cq);
    expect(admitted).to.have.length(5);
    expect(refused).to.have.length(RACERS - 5);
    for (const err of refused) {
      expect(err.causes).to.deep.equal([
        { reason: 'ExceedsQueueLimit', field: 'default/cpu', message: `ClusterQueue ${cq} has insufficient quota for cpu in flavor default: requested 1, available 0` },
      ]);
    }
    expect(await reservedOf(api, cq)).to.deep.equal({ 'default/cpu': '5' });
    expect(await reservedOf(api, cq, 'usage')).to.deep.equal({ 'default/cpu': '5' });
    // The refused ones were written not at all: no admission in their status.
    const list = await api.list<{ items: Workload[] }>(wlRef(ns));
    expect(list.items.filter((w) => w.status.admission !== undefined).map((w) => w.metadata.name).sort()).to.deep.equal([...admitted].sort());
    const report = await expectQueuesAuditOk(a);
    // The other replica audits the same store the same way.
    expect((await expectQueuesAuditOk(b)).revision).to.be.at.least(report.revision);
  });

  it('borrowing in a cohort is bounded by what the others lend (lendingLimit) and by borrowingLimit, racing too', async () => {
    const ns = await createNamespace(api, 'cohort');
    const cohort = unique('cohort');
    const [x, y, z] = [unique('x'), unique('y'), unique('z')];
    // x: 4 of its own, may borrow up to 10 more; y lends only 2 of its 4; z lends 1 of 3.
    await api.create(cqRef(), clusterQueueManifest(x, { default: { cpu: { nominalQuota: '4', borrowingLimit: '10' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(y, { default: { cpu: { nominalQuota: '4', lendingLimit: '2' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(z, { default: { cpu: { nominalQuota: '3', lendingLimit: '1' } } }, { cohort }));
    const names = await workloads(ns, 'b', RACERS);
    const { admitted, refused } = await race(ns, names, x);
    // 4 nominal + 2 lent by y + 1 lent by z.
    expect(admitted).to.have.length(7);
    expect(refused[0]?.causes[0]?.reason).to.equal('CohortExhausted');
    expect(await reservedOf(api, x)).to.deep.equal({ 'default/cpu': '7' });
    const q = await api.get<ClusterQueue>(cqRef(x));
    expect(q.status.flavorsReservation).to.deep.equal([{ name: 'default', resources: [{ name: 'cpu', total: '7', borrowed: '3' }] }]);
    // y still has its guaranteed 2 (4 − lendingLimit 2): admitting 2 there fits, a third does not.
    const more = await workloads(ns, 'y', 3);
    await admit(api, ns, more[0]!, y);
    await admit(api, ns, more[1]!, y);
    const err = await refusal(admit(api, ns, more[2]!, y));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.message).to.match(/insufficient unused quota for cpu in flavor default: requested 1, available 0/);
    await expectQueuesAuditOk(a);
  });

  it('admissions racing into two members of one cohort never take more than the cohort has', async () => {
    const ns = await createNamespace(api, 'pair');
    const cohort = unique('cohort');
    const [x, y] = [unique('x'), unique('y')];
    await api.create(cqRef(), clusterQueueManifest(x, { default: { cpu: { nominalQuota: '2' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(y, { default: { cpu: { nominalQuota: '2' } } }, { cohort }));
    const names = await workloads(ns, 'p', RACERS);
    const admitted: string[] = [];
    await Promise.all(
      names.map(async (name, i) => {
        try {
          await admit(clients[i % clients.length]!, ns, name, i % 2 === 0 ? x : y);
          admitted.push(name);
        } catch (err) {
          expect(err).to.be.instanceOf(ConflictError);
        }
      }),
    );
    expect(admitted).to.have.length(4);
    const [rx, ry] = [await reservedOf(api, x), await reservedOf(api, y)];
    expect(Number(rx['default/cpu'] ?? '0') + Number(ry['default/cpu'] ?? '0')).to.equal(4);
    await expectQueuesAuditOk(a);
  });

  it('borrowingLimit caps a member even when the cohort has more to lend; no cohort, no borrowing', async () => {
    const ns = await createNamespace(api, 'limit');
    const cohort = unique('cohort');
    const [p, r, lone] = [unique('p'), unique('r'), unique('lone')];
    await api.create(cqRef(), clusterQueueManifest(p, { default: { cpu: { nominalQuota: '1', borrowingLimit: '1' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(r, { default: { cpu: { nominalQuota: '10' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(lone, { default: { cpu: { nominalQuota: '1' } } }));
    const names = await workloads(ns, 'l', 5);
    await admit(api, ns, names[0]!, p);
    await admit(api, ns, names[1]!, p);
    const capped = await refusal(admit(api, ns, names[2]!, p));
    expect(capped.causes[0]).to.include({ reason: 'ExceedsQueueLimit', field: 'default/cpu' });
    await admit(api, ns, names[3]!, lone);
    const alone = await refusal(admit(api, ns, names[4]!, lone));
    expect(alone.causes[0]).to.include({ reason: 'ExceedsQueueLimit' });
    // A flavor or resource the queue does not cover is never admitted.
    const other = await refusal(admit(api, ns, names[4]!, lone, { memory: '1Gi' }));
    expect(other.causes[0]).to.include({ reason: 'NotCovered', field: 'default/memory' });
    // Nor to a queue that does not exist.
    const missing = await refusal(admit(api, ns, names[4]!, unique('nope')));
    expect(missing).to.be.instanceOf(ConflictError);
    expect(missing.causes[0]?.reason).to.equal('QueueNotFound');
    await expectQueuesAuditOk(a);
  });

  it('dry run checks the fit and writes nothing', async () => {
    const ns = await createNamespace(api, 'dry');
    const cq = unique('dry');
    await api.create(cqRef(), clusterQueueManifest(cq, { default: { cpu: { nominalQuota: '1' } } }));
    const [w1, w2] = await workloads(ns, 'd', 2);
    const ref = { ...wlRef(ns, w1!), subresource: 'status' };
    const status = { status: { admission: { clusterQueue: cq, podSetAssignments: [{ name: 'main', flavors: { cpu: 'default' }, resourceUsage: { cpu: '2' }, count: 1 }] } } };
    const err = await refusal(api.request('PATCH', `/apis/kueue.x-k8s.io/v1beta1/namespaces/${ns}/workloads/${w1!}/status`, { query: { dryRun: 'All' }, body: status, contentType: 'application/merge-patch+json' }));
    expect(err).to.be.instanceOf(ConflictError);
    await api.request('PATCH', `/apis/kueue.x-k8s.io/v1beta1/namespaces/${ns}/workloads/${w2!}/status`, {
      query: { dryRun: 'All' },
      body: { status: { admission: { clusterQueue: cq, podSetAssignments: [{ name: 'main', flavors: { cpu: 'default' }, resourceUsage: { cpu: '1' }, count: 1 }] } } },
      contentType: 'application/merge-patch+json',
    });
    expect(await reservedOf(api, cq)).to.deep.equal({});
    expect((await api.get<Workload>(ref)).status.admission).to.equal(undefined);
  });

  it('releases on unadmit, finish and delete give the quota back in the same write', async () => {
    const ns = await createNamespace(api, 'release');
    const cq = unique('rel');
    await api.create(cqRef(), clusterQueueManifest(cq, { default: { cpu: { nominalQuota: '3' } } }));
    const names = await workloads(ns, 'r', 4);
    for (const n of names.slice(0, 3)) await admit(api, ns, n, cq);
    expect(await reservedOf(api, cq)).to.deep.equal({ 'default/cpu': '3' });
    await refusal(admit(api, ns, names[3]!, cq));

    await unadmit(api, ns, names[0]!);
    expect(await reservedOf(api, cq)).to.deep.equal({ 'default/cpu': '2' });
    await finish(api, ns, names[1]!);
    expect(await reservedOf(api, cq)).to.deep.equal({ 'default/cpu': '1' });
    await api.delete(wlRef(ns, names[2]!));
    expect(await reservedOf(api, cq)).to.deep.equal({});
    expect(await reservedOf(api, cq, 'usage')).to.deep.equal({});
    // Admission is set or cleared, never moved while set.
    await admit(api, ns, names[3]!, cq);
    const moved = await refusal(admit(api, ns, names[3]!, cq, { cpu: '2' }));
    expect(moved).to.be.instanceOf(InvalidError);
    expect(moved.causes[0]?.field).to.equal('status.admission');
    await expectQueuesAuditOk(a);
  });

  it('a status write to a ClusterQueue keeps the ledger; a create starts it empty', async () => {
    const ns = await createNamespace(api, 'keep');
    const cq = unique('keep');
    await api.create(cqRef(), { ...clusterQueueManifest(cq, { default: { cpu: { nominalQuota: '2' } } }), status: { flavorsReservation: [{ name: 'default', resources: [{ name: 'cpu', total: '2' }] }] } });
    expect(await reservedOf(api, cq)).to.deep.equal({});
    const [w] = await workloads(ns, 'k', 1);
    await admit(api, ns, w!, cq);
    // A controller's status write from an older copy: counts and conditions, and a stale ledger.
    const updated = await api.patch<ClusterQueue>({ ...cqRef(cq), subresource: 'status' }, {
      status: { pendingWorkloads: 0, admittedWorkloads: 1, flavorsReservation: [], flavorsUsage: null, conditions: [{ type: 'Active', status: 'True', reason: 'Ready', message: 'Can admit new workloads' }] },
    });
    expect(updated.status.admittedWorkloads).to.equal(1);
    expect(await reservedOf(api, cq)).to.deep.equal({ 'default/cpu': '1' });
    expect(await reservedOf(api, cq, 'usage')).to.deep.equal({ 'default/cpu': '1' });
    await expectQueuesAuditOk(a);
  });

  it('a ClusterQueue deleted while it holds reservations stays Terminating, admits nothing, and goes with its last release', async () => {
    const ns = await createNamespace(api, 'del');
    const cq = unique('del');
    await api.create(cqRef(), clusterQueueManifest(cq, { default: { cpu: { nominalQuota: '3' } } }));
    const names = await workloads(ns, 'x', 3);
    await admit(api, ns, names[0]!, cq);
    await admit(api, ns, names[1]!, cq);
    await api.delete(cqRef(cq));
    const terminating = await api.get<ClusterQueue>(cqRef(cq));
    expect(terminating.metadata.deletionTimestamp).to.be.a('string');
    const err = await refusal(admit(api, ns, names[2]!, cq));
    expect(err).to.be.instanceOf(ConflictError);
    expect(err.causes[0]?.reason).to.equal('Terminating');
    await finish(api, ns, names[0]!);
    expect((await api.get<ClusterQueue>(cqRef(cq))).metadata.deletionTimestamp).to.be.a('string');
    await api.delete(wlRef(ns, names[1]!));
    expect(await refusal(api.get(cqRef(cq)))).to.be.instanceOf(NotFoundError);
    // An empty queue is deleted at once.
    const empty = unique('empty');
    await api.create(cqRef(), clusterQueueManifest(empty, { default: { cpu: { nominalQuota: '1' } } }));
    await api.delete(cqRef(empty));
    expect(await refusal(api.get(cqRef(empty)))).to.be.instanceOf(NotFoundError);
  });

  it('the audit finds a ledger broken by hand, and a cohort lending more than it has', async () => {
    const ns = await createNamespace(api, 'broken');
    const cohort = unique('cohort');
    const [cq, borrower, lender] = [unique('broken'), unique('borrower'), unique('lender')];
    await api.create(cqRef(), clusterQueueManifest(cq, { default: { cpu: { nominalQuota: '2' } } }));
    await api.create(cqRef(), clusterQueueManifest(borrower, { default: { cpu: { nominalQuota: '2' } } }, { cohort }));
    await api.create(cqRef(), clusterQueueManifest(lender, { default: { cpu: { nominalQuota: '2' } } }, { cohort }));
    const names = await workloads(ns, 'h', 5);
    await admit(api, ns, names[0]!, cq);
    await admit(api, ns, names[1]!, cq);
    for (const n of names.slice(2)) await admit(api, ns, n, borrower);
    await expectQueuesAuditOk(a);
    // Behind the API server's back: the ledger says 3 where its workloads hold 2 (and its quota is 2) …
    const objects = a.server.resources.get('clusterqueues')!.rest.objects;
    const key = objects.key(undefined, cq);
    const sv = (await a.store.get(key))!;
    const stored = objects.decode(sv.value, sv.version) as unknown as ClusterQueue;
    stored.status.flavorsReservation = [{ name: 'default', resources: [{ name: 'cpu', total: '3', borrowed: '1' }] }];
    const res = await a.store.txn({ compares: [{ key, modRevision: sv.modRevision }], success: [{ type: 'put', key, value: objects.encode(stored as unknown as KubeObject) }] });
    expect(res.succeeded).to.equal(true);
    // … and the lender's quota cut below what the borrower takes of it (allowed, as in Kueue).
    const l = await api.get<ClusterQueue>(cqRef(lender));
    l.spec.resourceGroups![0]!.flavors[0]!.resources[0]!.nominalQuota = '0';
    await api.update(cqRef(lender), l);
    const report = await auditQueues(a);
    expect(report.violations.map((v) => v.kind).sort()).to.deep.equal(['OverCohortQuota', 'OverQueueQuota', 'QueueUsageMismatch']);
    expect(report.violations.find((v) => v.kind === 'QueueUsageMismatch')?.message).to.equal(
      `ClusterQueue ${cq} records {default/cpu: 3} but its holders use {default/cpu: 2}`,
    );
    expect(report.violations.find((v) => v.kind === 'OverQueueQuota')?.clusterQueue).to.equal(cq);
    expect(report.violations.find((v) => v.kind === 'OverCohortQuota')).to.deep.include({
      cohort,
      message: `cohort ${cohort} is over on default/cpu: its queues use 3 beyond their guaranteed quota, and lend 2`,
    });
  });
});
