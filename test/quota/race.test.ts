// Never over quota, however many creates race: two API server replicas on the same etcd, several
// HTTP clients on each, 50 creates at once against a quota. Exactly the allowed number are admitted,
// every other one is a 403 with Kubernetes' message, status.used equals the live pods afterwards,
// and the audit (on both replicas) finds every ledger exact.
import { expect } from 'chai';
import type { Pod } from '../../shared/api/core.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { ForbiddenError } from '../../shared/errors.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { counted, createNamespace, createQuota, expectAuditOk, InProcessQuotaController, podManifest, podRef, usedOf } from './helpers.js';

const CREATES = 50;
const CLIENTS_PER_SERVER = 3;

interface Outcome {
  admitted: string[];
  refused: string[];
}

describe('racing creates against a ResourceQuota (two API servers on one etcd)', function () {
  this.timeout(90_000);
  let a: TestApiServer;
  let b: TestApiServer;
  let clients: ApiClient[];
  let controller: InProcessQuotaController;

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd' });
    b = await startTestApiServer({ backend: 'etcd', prefix: a.prefix });
    // Separate connections per client: the creates really arrive at once, on both replicas.
    clients = [a, b].flatMap((s) => Array.from({ length: CLIENTS_PER_SERVER }, () => new ApiClient({ servers: [s.url], retries: 0 })));
    controller = new InProcessQuotaController(a.client());
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    clients?.forEach((c) => c.close());
    await b?.close();
    await a?.close();
  });

  /** CREATES pod creates at once, spread over every client; each either admitted or refused with a 403. */
  async function race(ns: string, prefix: string, resources: Parameters<typeof podManifest>[1], expectMessage: string): Promise<Outcome> {
    const out: Outcome = { admitted: [], refused: [] };
    await Promise.all(
      Array.from({ length: CREATES }, async (_, i) => {
        const name = `${prefix}-${i}`;
        try {
          await clients[i % clients.length]!.create(podRef(ns), podManifest(name, resources));
          out.admitted.push(name);
        } catch (err) {
          expect(err).to.be.instanceOf(ForbiddenError);
          expect((err as Error).message).to.equal(`pods "${name}" is forbidden: ${expectMessage}`);
          out.refused.push(name);
        }
      }),
    );
    return out;
  }

  async function livePods(ns: string): Promise<string[]> {
    const list = await a.client().list<{ items: Pod[] }>(podRef(ns));
    return list.items.map((p) => p.metadata.name ?? '').sort();
  }

  it('pods=10: exactly 10 of 50 racing creates are admitted, 40 refused; the ledger equals the live pods', async () => {
    const api = a.client();
    const ns = await createNamespace(api, 'race-pods');
    await createQuota(api, ns, 'q', { hard: { pods: '10' } });
    await counted(api, ns, 'q');
    const out = await race(ns, 'p', { requests: { cpu: '10m' } }, 'exceeded quota: q, requested: pods=1, used: pods=10, limited: pods=10');
    expect(out.admitted).to.have.length(10);
    expect(out.refused).to.have.length(CREATES - 10);
    expect(await livePods(ns)).to.deep.equal([...out.admitted].sort());
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '10' });
    await expectAuditOk(api);
    await expectAuditOk(b.client());
  });

  it('requests.cpu=1: 150m pods racing, exactly 6 admitted (900m), the rest refused with the cpu message', async () => {
    const api = b.client();
    const ns = await createNamespace(api, 'race-cpu');
    await createQuota(api, ns, 'q', { hard: { 'requests.cpu': '1', pods: '100' } });
    await counted(api, ns, 'q');
    const out = await race(ns, 'c', { requests: { cpu: '150m' } }, 'exceeded quota: q, requested: requests.cpu=150m, used: requests.cpu=900m, limited: requests.cpu=1');
    expect(out.admitted).to.have.length(6);
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '6', 'requests.cpu': '900m' });
    await expectAuditOk(api);
  });

  it('creates racing deletes: the ledger stays exact and never over', async () => {
    const api = a.client();
    const ns = await createNamespace(api, 'race-churn');
    await createQuota(api, ns, 'q', { hard: { pods: '10', 'requests.cpu': '1' } });
    await counted(api, ns, 'q');
    const first = await race(ns, 'x', { requests: { cpu: '100m' } }, 'exceeded quota: q, requested: pods=1,requests.cpu=100m, used: pods=10,requests.cpu=1, limited: pods=10,requests.cpu=1');
    expect(first.admitted).to.have.length(10);
    // Five deletes and thirty creates at once, on both replicas: at most five creates can get in.
    const deleted = first.admitted.slice(0, 5);
    let admitted = 0;
    await Promise.all([
      ...deleted.map((name, i) => clients[i % clients.length]!.delete(podRef(ns, name))),
      ...Array.from({ length: 30 }, async (_, i) => {
        try {
          await clients[i % clients.length]!.create(podRef(ns), podManifest(`y-${i}`, { requests: { cpu: '100m' } }));
          admitted++;
        } catch (err) {
          expect(err).to.be.instanceOf(ForbiddenError);
          expect((err as Error).message).to.match(/^pods "y-\d+" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=100m, used: pods=10,requests.cpu=1, limited: pods=10,requests.cpu=1$/);
        }
      }),
    ]);
    expect(admitted).to.be.at.most(5);
    const live = await livePods(ns);
    expect(live).to.have.length(10 - 5 + admitted);
    const used = await usedOf(api, ns, 'q');
    expect(used.pods).to.equal(String(live.length));
    await expectAuditOk(api);
    await expectAuditOk(b.client());
  });
});
