// The one window admission cannot close by itself: an API server replica whose quota watch cache
// has not yet seen a new quota admits creates without it (it looks quotas up in that cache, so a
// namespace without quotas costs nothing). Those creates land within that replica's cache lag of
// the quota's creation, and the controller's recount of every first count (FIRST_COUNT_RECHECK_MS
// later) puts the ledger right. Here replica B's quota watch is held back deliberately.
import { expect } from 'chai';
import type { ApiServer } from '../../apiserver/server.js';
import { startApiServer } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { StoreWatch, WatchEvent, WatchHandlers } from '../../apiserver/storage/store.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { FIRST_COUNT_RECHECK_MS } from '../../controllers/resource-quota/controller.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { InterceptingStore } from '../harness/intercepting-store.js';
import { counted, createNamespace, createQuota, expectAuditOk, InProcessQuotaController, podManifest, podRef, sleep, usedOf, waitFor } from './helpers.js';

/** A store whose ResourceQuota watch events can be held back: a replica whose quota cache lags. */
class QuotaLagStore extends InterceptingStore {
  private held: (() => void)[] | undefined;

  hold(): void {
    this.held = [];
  }

  release(): void {
    const pending = this.held ?? [];
    this.held = undefined;
    for (const deliver of pending) deliver();
  }

  override watch(prefix: string, after: number, handlers: WatchHandlers): StoreWatch {
    if (!prefix.startsWith('/resourcequotas/')) return super.watch(prefix, after, handlers);
    return super.watch(prefix, after, {
      onEvents: (events: WatchEvent[]) => {
        if (this.held) this.held.push(() => handlers.onEvents(events));
        else handlers.onEvents(events);
      },
      onError: (err) => handlers.onError(err),
    });
  }
}

describe('a replica whose quota cache lags (first-count recheck)', function () {
  this.timeout(60_000);
  let a: TestApiServer;
  let lagging: QuotaLagStore;
  let b: ApiServer;
  let bClient: ApiClient;
  let controller: InProcessQuotaController;

  before(async () => {
    a = await startTestApiServer({ backend: 'etcd' });
    lagging = new QuotaLagStore(new EtcdStore({ endpoints: etcdEndpoints(), prefix: a.prefix }));
    b = await startApiServer({ store: lagging, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0 });
    bClient = new ApiClient({ servers: [b.url], retries: 0 });
    controller = new InProcessQuotaController(a.client());
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    bClient?.close();
    await b?.close();
    await lagging?.close();
    await a?.close();
  });

  it('creates admitted past a quota B has not seen yet are counted by the recheck', async () => {
    const api = a.client();
    const ns = await createNamespace(api, 'lag');
    await waitFor(async () => {
      try {
        await bClient.get({ version: 'v1', resource: 'namespaces', name: ns });
        return true;
      } catch {
        return false;
      }
    }, 'namespace visible on B');
    lagging.hold();
    await createQuota(api, ns, 'q', { hard: { pods: '3' } });
    await counted(api, ns, 'q');
    const firstCount = Date.now();
    // B does not know the quota: its creates commit without touching the ledger.
    await bClient.create(podRef(ns), podManifest('b1'));
    await bClient.create(podRef(ns), podManifest('b2'));
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '0' });
    lagging.release();
    // B now sees the quota (and its ledger, which it reads fresh): the fourth pod is over.
    await bClient.create(podRef(ns), podManifest('b3'));
    await waitFor(async () => (await usedOf(api, ns, 'q')).pods === '3', 'the recheck counted the pods B admitted', FIRST_COUNT_RECHECK_MS + 10_000, 50);
    expect(Date.now() - firstCount).to.be.at.least(FIRST_COUNT_RECHECK_MS - 100);
    await sleep(100);
    await expectAuditOk(api);
    const err = await bClient.create(podRef(ns), podManifest('b4')).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('pods "b4" is forbidden: exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3');
  });
});
