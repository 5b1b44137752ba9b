// The API server's health endpoints, Kubernetes style (apiserver/http/health.ts): /livez, /readyz and
// /healthz as lists of named checks with ?verbose and ?exclude, one check per path with its reason
// for those allowed to see it — and, on a real etcd whose link to the server is cut, a server that
// stays alive but says it is not ready until the link is back.
import { expect } from 'chai';
import { startApiServer, type ApiServer } from '../../apiserver/server.js';
import { healthChecks } from '../../apiserver/server/health-checks.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import { errorMessage } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { startTestApiServer, TEST_TOKENS, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from '../clients/helpers.js';

interface Answer {
  status: number;
  text: string;
}

async function get(url: string, path: string, token?: string): Promise<Answer> {
  const res = await fetch(`${url}${path}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text() };
}

const READY_CHECKS = ['ping', 'etcd', 'watch-cache', 'poststarthook/bootstrap-controller', 'shutdown'];

describe('API server health endpoints (etcd)', function () {
  this.timeout(30_000);
  let t: TestApiServer;

  before(async () => {
    t = await startTestApiServer({ auth: true });
  });
  after(async () => {
    await t.close();
  });

  it('answers "ok" to /livez, /readyz and /healthz without a token while every check passes', async () => {
    for (const path of ['/livez', '/readyz', '/healthz']) {
      expect(await get(t.url, path), path).to.deep.equal({ status: 200, text: 'ok' });
    }
  });

  it('lists each check with ?verbose: livez only what a restart fixes, readyz etcd and the caches too', async () => {
    expect(await get(t.url, '/livez?verbose')).to.deep.equal({ status: 200, text: '[+]ping ok\nlivez check passed\n' });
    const ready = await get(t.url, '/readyz?verbose');
    expect(ready.status).to.equal(200);
    expect(ready.text).to.equal(`${READY_CHECKS.map((c) => `[+]${c} ok`).join('\n')}\nreadyz check passed\n`);
    const healthz = await get(t.url, '/healthz?verbose');
    expect(healthz.text).to.equal(`${READY_CHECKS.map((c) => `[+]${c} ok`).join('\n')}\nhealthz check passed\n`);
  });

  it('leaves out the checks named by ?exclude, and warns of names it does not know', async () => {
    const res = await get(t.url, '/readyz?verbose&exclude=etcd&exclude=no-such-check');
    expect(res.status).to.equal(200);
    expect(res.text.split('\n')).to.include.members([
      '[+]etcd excluded: ok',
      '[+]ping ok',
      'warn: some checks cannot be excluded: no matches for "no-such-check"',
      'readyz check passed',
    ]);
  });

  it('runs one check per path for monitoring users, and refuses the rest', async () => {
    expect(await get(t.url, '/readyz/etcd', TEST_TOKENS.viewer)).to.deep.equal({ status: 200, text: 'ok' });
    expect(await get(t.url, '/livez/ping', TEST_TOKENS.scheduler)).to.deep.equal({ status: 200, text: 'ok' });
    // The per-check paths give reasons: not public, and not for every authenticated user.
    expect((await get(t.url, '/readyz/etcd')).status).to.equal(401);
    expect((await get(t.url, '/readyz/etcd', TEST_TOKENS.nobody)).status).to.equal(403);
    // livez has no etcd check: a server cut off from etcd is not restarted for it.
    const missing = await get(t.url, '/livez/etcd', TEST_TOKENS.admin);
    expect(missing.status).to.equal(404);
    expect(missing.text).to.contain('livez has no check named "etcd"');
  });

  it('is not ready until its post-start work is done', async () => {
    // startApiServer returns once it is done, so no request sees this over HTTP either.
    let starting = true;
    const checks = healthChecks({ store: t.store, resources: t.server.resources, shuttingDown: () => false, starting: () => starting });
    const hook = checks.readyz.find((c) => c.name === 'poststarthook/bootstrap-controller')!;
    let failure: unknown;
    await hook.run().catch((err: unknown) => (failure = err));
    expect(errorMessage(failure)).to.equal('the server is still starting: the kubernetes Service is not reconciled yet');
    starting = false;
    await hook.run();
  });

  it('has a shutdown check that fails once the server begins to close', async () => {
    // close() sets it and closes every connection at once, so no request sees it over HTTP.
    let closing = false;
    const checks = healthChecks({ store: t.store, resources: t.server.resources, shuttingDown: () => closing, starting: () => false });
    const shutdown = checks.readyz.find((c) => c.name === 'shutdown')!;
    await shutdown.run();
    closing = true;
    let failure: unknown;
    await shutdown.run().catch((err: unknown) => (failure = err));
    expect(errorMessage(failure)).to.equal('the server is shutting down');
  });
});

describe('API server readiness with its etcd link cut (a partitionable etcd)', function () {
  this.timeout(90_000);
  let cluster: EtcdCluster;
  let store: EtcdStore;
  let server: ApiServer;

  before(async () => {
    cluster = await startEtcdCluster({ members: 1, quiet: true, partitionable: true });
    store = new EtcdStore({ endpoints: await cluster.clientUrls('apiserver'), prefix: '/health-test' });
    // A short readiness timeout keeps the test quick (the default is 2 s). No token file: loopback admin.
    server = await startApiServer({ store, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0, storeReadyTimeoutMs: 500 });
  });
  after(async () => {
    await cluster?.cutClient('apiserver', false);
    await server?.close();
    await store?.close();
    await cluster?.stop();
  });

  it('stays alive but is not ready while no etcd member answers it, and is ready again once one does', async () => {
    expect(await get(server.url, '/readyz')).to.deep.equal({ status: 200, text: 'ok' });

    await cluster.cutClient('apiserver', true);
    const startedAt = Date.now();
    const cut = await get(server.url, '/readyz');
    const answeredIn = Date.now() - startedAt;
    expect(cut.status).to.equal(503);
    expect(cut.text).to.equal('[+]ping ok\n[-]etcd failed: reason withheld\n[+]watch-cache ok\n[+]poststarthook/bootstrap-controller ok\n[+]shutdown ok\nreadyz check failed\n');
    // It answers at the check's own timeout, not a request's.
    expect(answeredIn).to.be.below(5_000);
    const reason = await get(server.url, '/readyz/etcd');
    expect(reason.status).to.equal(503);
    expect(reason.text).to.match(/^etcd failed: no etcd member answered a quorum read within 500 ms \(http:\/\/127\.0\.0\.1:\d+: /);
    expect(await get(server.url, '/livez')).to.deep.equal({ status: 200, text: 'ok' });

    await cluster.cutClient('apiserver', false);
    // Ready again within a few probes of the link's return.
    const back = await waitFor(async () => {
      const answer = await get(server.url, '/readyz');
      return answer.status === 200 ? answer : undefined;
    }, '/readyz 200 after the link came back', 20_000, 50);
    expect(back).to.deep.equal({ status: 200, text: 'ok' });
  });
});
