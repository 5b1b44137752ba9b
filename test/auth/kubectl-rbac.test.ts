// RBAC through real, unmodified kubectl (DESIGN §2): `kubectl auth can-i` (and `--list`) and
// `kubectl auth whoami` for an admin, a viewer and a tenant; `kubectl create role` and
// `kubectl create rolebinding` giving a tenant edit rights in one namespace, after which the tenant
// creates pods there and not in another namespace. kubectl sends tokens only over TLS: the server
// serves HTTPS with the test certificate.
import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../harness/tls.js';
import { findKubectl, run, tempDir, waitFor, writeKubeconfig, expectOk, rows, type RunResult } from '../clients/helpers.js';
import { namespaceBody } from '../apiserver/helpers.js';
import { RBAC_TEST_TOKEN_CSV, send, TOKENS, type Who } from './rbac-helpers.js';

describe('kubectl auth and RBAC against cell-apiserver (etcd, TLS, tokens)', function () {
  this.timeout(120_000);
  let srv: TestApiServer;
  let dir: string;
  let kubectlPath: string;

  /** kubectl as `who`, with its own kubeconfig, HOME and cache dir. */
  const kubectl = (who: Who, ...args: string[]): Promise<RunResult> =>
    run(kubectlPath, [`--kubeconfig=${path.join(dir, `${who}.kubeconfig`)}`, `--cache-dir=${path.join(dir, 'cache', who)}`, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' },
      cwd: dir,
    });
  const canI = async (who: Who, ...args: string[]): Promise<'yes' | 'no'> => {
    const r = await kubectl(who, 'auth', 'can-i', ...args);
    const answer = r.stdout.trim().split(/\s/)[0];
    // kubectl exits 0 for yes and 1 for no; anything else is an error, not an answer.
    if (answer === 'yes' && r.code === 0) return 'yes';
    if (answer === 'no' && r.code === 1) return 'no';
    throw new Error(`kubectl auth can-i ${args.join(' ')} as ${who}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  };

  before(async () => {
    const found = findKubectl();
    if (!found) throw new Error('kubectl is not on PATH (set $KUBECTL): these tests need a real kubectl');
    kubectlPath = found;
    srv = await startTestApiServer({ backend: 'etcd', tokenCsv: RBAC_TEST_TOKEN_CSV, tls: { cert: TEST_TLS_CERT, key: TEST_TLS_KEY } });
    dir = tempDir('cell-kubectl-rbac-');
    for (const who of Object.keys(TOKENS) as Who[]) {
      writeKubeconfig(path.join(dir, `${who}.kubeconfig`), srv.url, { token: TOKENS[who], caCertPem: TEST_TLS_CERT });
    }
    for (const ns of ['team-a', 'team-b']) {
      const res = await send(srv.url, 'admin', { method: 'POST', path: '/api/v1/namespaces', body: namespaceBody(ns) }, TEST_TLS_CERT);
      expect(res.status, res.text).to.equal(201);
    }
  });

  after(async () => {
    await srv?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('auth can-i: an admin may do anything', async () => {
    expect(await canI('admin', 'create', 'pods')).to.equal('yes');
    expect(await canI('admin', 'delete', 'nodes')).to.equal('yes');
    expect(await canI('admin', '*', '*', '--all-namespaces')).to.equal('yes');
    expect(await canI('admin', 'create', 'clusterrolebindings.rbac.authorization.k8s.io')).to.equal('yes');
  });

  it('auth can-i: a viewer reads but does not write', async () => {
    expect(await canI('viewer', 'list', 'pods', '-n', 'team-a')).to.equal('yes');
    expect(await canI('viewer', 'get', 'nodes')).to.equal('yes');
    expect(await canI('viewer', 'watch', 'podgroups.scheduling.x-k8s.io', '-n', 'default')).to.equal('yes');
    expect(await canI('viewer', 'create', 'pods', '-n', 'team-a')).to.equal('no');
    expect(await canI('viewer', 'delete', 'nodes')).to.equal('no');
    expect(await canI('viewer', 'get', '/metrics')).to.equal('yes');
  });

  it('auth can-i: a tenant without bindings may only ask about itself', async () => {
    expect(await canI('tenant', 'create', 'pods', '-n', 'team-a')).to.equal('no');
    expect(await canI('tenant', 'list', 'pods', '-n', 'team-a')).to.equal('no');
    expect(await canI('tenant', 'get', '/metrics')).to.equal('no');
    expect(await canI('tenant', 'get', '/apis')).to.equal('yes');
    expect(await canI('tenant', 'create', 'selfsubjectaccessreviews.authorization.k8s.io')).to.equal('yes');
  });

  it('auth can-i --list shows the rules that apply in a namespace', async () => {
    const viewer = expectOk(await kubectl('viewer', 'auth', 'can-i', '--list', '-n', 'team-a'), 'viewer can-i --list');
    const table = rows(viewer.stdout);
    const byResource = new Map(table.map((r) => [r[0], r]));
    // The core group by name — every kind but Secrets — and every other group (RBAC's aside) whole.
    expect(byResource.get('pods')?.at(-1), viewer.stdout).to.equal('[get list watch]');
    expect(byResource.get('configmaps')?.at(-1), viewer.stdout).to.equal('[get list watch]');
    expect(byResource.get('*.apps')?.at(-1), viewer.stdout).to.equal('[get list watch]');
    expect(byResource.has('secrets'), viewer.stdout).to.equal(false);
    expect(byResource.has('*'), viewer.stdout).to.equal(false);
    expect(byResource.get('selfsubjectaccessreviews.authorization.k8s.io')?.at(-1), viewer.stdout).to.equal('[create]');
    // Non-resource rows have an empty first column.
    expect(table.some((r) => r.includes('[/metrics]')), viewer.stdout).to.equal(true);
    const tenant = expectOk(await kubectl('tenant', 'auth', 'can-i', '--list', '-n', 'team-a'), 'tenant can-i --list');
    expect(rows(tenant.stdout).map((r) => r[0])).to.not.include('pods');
    expect(rows(tenant.stdout).map((r) => r[0])).to.not.include('*');
  });

  it('auth whoami names the user and its groups', async () => {
    const table = expectOk(await kubectl('viewer', 'auth', 'whoami'), 'whoami');
    const attrs = new Map(rows(table.stdout).map((r) => [r[0], r[1]]));
    expect(attrs.get('Username'), table.stdout).to.equal('viewer');
    expect(attrs.get('Groups'), table.stdout).to.equal('[system:viewers system:authenticated]');
    const json = expectOk(await kubectl('node1', 'auth', 'whoami', '-o', 'json'), 'whoami -o json');
    const review = JSON.parse(json.stdout) as { kind: string; status: { userInfo: { username: string; groups: string[] } } };
    expect(review.kind).to.equal('SelfSubjectReview');
    expect(review.status.userInfo.username).to.equal('system:node:node-1');
    expect(review.status.userInfo.groups).to.deep.equal(['system:nodes', 'system:authenticated']);
  });

  it('kubectl create role / rolebinding give a tenant edit rights in one namespace only', async () => {
    expectOk(
      await kubectl('admin', 'create', 'role', 'pod-editor', '--verb=get,list,watch,create,update,patch,delete', '--resource=pods', '-n', 'team-a'),
      'create role',
    );
    expectOk(await kubectl('admin', 'create', 'rolebinding', 'tenant-pods', '--role=pod-editor', '--user=tenant', '-n', 'team-a'), 'create rolebinding');
    const got = expectOk(await kubectl('admin', 'get', 'rolebinding', 'tenant-pods', '-n', 'team-a', '-o', 'json'), 'get rolebinding');
    const binding = JSON.parse(got.stdout) as { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string }[] };
    expect(binding.roleRef).to.include({ kind: 'Role', name: 'pod-editor' });
    expect(binding.subjects).to.deep.equal([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'tenant' }]);

    // The server's RBAC view follows its watch cache: the grant arrives within moments.
    await waitFor(async () => (await canI('tenant', 'create', 'pods', '-n', 'team-a')) === 'yes', 'the tenant to be allowed to create pods in team-a');
    expect(await canI('tenant', 'create', 'pods', '-n', 'team-b')).to.equal('no');
    expect(await canI('tenant', 'update', 'pods', '--subresource=status', '-n', 'team-a')).to.equal('no');

    const pod = (name: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
    });
    const file = path.join(dir, 'pod.json');
    writeFileSync(file, JSON.stringify(pod('tenant-pod')));
    expectOk(await kubectl('tenant', 'create', '-f', file, '-n', 'team-a'), 'tenant creates a pod in team-a');
    const listed = expectOk(await kubectl('tenant', 'get', 'pods', '-n', 'team-a', '-o', 'name'), 'tenant lists team-a');
    expect(listed.stdout.trim().split('\n')).to.include('pod/tenant-pod');

    const refused = await kubectl('tenant', 'create', '-f', file, '-n', 'team-b');
    expect(refused.code, refused.stdout).to.not.equal(0);
    expect(refused.stderr).to.match(/forbidden/i).and.contain('tenant').and.contain('team-b');
    const notListed = await kubectl('tenant', 'get', 'pods', '-n', 'team-b');
    expect(notListed.code).to.not.equal(0);
    expect(notListed.stderr).to.match(/forbidden/i);

    // Nor may the tenant hand its rights on: it holds no rolebinding rights at all.
    const rebind = await kubectl('tenant', 'create', 'rolebinding', 'friend', '--role=pod-editor', '--user=friend', '-n', 'team-a');
    expect(rebind.code).to.not.equal(0);
    expect(rebind.stderr).to.match(/forbidden/i);
  });

  it('kubectl create serviceaccount / rolebinding --serviceaccount / create token: the token acts as the account, with what it was granted', async () => {
    expectOk(await kubectl('admin', 'create', 'serviceaccount', 'deployer', '-n', 'team-a'), 'create serviceaccount');
    const listed = expectOk(await kubectl('admin', 'get', 'sa', '-n', 'team-a'), 'get sa');
    expect(listed.stdout.split('\n')[0]!.trim().split(/\s{2,}/)).to.deep.equal(['NAME', 'SECRETS', 'AGE']);
    expect(rows(listed.stdout).map((r) => r.slice(0, 2))).to.deep.include(['deployer', '0']);
    expectOk(await kubectl('admin', 'create', 'rolebinding', 'deployer-edit', '--clusterrole=edit', '--serviceaccount=team-a:deployer', '-n', 'team-a'), 'create rolebinding');
    const made = expectOk(await kubectl('admin', 'create', 'token', 'deployer', '-n', 'team-a', '--duration=20m', '--audience=https://cell.cluster.local'), 'create token');
    const token = made.stdout.trim();
    expect(token.split('.')).to.have.length(3);
    const config = path.join(dir, 'deployer.kubeconfig');
    writeKubeconfig(config, srv.url, { token, caCertPem: TEST_TLS_CERT });
    const asDeployer = (...args: string[]) =>
      run(kubectlPath, [`--kubeconfig=${config}`, `--cache-dir=${path.join(dir, 'cache', 'deployer')}`, ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir, LANG: 'C' }, cwd: dir });
    const who = expectOk(await asDeployer('auth', 'whoami'), 'whoami as the account');
    const attrs = new Map(rows(who.stdout).map((r) => [r[0], r[1]]));
    expect(attrs.get('Username'), who.stdout).to.equal('system:serviceaccount:team-a:deployer');
    expect(attrs.get('Groups'), who.stdout).to.equal('[system:serviceaccounts system:serviceaccounts:team-a system:authenticated]');
    await waitFor(async () => (await asDeployer('auth', 'can-i', 'create', 'deployments.apps', '-n', 'team-a')).code === 0, 'the account to be allowed to create deployments in team-a');
    expectOk(await asDeployer('create', 'deployment', 'web', '--image=busybox', '-n', 'team-a'), 'create deployment as the account');
    const elsewhere = await asDeployer('get', 'pods', '-n', 'team-b');
    expect(elsewhere.code).to.not.equal(0);
    expect(elsewhere.stderr).to.match(/forbidden/i).and.contain('system:serviceaccount:team-a:deployer');
    // Deleting the account ends its tokens.
    expectOk(await kubectl('admin', 'delete', 'serviceaccount', 'deployer', '-n', 'team-a'), 'delete serviceaccount');
    await waitFor(async () => /You must be logged in to the server/.test((await asDeployer('get', 'pods', '-n', 'team-a')).stderr), 'the deleted account\'s token to be refused');
  });

  it('kubectl get lists the RBAC kinds', async () => {
    const r = expectOk(await kubectl('admin', 'get', 'clusterroles', '-o', 'name'), 'get clusterroles');
    expect(r.stdout.trim().split('\n')).to.include.members(['clusterrole.rbac.authorization.k8s.io/cluster-admin', 'clusterrole.rbac.authorization.k8s.io/view']);
    const b = expectOk(await kubectl('admin', 'get', 'clusterrolebinding', 'system:viewers', '-o', 'json'), 'get clusterrolebinding');
    expect((JSON.parse(b.stdout) as { roleRef: { name: string } }).roleRef.name).to.equal('view');
    // kubectl sends bindings in protobuf; the server decodes them.
    expectOk(await kubectl('admin', 'create', 'clusterrolebinding', 'dave-view', '--clusterrole=view', '--user=dave', '--group=auditors'), 'create clusterrolebinding');
    const table = expectOk(await kubectl('admin', 'get', 'clusterrolebindings', 'dave-view', '-o', 'wide'), 'get -o wide');
    const head = table.stdout.split('\n')[0]!.trim().split(/\s{2,}/);
    expect(head.slice(0, 4)).to.deep.equal(['NAME', 'ROLE', 'AGE', 'USERS']);
    const row = rows(table.stdout)[0]!;
    expect([row[0], row[1], row[3], row[4]]).to.deep.equal(['dave-view', 'ClusterRole/view', 'dave', 'auditors']);
    await waitFor(async () => (await canI('dave', 'list', 'nodes')) === 'yes', 'dave to be allowed to list nodes');
  });
});
