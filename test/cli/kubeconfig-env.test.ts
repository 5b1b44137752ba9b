// cellctl reads $KUBECONFIG as kubectl does (after --kubeconfig and $CELLCONFIG): a list of files,
// merged so that the first file to define a cluster, user or context by a name wins and
// current-context comes from the first file that sets it; missing entries are skipped. Against a
// real HTTPS API server with tokens and client certificates: the merged config's context from one
// file uses a cluster (CA path relative to its own file) and a certificate user from the other.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { issueCertificate, type KeyPair } from '../../shared/pki.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { cellctl, isolatedEnv, podManifest, tempDir } from './helpers.js';

describe('cellctl and $KUBECONFIG', function () {
  this.timeout(60_000);
  let api: TestApiServer;
  let ca: KeyPair;
  let home: string;
  let fileA: string;
  let fileB: string;
  let textB: string;

  before(async () => {
    ca = issueCertificate({ commonName: 'kubeconfig-env-ca', usage: 'ca' });
    const serving = issueCertificate({ commonName: 'kubeconfig-env-server', usage: 'server', hosts: ['127.0.0.1'] }, ca);
    const adminCert = issueCertificate({ commonName: 'cert-admin', organizations: ['system:masters'], usage: 'client' }, ca);
    api = await startTestApiServer({ backend: 'etcd', auth: true, tls: { cert: serving.certPem, key: serving.keyPem, clientCa: ca.certPem } });
    const admin = new ApiClient({ servers: [api.url], token: TEST_TOKENS.admin, retries: 0, tls: { ca: ca.certPem } });
    await admin.create({ resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' } });
    await admin.create({ resource: 'pods', namespace: 'dev' }, podManifest('dev-pod', { namespace: 'dev' }));
    admin.close();

    home = tempDir();
    // File A: the current context and the viewer's token, but no cluster at all.
    const dirA = path.join(home, 'a');
    mkdirSync(dirA);
    fileA = path.join(dirA, 'config');
    writeFileSync(
      fileA,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        contexts: [{ name: 'shared', context: { cluster: 'cell', user: 'viewer', namespace: 'dev' } }],
        users: [{ name: 'viewer', user: { token: TEST_TOKENS.viewer } }],
        'current-context': 'shared',
      }),
      { mode: 0o600 },
    );
    // File B: the cluster (its CA and the admin's certificate named by paths relative to B), a
    // context of the same name `shared` that must lose to A's, and its own current-context.
    const dirB = path.join(home, 'b');
    mkdirSync(path.join(dirB, 'pki'), { recursive: true });
    writeFileSync(path.join(dirB, 'pki', 'ca.crt'), ca.certPem);
    writeFileSync(path.join(dirB, 'pki', 'admin.crt'), adminCert.certPem);
    writeFileSync(path.join(dirB, 'pki', 'admin.key'), adminCert.keyPem, { mode: 0o600 });
    fileB = path.join(dirB, 'config');
    textB = YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cell', cluster: { server: api.url, 'certificate-authority': 'pki/ca.crt' } }],
      contexts: [
        { name: 'shared', context: { cluster: 'cell', user: 'cert-admin' } },
        { name: 'admin', context: { cluster: 'cell', user: 'cert-admin' } },
      ],
      users: [{ name: 'cert-admin', user: { 'client-certificate': 'pki/admin.crt', 'client-key': 'pki/admin.key' } }],
      'current-context': 'admin',
    });
    writeFileSync(fileB, textB, { mode: 0o600 });
  });
  after(async () => api?.close());

  const list = () => [path.join(home, 'missing', 'config'), fileA, fileB].join(path.delimiter);

  it('merges the files: current-context and same-named entries from the first that sets them', async () => {
    const env = isolatedEnv(home, { KUBECONFIG: list() });
    const [pods, denied, current, contexts] = await Promise.all([
      cellctl(['get', 'pods', '-o', 'name'], { env }),
      cellctl(['create', '-f', '-'], { env, input: JSON.stringify(podManifest('by-viewer', { namespace: 'dev' })) }),
      cellctl(['config', 'current-context'], { env }),
      cellctl(['config', 'get-contexts', '-o', 'name'], { env }),
    ]);
    // A's `shared` (viewer token, namespace dev) over B's cluster.
    expect(pods.stdout, pods.stderr).to.equal('pod/dev-pod\n');
    expect(denied.code).to.equal(1);
    expect(denied.stderr).to.match(/forbidden: User "viewer"/);
    expect(current.stdout).to.equal('shared\n');
    expect(contexts.stdout).to.equal('shared\nadmin\n');
  });

  it('a context from the later file authenticates by client certificate, its paths relative to that file', async () => {
    const env = isolatedEnv(home, { KUBECONFIG: list() });
    const created = await cellctl(['--context=admin', 'create', '-f', '-'], { env, input: JSON.stringify(podManifest('by-cert-admin')) });
    expect(created.stdout, created.stderr).to.equal('pod/by-cert-admin created\n');
  });

  it('--kubeconfig and $CELLCONFIG come before $KUBECONFIG; an unset or all-missing $KUBECONFIG falls back to the default', async () => {
    const [viaCellconfig, viaFlag, none] = await Promise.all([
      cellctl(['config', 'current-context'], { env: isolatedEnv(home, { KUBECONFIG: list(), CELLCONFIG: fileB }) }),
      cellctl([`--kubeconfig=${fileB}`, 'config', 'current-context'], { env: isolatedEnv(home, { KUBECONFIG: list() }) }),
      cellctl(['get', 'pods'], { env: isolatedEnv(home, { KUBECONFIG: path.join(home, 'missing', 'config') }) }),
    ]);
    expect(viaCellconfig.stdout).to.equal('admin\n');
    expect(viaFlag.stdout).to.equal('admin\n');
    expect(none.code).to.equal(1);
    expect(none.stderr).to.match(/no server configured/);
  });

  it('use-context writes current-context to the first file that sets it and leaves the others alone', async () => {
    const env = isolatedEnv(home, { KUBECONFIG: list() });
    const switched = await cellctl(['config', 'use-context', 'admin'], { env });
    expect(switched.stdout, switched.stderr).to.equal('Switched to context "admin".\n');
    expect((YAML.parse(readFileSync(fileA, 'utf8')) as Record<string, unknown>)['current-context']).to.equal('admin');
    expect(readFileSync(fileB, 'utf8')).to.equal(textB);
    const pods = await cellctl(['get', 'pods', '-n', 'dev', '-o', 'name'], { env });
    expect(pods.stdout, pods.stderr).to.equal('pod/dev-pod\n');
  });
});
