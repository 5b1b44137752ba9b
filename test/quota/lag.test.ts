// An API server replica whose quota watch cache has not yet seen a new quota: a create it decides
// without quotas compares the namespace's quota epoch (written with every new quota) at the
// revision it last knew, fails, and is decided again on the quotas read from the store — so the
// lagging replica admits exactly as the others do. Here replica B's quota watch is held back.
import { expect } from 'chai';
import type { ApiServer } from '../../apiserver/server.js';
import { startApiServer } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { StoreWatch, WatchEvent, WatchHandlers } from '../../apiserver/storage/store.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints, startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { InterceptingStore } from '../harness/intercepting-store.js';
import { counted, createNamespace, createQuota, expectAuditOk, InProcessQuotaController, podManifest, podRef, usedOf, waitFor } from './helpers.js';

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

describe('a replica whose quota cache lags behind a new quota', function () {
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

  it('admits against the quota it has not seen: the epoch compare sends it to the store', async () => {
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
    // B has admitted in this namespace before (no quota then): it knows the epoch as "none".
    await bClient.create(podRef(ns), podManifest('before'));
    lagging.hold();
    await createQuota(api, ns, 'q', { hard: { pods: '3' } });
    await counted(api, ns, 'q');
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '1' });
    // B's cache still shows no quota, yet each create is counted in the ledger it commits with.
    await bClient.create(podRef(ns), podManifest('b1'));
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '2' });
    await bClient.create(podRef(ns), podManifest('b2'));
    expect(await usedOf(api, ns, 'q')).to.deep.equal({ pods: '3' });
    const err = await bClient.create(podRef(ns), podManifest('b3')).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('pods "b3" is forbidden: exceeded quota: q, requested: pods=1, used: pods=3, limited: pods=3');
    lagging.release();
    await expectAuditOk(api);
  });
});
