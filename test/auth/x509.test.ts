// X.509 client certificate authentication (--client-ca-file, DESIGN §2) over real HTTPS and real
// etcd, with a CA and certificates issued for the test by shared/pki.ts: user = subject CN, groups =
// subject O; certificates from another CA or out of date → 401; tokens keep working beside
// certificates; the shared client reads certificates from a kubeconfig (inline and as files);
// real kubectl authenticates with a client-certificate kubeconfig.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { issueCertificate, type KeyPair } from '../../shared/pki.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { loadKubeconfig } from '../../shared/client/kubeconfig.js';
import { ForbiddenError, UnauthorizedError } from '../../shared/errors.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { findKubectl, run, tempDir } from '../clients/helpers.js';

const DAY_MS = 24 * 60 * 60 * 1000;

function podBody(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }] },
  };
}

/** What a request ended in: 'ok', or the typed error's class name and message. */
async function outcome(p: Promise<unknown>): Promise<{ kind: 'ok' | 'Unauthorized' | 'Forbidden'; message: string }> {
  try {
    await p;
    return { kind: 'ok', message: '' };
  } catch (err) {
    if (err instanceof UnauthorizedError) return { kind: 'Unauthorized', message: err.message };
    if (err instanceof ForbiddenError) return { kind: 'Forbidden', message: err.message };
    throw err;
  }
}

describe('X.509 client certificate authentication', function () {
  this.timeout(60_000);
  let ca: KeyPair;
  let otherCa: KeyPair;
  let server: KeyPair;
  let api: TestApiServer;
  const clients: ApiClient[] = [];

  /** A client trusting the test CA, with this client certificate and/or token. */
  const clientWith = (cert: KeyPair | undefined, token?: string): ApiClient => {
    const c = new ApiClient({
      servers: [api.url],
      retries: 0,
      ...(token ? { token } : {}),
      tls: { ca: ca.certPem, ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}) },
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    ca = issueCertificate({ commonName: 'x509-test-ca', usage: 'ca' });
    otherCa = issueCertificate({ commonName: 'x509-test-other-ca', usage: 'ca' });
    server = issueCertificate({ commonName: 'x509-test-server', usage: 'server', hosts: ['127.0.0.1', 'localhost'] }, ca);
    api = await startTestApiServer({ backend: 'etcd', auth: true, tls: { cert: server.certPem, key: server.keyPem, clientCa: ca.certPem } });
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await api?.close();
  });

  it('names the user by CN and the groups by every O: a viewer certificate reads but does not write', async () => {
    const viewer = clientWith(issueCertificate({ commonName: 'vera', organizations: ['team-a', 'system:viewers'], usage: 'client' }, ca));
    expect((await outcome(viewer.list({ resource: 'pods', namespace: 'default' }))).kind).to.equal('ok');
    const write = await outcome(viewer.create({ resource: 'pods', namespace: 'default' }, podBody('by-vera')));
    expect(write.kind).to.equal('Forbidden');
    expect(write.message).to.include('User "vera"');

    // The group that grants writing is the certificate's second O: every O value counts.
    const admin = clientWith(issueCertificate({ commonName: 'ada', organizations: ['team-b', 'system:masters'], usage: 'client' }, ca));
    expect((await outcome(admin.create({ resource: 'pods', namespace: 'default' }, podBody('by-ada')))).kind).to.equal('ok');

    // No O at all: authenticated as the CN, in no group, so nothing is allowed.
    const loner = clientWith(issueCertificate({ commonName: 'lonely', usage: 'client' }, ca));
    const read = await outcome(loner.list({ resource: 'pods', namespace: 'default' }));
    expect(read.kind).to.equal('Forbidden');
    expect(read.message).to.include('User "lonely"');
  });

  it('refuses a certificate from another CA and an expired one with 401', async () => {
    const foreign = clientWith(issueCertificate({ commonName: 'mallory', organizations: ['system:masters'], usage: 'client' }, otherCa));
    const expired = clientWith(
      issueCertificate(
        { commonName: 'old-admin', organizations: ['system:masters'], usage: 'client', notBefore: new Date(Date.now() - 2 * DAY_MS), notAfter: new Date(Date.now() - DAY_MS) },
        ca,
      ),
    );
    const [f, e, none] = await Promise.all([
      outcome(foreign.list({ resource: 'pods', namespace: 'default' })),
      outcome(expired.list({ resource: 'pods', namespace: 'default' })),
      outcome(clientWith(undefined).list({ resource: 'pods', namespace: 'default' })),
    ]);
    expect(f.kind).to.equal('Unauthorized');
    expect(e.kind).to.equal('Unauthorized');
    expect(e.message).to.match(/expired/i);
    expect(none.kind).to.equal('Unauthorized');
  });

  it('keeps tokens working; with both, a valid certificate decides, and a bad one yields to a valid token', async () => {
    const viewerCert = issueCertificate({ commonName: 'vera', organizations: ['system:viewers'], usage: 'client' }, ca);
    const adminCert = issueCertificate({ commonName: 'ada', organizations: ['system:masters'], usage: 'client' }, ca);
    const foreignAdmin = issueCertificate({ commonName: 'mallory', organizations: ['system:masters'], usage: 'client' }, otherCa);
    const [tokenOnly, certOverToken, certOverToken2, tokenAfterBadCert, badCertBadToken] = await Promise.all([
      outcome(clientWith(undefined, TEST_TOKENS.admin).create({ resource: 'pods', namespace: 'default' }, podBody('by-token'))),
      // The viewer's certificate with the admin's token: the certificate (viewer) is the user.
      outcome(clientWith(viewerCert, TEST_TOKENS.admin).create({ resource: 'pods', namespace: 'default' }, podBody('not-created'))),
      outcome(clientWith(adminCert, TEST_TOKENS.viewer).create({ resource: 'pods', namespace: 'default' }, podBody('by-ada-with-token'))),
      outcome(clientWith(foreignAdmin, TEST_TOKENS.viewer).create({ resource: 'pods', namespace: 'default' }, podBody('not-by-viewer'))),
      outcome(clientWith(foreignAdmin, 'no-such-token').list({ resource: 'pods', namespace: 'default' })),
    ]);
    expect(tokenOnly.kind).to.equal('ok');
    expect(certOverToken.kind).to.equal('Forbidden');
    expect(certOverToken.message).to.include('User "vera"');
    expect(certOverToken2.kind).to.equal('ok');
    expect(tokenAfterBadCert.kind).to.equal('Forbidden');
    expect(tokenAfterBadCert.message).to.include('User "viewer"');
    expect(badCertBadToken.kind).to.equal('Unauthorized');
  });

  it('the shared client takes the certificate from a kubeconfig, inline or as files', async () => {
    const dir = tempDir('cell-x509-');
    const cert = issueCertificate({ commonName: 'ada', organizations: ['system:masters'], usage: 'client' }, ca);
    writeFileSync(path.join(dir, 'ca.crt'), ca.certPem);
    writeFileSync(path.join(dir, 'ada.crt'), cert.certPem);
    writeFileSync(path.join(dir, 'ada.key'), cert.keyPem, { mode: 0o600 });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const config = (cluster: Record<string, string>, user: Record<string, string>) =>
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: api.url, ...cluster } }],
        users: [{ name: 'u', user }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'ctx',
      });
    const inline = path.join(dir, 'inline.yaml');
    writeFileSync(inline, config({ 'certificate-authority-data': b64(ca.certPem) }, { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) }));
    // File references are relative to the kubeconfig, as kubectl resolves them.
    const files = path.join(dir, 'files.yaml');
    writeFileSync(files, config({ 'certificate-authority': 'ca.crt' }, { 'client-certificate': 'ada.crt', 'client-key': './ada.key' }));
    const half = path.join(dir, 'half.yaml');
    writeFileSync(half, config({ 'certificate-authority': 'ca.crt' }, { 'client-certificate': 'ada.crt' }));

    for (const file of [inline, files]) {
      const kc = loadKubeconfig(file);
      expect(kc.token).to.equal(undefined);
      const client = new ApiClient({ servers: kc.servers, retries: 0, ...(kc.tls ? { tls: kc.tls } : {}) });
      clients.push(client);
      const created = await client.create<{ metadata: { name: string } }>({ resource: 'pods', namespace: 'default' }, podBody(`from-${path.basename(file, '.yaml')}`));
      expect(created.metadata.name).to.equal(`from-${path.basename(file, '.yaml')}`);
    }
    expect(() => loadKubeconfig(half)).to.throw(/client certificate but no key/);
  });

  it('kubectl authenticates with a client-certificate kubeconfig', async () => {
    const kubectl = findKubectl();
    if (!kubectl) throw new Error('kubectl is not on PATH (set $KUBECTL)');
    const dir = tempDir('cell-x509-kubectl-');
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const write = (name: string, cert: KeyPair): string => {
      const file = path.join(dir, name);
      writeFileSync(
        file,
        YAML.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority-data': b64(ca.certPem) } }],
          users: [{ name: 'u', user: { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) } }],
          contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
          'current-context': 'ctx',
        }),
        { mode: 0o600 },
      );
      return file;
    };
    await clientWith(undefined, TEST_TOKENS.admin).create({ resource: 'nodes' }, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'x509-node' } });
    const viewer = write('viewer.yaml', issueCertificate({ commonName: 'vera', organizations: ['system:viewers'], usage: 'client' }, ca));
    const stranger = write('stranger.yaml', issueCertificate({ commonName: 'mallory', organizations: ['system:masters'], usage: 'client' }, otherCa));
    const env = { ...process.env, KUBECONFIG: '', HOME: dir };
    const [nodes, denied, unknown] = await Promise.all([
      run(kubectl, ['--kubeconfig', viewer, 'get', 'nodes', '-o', 'name'], { env }),
      run(kubectl, ['--kubeconfig', viewer, 'delete', 'node', 'x509-node'], { env }),
      run(kubectl, ['--kubeconfig', stranger, 'get', 'nodes'], { env }),
    ]);
    expect(nodes.code, nodes.stderr).to.equal(0);
    expect(nodes.stdout.split('\n')).to.include('node/x509-node');
    expect(denied.code).to.equal(1);
    expect(denied.stderr).to.match(/forbidden: User "vera" cannot delete/);
    expect(unknown.code).to.equal(1);
    // kubectl words every 401 this way, whatever the Status message says.
    expect(unknown.stderr, unknown.stderr).to.match(/You must be logged in to the server/);
  });
});
