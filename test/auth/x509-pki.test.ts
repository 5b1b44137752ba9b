// shared/pki.ts, which `npm start` uses for .cell/pki/: the certificates it issues verify with
// Node's own X.509 checks (chain, usage, hosts, subject), and a stored set is reused while good
// and issued anew when it is not.
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ADMIN_COMMON_NAME, ADMIN_GROUP, ensureLocalPki, issueCertificate, unusableReason } from '../../shared/pki.js';
import { tempDir } from '../clients/helpers.js';

describe('local PKI (shared/pki.ts)', function () {
  this.timeout(30_000);

  it('issues a CA, a server certificate for its hosts and a client certificate naming user and groups', () => {
    const ca = issueCertificate({ commonName: 'pki-test-ca', usage: 'ca' });
    const server = issueCertificate({ commonName: 'srv', usage: 'server', hosts: ['127.0.0.1', 'localhost'] }, ca);
    const client = issueCertificate({ commonName: 'ada', organizations: ['g1', 'g2'], usage: 'client' }, ca);
    const caX = new X509Certificate(ca.certPem);
    const serverX = new X509Certificate(server.certPem);
    const clientX = new X509Certificate(client.certPem);
    expect(caX.ca).to.equal(true);
    expect(serverX.ca).to.equal(false);
    expect(serverX.verify(caX.publicKey) && clientX.verify(caX.publicKey)).to.equal(true);
    expect(serverX.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    expect(serverX.checkHost('localhost')).to.equal('localhost');
    expect(serverX.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.1']);
    expect(clientX.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']);
    expect(clientX.subject.split('\n')).to.have.members(['O=g1', 'O=g2', 'CN=ada']);
    expect(unusableReason(server, { ca, hosts: ['10.1.2.3'] })).to.equal('not valid for 10.1.2.3');
    const otherCa = issueCertificate({ commonName: 'other', usage: 'ca' });
    expect(unusableReason(client, { ca: otherCa })).to.equal('not signed by the current CA');
    expect(unusableReason({ certPem: client.certPem, keyPem: server.keyPem })).to.equal('the key does not match the certificate');
  });

  it('reuses a good stored set, re-issues what is no longer good, and a new CA re-issues everything', () => {
    const dir = path.join(tempDir('cell-pki-'), 'pki');
    const first = ensureLocalPki(dir, ['127.0.0.1']);
    expect(new X509Certificate(first.admin.certPem).subject.split('\n')).to.have.members([`O=${ADMIN_GROUP}`, `CN=${ADMIN_COMMON_NAME}`]);
    const again = ensureLocalPki(dir, ['127.0.0.1']);
    expect(again.ca.certPem).to.equal(first.ca.certPem);
    expect(again.server.certPem).to.equal(first.server.certPem);
    expect(again.admin.certPem).to.equal(first.admin.certPem);

    // A new host: only the server certificate changes.
    const moreHosts = ensureLocalPki(dir, ['127.0.0.1', 'localhost']);
    expect(moreHosts.ca.certPem).to.equal(first.ca.certPem);
    expect(moreHosts.server.certPem).to.not.equal(first.server.certPem);
    expect(moreHosts.admin.certPem).to.equal(first.admin.certPem);
    expect(readFileSync(moreHosts.serverCertFile, 'utf8')).to.equal(moreHosts.server.certPem);

    // A CA about to expire is replaced, and so is everything it signed.
    const dying = issueCertificate({ commonName: 'cell-ca', usage: 'ca', notAfter: new Date(Date.now() + 24 * 60 * 60 * 1000) });
    writeFileSync(path.join(dir, 'ca.crt'), dying.certPem);
    writeFileSync(path.join(dir, 'ca.key'), dying.keyPem);
    const renewed = ensureLocalPki(dir, ['127.0.0.1', 'localhost']);
    expect(renewed.ca.certPem).to.not.equal(dying.certPem);
    const caX = new X509Certificate(renewed.ca.certPem);
    expect(new X509Certificate(renewed.server.certPem).verify(caX.publicKey)).to.equal(true);
    expect(new X509Certificate(renewed.admin.certPem).verify(caX.publicKey)).to.equal(true);
  });
});
