// Multi-object create (apiserver/http/bulk-create.ts), on real etcd and real HTTP: a `v1 List`
// POSTed to a collection creates each item exactly as a single POST would (validation, defaulting,
// namespace checks, generateName, quota admission), answers each item's object or Status in order,
// refuses the whole request only for what concerns the request (RBAC, the envelope, its size), and
// never lets racing bulk and single creates past a ResourceQuota.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Pod } from '../../shared/api/core.js';
import { MAX_CREATE_LIST_ITEMS } from '../../shared/api/meta.js';
import type { ApiClient } from '../../shared/client/http-client.js';
import { ForbiddenError, InvalidError } from '../../shared/errors.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { bindingBody, RBAC_V1 } from '../auth/rbac-helpers.js';
import { counted, createQuota, expectAuditOk, InProcessQuotaController, usedOf } from '../quota/helpers.js';
import { causeFields, expectStatus, podBody, raw, waitFor, type Obj, type PodView, type RawResponse, type StatusView } from './helpers.js';

/** The server's body limit in this suite: small, so that 413 is cheap to reach. */
const MAX_REQUEST_BYTES = 256 * 1024;

interface ListAnswer {
  kind: string;
  apiVersion: string;
  items: (Obj | StatusView)[];
}

const isStatus = (x: Obj | StatusView): x is StatusView => x.kind === 'Status';

function list(items: unknown[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', items };
}

function answer(res: RawResponse): ListAnswer {
  expect(res.status, res.text.slice(0, 500)).to.equal(200);
  const body = res.body as ListAnswer;
  expect(body.kind).to.equal('List');
  expect(body.apiVersion).to.equal('v1');
  return body;
}

function created(item: Obj | StatusView | undefined): PodView {
  expect(item, JSON.stringify(item)).to.be.an('object');
  expect(isStatus(item!), JSON.stringify(item)).to.equal(false);
  return item as PodView;
}

function refused(item: Obj | StatusView | undefined, code: number, reason: string): StatusView {
  expect(item, JSON.stringify(item)).to.be.an('object');
  const s = item as StatusView;
  expect(s.kind, JSON.stringify(item)).to.equal('Status');
  expect(s.apiVersion).to.equal('v1');
  expect(s.status).to.equal('Failure');
  expect(s.code, JSON.stringify(item)).to.equal(code);
  expect(s.reason).to.equal(reason);
  return s;
}

describe('multi-object create: a v1 List POSTed to a collection', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let admin: ApiClient;
  const post = (path: string, body: unknown, token = TEST_TOKENS.admin) => raw(api.url, 'POST', path, { body, token });
  const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

  async function namespace(prefix: string): Promise<string> {
    const name = `${prefix}-${randomUUID().slice(0, 8)}`;
    await admin.create({ version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    return name;
  }

  async function podNames(ns: string): Promise<string[]> {
    const pods = await admin.list<{ items: Pod[] }>({ version: 'v1', resource: 'pods', namespace: ns });
    return pods.items.map((p) => p.metadata.name ?? '').sort();
  }

  async function podCreateRequests(): Promise<number> {
    const values = (await api.server.metrics.requests.get()).values;
    return values.filter((v) => v.labels.verb === 'create' && v.labels.resource === 'pods').reduce((n, v) => n + v.value, 0);
  }

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true, maxRequestBytes: MAX_REQUEST_BYTES });
    admin = api.client(TEST_TOKENS.admin);
  });

  after(async () => {
    admin?.close();
    await api?.close();
  });

  it('creates each item as a single POST would and answers every outcome in order; a bad item gets its 422 in place', async () => {
    const ns = await namespace('bulk');
    const good = (name: string) => podBody(name, { labels: { app: 'bulk' } });
    const bad = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 'lots' } } }] } };
    const generated = { ...good('ignored'), metadata: { generateName: 'gen-', labels: { app: 'bulk' } } };
    const out = answer(await post(podsPath(ns), list([good('a'), generated, bad, good('b')])));
    expect(out.items).to.have.length(4);
    const a = created(out.items[0]);
    const gen = created(out.items[1]);
    const s = refused(out.items[2], 422, 'Invalid');
    const b = created(out.items[3]);
    expect(causeFields(s)).to.deep.equal(['spec.containers[0].resources.requests.cpu']);
    expect(s.message).to.contain('Pod "bad" is invalid');
    expect(a.metadata.name).to.equal('a');
    expect(b.metadata.name).to.equal('b');
    expect(gen.metadata.name).to.match(/^gen-[a-z0-9]{5}$/);
    // Every one a distinct write with its own resourceVersion, as created and as stored.
    expect(new Set([a, gen, b].map((p) => p.metadata.resourceVersion)).size).to.equal(3);
    expect(new Set([a, gen, b].map((p) => p.metadata.uid)).size).to.equal(3);
    for (const p of [a, gen, b]) {
      const stored = await admin.get<PodView>({ version: 'v1', resource: 'pods', namespace: ns, name: p.metadata.name });
      expect(stored).to.deep.equal(p);
    }
    expect(await podNames(ns)).to.deep.equal(['a', 'b', gen.metadata.name].sort());

    // The same defaults and server-set fields as a single POST of the same body.
    const single = (await post(podsPath(ns), good('single'))).body as PodView;
    const comparable = (p: PodView) => {
      const { name: _n, uid: _u, resourceVersion: _r, creationTimestamp: _c, ...meta } = p.metadata;
      return { ...p, metadata: meta };
    };
    expect(comparable(a)).to.deep.equal(comparable(single));
  });

  it('items alike (one template\'s pods, validated once) are each created as their own object; alike bad items are each refused', async () => {
    const ns = await namespace('bulk-alike');
    const template = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'w-', labels: { app: 'alike' }, annotations: { note: 'x' } }, spec: podBody('x').spec };
    const bad = { ...template, spec: { containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 'lots' } } }] } };
    const other = { ...template, metadata: { ...template.metadata, labels: { app: 'other' } } };
    const items = [template, template, structuredClone(template), bad, structuredClone(bad), template, other, template];
    const out = answer(await post(podsPath(ns), list(items)));
    expect(out.items).to.have.length(items.length);
    for (const i of [3, 4]) expect(causeFields(refused(out.items[i], 422, 'Invalid'))).to.deep.equal(['spec.containers[0].resources.requests.cpu']);
    const pods = [0, 1, 2, 5, 6, 7].map((i) => created(out.items[i]));
    expect(new Set(pods.map((p) => p.metadata.name)).size).to.equal(6);
    expect(new Set(pods.map((p) => p.metadata.uid)).size).to.equal(6);
    expect(pods.map((p) => p.metadata.labels?.app)).to.deep.equal(['alike', 'alike', 'alike', 'alike', 'other', 'alike']);
    // What each answer says is what is stored, and no answer shares state with another.
    for (const p of pods) expect(await admin.get<PodView>({ version: 'v1', resource: 'pods', namespace: ns, name: p.metadata.name })).to.deep.equal(p);
    expect(await podNames(ns)).to.deep.equal(pods.map((p) => p.metadata.name).sort());
  });

  it('answers an item whose name exists with its 409 in place; a name given twice is created once', async () => {
    const ns = await namespace('bulk-dup');
    expect((await post(podsPath(ns), podBody('taken'))).status).to.equal(201);
    const out = answer(await post(podsPath(ns), list([podBody('taken'), podBody('twice'), podBody('twice'), podBody('free')])));
    const s = refused(out.items[0], 409, 'AlreadyExists');
    expect(s.message).to.equal('pods "taken" already exists');
    const twice = [out.items[1]!, out.items[2]!];
    expect(twice.filter((x) => !isStatus(x))).to.have.length(1);
    refused(twice.find(isStatus), 409, 'AlreadyExists');
    expect(created(out.items[3]).metadata.name).to.equal('free');
    expect(await podNames(ns)).to.deep.equal(['free', 'taken', 'twice']);
  });

  it('checks each item as a single create does: its namespace, fieldValidation=Strict, its body', async () => {
    const ns = await namespace('bulk-items');
    const elsewhere = { ...podBody('elsewhere'), metadata: { name: 'elsewhere', namespace: 'default' } };
    const unknown = { ...podBody('unknown'), spec: { ...(podBody('x').spec as object), colour: 'blue' } };
    const out = answer(await raw(api.url, 'POST', `${podsPath(ns)}?fieldValidation=Strict`, { body: list([elsewhere, unknown, 'not an object', { ...podBody('x'), kind: 'Node' }, podBody('ok')]), token: TEST_TOKENS.admin }));
    expect(refused(out.items[0], 400, 'BadRequest').message).to.equal('the namespace of the provided object does not match the namespace sent on the request');
    expect(refused(out.items[1], 400, 'BadRequest').message).to.contain('spec.colour');
    refused(out.items[2], 400, 'BadRequest');
    expect(refused(out.items[3], 400, 'BadRequest').message).to.contain('does not match the expected kind (Pod)');
    expect(created(out.items[4]).metadata.name).to.equal('ok');
    expect(await podNames(ns)).to.deep.equal(['ok']);
    expect(await podNames('default')).to.not.include('elsewhere');

    // A namespace that does not exist: each item is refused as a single create is.
    const none = answer(await post(podsPath(`missing-${randomUUID().slice(0, 8)}`), list([podBody('p')])));
    refused(none.items[0], 404, 'NotFound');
  });

  it('dryRun=All runs every check on every item and writes nothing', async () => {
    const ns = await namespace('bulk-dry');
    const generated = { ...podBody('ignored'), metadata: { generateName: 'dry-' } };
    const out = answer(await raw(api.url, 'POST', `${podsPath(ns)}?dryRun=All`, { body: list([podBody('a'), generated, { ...podBody('bad'), spec: {} }]), token: TEST_TOKENS.admin }));
    expect(created(out.items[0]).metadata.name).to.equal('a');
    expect(created(out.items[1]).metadata.name).to.match(/^dry-[a-z0-9]{5}$/);
    refused(out.items[2], 422, 'Invalid');
    expect(await podNames(ns)).to.deep.equal([]);
  });

  it('refuses the whole request for its envelope: another apiVersion, no items, too many items, a body over the limit', async () => {
    const ns = await namespace('bulk-envelope');
    const before = await podCreateRequests();
    expectStatus(await post(podsPath(ns), { apiVersion: 'v2', kind: 'List', items: [podBody('a')] }), 400, 'BadRequest');
    let s = expectStatus(await post(podsPath(ns), { apiVersion: 'v1', kind: 'List' }), 422, 'Invalid');
    expect(causeFields(s)).to.deep.equal(['items']);
    const many = Array.from({ length: MAX_CREATE_LIST_ITEMS + 1 }, (_, i) => ({ metadata: { name: `p-${i}` }, spec: {} }));
    s = expectStatus(await post(podsPath(ns), list(many)), 422, 'Invalid');
    expect(s.details?.causes).to.deep.equal([{ reason: 'FieldValueTooMany', field: 'items', message: `Too many: ${MAX_CREATE_LIST_ITEMS + 1}: must have at most ${MAX_CREATE_LIST_ITEMS} items` }]);
    const big = Array.from({ length: 40 }, (_, i) => podBody(`big-${i}`, { annotations: { pad: 'x'.repeat(8 * 1024) } }));
    expectStatus(await post(podsPath(ns), list(big)), 413, 'RequestEntityTooLarge');
    expect(await podNames(ns)).to.deep.equal([]);
    expect(await podCreateRequests()).to.equal(before + 4);
    // An empty List is a request with nothing to do.
    expect(answer(await post(podsPath(ns), list([]))).items).to.deep.equal([]);
    // A kind whose create is a custom verb takes no List.
    expectStatus(await post('/apis/scheduling.cell.dev/v1alpha1/placements', list([])), 400, 'BadRequest');
  });

  it('RBAC decides the request once: 403 without create on pods in that namespace, nothing created', async () => {
    const mine = await namespace('bulk-rbac-mine');
    const other = await namespace('bulk-rbac-other');
    // A viewer may not create at all.
    let s = expectStatus(await post(podsPath(mine), list([podBody('v')]), TEST_TOKENS.viewer), 403, 'Forbidden');
    expect(s.message).to.contain('cannot create resource "pods"');
    // "nobody" may edit in one namespace only.
    expect((await post(`${RBAC_V1}/namespaces/${mine}/rolebindings`, bindingBody('nobody-edit', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'User', name: 'nobody' }]))).status).to.equal(201);
    const out = await waitFor('the RoleBinding to take effect', async () => {
      const res = await post(podsPath(mine), list([podBody('n1'), podBody('n2')]), TEST_TOKENS.nobody);
      return res.status === 200 ? answer(res) : undefined;
    });
    expect(out.items.map((p) => created(p).metadata.name)).to.deep.equal(['n1', 'n2']);
    s = expectStatus(await post(podsPath(other), list([podBody('n3')]), TEST_TOKENS.nobody), 403, 'Forbidden');
    expect(s.message).to.contain(`in the namespace "${other}"`);
    expect(await podNames(other)).to.deep.equal([]);
    expect(await podNames(mine)).to.deep.equal(['n1', 'n2']);
  });

  it('the client sends more than one request’s worth in several requests and answers each item in order; a refused request fails each of its items', async () => {
    const ns = await namespace('bulk-client');
    const before = await podCreateRequests();
    const items = Array.from({ length: MAX_CREATE_LIST_ITEMS + 3 }, (_, i) => podBody(`c-${String(i).padStart(3, '0')}`));
    const outcomes = await admin.createMany<Pod>({ version: 'v1', resource: 'pods', namespace: ns }, [...items, { ...podBody('bad'), spec: {} }]);
    expect(await podCreateRequests()).to.equal(before + 2);
    expect(outcomes).to.have.length(items.length + 1);
    outcomes.slice(0, items.length).forEach((o, i) => {
      expect(o.ok && o.object.metadata.name).to.equal(`c-${String(i).padStart(3, '0')}`);
    });
    const last = outcomes[items.length]!;
    expect(!last.ok && last.error).to.be.instanceOf(InvalidError);
    expect((await podNames(ns)).length).to.equal(items.length);

    const viewer = api.client(TEST_TOKENS.viewer);
    try {
      const denied = await viewer.createMany<Pod>({ version: 'v1', resource: 'pods', namespace: ns }, [podBody('d1'), podBody('d2')]);
      expect(denied.map((o) => !o.ok && o.error instanceof ForbiddenError)).to.deep.equal([true, true]);
    } finally {
      viewer.close();
    }
  });

  describe('against a ResourceQuota', () => {
    let controller: InProcessQuotaController;
    before(async () => {
      controller = new InProcessQuotaController(admin);
      await controller.start();
    });
    after(async () => {
      await controller?.stop();
    });

    it('bulk and single creates racing for the last units never exceed it; each refused item gets its 403', async () => {
      const ns = await namespace('bulk-quota');
      await createQuota(admin, ns, 'q', { hard: { pods: '10', 'requests.cpu': '1' } });
      await counted(admin, ns, 'q');
      const pod = (name: string) => podBody(name, { cpu: '100m', schedulerName: 'bulk-test-nobody' });
      // Two bulk requests of 8 and 8 single creates, all at once, for 10 places.
      const bulk = (prefix: string) => post(podsPath(ns), list(Array.from({ length: 8 }, (_, i) => pod(`${prefix}-${i}`))));
      const singles = Array.from({ length: 8 }, (_, i) => post(podsPath(ns), pod(`s-${i}`)));
      const [b1, b2, ...ones] = await Promise.all([bulk('b1'), bulk('b2'), ...singles]);
      const admitted: string[] = [];
      let refusals = 0;
      const check = (item: Obj | StatusView, name: string) => {
        if (isStatus(item)) {
          const s = refused(item, 403, 'Forbidden');
          expect(s.message).to.match(new RegExp(`^pods "${name}" is forbidden: exceeded quota: q, requested: `));
          refusals++;
        } else admitted.push(item.metadata.name);
      };
      answer(b1!).items.forEach((item, i) => check(item, `b1-${i}`));
      answer(b2!).items.forEach((item, i) => check(item, `b2-${i}`));
      ones.forEach((res, i) => {
        if (res.status === 201) admitted.push(`s-${i}`);
        else check(expectStatus(res, 403, 'Forbidden'), `s-${i}`);
      });
      expect(admitted).to.have.length(10);
      expect(refusals).to.equal(14);
      expect(await podNames(ns)).to.deep.equal(admitted.sort());
      expect(await usedOf(admin, ns, 'q')).to.deep.equal({ pods: '10', 'requests.cpu': '1' });
      await expectAuditOk(admin);
    });
  });
});
