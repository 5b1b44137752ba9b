// The audit reads every object of every ledger kind at one revision: at a million pods that takes
// longer than the request deadline (60 s), so it is not cut off by it, while other requests are.
import { expect } from 'chai';
import { startApiServer, type ApiServer } from '../../apiserver/server.js';
import { EtcdStore } from '../../apiserver/storage/etcd.js';
import type { ListOptions, ListResult } from '../../apiserver/storage/store.js';
import { ApiClient } from '../../shared/client/http-client.js';
import { createLogger } from '../../shared/logging.js';
import { etcdEndpoints } from '../harness/apiserver.js';
import { randomPrefix } from '../store/helpers.js';
import { refusal } from '../harness/refusal.js';
import { audit } from './fixtures.js';

const REQUEST_TIMEOUT_MS = 400;

/** Every list read from etcd takes longer than the request deadline, once `slow` is set. */
class SlowListStore extends EtcdStore {
  slow = false;
  lists = 0;
  override async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    if (this.slow) {
      this.lists++;
      // Well past the deadline, so that a late deadline sweep on a busy machine still comes first.
      await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 1_500));
    }
    return super.list(prefix, opts);
  }
}

describe('the audit and the request deadline (etcd)', function () {
  this.timeout(60_000);
  let store: SlowListStore;
  let server: ApiServer;
  let client: ApiClient;

  before(async () => {
    store = new SlowListStore({ endpoints: etcdEndpoints(), prefix: randomPrefix() });
    server = await startApiServer({ store, log: createLogger('apiserver', 'error'), compactionIntervalMs: 0, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    client = new ApiClient({ servers: [server.url], retries: 0 });
  });
  after(async () => {
    client?.close();
    await server?.close();
    await store?.close();
  });

  it('answers an audit that takes longer than the deadline, and still cuts a list that does', async () => {
    store.slow = true;
    const began = Date.now();
    const report = await audit(client);
    expect(report.ok).to.equal(true);
    expect(Date.now() - began).to.be.greaterThan(REQUEST_TIMEOUT_MS + 50);
    expect(store.lists).to.be.greaterThan(1);

    // A consistent list (read from etcd) is an ordinary request: 504 at the deadline.
    const cut = await refusal(client.list({ namespace: 'default', resource: 'pods' }));
    expect(cut.code).to.equal(504);
  });
});
