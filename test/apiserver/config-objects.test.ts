// ConfigMaps and Secrets through the API server (real etcd, real HTTP): stringData is merged into
// data and never read back, immutable objects refuse new data, bad keys and values are 422s that
// name the field and store nothing, viewers do not read Secrets, and a node reads only the
// ConfigMaps and Secrets its own pods use — one at a time, never a list.
import { expect } from 'chai';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { causeFields, expectStatus, nodeBody, podBody, sendAs, type RawResponse } from './helpers.js';

const NS = '/api/v1/namespaces/default';

interface SecretView {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  immutable?: boolean;
}

function configMap(name: string, data: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data, ...extra };
}

function secret(name: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, ...extra };
}

describe('ConfigMaps and Secrets', function () {
  this.timeout(30_000);
  let api: TestApiServer;
  const as = (token: string, method: string, path: string, body?: unknown): Promise<RawResponse> => sendAs(api.url, token, { method, path, ...(body !== undefined ? { body } : {}) });
  const admin = (method: string, path: string, body?: unknown) => as(TEST_TOKENS.admin, method, path, body);

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true });
  });
  after(async () => {
    await api.close();
  });

  it('stores a Secret with stringData merged into base64 data, the type defaulted, and stringData never read back', async () => {
    const created = await admin('POST', `${NS}/secrets`, secret('db', { data: { user: Buffer.from('old').toString('base64') }, stringData: { user: 'app', password: 'pä55' } }));
    expect(created.status, created.text).to.equal(201);
    const s = created.body as SecretView;
    expect(s.type).to.equal('Opaque');
    expect(s).to.not.have.property('stringData');
    expect(Buffer.from(s.data!['user']!, 'base64').toString()).to.equal('app');
    expect(Buffer.from(s.data!['password']!, 'base64').toString()).to.equal('pä55');
    const got = (await admin('GET', `${NS}/secrets/db`)).body as SecretView;
    expect(got.data).to.deep.equal(s.data);
    expect(got).to.not.have.property('stringData');

    // A patch with stringData changes one key and keeps the rest.
    const patched = await sendAs(api.url, TEST_TOKENS.admin, { method: 'PATCH', path: `${NS}/secrets/db`, body: { stringData: { password: 'new' } }, contentType: 'application/merge-patch+json' });
    expect(patched.status, patched.text).to.equal(200);
    const p = patched.body as SecretView;
    expect(Buffer.from(p.data!['password']!, 'base64').toString()).to.equal('new');
    expect(Buffer.from(p.data!['user']!, 'base64').toString()).to.equal('app');
    expect(p).to.not.have.property('stringData');

    // The type is fixed once written.
    const retyped = await admin('PUT', `${NS}/secrets/db`, { ...p, type: 'kubernetes.io/basic-auth' });
    expect(causeFields(expectStatus(retyped, 422, 'Invalid'))).to.deep.equal(['type']);
  });

  it('serves ConfigMaps with data and binaryData, listed with their key counts', async () => {
    const res = await admin('POST', `${NS}/configmaps`, configMap('settings', { mode: 'fast', 'log.level': 'debug' }, { binaryData: { blob: Buffer.from([0, 1, 2]).toString('base64') } }));
    expect(res.status, res.text).to.equal(201);
    const rows = await fetch(`${api.url}${NS}/configmaps`, { headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } }).then((r) => r.json() as Promise<{ rows: { cells: unknown[] }[] }>);
    expect(rows.rows.find((r) => r.cells[0] === 'settings')?.cells[1]).to.equal(3);
  });

  it('keeps the data of an immutable object for good, while its metadata may change', async () => {
    const made = await admin('POST', `${NS}/configmaps`, configMap('frozen', { a: '1' }, { immutable: true }));
    expect(made.status, made.text).to.equal(201);
    const cm = made.body as SecretView;
    const changed = await admin('PUT', `${NS}/configmaps/frozen`, { ...cm, data: { a: '2' } });
    expect(causeFields(expectStatus(changed, 422, 'Invalid'))).to.deep.equal(['data']);
    const thawed = await admin('PUT', `${NS}/configmaps/frozen`, { ...cm, immutable: false });
    expect(causeFields(expectStatus(thawed, 422, 'Invalid'))).to.deep.equal(['immutable']);
    const labelled = await admin('PUT', `${NS}/configmaps/frozen`, { ...cm, metadata: { ...cm.metadata, labels: { tier: 'x' } } });
    expect(labelled.status, labelled.text).to.equal(200);

    const s = (await admin('POST', `${NS}/secrets`, secret('frozen', { stringData: { k: 'v' }, immutable: true }))).body as SecretView;
    const rewritten = await admin('PUT', `${NS}/secrets/frozen`, { ...s, stringData: { k: 'w' } });
    expect(causeFields(expectStatus(rewritten, 422, 'Invalid'))).to.deep.equal(['data']);
    expect(((await admin('GET', `${NS}/configmaps/frozen`)).body as { data: unknown }).data).to.deep.equal({ a: '1' });
  });

  it('refuses bad keys, values, sizes and type-required keys with the field named, storing nothing', async () => {
    const cases: [string, string, Record<string, unknown>, string[]][] = [
      ['configmaps', 'bad-key', configMap('bad-key', { 'no/slash': 'x' }), ['data']],
      ['configmaps', 'dot-dot', configMap('dot-dot', { '..data': 'x' }), ['data']],
      ['configmaps', 'both', configMap('both', { k: 'x' }, { binaryData: { k: 'eA==' } }), ['data']],
      ['configmaps', 'not-b64', configMap('not-b64', {}, { binaryData: { k: 'not base64!' } }), ['binaryData[k]']],
      ['configmaps', 'huge', configMap('huge', { a: 'x'.repeat(700_000), b: 'y'.repeat(400_000) }), ['data']],
      ['secrets', 'not-b64', secret('not-b64', { data: { k: '@@@' } }), ['data[k]']],
      ['secrets', 'tls', secret('tls', { type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'x' } }), ['data[tls.key]']],
      ['secrets', 'basic', secret('basic', { type: 'kubernetes.io/basic-auth', stringData: { other: 'x' } }), ['data[username]']],
    ];
    for (const [resource, name, body, fields] of cases) {
      const res = await admin('POST', `${NS}/${resource}`, body);
      expect(causeFields(expectStatus(res, 422, 'Invalid')), `${resource}/${name}`).to.deep.equal(fields);
      expect((await admin('GET', `${NS}/${resource}/${name}`)).status, `${resource}/${name} stored`).to.equal(404);
    }
    // A basic-auth secret with a password alone is whole.
    expect((await admin('POST', `${NS}/secrets`, secret('basic', { type: 'kubernetes.io/basic-auth', stringData: { password: 'x' } }))).status).to.equal(201);
  });

  it('validates env sources in pods: one source each, known fields and resources, named objects and keys', async () => {
    const container = (env: unknown[], envFrom: unknown[] = []) => [{ name: 'main', image: 'busybox', command: ['true'], env, envFrom }];
    const bad: [unknown[], unknown[], string[]][] = [
      [[{ name: 'A', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }], [], ['spec.containers[0].env[0].valueFrom']],
      [[{ name: 'A', valueFrom: {} }], [], ['spec.containers[0].env[0].valueFrom']],
      [[{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' }, configMapKeyRef: { name: 'c', key: 'k' } } }], [], ['spec.containers[0].env[0].valueFrom']],
      [[{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'spec.containers' } } }], [], ['spec.containers[0].env[0].valueFrom.fieldRef.fieldPath']],
      [[{ name: 'A', valueFrom: { resourceFieldRef: { resource: 'limits.gpu' } } }], [], ['spec.containers[0].env[0].valueFrom.resourceFieldRef.resource']],
      [[{ name: 'A', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', containerName: 'other' } } }], [], ['spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName']],
      [[{ name: 'A', valueFrom: { secretKeyRef: { key: 'k' } } }], [], ['spec.containers[0].env[0].valueFrom.secretKeyRef.name']],
      [[{ name: 'A', valueFrom: { configMapKeyRef: { name: 'c', key: 'a/b' } } }], [], ['spec.containers[0].env[0].valueFrom.configMapKeyRef.key']],
      [[], [{ prefix: 'X_' }], ['spec.containers[0].envFrom[0]']],
      [[], [{ configMapRef: { name: 'c' }, secretRef: { name: 's' } }], ['spec.containers[0].envFrom[0]']],
      [[], [{ prefix: '1=', configMapRef: { name: 'c' } }], ['spec.containers[0].envFrom[0].prefix']],
    ];
    for (const [i, [env, envFrom, fields]] of bad.entries()) {
      const res = await admin('POST', `${NS}/pods`, { ...podBody(`env-${i}`), spec: { containers: container(env, envFrom) } });
      expect(causeFields(expectStatus(res, 422, 'Invalid')), JSON.stringify([env, envFrom])).to.deep.equal(fields);
    }
    const good = await admin('POST', `${NS}/pods`, {
      ...podBody('env-ok'),
      spec: {
        containers: container(
          [
            { name: 'POD', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: true } } },
          ],
          [{ prefix: 'CFG_', configMapRef: { name: 'settings' } }],
        ),
      },
    });
    expect(good.status, good.text).to.equal(201);
    const spec = (good.body as { spec: { containers: { env: unknown[]; envFrom: unknown[] }[] } }).spec.containers[0]!;
    expect(spec.env[1]).to.deep.equal({ name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } });
    expect(spec.envFrom).to.deep.equal([{ prefix: 'CFG_', configMapRef: { name: 'settings' } }]);
  });

  it('lets viewers read ConfigMaps but not Secrets, and nodes only the ones their own pods use', async () => {
    await admin('POST', `${NS}/secrets`, secret('for-node-1', { stringData: { token: 't1' } }));
    await admin('POST', `${NS}/secrets`, secret('unused', { stringData: { token: 't2' } }));
    await admin('POST', `${NS}/configmaps`, configMap('for-node-1', { k: 'v' }));
    expect((await as(TEST_TOKENS.viewer, 'GET', `${NS}/configmaps/for-node-1`)).status).to.equal(200);
    expectStatus(await as(TEST_TOKENS.viewer, 'GET', `${NS}/secrets/for-node-1`), 403, 'Forbidden');
    expectStatus(await as(TEST_TOKENS.viewer, 'GET', `${NS}/secrets`), 403, 'Forbidden');
    expectStatus(await as(TEST_TOKENS.scheduler, 'GET', `${NS}/secrets/for-node-1`), 403, 'Forbidden');

    // Before any pod of node-1 uses them, node-1 reads neither.
    expectStatus(await as(TEST_TOKENS.node1, 'GET', `${NS}/secrets/for-node-1`), 403, 'Forbidden');
    for (const n of ['node-1', 'node-2']) expect((await admin('POST', '/api/v1/nodes', nodeBody(n))).status).to.equal(201);
    const uses = [{ name: 'main', image: 'busybox', command: ['true'], env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'for-node-1', key: 'token' } } }], envFrom: [{ configMapRef: { name: 'for-node-1' } }] }];
    expect((await admin('POST', `${NS}/pods`, { ...podBody('user-1', { nodeName: 'node-1' }), spec: { nodeName: 'node-1', containers: uses } })).status).to.equal(201);

    const node1 = await as(TEST_TOKENS.node1, 'GET', `${NS}/secrets/for-node-1`);
    expect(node1.status, node1.text).to.equal(200);
    expect(Buffer.from((node1.body as SecretView).data!['token']!, 'base64').toString()).to.equal('t1');
    expect((await as(TEST_TOKENS.node1, 'GET', `${NS}/configmaps/for-node-1`)).status).to.equal(200);
    const other = expectStatus(await as(TEST_TOKENS.node1, 'GET', `${NS}/secrets/unused`), 403, 'Forbidden');
    expect(other.message).to.include("no relationship found between node 'node-1' and this object");
    expectStatus(await as(TEST_TOKENS.node2, 'GET', `${NS}/secrets/for-node-1`), 403, 'Forbidden');
    expectStatus(await as(TEST_TOKENS.node1, 'GET', `${NS}/secrets`), 403, 'Forbidden');
    expectStatus(await as(TEST_TOKENS.node1, 'GET', `/api/v1/namespaces/kube-system/secrets/for-node-1`), 403, 'Forbidden');
    expectStatus(await as(TEST_TOKENS.node1, 'DELETE', `${NS}/secrets/for-node-1`), 403, 'Forbidden');

    // Once the pod is gone, so is node-1's access.
    expect((await admin('DELETE', `${NS}/pods/user-1?gracePeriodSeconds=0`)).status).to.equal(200);
    expectStatus(await as(TEST_TOKENS.node1, 'GET', `${NS}/secrets/for-node-1`), 403, 'Forbidden');
  });
});
