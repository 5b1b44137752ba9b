// Binding and Placement semantics on real etcd: all-or-nothing, incremental, release of
// finished/deleted pods, rebinding, missing nodes, the transaction-size limit, node deletion.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import { ALLOCATION_VERSION_CAUSE, type NodeAllocation, type Placement } from '../../shared/api/scheduling.js';
import { ConflictError, InvalidError, NotFoundError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { audit, bind, createNamespace, ledgerPodNames, nodeObject, podObject, pool } from './fixtures.js';
import type { ApiClient } from '../../shared/client/http-client.js';

const ALLOC = { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'nodeallocations' };
const PLACEMENTS = { group: 'scheduling.cell.dev', version: 'v1alpha1', resource: 'placements' };

async function place(client: ApiClient, mode: 'Incremental' | 'AllOrNothing', bindings: { podNamespace: string; podName: string; nodeName: string }[]) {
  return client.create<Placement>(PLACEMENTS, {
    apiVersion: 'scheduling.cell.dev/v1alpha1',
    kind: 'Placement',
    metadata: {},
    spec: { mode, bindings },
  });
}

describe('placement commits (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  let client: ApiClient;
  let seq = 0;
  let ns: string;
  const nodeName = (n: string) => `${ns}-${n}`;

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
    client = t.client();
  });
  after(async () => t.close());
  beforeEach(async () => {
    ns = `commit-${seq++}`;
    await createNamespace(client, ns);
  });

  async function pods(n: number, cpu: string, prefix = 'p') {
    await pool(n, 16, (i) => client.create({ namespace: ns, resource: 'pods' }, podObject(`${prefix}${i}`, cpu)).then(() => undefined));
  }
  async function allocation(node: string) {
    return client.get<NodeAllocation>({ ...ALLOC, name: nodeName(node) });
  }
  async function pod(name: string) {
    return client.get<Pod>({ namespace: ns, resource: 'pods', name });
  }
  async function expectClean() {
    const report = await audit(client);
    expect(report.violations).to.deep.equal([]);
  }

  it('creates an empty allocation with the node and removes it with the node', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '2'));
    const a = await allocation('a');
    expect(a.spec.allocatable.cpu).to.equal('2');
    expect(a.spec.pods).to.deep.equal([]);
    await client.delete({ resource: 'nodes', name: nodeName('a') });
    try {
      await allocation('a');
      expect.fail('allocation should be gone');
    } catch (err) {
      expect(err).to.be.instanceOf(NotFoundError);
    }
  });

  it('binds: writes the pod and its allocation together; rebinding is a conflict', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '2'));
    await pods(1, '500m');
    await bind(client, ns, 'p0', nodeName('a'));
    const p = await pod('p0');
    expect(p.spec.nodeName).to.equal(nodeName('a'));
    expect(p.status.conditions?.find((c) => c.type === 'PodScheduled')?.status).to.equal('True');
    const a = await allocation('a');
    expect(a.spec.allocated).to.deep.equal({ cpu: '500m', pods: '1' });
    expect(await ledgerPodNames(client, nodeName('a'))).to.deep.equal(['p0']);
    try {
      await bind(client, ns, 'p0', nodeName('a'));
      expect.fail('rebinding should conflict');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as Error).message).to.match(/already assigned to node/);
    }
    await expectClean();
  });

  it('refuses a binding that does not fit, naming the resource', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '1'));
    await pods(3, '400m');
    await bind(client, ns, 'p0', nodeName('a'));
    await bind(client, ns, 'p1', nodeName('a'));
    try {
      await bind(client, ns, 'p2', nodeName('a'));
      expect.fail('third pod should not fit');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as Error).message).to.contain(`node ${nodeName('a')}: insufficient cpu: requested 400m, free 200m`);
      // For programs: the reason, and the ledger version it was decided on, as Status causes.
      const causes = (err as ConflictError).causes;
      expect(causes[0]?.reason).to.equal('Insufficient');
      expect(causes.find((c) => c.reason === ALLOCATION_VERSION_CAUSE)?.message).to.equal((await allocation('a')).metadata.resourceVersion);
    }
    // The same in a Placement's results.
    const placed = await place(client, 'Incremental', [{ podNamespace: ns, podName: 'p2', nodeName: nodeName('a') }, { podNamespace: ns, podName: 'p0', nodeName: nodeName('a') }]);
    expect(placed.status?.results.map((r) => [r.outcome, r.reason])).to.deep.equal([['Conflict', 'Insufficient'], ['Conflict', 'PodTaken']]);
    expect(placed.status?.results[0]?.allocationResourceVersion).to.equal((await allocation('a')).metadata.resourceVersion);
    await expectClean();
  });

  it('binding to a missing or deleted node is 404 with a clear message', async () => {
    await pods(1, '100m');
    try {
      await bind(client, ns, 'p0', nodeName('ghost'));
      expect.fail('should be 404');
    } catch (err) {
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.contain(`nodes "${nodeName('ghost')}" not found`);
    }
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('gone'), '2'));
    await client.delete({ resource: 'nodes', name: nodeName('gone') });
    try {
      await bind(client, ns, 'p0', nodeName('gone'));
      expect.fail('should be 404');
    } catch (err) {
      expect(err).to.be.instanceOf(NotFoundError);
    }
    expect((await pod('p0')).spec.nodeName).to.equal(undefined);
  });

  it('releases exactly the pod on Succeeded, Failed and delete; the freed slot is bindable at once', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '1'));
    await pods(5, '500m');
    await bind(client, ns, 'p0', nodeName('a'));
    await bind(client, ns, 'p1', nodeName('a'));
    for (const [finish, next] of [['Succeeded', 'p2'], ['Failed', 'p3']] as const) {
      const victim = finish === 'Succeeded' ? 'p0' : 'p2';
      const cur = await pod(victim);
      await client.update({ namespace: ns, resource: 'pods', name: victim, subresource: 'status' }, { ...cur, status: { ...cur.status, phase: finish } });
      const a = await allocation('a');
      expect(a.spec.allocated.cpu, `after ${finish}`).to.equal('500m');
      expect(await ledgerPodNames(client, nodeName('a'))).to.not.include(victim);
      await bind(client, ns, next, nodeName('a'));
    }
    // Graceful delete keeps the pod (and its allocation) until the final delete.
    await client.delete({ namespace: ns, resource: 'pods', name: 'p1' });
    expect(await ledgerPodNames(client, nodeName('a'))).to.include('p1');
    await client.delete({ namespace: ns, resource: 'pods', name: 'p1' }, { gracePeriodSeconds: 0 });
    expect(await ledgerPodNames(client, nodeName('a'))).to.deep.equal(['p3']);
    await bind(client, ns, 'p4', nodeName('a'));
    expect((await allocation('a')).spec.allocated).to.deep.equal({ cpu: '1', pods: '2' });
    await expectClean();
  });

  it('a finished pod cannot become Running again (its slot was released), nor change its final phase', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '1'));
    await pods(1, '500m');
    await bind(client, ns, 'p0', nodeName('a'));
    let cur = await pod('p0');
    await client.update({ namespace: ns, resource: 'pods', name: 'p0', subresource: 'status' }, { ...cur, status: { ...cur.status, phase: 'Failed', reason: 'NodeLost' } });
    cur = await pod('p0');
    for (const phase of ['Running', 'Pending', 'Succeeded']) {
      const err = await client.update({ namespace: ns, resource: 'pods', name: 'p0', subresource: 'status' }, { ...cur, status: { ...cur.status, phase } }).then(
        () => expect.fail(`${phase} should be refused`),
        (e: unknown) => e,
      );
      expect(err, phase).to.be.instanceOf(InvalidError);
      expect((err as InvalidError).causes.map((c) => c.field), phase).to.deep.equal(['status.phase']);
      expect((err as Error).message).to.contain("a Failed pod's phase is final");
    }
    // Under its final phase, the rest of its status may still be written (its containers' ends).
    await client.update({ namespace: ns, resource: 'pods', name: 'p0', subresource: 'status' }, { ...cur, status: { ...cur.status, message: 'the node came back' } });
    expect((await pod('p0')).status).to.include({ phase: 'Failed', reason: 'NodeLost', message: 'the node came back' });
    await expectClean();
  });

  it('a pod created already bound enters the ledger, or is refused when it does not fit', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '1'));
    const bound = podObject('direct', '800m');
    await client.create({ namespace: ns, resource: 'pods' }, { ...bound, spec: { ...bound.spec, nodeName: nodeName('a') } });
    expect((await allocation('a')).spec.allocated.cpu).to.equal('800m');
    const tooBig = podObject('direct2', '800m');
    try {
      await client.create({ namespace: ns, resource: 'pods' }, { ...tooBig, spec: { ...tooBig.spec, nodeName: nodeName('a') } });
      expect.fail('should not fit');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as Error).message).to.contain('insufficient cpu');
    }
    await expectClean();
  });

  it('AllOrNothing that cannot fit commits nothing; Incremental commits exactly what fits', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '1'));
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('b'), '1'));
    await pods(6, '500m');
    const bindings = Array.from({ length: 6 }, (_, i) => ({ podNamespace: ns, podName: `p${i}`, nodeName: nodeName(i < 3 ? 'a' : 'b') }));
    const gang = await place(client, 'AllOrNothing', bindings);
    expect(gang.status?.bound).to.equal(0);
    expect(gang.status?.results.filter((r) => r.outcome === 'Conflict').length).to.equal(2);
    expect(gang.status?.results.filter((r) => r.outcome === 'Skipped').length).to.equal(4);
    expect((await allocation('a')).spec.pods).to.deep.equal([]);
    expect((await allocation('b')).spec.pods).to.deep.equal([]);

    const inc = await place(client, 'Incremental', bindings);
    expect(inc.status?.bound).to.equal(4);
    expect(inc.status?.results.map((r) => r.outcome)).to.deep.equal(['Bound', 'Bound', 'Conflict', 'Bound', 'Bound', 'Conflict']);
    expect(inc.status?.results[2]?.message).to.contain('insufficient cpu');
    await expectClean();
  });

  it('a placement naming the same pod twice is a 422; a missing pod or node is reported per item; nothing half-written', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '4'));
    await pods(2, '100m');
    for (const mode of ['Incremental', 'AllOrNothing'] as const) {
      try {
        await place(client, mode, [
          { podNamespace: ns, podName: 'p0', nodeName: nodeName('a') },
          { podNamespace: ns, podName: 'p0', nodeName: nodeName('a') },
        ]);
        expect.fail('duplicate should be refused');
      } catch (err) {
        expect(err).to.be.instanceOf(InvalidError);
        expect((err as InvalidError).causes[0]?.field).to.equal('spec.bindings[1]');
      }
    }
    expect((await allocation('a')).spec.pods).to.deep.equal([]);
    const res = await place(client, 'Incremental', [
      { podNamespace: ns, podName: 'p0', nodeName: nodeName('a') },
      { podNamespace: ns, podName: 'nope', nodeName: nodeName('a') },
      { podNamespace: ns, podName: 'p1', nodeName: nodeName('missing') },
    ]);
    expect(res.status?.results.map((r) => r.outcome)).to.deep.equal(['Bound', 'NotFound', 'NotFound']);
    expect(await ledgerPodNames(client, nodeName('a'))).to.deep.equal(['p0']);
    const gang = await place(client, 'AllOrNothing', [
      { podNamespace: ns, podName: 'p1', nodeName: nodeName('a') },
      { podNamespace: ns, podName: 'nope', nodeName: nodeName('a') },
    ]);
    expect(gang.status?.results.map((r) => r.outcome)).to.deep.equal(['Skipped', 'NotFound']);
    expect((await pod('p1')).spec.nodeName).to.equal(undefined);
    await expectClean();
  });

  it('an AllOrNothing placement too large for one transaction is a 422, not split', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('big'), '1000', { pods: '1000' }));
    await pods(130, '1m');
    const bindings = Array.from({ length: 130 }, (_, i) => ({ podNamespace: ns, podName: `p${i}`, nodeName: nodeName('big') }));
    try {
      await place(client, 'AllOrNothing', bindings);
      expect.fail('should be refused');
    } catch (err) {
      expect(err).to.be.instanceOf(InvalidError);
      expect((err as Error).message).to.match(/must fit one store transaction/);
    }
    expect((await allocation('big')).spec.pods).to.deep.equal([]);
    // The same bindings as Incremental are split into several transactions and all commit.
    const inc = await place(client, 'Incremental', bindings);
    expect(inc.status?.bound).to.equal(130);
    await expectClean();
  });

  it('every pod of a multi-pod placement reaches watchers (one transaction, one revision)', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('w'), '4'));
    await pods(3, '100m');
    const list = await client.list<{ metadata: { resourceVersion: string } }>({ namespace: ns, resource: 'pods' });
    const seen: string[] = [];
    const ac = new AbortController();
    const watching = client.watch<Pod>({ namespace: ns, resource: 'pods' }, { resourceVersion: list.metadata.resourceVersion }, (ev) => {
      if (ev.type === 'MODIFIED' && ev.object.spec.nodeName) seen.push(ev.object.metadata.name ?? '');
    }, ac.signal);
    const res = await place(client, 'Incremental', [0, 1, 2].map((i) => ({ podNamespace: ns, podName: `p${i}`, nodeName: nodeName('w') })));
    expect(res.status?.bound).to.equal(3);
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await watching;
    expect(seen.sort()).to.deep.equal(['p0', 'p1', 'p2']);
    // The watch cache serves lists from the same events: all three bound there too.
    const cached = await client.list<{ items: Pod[] }>({ namespace: ns, resource: 'pods' }, { resourceVersion: '0' });
    expect(cached.items.filter((p) => p.spec.nodeName).length).to.equal(3);
  });

  it('a binding whose metadata.uid names another incarnation of the pod is a conflict', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('u'), '2'));
    await pods(1, '100m');
    try {
      await client.create({ namespace: ns, resource: 'pods', name: 'p0', subresource: 'binding' }, {
        apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p0', uid: 'not-this-pod' }, target: { kind: 'Node', name: nodeName('u') },
      });
      expect.fail('should conflict');
    } catch (err) {
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as Error).message).to.contain('was replaced');
    }
    expect((await pod('p0')).spec.nodeName).to.equal(undefined);
  });

  it('deleting a node fails its pods and frees their allocation', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('a'), '2'));
    await pods(2, '500m');
    await bind(client, ns, 'p0', nodeName('a'));
    await bind(client, ns, 'p1', nodeName('a'));
    await client.delete({ resource: 'nodes', name: nodeName('a') });
    for (const name of ['p0', 'p1']) {
      const p = await pod(name);
      expect(p.status.phase).to.equal('Failed');
      expect(p.status.reason).to.equal('NodeLost');
    }
    await expectClean();
  });

  it('host ports and extended resources are part of the fit', async () => {
    await client.create({ resource: 'nodes' }, nodeObject(nodeName('g'), '8', { extra: { 'nvidia.com/gpu': '1' } }));
    await client.create({ namespace: ns, resource: 'pods' }, podObject('web1', '100m', { hostPort: 8080 }));
    await client.create({ namespace: ns, resource: 'pods' }, podObject('web2', '100m', { hostPort: 8080 }));
    await bind(client, ns, 'web1', nodeName('g'));
    try {
      await bind(client, ns, 'web2', nodeName('g'));
      expect.fail('port clash');
    } catch (err) {
      expect((err as Error).message).to.contain('host port 8080/TCP is already in use');
    }
    const gpuPod = (name: string) => {
      const p = podObject(name, '100m');
      p.spec.containers[0]!.resources = { requests: { cpu: '100m', 'nvidia.com/gpu': '1' } } as typeof p.spec.containers[0]['resources'];
      return p;
    };
    await client.create({ namespace: ns, resource: 'pods' }, gpuPod('gpu1'));
    await client.create({ namespace: ns, resource: 'pods' }, gpuPod('gpu2'));
    await bind(client, ns, 'gpu1', nodeName('g'));
    try {
      await bind(client, ns, 'gpu2', nodeName('g'));
      expect.fail('no second gpu');
    } catch (err) {
      expect((err as Error).message).to.contain('insufficient nvidia.com/gpu');
    }
    await expectClean();
  });
});
