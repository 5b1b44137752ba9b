import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { resourceQuotaController } from '../../controllers/resource-quota/controller.js';
import { startControllers } from '../controllers/helpers.js';
import { counted } from '../quota/helpers.js';
import type { AuditReport } from '../../shared/api/audit.js';
import { cellctl, isolatedEnv, runProcess, tempDir } from '../cli/helpers.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { causeFields, expectStatus, raw, waitFor, type Obj, type RawOptions } from './helpers.js';

const SERVICES = '/api/v1/namespaces/default/services';

interface ServiceView extends Obj {
  spec: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: { name?: string; port: number; targetPort?: number | string; nodePort?: number; protocol?: string }[];
    sessionAffinity?: string;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    internalTrafficPolicy?: string;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
  };
}

function serviceBody(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec } };
}

function ipNumber(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

describe('services: cluster IPs and node ports (etcd)', function () {
  this.timeout(60_000);
  // A small range, so that racing creates collide and a full range is reached.
  const ranges = { clusterIPRange: '10.100.0.0/26', nodePorts: { first: 30000, last: 30039 } };
  const prefix = `/cell-test-${randomUUID()}`;
  let a: TestApiServer;
  let b: TestApiServer;
  const ok = async <T = ServiceView>(t: TestApiServer, method: string, path: string, opts?: RawOptions, code?: number): Promise<T> => {
    const res = await raw(t.url, method, path, opts);
    expect(res.status, `${method} ${path}: ${res.text.slice(0, 400)}`).to.equal(code ?? (method === 'POST' ? 201 : 200));
    return res.body as T;
  };

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd', prefix, serviceRanges: ranges });
    b = await startTestApiServer({ backend: 'etcd', prefix, serviceRanges: ranges });
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });
  afterEach(async () => {
    await raw(a.url, 'DELETE', SERVICES);
  });

  it('gives a new Service an IP from the range and Kubernetes\' defaults', async () => {
    const svc = await ok(a, 'POST', SERVICES, { body: serviceBody('web', { ports: [{ port: 80, targetPort: 8080 }, { name: 'x', port: 81 }].map((p, i) => ({ name: `p${i}`, ...p })) }) });
    const ip = svc.spec.clusterIP!;
    expect(ipNumber(ip)).to.be.greaterThan(ipNumber('10.100.0.0')).and.lessThan(ipNumber('10.100.0.63'));
    expect(svc.spec.clusterIPs).to.deep.equal([ip]);
    expect(svc.spec.type).to.equal('ClusterIP');
    expect(svc.spec.sessionAffinity).to.equal('None');
    expect(svc.spec.ipFamilies).to.deep.equal(['IPv4']);
    expect(svc.spec.ipFamilyPolicy).to.equal('SingleStack');
    expect(svc.spec.internalTrafficPolicy).to.equal('Cluster');
    expect(svc.spec.ports!.map((p) => [p.port, p.targetPort, p.protocol, p.nodePort])).to.deep.equal([
      [80, 8080, 'TCP', undefined],
      [81, 81, 'TCP', undefined],
    ]);
    expect(svc.status).to.deep.equal({ loadBalancer: {} });
    // The other API server reads the same Service, by its field selector too.
    const listed = await ok<{ items: ServiceView[] }>(b, 'GET', `${SERVICES}?fieldSelector=spec.clusterIP=${ip}`);
    expect(listed.items.map((s) => s.metadata.name)).to.deep.equal(['web']);
  });

  it('never gives one IP or node port to two Services, however many API servers create at once, and says when a range is full', async () => {
    const creates = Array.from({ length: 40 }, (_, i) => raw(i % 2 ? a.url : b.url, 'POST', SERVICES, { body: serviceBody(`race-${i}`, { type: 'NodePort' }) }));
    const results = await Promise.all(creates);
    for (const r of results) expect(r.status, r.text.slice(0, 300)).to.equal(201);
    const list = await ok<{ items: ServiceView[] }>(a, 'GET', SERVICES);
    expect(list.items).to.have.length(40);
    const ips = list.items.map((s) => s.spec.clusterIP);
    const ports = list.items.map((s) => s.spec.ports![0]!.nodePort!);
    expect(new Set(ips).size).to.equal(40);
    expect(new Set(ports).size).to.equal(40);
    for (const p of ports) expect(p).to.be.within(30000, 30039);
    // The claims in the store are exactly those the Services hold.
    const claims = await a.store.list('/serviceclaims/');
    expect(claims.items.map((c) => c.key).sort()).to.deep.equal([...ips.map((ip) => `/serviceclaims/clusterips/${ip}`), ...ports.map((p) => `/serviceclaims/nodeports/${p}`)].sort());
    // All 40 node ports are taken: the next is refused, and nothing of it is kept.
    const full = await raw(b.url, 'POST', SERVICES, { body: serviceBody('one-more', { type: 'NodePort' }) });
    expect(expectStatus(full, 500).message).to.contain('failed to allocate a nodePort: range is full');
    await ok(a, 'GET', `${SERVICES}/one-more`, {}, 404);
    expect((await a.store.list('/serviceclaims/')).items).to.have.length(80);
    // A ClusterIP Service still fits (the IP range is larger).
    await ok(a, 'POST', SERVICES, { body: serviceBody('no-node-port') });
    const report = (await raw(b.url, 'GET', '/audit')).body as AuditReport;
    expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
    expect(report.ledgers.ServiceClaim).to.equal(81);
  });

  it('refuses an IP or port that is taken or out of range, and frees them on delete', async () => {
    const first = await ok(a, 'POST', SERVICES, { body: serviceBody('first', { type: 'NodePort', clusterIP: '10.100.0.10', ports: [{ port: 80, nodePort: 30010 }] }) });
    expect(first.spec.clusterIP).to.equal('10.100.0.10');
    expect(first.spec.ports![0]!.nodePort).to.equal(30010);
    const sameIP = await raw(b.url, 'POST', SERVICES, { body: serviceBody('second', { clusterIP: '10.100.0.10' }) });
    const s1 = expectStatus(sameIP, 422, 'Invalid');
    expect(s1.message).to.contain('spec.clusterIPs[0]: Invalid value: "10.100.0.10": provided IP is already allocated');
    const samePort = await raw(b.url, 'POST', SERVICES, { body: serviceBody('second', { type: 'NodePort', ports: [{ port: 80, nodePort: 30010 }] }) });
    expect(expectStatus(samePort, 422).message).to.contain('spec.ports[0].nodePort: Invalid value: 30010: provided port is already allocated');
    const outside = await raw(b.url, 'POST', SERVICES, { body: serviceBody('second', { clusterIP: '10.101.0.1' }) });
    expect(expectStatus(outside, 422).message).to.contain('provided IP is not in the valid range. The range of valid IPs is 10.100.0.0/26');
    const badPort = await raw(b.url, 'POST', SERVICES, { body: serviceBody('second', { type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] }) });
    expect(expectStatus(badPort, 422).message).to.contain('The range of valid ports is 30000-30039');
    await ok(a, 'GET', `${SERVICES}/second`, {}, 404);
    await ok(a, 'DELETE', `${SERVICES}/first`);
    const again = await ok(b, 'POST', SERVICES, { body: serviceBody('second', { type: 'NodePort', clusterIP: '10.100.0.10', ports: [{ port: 80, nodePort: 30010 }] }) });
    expect(again.spec.clusterIP).to.equal('10.100.0.10');
    expect((await a.store.list('/serviceclaims/')).items.map((c) => c.key).sort()).to.deep.equal(['/serviceclaims/clusterips/10.100.0.10', '/serviceclaims/nodeports/30010']);
  });

  it('keeps allocated values across an update that leaves them out, never changes the IP, and moves node ports with the type', async () => {
    const created = await ok(a, 'POST', SERVICES, { body: serviceBody('upd') });
    const ip = created.spec.clusterIP!;
    // A PUT of the original manifest (what kubectl replace sends): the IP stays.
    const put = await ok(a, 'PUT', `${SERVICES}/upd`, { body: { ...serviceBody('upd', { selector: { app: 'other' } }), metadata: { name: 'upd', resourceVersion: created.metadata.resourceVersion } } });
    expect(put.spec.clusterIP).to.equal(ip);
    expect(put.spec.selector).to.deep.equal({ app: 'other' });
    const changed = await raw(a.url, 'PATCH', `${SERVICES}/upd`, { body: { spec: { clusterIP: '10.100.0.20', clusterIPs: ['10.100.0.20'] } }, contentType: 'application/merge-patch+json' });
    expect(expectStatus(changed, 422).message).to.contain('may not change once set');
    // ClusterIP → NodePort: a port is allocated; back to ClusterIP: it is dropped and released.
    const np = await ok(a, 'PATCH', `${SERVICES}/upd`, { body: { spec: { type: 'NodePort' } }, contentType: 'application/merge-patch+json' });
    const nodePort = np.spec.ports![0]!.nodePort!;
    expect(nodePort).to.be.within(30000, 30039);
    expect(np.spec.externalTrafficPolicy).to.equal('Cluster');
    expect((await a.store.get(`/serviceclaims/nodeports/${nodePort}`))?.value).to.contain('"name":"upd"');
    const back = await ok(a, 'PATCH', `${SERVICES}/upd`, { body: { spec: { type: 'ClusterIP' } }, contentType: 'application/merge-patch+json' });
    expect(back.spec.ports![0]!.nodePort).to.equal(undefined);
    expect(back.spec.externalTrafficPolicy).to.equal(undefined);
    expect(back.spec.clusterIP).to.equal(ip);
    expect(await a.store.get(`/serviceclaims/nodeports/${nodePort}`)).to.equal(undefined);
    // ExternalName: the IP is released too.
    const ext = await ok(a, 'PATCH', `${SERVICES}/upd`, { body: { spec: { type: 'ExternalName', externalName: 'db.example.com', selector: null } }, contentType: 'application/merge-patch+json' });
    expect(ext.spec.clusterIP).to.equal(undefined);
    expect(await a.store.get(`/serviceclaims/clusterips/${ip}`)).to.equal(undefined);
  });

  it('merges ports by port under strategic merge patch, and kubectl apply (client- and server-side) keeps what was allocated', async () => {
    const two = { type: 'NodePort', ports: [{ name: 'a', port: 80, targetPort: 8080 }, { name: 'b', port: 81, targetPort: 8081 }] };
    const created = await ok(a, 'POST', SERVICES, { body: serviceBody('merge', two) });
    const patched = await ok(a, 'PATCH', `${SERVICES}/merge`, { body: { spec: { ports: [{ port: 81, targetPort: 9091 }] } }, contentType: 'application/strategic-merge-patch+json' });
    expect(patched.spec.ports!.map((p) => [p.name, p.port, p.targetPort, p.nodePort])).to.deep.equal(created.spec.ports!.map((p) => [p.name, p.port, p.port === 81 ? 9091 : p.targetPort, p.nodePort]));

    const dir = tempDir();
    const env = isolatedEnv(dir);
    const file = path.join(dir, 'svc.yaml');
    const manifest = (targetPort: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'applied' }, spec: { type: 'NodePort', selector: { app: 'x' }, ports: [{ name: 'a', port: 80, targetPort: 8080 }, { name: 'b', port: 81, targetPort }] } });
    const kubectl = async (...args: string[]) => {
      const r = await runProcess('kubectl', [`--server=${a.url}`, '-n', 'default', ...args], { env });
      expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    };
    writeFileSync(file, JSON.stringify(manifest(8081)));
    await kubectl('apply', '-f', file);
    const first = await ok(a, 'GET', `${SERVICES}/applied`);
    writeFileSync(file, JSON.stringify(manifest(9999)));
    await kubectl('apply', '-f', file);
    const second = await ok(a, 'GET', `${SERVICES}/applied`);
    expect(second.spec.clusterIP).to.equal(first.spec.clusterIP);
    expect(second.spec.ports!.map((p) => [p.name, p.targetPort, p.nodePort])).to.deep.equal([
      ['a', 8080, first.spec.ports![0]!.nodePort],
      ['b', 9999, first.spec.ports![1]!.nodePort],
    ]);
    writeFileSync(file, JSON.stringify(manifest(7777)));
    await kubectl('apply', '--server-side', '--force-conflicts', '-f', file);
    const third = await ok(a, 'GET', `${SERVICES}/applied`);
    expect(third.spec.clusterIP).to.equal(first.spec.clusterIP);
    expect(third.spec.ports!.map((p) => [p.name, p.targetPort, p.nodePort])).to.deep.equal([
      ['a', 8080, first.spec.ports![0]!.nodePort],
      ['b', 7777, first.spec.ports![1]!.nodePort],
    ]);
  });

  it('hands a value over exactly when its holder lets go, under racing deletes, creates and type changes on two API servers', async () => {
    const audit = async () => {
      const report = (await raw(a.url, 'GET', '/audit')).body as AuditReport;
      expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
    };
    for (let round = 0; round < 10; round++) {
      const ip = `10.100.0.${30 + round}`;
      await ok(a, 'POST', SERVICES, { body: serviceBody(`holder-${round}`, { clusterIP: ip }) });
      // The delete and a create asking for the same IP race: the create wins only after the delete.
      const [deleted, created] = await Promise.all([
        raw(a.url, 'DELETE', `${SERVICES}/holder-${round}`),
        raw(b.url, 'POST', SERVICES, { body: serviceBody(`taker-${round}`, { clusterIP: ip }) }),
      ]);
      expect(deleted.status).to.equal(200);
      if (created.status !== 201) expect(expectStatus(created, 422).message).to.contain('provided IP is already allocated');
      await audit();
    }
    // Type changes back and forth from both servers at once, each write guarded: the claims follow.
    await ok(a, 'POST', SERVICES, { body: serviceBody('flip') });
    const flips = Array.from({ length: 12 }, (_, i) =>
      raw(i % 2 ? a.url : b.url, 'PATCH', `${SERVICES}/flip`, { body: { spec: { type: i % 3 === 0 ? 'ClusterIP' : 'NodePort' } }, contentType: 'application/merge-patch+json' }),
    );
    for (const r of await Promise.all(flips)) expect(r.status, r.text.slice(0, 300)).to.equal(200);
    await audit();
  });

  it('refuses what Kubernetes refuses, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ports: [] }, 'spec.ports'],
      [{ ports: [{ port: 80 }, { port: 81 }] }, 'spec.ports[1].name'],
      [{ ports: [{ port: 70000 }] }, 'spec.ports[0].port'],
      [{ ports: [{ port: 80, targetPort: 'Not_A_Name' }] }, 'spec.ports[0].targetPort'],
      [{ ports: [{ port: 80, nodePort: 30001 }] }, 'spec.ports[0].nodePort'],
      [{ clusterIP: 'ten.one' }, 'spec.clusterIPs[0]'],
      [{ type: 'NodePort', clusterIP: 'None' }, 'spec.clusterIPs[0]'],
      [{ type: 'ExternalName', externalName: 'not a name' }, 'spec.externalName'],
      [{ type: 'Magic' }, 'spec.type'],
      [{ selector: { 'bad key!': 'x' } }, 'spec.selector'],
      [{ ipFamilyPolicy: 'RequireDualStack' }, 'spec.ipFamilyPolicy'],
      [{ externalTrafficPolicy: 'Local' }, 'spec.externalTrafficPolicy'],
    ];
    for (const [spec, field] of cases) {
      const res = await raw(a.url, 'POST', SERVICES, { body: serviceBody('bad', spec) });
      const status = expectStatus(res, 422);
      expect(causeFields(status), `${JSON.stringify(spec)}: ${status.message}`).to.include(field);
    }
    expect((await a.store.list('/serviceclaims/')).items).to.have.length(0);
    // A headless Service needs no ports and gets no IP.
    const headless = await ok(a, 'POST', SERVICES, { body: serviceBody('headless', { clusterIP: 'None', ports: undefined }) });
    expect(headless.spec.clusterIP).to.equal('None');
    expect((await a.store.list('/serviceclaims/')).items).to.have.length(0);
    // An empty selector is stored as none, as Kubernetes does.
    const empty = await ok(a, 'POST', SERVICES, { body: serviceBody('no-selector', { selector: {} }) });
    expect(empty.spec.selector).to.equal(undefined);
  });

  it('counts Services against a quota of `services`, committed with the Service', async () => {
    await ok(a, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'svc-quota' } } });
    await ok(a, 'POST', '/api/v1/namespaces/svc-quota/resourcequotas', { body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { services: '2' } } } });
    // The quota admits once the quota controller has counted it.
    const client = a.client();
    const controllers = await startControllers(client, [resourceQuotaController]);
    await counted(client, 'svc-quota', 'q');
    await controllers.stop();
    client.close();
    const path = '/api/v1/namespaces/svc-quota/services';
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => raw(i % 2 ? a.url : b.url, 'POST', path, { body: serviceBody(`q-${i}`) })));
    expect(results.filter((r) => r.status === 201)).to.have.length(2);
    for (const r of results.filter((x) => x.status !== 201)) expect(expectStatus(r, 403).message).to.contain('exceeded quota: q');
    // The refused ones hold no claims.
    const claims = (await a.store.list('/serviceclaims/')).items.filter((c) => c.value.includes('"namespace":"svc-quota"'));
    expect(claims).to.have.length(2);
  });

  it('releases a namespace\'s IPs and node ports when the namespace is deleted', async () => {
    await ok(a, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'svc-going' } } });
    const made = await ok(a, 'POST', '/api/v1/namespaces/svc-going/services', { body: serviceBody('doomed', { type: 'NodePort' }) });
    const mine = (c: { value: string }) => c.value.includes('"namespace":"svc-going"');
    expect((await a.store.list('/serviceclaims/')).items.filter(mine)).to.have.length(2);
    await ok(a, 'DELETE', '/api/v1/namespaces/svc-going');
    await waitFor('namespace svc-going gone', async () => (await raw(a.url, 'GET', '/api/v1/namespaces/svc-going')).status === 404, 30_000);
    expect((await a.store.list('/serviceclaims/')).items.filter(mine)).to.deep.equal([]);
    // Its IP may be asked for again at once.
    await ok(b, 'POST', SERVICES, { body: serviceBody('reuse', { clusterIP: made.spec.clusterIP }) });
  });

  it('limits node ports and load balancers by quota, counting what the allocation gave', async () => {
    await ok(a, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'np-quota' } } });
    await ok(a, 'POST', '/api/v1/namespaces/np-quota/resourcequotas', { body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'np' }, spec: { hard: { 'services.nodeports': '2', 'services.loadbalancers': '0' } } } });
    const client = a.client();
    const controllers = await startControllers(client, [resourceQuotaController]);
    await counted(client, 'np-quota', 'np');
    await controllers.stop();
    client.close();
    const path = '/api/v1/namespaces/np-quota/services';
    const twoPorts = { type: 'NodePort', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] };
    await ok(a, 'POST', path, { body: serviceBody('two', twoPorts) });
    const over = await raw(b.url, 'POST', path, { body: serviceBody('three', { type: 'NodePort' }) });
    expect(expectStatus(over, 403).message).to.contain('exceeded quota: np, requested: services.nodeports=1, used: services.nodeports=2, limited: services.nodeports=2');
    const lb = await raw(b.url, 'POST', path, { body: serviceBody('lb', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false }) });
    expect(expectStatus(lb, 403).message).to.contain('services.loadbalancers=1');
    await ok(a, 'POST', path, { body: serviceBody('plain') });
    const toNodePort = await raw(a.url, 'PATCH', `${path}/plain`, { body: { spec: { type: 'NodePort' } }, contentType: 'application/merge-patch+json' });
    expect(expectStatus(toNodePort, 403).message).to.contain('exceeded quota: np');
    // Back to ClusterIP releases both node ports: now another fits.
    await ok(a, 'PATCH', `${path}/two`, { body: { spec: { type: 'ClusterIP' } }, contentType: 'application/merge-patch+json' });
    await ok(a, 'PATCH', `${path}/plain`, { body: { spec: { type: 'NodePort' } }, contentType: 'application/merge-patch+json' });
    const q = await ok<{ status: { used: Record<string, string> } }>(a, 'GET', '/api/v1/namespaces/np-quota/resourcequotas/np');
    expect(q.status.used).to.deep.equal({ 'services.nodeports': '1', 'services.loadbalancers': '0' });
    const report = (await raw(a.url, 'GET', '/audit')).body as AuditReport;
    expect(report.ok, JSON.stringify(report.violations)).to.equal(true);
  });
});

describe('services: the audit of cluster IPs and node ports (etcd)', function () {
  this.timeout(60_000);
  let t: TestApiServer;
  const audit = async () => (await raw(t.url, 'GET', '/audit')).body as AuditReport;

  before(async () => {
    t = await startTestApiServer({ backend: 'etcd' });
  });
  after(async () => t?.close());

  it('finds a value held twice, a missing claim and an orphaned one', async () => {
    const made: ServiceView[] = [];
    for (const name of ['one', 'two', 'three']) {
      const res = await raw(t.url, 'POST', SERVICES, { body: serviceBody(name, { type: 'NodePort' }) });
      expect(res.status, res.text).to.equal(201);
      made.push(res.body as ServiceView);
    }
    const clean = await audit();
    expect(clean.ok, JSON.stringify(clean.violations)).to.equal(true);
    // Two for each NodePort Service, and the kubernetes Service's cluster IP.
    expect(clean.ledgers.ServiceClaim).to.equal(7);

    // Damage the store behind the API server's back, three ways.
    const [one, , three] = made as [ServiceView, ServiceView, ServiceView];
    const key = '/services/default/two';
    const stored = (await t.store.get(key))!;
    const twin = JSON.parse(stored.value) as ServiceView;
    twin.spec.clusterIP = one.spec.clusterIP;
    twin.spec.clusterIPs = [one.spec.clusterIP!];
    await t.store.update(key, JSON.stringify(twin), stored.modRevision);
    await t.store.delete(`/serviceclaims/nodeports/${three.spec.ports![0]!.nodePort!}`);
    await t.store.create('/serviceclaims/clusterips/10.96.0.77', JSON.stringify({ namespace: 'default', name: 'ghost', uid: 'gone' }));

    const report = await audit();
    expect(report.ok).to.equal(false);
    const found = report.violations.map((v) => `${v.kind} ${v.service ?? ''}`).sort();
    expect(found).to.deep.equal([
      'DoubleAllocated default/one',
      'MissingServiceClaim default/three',
      'MissingServiceClaim default/two',
      'OrphanedServiceClaim default/ghost',
      // two's own IP is claimed for it but no longer held.
      'OrphanedServiceClaim default/two',
    ]);
    expect(report.violations.find((v) => v.kind === 'DoubleAllocated')!.message).to.contain(`${one.spec.clusterIP!} is held by 2 Services`);

    const env = isolatedEnv(tempDir());
    const r = await cellctl([`--server=${t.url}`, 'audit'], { env });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/KIND\s+SERVICE/);
    expect(r.stdout).to.match(/OrphanedServiceClaim\s+default\/ghost/);
  });
});
