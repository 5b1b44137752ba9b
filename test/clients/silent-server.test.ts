// An API server that goes silent — its host gone or its link cut, with no reset to say so — must
// not hold a client's watch or request forever: the informer tells a quiet watch from a dead one
// by the bookmarks every server sends (shared/api/meta.ts BOOKMARK_INTERVAL_MS) and watches again
// through the next server; a watch being opened gives up at the request timeout. Two real API
// servers over the test etcd, the client's links to them through a proxy that can hold one.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { ApiClient } from '../../shared/client/http-client.js';
import { Informer } from '../../shared/client/informer.js';
import type { Pod } from '../../shared/api/core.js';
import { errorMessage } from '../../shared/errors.js';
import { CuttableNetwork } from '../harness/cuttable-network.js';
import { startTestApiServer, type TestApiServer } from '../harness/apiserver.js';
import { waitFor } from './helpers.js';

const podRef = { resource: 'pods', namespace: 'default' };
const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

describe('a client whose API server goes silent', function () {
  this.timeout(60_000);
  let a: TestApiServer;
  let b: TestApiServer;
  let net: CuttableNetwork;
  let direct: ApiClient;

  before(async () => {
    const prefix = `/cell-test-${randomUUID()}`;
    // Bookmarks every 100 ms, so that a 1 s idle timeout is three of them missed, as in production.
    a = await startTestApiServer({ prefix, bookmarkIntervalMs: 100 });
    b = await startTestApiServer({ prefix, bookmarkIntervalMs: 100 });
    net = await CuttableNetwork.start([], [a.server.port, b.server.port]);
    direct = b.client();
  });
  after(async () => {
    direct?.close();
    await net?.stop();
    await a?.close();
    await b?.close();
  });

  it('informers give up a silent watch after their idle timeout and follow through the next server: every pod once', async () => {
    const [viaA, viaB] = await net.clientUrls('informer');
    const client = new ApiClient({ servers: [viaA!, viaB!], timeoutMs: 2_000 });
    // Two informers on one client, as in a scheduler: both move to the other server.
    const informers = [0, 1].map(() => new Informer<Pod>({ client, ref: podRef, watchIdleTimeoutMs: 1_000 }));
    const added: string[][] = informers.map(() => []);
    informers.forEach((inf, i) => inf.addHandlers({ add: (p) => added[i]!.push(p.metadata.name ?? '') }));
    const allSaw = (name: string) => added.every((a) => a.includes(name));
    try {
      await direct.create(podRef, pod('before-the-cut'));
      await Promise.all(informers.map((inf) => inf.start()));
      await waitFor(() => allSaw('before-the-cut'), 'the first pod', 10_000);
      expect(client.server, 'the informers start on the first server').to.equal(viaA);

      // Held, not reset: the watches' connections to A stay open and bring nothing more.
      await net.cutClient('informer', true, 0);
      const cutAt = Date.now();
      await direct.create(podRef, pod('during-the-cut'));
      await waitFor(() => allSaw('during-the-cut'), 'the pod created during the cut', 15_000);
      const seenAfter = Date.now() - cutAt;
      expect(client.server, 'they moved to the second server').to.equal(viaB);
      // Three missed bookmarks, then a watch from its resourceVersion through B.
      expect(seenAfter).to.be.within(900, 8_000);

      await net.cutClient('informer', false, 0);
      await direct.create(podRef, pod('after-the-cut'));
      await waitFor(() => allSaw('after-the-cut'), 'the pod created after the cut', 10_000);
      for (const a of added) expect(a).to.deep.equal(['before-the-cut', 'during-the-cut', 'after-the-cut']);
    } finally {
      await Promise.all(informers.map((inf) => inf.stop()));
      client.close();
    }
  });

  it('a watch opened to a silent server gives up at the request timeout and the next goes to the other server', async () => {
    const [viaA, viaB] = await net.clientUrls('opener');
    await net.cutClient('opener', true, 0);
    const client = new ApiClient({ servers: [viaA!, viaB!], timeoutMs: 1_000 });
    try {
      const abort = new AbortController();
      const started = Date.now();
      const err = await client.watch(podRef, { resourceVersion: '0' }, () => undefined, abort.signal).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(errorMessage(err)).to.contain('did not begin its response within 1000 ms');
      expect(Date.now() - started).to.be.below(5_000);
      expect(client.server).to.equal(viaB);
      let events = 0;
      setTimeout(() => abort.abort(), 300);
      await client.watch(podRef, { resourceVersion: '0' }, () => events++, abort.signal);
      expect(events, 'the watch through B lists the pods as ADDED events').to.be.greaterThan(0);
    } finally {
      await net.cutClient('opener', false, 0);
      client.close();
    }
  });
});
