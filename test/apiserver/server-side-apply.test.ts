// Server-side apply against real etcd: PATCH application/apply-patch+yaml creates or merges, records
// each applier's fields in managedFields, removes what an applier stops applying (unless another
// owns it), refuses to change another applier's field (409, each conflict named) unless forced,
// writes nothing for an apply that changes nothing, and loses no applier's fields when many apply
// to one object at once. Real `kubectl apply --server-side` drives it as users do.
import { expect } from 'chai';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, tempDir, writeKubeconfig } from '../clients/helpers.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../harness/tls.js';
import { rawHttp } from './helpers.js';
import { cellctl, isolatedEnv } from '../cli/helpers.js';

interface Managed {
  manager: string;
  operation: string;
  apiVersion: string;
  fieldsType: string;
  fieldsV1: Record<string, unknown>;
}
interface Deployment {
  metadata: { name: string; resourceVersion: string; labels?: Record<string, string>; managedFields?: Managed[] };
  spec: { replicas: number; template: { spec: { containers: { name: string; image: string; env?: { name: string; value: string }[] }[] } } };
}

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, o: { replicas?: number; labels?: Record<string, string>; env?: Record<string, string>; image?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(o.labels ? { labels: o.labels } : {}) },
    spec: {
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'main',
              image: o.image ?? 'busybox',
              command: ['sleep', '3600'],
              ...(o.env ? { env: Object.entries(o.env).map(([k, v]) => ({ name: k, value: v })) } : {}),
            },
          ],
        },
      },
    },
  };
}

describe('server-side apply', function () {
  this.timeout(60_000);
  let api: TestApiServer;

  before(async () => {
    api = await startTestApiServer({ backend: 'etcd', auth: true, tls: { cert: TEST_TLS_CERT, key: TEST_TLS_KEY } });
  });
  after(async () => api?.close());

  const apply = (name: string, config: unknown, q: { manager?: string; force?: boolean; token?: string; contentType?: string; query?: string } = {}) => {
    const params = new URLSearchParams();
    if (q.manager !== '') params.set('fieldManager', q.manager ?? 'tester');
    if (q.force) params.set('force', 'true');
    const query = [params.toString(), q.query].filter((x) => x).join('&');
    return rawHttp(api.url, 'PATCH', `${DEPLOYMENTS}/${name}?${query}`, {
      ca: TEST_TLS_CERT,
      headers: { Authorization: `Bearer ${q.token ?? TEST_TOKENS.admin}`, 'Content-Type': q.contentType ?? 'application/apply-patch+yaml' },
      body: typeof config === 'string' ? config : YAML.stringify(config),
    });
  };
  const get = async (name: string): Promise<Deployment> => {
    const r = await rawHttp(api.url, 'GET', `${DEPLOYMENTS}/${name}`, { ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}` } });
    expect(r.status, r.text).to.equal(200);
    return r.body as Deployment;
  };
  const managers = (d: Deployment) => (d.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`).sort();

  it('creates (201) what is not there, records the applier\u2019s fields, and writes nothing for an apply that changes nothing', async () => {
    const created = await apply('web', deployment('web', { replicas: 2, labels: { team: 'a' }, env: { A: '1' } }));
    expect(created.status, created.text).to.equal(201);
    const d = created.body as Deployment;
    expect(d.spec.replicas).to.equal(2);
    expect(d.metadata.managedFields).to.have.length(1);
    const [m] = d.metadata.managedFields!;
    expect(m).to.include({ manager: 'tester', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    const spec = m!.fieldsV1['f:spec'] as Record<string, Record<string, unknown>>;
    expect(spec['f:replicas']).to.deep.equal({});
    const containers = (spec['f:template']!['f:spec'] as Record<string, Record<string, Record<string, unknown>>>)['f:containers']!;
    expect(containers['k:{"name":"main"}']).to.include.keys('.', 'f:image', 'f:env');
    expect(m!.fieldsV1['f:metadata']).to.deep.equal({ 'f:labels': { 'f:team': {} } });

    const again = await apply('web', deployment('web', { replicas: 2, labels: { team: 'a' }, env: { A: '1' } }));
    expect(again.status).to.equal(200);
    expect((again.body as Deployment).metadata.resourceVersion).to.equal(d.metadata.resourceVersion);

    // A PUT that does not mention managedFields keeps them.
    const current = await get('web');
    delete current.metadata.managedFields;
    current.spec.replicas = 3;
    const put = await rawHttp(api.url, 'PUT', `${DEPLOYMENTS}/web`, { ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(current) });
    expect(put.status, put.text).to.equal(200);
    expect(managers(put.body as Deployment)).to.deep.equal(['tester/Apply']);
  });

  it('refuses to change another applier\u2019s field (409, each conflict named) unless forced, which hands the field over', async () => {
    expect((await apply('shared', deployment('shared', { replicas: 2, image: 'busybox:1' }), { manager: 'alice' })).status).to.equal(201);
    const clash = await apply('shared', deployment('shared', { replicas: 5, image: 'busybox:2' }), { manager: 'bob' });
    expect(clash.status, clash.text).to.equal(409);
    const status = clash.body as { reason: string; message: string; details: { causes: { reason: string; field: string; message: string }[] } };
    expect(status.reason).to.equal('Conflict');
    expect(status.message).to.match(/^Apply failed with 2 conflicts/);
    expect(status.details.causes.map((c) => c.field).sort()).to.deep.equal(['.spec.replicas', '.spec.template.spec.containers[name="main"].image']);
    expect(status.details.causes[0]).to.include({ reason: 'FieldManagerConflict', message: 'conflict with "alice" using apps/v1' });
    expect((await get('shared')).spec.replicas).to.equal(2);

    // The same values are no conflict: both own them.
    expect((await apply('shared', deployment('shared', { replicas: 2, image: 'busybox:1' }), { manager: 'bob' })).status).to.equal(200);
    const forced = await apply('shared', deployment('shared', { replicas: 5, image: 'busybox:1' }), { manager: 'bob', force: true });
    expect(forced.status, forced.text).to.equal(200);
    const d = forced.body as Deployment;
    expect(d.spec.replicas).to.equal(5);
    const alice = d.metadata.managedFields!.find((m) => m.manager === 'alice')!;
    expect((alice.fieldsV1['f:spec'] as Record<string, unknown>)['f:replicas']).to.equal(undefined);
    // Now alice is the one who conflicts on replicas.
    const back = await apply('shared', deployment('shared', { replicas: 2, image: 'busybox:1' }), { manager: 'alice' });
    expect(back.status).to.equal(409);
    expect((back.body as { message: string }).message).to.include('conflict with "bob" using apps/v1: .spec.replicas');
  });

  it('removes what an applier stops applying, unless another applier still owns it', async () => {
    await apply('trim', deployment('trim', { labels: { a: '1', b: '2' }, env: { X: '1', Y: '2' } }), { manager: 'one' });
    await apply('trim', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'trim', labels: { b: '2' } } }, { manager: 'two' });
    // `one` drops label b (two owns it too: it stays), label a (gone) and env Y (gone).
    const r = await apply('trim', deployment('trim', { env: { X: '1' } }), { manager: 'one' });
    expect(r.status, r.text).to.equal(200);
    const d = r.body as Deployment;
    expect(d.metadata.labels).to.deep.equal({ b: '2' });
    expect(d.spec.template.spec.containers[0]!.env).to.deep.equal([{ name: 'X', value: '1' }]);
    // When two stops too, the label goes.
    const last = await apply('trim', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'trim' } }, { manager: 'two' });
    expect((last.body as Deployment).metadata.labels).to.equal(undefined);
    expect(managers(last.body as Deployment)).to.deep.equal(['one/Apply']);
  });

  it('loses no applier\u2019s fields when many apply to one object at once', async () => {
    await apply('crowd', deployment('crowd'), { manager: 'base' });
    const n = 16;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => apply('crowd', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'crowd', labels: { [`owner-${i}`]: String(i) } } }, { manager: `m${i}` })),
    );
    for (const r of results) expect(r.status, r.text).to.equal(200);
    const d = await get('crowd');
    for (let i = 0; i < n; i++) expect(d.metadata.labels?.[`owner-${i}`], `label of m${i}`).to.equal(String(i));
    expect(managers(d)).to.have.length(n + 1);
    for (let i = 0; i < n; i++) {
      const m = d.metadata.managedFields!.find((e) => e.manager === `m${i}`)!;
      expect(m.fieldsV1).to.deep.equal({ 'f:metadata': { 'f:labels': { [`f:owner-${i}`]: {} } } });
    }
  });

  it('answers bad applies with 4xx and writes nothing', async () => {
    await apply('strict', deployment('strict', { replicas: 1 }));
    const before = await get('strict');
    const cases: [string, Awaited<ReturnType<typeof apply>>, number, RegExp][] = [
      ['no fieldManager', await apply('strict', deployment('strict'), { manager: '' }), 400, /fieldManager is required for apply requests/],
      ['force on a merge patch', await apply('strict', JSON.stringify({ spec: { replicas: 3 } }), { contentType: 'application/merge-patch+json', force: true }), 400, /force may only be given with an apply patch/],
      ['managedFields in the configuration', await apply('strict', { ...deployment('strict'), metadata: { name: 'strict', managedFields: [{ manager: 'x' }] } }), 400, /managedFields must be nil/],
      ['not YAML', await apply('strict', 'spec: [unclosed'), 400, /error decoding YAML/],
      ['a list, not an object', await apply('strict', '- a\n- b\n'), 400, /must be an object/],
      ['a field of the wrong type', await apply('strict', { ...deployment('strict'), spec: { replicas: 'many' } }), 422, /replicas/],
      ['another name', await apply('strict', deployment('other-name')), 400, /does not match the name on the URL/],
      ['another name, creating', await apply('absent', deployment('other-name')), 400, /does not match the name on the URL/],
      ['on the status', await rawHttp(api.url, 'PATCH', `${DEPLOYMENTS}/strict/status?fieldManager=x`, { ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, 'Content-Type': 'application/apply-patch+yaml' }, body: 'status: {}' }), 400, /main resource only/],
    ];
    for (const [what, r, code, message] of cases) {
      expect(r.status, `${what}: ${r.text}`).to.equal(code);
      expect((r.body as { message: string }).message, what).to.match(message);
    }
    expect((await get('strict')).metadata.resourceVersion).to.equal(before.metadata.resourceVersion);
  });

  it('creating by apply takes create as well as patch', async () => {
    // A tenant whose role may patch deployments but not create them.
    const rbac = (resource: string, body: unknown) =>
      rawHttp(api.url, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/default/${resource}`, { ca: TEST_TLS_CERT, headers: { Authorization: `Bearer ${TEST_TOKENS.admin}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await rbac('roles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'patcher' }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }] })).status).to.equal(201);
    expect((await rbac('rolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'nobody-patches' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'patcher' }, subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'nobody' }] })).status).to.equal(201);
    const refused = await apply('tenant-new', deployment('tenant-new'), { token: TEST_TOKENS.nobody });
    expect(refused.status, refused.text).to.equal(403);
    expect((refused.body as { message: string }).message).to.include('cannot create resource "deployments"');
    await apply('tenant-existing', deployment('tenant-existing', { replicas: 1 }));
    const patched = await apply('tenant-existing', deployment('tenant-existing', { replicas: 1, labels: { by: 'tenant' } }), { token: TEST_TOKENS.nobody, manager: 'tenant' });
    expect(patched.status, patched.text).to.equal(200);
  });

  it('cellctl apply --server-side: applies as cellctl (or --field-manager), conflicts named, --force-conflicts takes over', async () => {
    const dir = tempDir('cell-ssa-ctl-');
    const kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), api.url, { token: TEST_TOKENS.admin, caCertPem: TEST_TLS_CERT });
    const file = path.join(dir, 'd.yaml');
    const ctl = (...args: string[]) => cellctl(['--kubeconfig', kubeconfig, ...args], { env: isolatedEnv(dir) });
    writeFileSync(file, YAML.stringify(deployment('ctl', { replicas: 2 })));
    const first = await ctl('apply', '--server-side', '-f', file);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.equal('deployment.apps/ctl serverside-applied\n');
    expect(managers(await get('ctl'))).to.deep.equal(['cellctl/Apply']);
    writeFileSync(file, YAML.stringify(deployment('ctl', { replicas: 3 })));
    const clash = await ctl('apply', '--server-side', '--field-manager=deployer', '-f', file);
    expect(clash.code).to.equal(1);
    expect(clash.stderr).to.include('conflict with "cellctl" using apps/v1: .spec.replicas');
    const dry = await ctl('apply', '--server-side', '--field-manager=deployer', '--force-conflicts', '--dry-run=server', '-f', file);
    expect(dry.stdout).to.equal('deployment.apps/ctl serverside-applied (server dry run)\n');
    expect((await get('ctl')).spec.replicas).to.equal(2);
    const forced = await ctl('apply', '--server-side', '--field-manager=deployer', '--force-conflicts', '-f', file);
    expect(forced.code, forced.stderr).to.equal(0);
    expect((await get('ctl')).spec.replicas).to.equal(3);
    expect((await ctl('apply', '--force-conflicts', '-f', file)).stderr).to.include('--force-conflicts only applies with --server-side');
  });

  it('is what real kubectl apply --server-side drives, conflicts and --force-conflicts included', async function () {
    const kubectl = findKubectl();
    if (!kubectl) this.skip(); // no kubectl on this machine: .ci/run installs it, so CI runs this
    const dir = tempDir('cell-ssa-');
    const kubeconfig = writeKubeconfig(path.join(dir, 'kubeconfig'), api.url, { token: TEST_TOKENS.admin, caCertPem: TEST_TLS_CERT });
    const file = (name: string, body: unknown) => {
      const f = path.join(dir, name);
      writeFileSync(f, YAML.stringify(body));
      return f;
    };
    const k = (...args: string[]) => run(kubectl!, ['--kubeconfig', kubeconfig, ...args]);
    const first = await k('apply', '--server-side', '-f', file('a.yaml', deployment('kube', { replicas: 2 })));
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include('deployment.apps/kube serverside-applied');
    const clash = await k('apply', '--server-side', '--field-manager=ci', '-f', file('b.yaml', deployment('kube', { replicas: 4 })));
    expect(clash.code).to.equal(1);
    expect(clash.stderr).to.include('Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas');
    const forced = await k('apply', '--server-side', '--field-manager=ci', '--force-conflicts', '-f', path.join(dir, 'b.yaml'));
    expect(forced.code, forced.stderr).to.equal(0);
    expect((await get('kube')).spec.replicas).to.equal(4);
    // kubectl hides managedFields unless asked.
    const shown = await k('get', 'deployment', 'kube', '-o', 'yaml', '--show-managed-fields');
    expect(shown.stdout).to.include('manager: ci');
    const hidden = await k('get', 'deployment', 'kube', '-o', 'yaml');
    expect(hidden.stdout).to.not.include('managedFields');
  });
});
