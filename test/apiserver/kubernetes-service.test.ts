// The `kubernetes` Service: API server replicas on one etcd keep it, with the range's first IP, and
// its Endpoints list the replicas alive — one that stops leaves at once, one that is killed when its
// registration expires — and a Service deleted by hand comes back.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Endpoints, Service } from '../../shared/api/service.js';
import { startApiServerProcess, type ApiServerProcess } from '../clients/apiserver-process.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { freePort } from '../harness/ports.js';
import { raw, waitFor } from './helpers.js';

const SERVICE = '/api/v1/namespaces/default/services/kubernetes';
const ENDPOINTS = '/api/v1/namespaces/default/endpoints/kubernetes';

/** `port → addresses` of the kubernetes Endpoints. */
async function endpointsOf(t: TestApiServer): Promise<Record<number, string[]>> {
  const res = await raw(t.url, 'GET', ENDPOINTS);
  if (res.status !== 200) return {};
  const out: Record<number, string[]> = {};
  for (const s of (res.body as Endpoints).subsets ?? []) for (const p of s.ports ?? []) out[p.port] = (s.addresses ?? []).map((a) => a.ip);
  return out;
}

describe('the kubernetes Service: where clients in the cluster find the API servers (etcd)', function () {
  this.timeout(60_000);
  const prefix = `/cell-test-${randomUUID()}`;
  const ranges = { clusterIPRange: '10.101.0.0/24', nodePorts: { first: 30000, last: 30099 } };
  // Short rounds, so each change shows within a second.
  const kubernetesService = { intervalMs: 200, ttlSeconds: 2 };
  let a: TestApiServer;
  let b: TestApiServer | undefined;
  let killed: ApiServerProcess | undefined;

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd', prefix, serviceRanges: ranges, kubernetesService });
    b = await startTestApiServer({ backend: 'etcd', prefix, serviceRanges: ranges, kubernetesService });
  });
  after(async () => {
    await killed?.stop('SIGKILL');
    await b?.close();
    await a?.close();
  });

  it('has the range\'s first IP, port 443 to the servers\' port, and every live replica in its Endpoints', async () => {
    const svc = (await raw(a.url, 'GET', SERVICE)).body as Service;
    expect(svc.spec.clusterIP).to.equal('10.101.0.1');
    expect(svc.spec.selector).to.equal(undefined);
    expect(svc.metadata.labels).to.deep.equal({ component: 'apiserver', provider: 'kubernetes' });
    // Plain HTTP test servers: the port is named for what they speak.
    expect(svc.spec.ports?.map((p) => [p.name, p.port, p.protocol])).to.deep.equal([['http', 443, 'TCP']]);
    const aPort = Number(new URL(a.url).port);
    const bPort = Number(new URL(b!.url).port);
    expect(await waitFor('both replicas in the Endpoints', async () => {
      const eps = await endpointsOf(a);
      return Object.keys(eps).length === 2 ? eps : undefined;
    })).to.deep.equal({ [aPort]: ['127.0.0.1'], [bPort]: ['127.0.0.1'] });
  });

  it('drops a replica that stops at once, and one that is killed when its registration expires', async () => {
    const aPort = Number(new URL(a.url).port);
    await b!.close();
    b = undefined;
    // Gone as the server closed, not a round later.
    expect(Object.keys(await endpointsOf(a)).map(Number)).to.deep.equal([aPort]);

    // A real replica, killed: nothing removes it but the expiry of its registration (15 s).
    const port = await freePort();
    killed = await startApiServerProcess({ etcdEndpoints: etcdEndpoints(), prefix, port, args: [`--service-cluster-ip-range=${ranges.clusterIPRange}`, '--log-level=error'] });
    await waitFor('the process in the Endpoints', async () => (await endpointsOf(a))[port] !== undefined || undefined);
    await killed.stop('SIGKILL');
    killed = undefined;
    const started = Date.now();
    await waitFor('the killed replica out of the Endpoints', async () => (await endpointsOf(a))[port] === undefined || undefined, 30_000);
    expect(Date.now() - started).to.be.greaterThan(5_000);
    expect(Object.keys(await endpointsOf(a)).map(Number)).to.deep.equal([aPort]);
  });

  it('comes back when deleted', async () => {
    const before = (await raw(a.url, 'GET', SERVICE)).body as Service;
    expect((await raw(a.url, 'DELETE', SERVICE)).status).to.equal(200);
    const again = await waitFor('the Service back', async () => {
      const res = await raw(a.url, 'GET', SERVICE);
      return res.status === 200 ? (res.body as Service) : undefined;
    });
    expect(again.metadata.uid).to.not.equal(before.metadata.uid);
    expect(again.spec.clusterIP).to.equal('10.101.0.1');
  });
});
