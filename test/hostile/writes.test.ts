// Hostile and racing writes against a real API server on real etcd (issue: hardening): each case
// asserts the Status a client gets, that nothing was written or half-written, and that the audit
// is clean afterwards. Races are made deterministic with an intercepting store that lets "another
// writer" get in just before the API server's own transaction is sent.
import net from 'node:net';
import { expect } from 'chai';
import { startApiServer, type ApiServer } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { AuditReport } from '../../apiserver/ledgers/audit.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints } from '../harness/apiserver.js';
import { InterceptingStore } from '../harness/intercepting-store.js';
import { randomPrefix } from '../store/helpers.js';
import { causeFields, expectStatus, namespaceBody, raw, type Obj, type PodView, type RawOptions } from '../apiserver/helpers.js';

function node(name: string, cpu: string): Record<string, unknown> {
  const r = { cpu, memory: '8Gi', pods: '110' };
  return { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: {}, status: { capacity: r, allocatable: r, conditions: [{ type: 'Ready', status: 'True' }] } };
}

function pod(name: string, cpu: string, nodeName?: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu, memory: '16Mi' } } }],
      ...(nodeName ? { nodeName } : {}),
    },
  };
}

const binding = (podName: string, nodeName: string) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name: podName }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } });
const placement = (ns: string, mode: string, bindings: [string, string][]) => ({
  apiVersion: 'scheduling.cell.dev/v1alpha1',
  kind: 'Placement',
  metadata: {},
  spec: { mode, bindings: bindings.map(([podName, nodeName]) => ({ podNamespace: ns, podName, nodeName })) },
});
const merge = (body: unknown): RawOptions => ({ body, contentType: 'application/merge-patch+json' });

describe('hostile writes: dry runs, races, deadlines (etcd)', function () {
  this.timeout(60_000);
  let store: InterceptingStore;
  let server: ApiServer;
  let url: string;
  let seq = 0;
  let ns: string;
  const req = (method: string, path: string, opts?: RawOptions) => raw(url, method, path, opts);
  const ok = async <T = Obj>(method: string, path: string, opts?: RawOptions): Promise<T> => {
    const res = await req(method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 300)}`).to.be.oneOf([200, 201]);
    return res.body as T;
  };
  const getPod = (name: string) => ok<PodView>('GET', `/api/v1/namespaces/${ns}/pods/${name}`);
  const allocation = (n: string) => ok<{ metadata: { resourceVersion: string }; spec: { allocated: Record<string, string>; pods: unknown[] } }>('GET', `/apis/scheduling.cell.dev/v1alpha1/nodeallocations/${n}`);
  const expectCleanAudit = async () => {
    const report = await ok<AuditReport>('GET', '/audit');
    expect(report.violations).to.deep.equal([]);
  };

  before(async () => {
    store = new InterceptingStore(new EtcdStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() }));
    server = await startApiServer({ store, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0, requestTimeoutMs: 1_500, maxRequestsInflight: 3 });
    url = server.url;
  });
  after(async () => {
    await server?.close();
    await store?.close();
  });
  beforeEach(async () => {
    ns = `hostile-${seq++}`;
    await ok('POST', '/api/v1/namespaces', { body: namespaceBody(ns) });
  });

  describe('dry run writes nothing, on every write path, and runs every check', () => {
    it('a dry-run Binding and a dry-run Placement answer as the real ones would and bind nothing', async () => {
      const n = `${ns}-n`;
      await ok('POST', '/api/v1/nodes', { body: node(n, '2') });
      for (const p of ['a', 'b', 'c']) await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod(p, '1') });
      const before = await allocation(n);
      const bound = await req('POST', `/api/v1/namespaces/${ns}/pods/a/binding?dryRun=All`, { body: binding('a', n) });
      expect(bound.status, bound.text).to.equal(201);
      const placed = await ok<{ status: { results: { outcome: string }[] } }>('POST', '/apis/scheduling.cell.dev/v1alpha1/placements?dryRun=All', {
        body: placement(ns, 'Incremental', [['a', n], ['b', n], ['c', n]]),
      });
      // Room for two: the third is refused, exactly as a real commit would refuse it.
      expect(placed.status.results.map((r) => r.outcome)).to.deep.equal(['Bound', 'Bound', 'Conflict']);
      for (const p of ['a', 'b', 'c']) expect((await getPod(p)).spec.nodeName).to.equal(undefined);
      const after = await allocation(n);
      expect(after.metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
      expect(after.spec.pods).to.deep.equal([]);
      await expectCleanAudit();
    });

    it('a bad dryRun value is a 400 on every write path, and writes nothing', async () => {
      const n = `${ns}-n`;
      await ok('POST', '/api/v1/nodes', { body: node(n, '2') });
      await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('a', '1') });
      const cases: [string, string, unknown][] = [
        ['POST', `/api/v1/namespaces/${ns}/pods?dryRun=Yes`, pod('z', '1')],
        ['POST', `/api/v1/namespaces/${ns}/pods/a/binding?dryRun=true`, binding('a', n)],
        ['POST', '/apis/scheduling.cell.dev/v1alpha1/placements?dryRun=All&dryRun=None', placement(ns, 'AllOrNothing', [['a', n]])],
        ['DELETE', `/api/v1/namespaces/${ns}/pods/a?dryRun=1`, undefined],
      ];
      for (const [method, path, body] of cases) expectStatus(await req(method, path, body === undefined ? {} : { body }), 400, 'BadRequest');
      const del = await req('DELETE', `/api/v1/namespaces/${ns}/pods/a`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['Maybe'] } });
      expectStatus(del, 400, 'BadRequest');
      expect((await getPod('a')).spec.nodeName).to.equal(undefined);
      expectStatus(await req('GET', `/api/v1/namespaces/${ns}/pods/z`), 404, 'NotFound');
    });

    it('a dry-run create onto a full node is refused as the real one is (409), and an existing name is AlreadyExists', async () => {
      const n = `${ns}-n`;
      await ok('POST', '/api/v1/nodes', { body: node(n, '1') });
      await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('full', '1', n) });
      expectStatus(await req('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, { body: pod('more', '500m', n) }), 409, 'Conflict');
      expectStatus(await req('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('more', '500m', n) }), 409, 'Conflict');
      expectStatus(await req('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, { body: pod('full', '100m') }), 409, 'AlreadyExists');
      // A dry-run status change that the ledger forbids (a finished pod running again) is refused too.
      await ok('PATCH', `/api/v1/namespaces/${ns}/pods/full/status`, merge({ status: { phase: 'Succeeded' } }));
      const again = await req('PATCH', `/api/v1/namespaces/${ns}/pods/full/status?dryRun=All`, merge({ status: { phase: 'Running' } }));
      expect(causeFields(expectStatus(again, 422, 'Invalid'))).to.include('status.phase');
      expectStatus(await req('GET', `/api/v1/namespaces/${ns}/pods/more`), 404, 'NotFound');
      await expectCleanAudit();
    });
  });

  it('creating an existing name is 409 AlreadyExists even when the pod names a full node', async () => {
    const n = `${ns}-n`;
    await ok('POST', '/api/v1/nodes', { body: node(n, '1') });
    await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('x', '1', n) });
    const dup = await req('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('x', '1', n) });
    expectStatus(dup, 409, 'AlreadyExists');
    await expectCleanAudit();
  });

  it('an Incremental Placement whose transaction is retried decides the refused bindings again (no false "insufficient")', async () => {
    const n = `${ns}-n`;
    await ok('POST', '/api/v1/nodes', { body: node(n, '2') });
    await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('x', '1', n) });
    for (const p of ['a', 'b']) await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod(p, '1') });
    // First attempt: room for one (a), b refused. Just before that transaction is sent, x finishes
    // and frees its CPU: the transaction fails on the ledger's revision, and the retry must see
    // room for both.
    store.beforeNextTxn(
      (t) => InterceptingStore.writes(t, `/pods/${ns}/a`, 'put'),
      async () => void (await ok('PATCH', `/api/v1/namespaces/${ns}/pods/x/status`, merge({ status: { phase: 'Succeeded' } }))),
    );
    const placed = await ok<{ status: { results: { outcome: string; message?: string }[] } }>('POST', '/apis/scheduling.cell.dev/v1alpha1/placements', {
      body: placement(ns, 'Incremental', [['a', n], ['b', n]]),
    });
    expect(placed.status.results.map((r) => `${r.outcome} ${r.message ?? ''}`.trim())).to.deep.equal(['Bound', 'Bound']);
    await expectCleanAudit();
  });

  describe('nodes', () => {
    it('a node DELETE that is refused (its precondition fails in a race) leaves its pods running', async () => {
      const n = `${ns}-n`;
      const created = await ok('POST', '/api/v1/nodes', { body: node(n, '4') });
      for (const p of ['a', 'b']) await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod(p, '1', n) });
      const current = await ok('GET', `/api/v1/nodes/${n}`);
      expect(current.metadata.uid).to.equal(created.metadata.uid);
      // Another writer changes the node just before the delete's transaction.
      store.beforeNextTxn(
        (t) => InterceptingStore.writes(t, `/nodes/${n}`, 'delete'),
        async () => void (await ok('PATCH', `/api/v1/nodes/${n}`, merge({ metadata: { labels: { touched: 'yes' } } }))),
      );
      const del = await req('DELETE', `/api/v1/nodes/${n}`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: current.metadata.resourceVersion } } });
      expectStatus(del, 409, 'Conflict');
      for (const p of ['a', 'b']) {
        const got = await getPod(p);
        expect(got.status?.phase ?? 'Pending', `pod ${p}`).to.not.equal('Failed');
        expect(got.spec.nodeName).to.equal(n);
      }
      expect((await allocation(n)).spec.pods).to.have.length(2);
      await expectCleanAudit();
    });

    it('deleting a node fails its pods in the same transaction, even when a pod is bound to it meanwhile', async () => {
      const n = `${ns}-n`;
      await ok('POST', '/api/v1/nodes', { body: node(n, '4') });
      await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('a', '1', n) });
      store.beforeNextTxn(
        (t) => InterceptingStore.writes(t, `/nodes/${n}`, 'delete'),
        async () => void (await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('late', '1', n) })),
      );
      await ok('DELETE', `/api/v1/nodes/${n}`);
      for (const p of ['a', 'late']) expect((await getPod(p)).status?.phase, `pod ${p}`).to.equal('Failed');
      expectStatus(await req('GET', `/apis/scheduling.cell.dev/v1alpha1/nodeallocations/${n}`), 404, 'NotFound');
      await expectCleanAudit();
    });

    it('a node cannot shrink its allocatable below what is bound to it (422), by status patch or by clearing it', async () => {
      const n = `${ns}-n`;
      await ok('POST', '/api/v1/nodes', { body: node(n, '2') });
      await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('big', '1500m', n) });
      const shrink = await req('PATCH', `/api/v1/nodes/${n}/status`, merge({ status: { allocatable: { cpu: '1' } } }));
      expect(causeFields(expectStatus(shrink, 422, 'Invalid'))).to.include('status.allocatable');
      const cleared = await req('PATCH', `/api/v1/nodes/${n}/status`, merge({ status: { allocatable: null, capacity: { cpu: '1', memory: '8Gi', pods: '110' } } }));
      expect(causeFields(expectStatus(cleared, 422, 'Invalid'))).to.include('status.allocatable');
      // Growing, or shrinking to what still fits, is fine.
      await ok('PATCH', `/api/v1/nodes/${n}/status`, merge({ status: { allocatable: { cpu: '1500m' } } }));
      expect((await allocation(n)).spec.allocated.cpu).to.equal('1500m');
      await expectCleanAudit();
    });
  });

  it('changing metadata.uid by patch or update is 422 (immutable), and changes nothing', async () => {
    const created = await ok('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod('u', '10m') });
    const patched = await req('PATCH', `/api/v1/namespaces/${ns}/pods/u`, merge({ metadata: { uid: 'not-mine', labels: { a: 'b' } } }));
    expect(causeFields(expectStatus(patched, 422, 'Invalid'))).to.include('metadata.uid');
    const put = await req('PUT', `/api/v1/namespaces/${ns}/pods/u`, { body: { ...created, metadata: { ...created.metadata, uid: 'other' } } });
    expect(causeFields(expectStatus(put, 422, 'Invalid'))).to.include('metadata.uid');
    const now = await getPod('u');
    expect(now.metadata.uid).to.equal(created.metadata.uid);
    expect(now.metadata.resourceVersion).to.equal(created.metadata.resourceVersion);
  });

  describe('request deadlines', () => {
    /** Sends headers and part of a body, then stalls; resolves with what the server answers. */
    const stalledUpload = (path: string) =>
      new Promise<{ text: string; closedAfterMs: number }>((resolve, reject) => {
        const u = new URL(url);
        const started = Date.now();
        const socket = net.connect(Number(u.port), u.hostname, () => {
          socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion"`);
        });
        let text = '';
        socket.setEncoding('utf8').on('data', (d: string) => (text += d));
        socket.on('close', () => resolve({ text, closedAfterMs: Date.now() - started }));
        socket.on('error', reject);
      });

    it('a stalled upload holds its in-flight slot only until the deadline: 504, connection closed, the server serves again', async () => {
      const path = `/api/v1/namespaces/${ns}/pods`;
      // Three stalled uploads take every slot (--max-requests-inflight=3 here); without a deadline
      // they would never be answered and every later request would get 429.
      const answers = await Promise.all([stalledUpload(path), stalledUpload(path), stalledUpload(path)]);
      for (const a of answers) {
        expect(a.text).to.match(/^HTTP\/1\.1 504/);
        expect(a.text).to.include('"reason":"Timeout"');
        expect(a.text).to.match(/Retry-After: 1/i);
        expect(a.closedAfterMs).to.be.lessThan(10_000);
      }
      expect((await req('GET', '/api/v1/namespaces')).status).to.equal(200);
    });

    it('?timeout= shortens the deadline; a bad one is a 400', async () => {
      const started = Date.now();
      const a = await stalledUpload(`/api/v1/namespaces/${ns}/pods?timeout=300ms`);
      expect(a.text).to.match(/^HTTP\/1\.1 504/);
      expect(Date.now() - started).to.be.lessThan(1_400);
      expectStatus(await req('GET', `/api/v1/namespaces/${ns}/pods?timeout=soon`), 400, 'BadRequest');
      expect((await req('GET', `/api/v1/namespaces/${ns}/pods?timeout=5s`)).status).to.equal(200);
    });

    it('watches are not cut by the deadline', async () => {
      const res = await fetch(`${url}/api/v1/namespaces/${ns}/pods?watch=true&timeoutSeconds=3`);
      expect(res.status).to.equal(200);
      const started = Date.now();
      await res.text();
      expect(Date.now() - started).to.be.at.least(2_500);
    });
  });
});
